// Package sandboxrun runs the opsaudit-sandbox command for benchmarks, as a
// separate process the way a user runs it, and writes CloudTrail record
// files for it to load. It is a test helper: only _test files import it.
package sandboxrun

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// Build compiles the sandbox command into a temporary directory and returns
// its path.
func Build(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "opsaudit-sandbox")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/opsaudit/terraform-provider-opsaudit/cmd/opsaudit-sandbox").CombinedOutput()
	if err != nil {
		tb.Fatalf("building the sandbox command: %v\n%s", err, out)
	}
	return bin
}

// Start runs the command on a free port with only the events of
// eventFile, LookupEvents allowed at rps per region, waits until it is
// listening and returns its endpoint URL. The command is stopped with
// SIGINT at the end of the test.
func Start(tb testing.TB, bin, eventFile string, rps float64) string {
	tb.Helper()
	ready := filepath.Join(tb.TempDir(), "ready")
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-no-history", "-events", eventFile,
		"-lookup-rps", fmt.Sprint(rps), "-ready-file", ready)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting the sandbox: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				tb.Errorf("the sandbox exited with %v after SIGINT\n%s", err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	deadline := time.After(2 * time.Minute)
	for {
		if raw, err := os.ReadFile(ready); err == nil && len(raw) > 0 {
			return strings.TrimSpace(string(raw))
		}
		select {
		case err := <-exited:
			tb.Fatalf("the sandbox exited: %v\n%s", err, stderr.String())
		case <-deadline:
			tb.Fatalf("the sandbox did not get ready within 2 minutes\n%s", stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

var actions = []string{"DescribeServers", "DescribeBackups", "UpdateServer", "CreateBackup", "DescribeEvents", "AssociateNode"}

// WriteRecords writes a CloudTrail log file of perRegion OpsWorks CM
// records in each region, spread over the week before now, and returns
// its path.
func WriteRecords(tb testing.TB, regions []string, perRegion int, now time.Time) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "events.json")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	step := 7 * 24 * time.Hour / time.Duration(perRegion)
	_, _ = w.WriteString(`{"Records":[`)
	for ri, region := range regions {
		for i := range perRegion {
			if ri+i > 0 {
				_ = w.WriteByte(',')
			}
			name := actions[i%len(actions)]
			user := fmt.Sprintf("user-%d", i%7)
			rec := map[string]any{
				"eventVersion": "1.09",
				"userIdentity": map[string]any{
					"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::123456789012:user/" + user,
					"accountId": "123456789012", "accessKeyId": "AKIAEXAMPLE", "userName": user,
				},
				"eventTime":          now.Add(-time.Duration(i) * step).Format(time.RFC3339),
				"eventSource":        events.DefaultEventSource,
				"eventName":          name,
				"awsRegion":          region,
				"sourceIPAddress":    fmt.Sprintf("203.0.113.%d", i%250),
				"userAgent":          "aws-cli/2.15.30",
				"requestParameters":  map[string]any{"serverName": fmt.Sprintf("server-%d", i%13)},
				"responseElements":   nil,
				"requestID":          fmt.Sprintf("%08x-0000-4000-8000-%012x", ri, i),
				"eventID":            fmt.Sprintf("%08x-1111-4000-8000-%012x", ri, i),
				"readOnly":           strings.HasPrefix(name, "Describe"),
				"eventType":          "AwsApiCall",
				"managementEvent":    true,
				"recipientAccountId": "123456789012",
			}
			if err := enc.Encode(rec); err != nil {
				tb.Fatal(err)
			}
		}
	}
	_, _ = w.WriteString("]}")
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}
