// Package benchrecords writes the CloudTrail record files that benchmarks
// load into the sandbox command (started with sandboxtest.StartCommand). It
// is a test helper: only _test files import it.
package benchrecords

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

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
