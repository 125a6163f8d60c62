package sandboxtest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

const command = "github.com/opsaudit/terraform-provider-opsaudit/cmd/opsaudit-sandbox"

// StartCommand builds and starts the opsaudit-sandbox command on a free
// loopback port with the extra flags given, and returns its endpoint URL.
// The process is stopped with SIGTERM when the test or benchmark ends, and
// must exit cleanly: a data race the race detector found in it (see
// race.go) makes it exit with an error.
func StartCommand(t testing.TB, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "opsaudit-sandbox")
	flags := []string{"build", "-o", bin}
	if raceDetector {
		flags = append(flags, "-race")
	}
	build := exec.Command("go", append(flags, command)...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", command, err, out)
	}
	ready := filepath.Join(dir, "ready")
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-ready-file", ready}, args...)...)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the sandbox: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("stopping the sandbox: %v\n%s", err, output.String())
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("sandbox exited with %v after SIGTERM\n%s", err, output.String())
			}
		case <-time.After(15 * time.Second):
			// The test has failed already; Kill only keeps the process
			// from outliving it, and a Kill error would add nothing.
			_ = cmd.Process.Kill()
			t.Errorf("sandbox did not stop within 15s of SIGTERM")
		}
	})
	// The command loads its event files before it listens.
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(ready); err == nil {
			return strings.TrimSpace(string(b))
		}
		select {
		case err := <-exited:
			t.Fatalf("sandbox exited before it was ready: %v\n%s", err, output.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("sandbox not ready after 2 minutes\n%s", output.String())
	return ""
}

// RequireAWSCLI skips the test when the AWS CLI is not installed.
func RequireAWSCLI(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not on PATH; install it (pip install awscli) to run the botocore tests")
	}
}

// AWSCLI runs the AWS CLI against endpoint with the sandbox's default key
// pair, isolated from any configuration or credentials of the machine,
// and returns its standard output. The error includes standard error.
// The endpoint is also in AWS_ENDPOINT_URL: commands such as validate-logs
// make clients that ignore --endpoint-url.
func AWSCLI(t testing.TB, endpoint, region string, args ...string) (string, error) {
	t.Helper()
	stdout, stderr, err := AWSCLIOutput(t, endpoint, region, args...)
	if err != nil {
		return stdout, &cliError{err: err, stderr: stderr}
	}
	return stdout, nil
}

// AWSCLIOutput runs the AWS CLI as AWSCLI does and returns both its
// outputs, whatever its exit status, which err reports: validate-logs
// writes valid files to standard output and invalid files and gaps to
// standard error, and exits 0 with gaps.
func AWSCLIOutput(t testing.TB, endpoint, region string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	home := t.TempDir()
	// Generous: a week of validate-logs in nine regions at once is minutes of
	// Python on a loaded two-core machine; the bound only catches a hang.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "aws", append([]string{"--endpoint-url", endpoint, "--output", "json"}, args...)...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_ACCESS_KEY_ID=" + sandbox.DefaultAccessKey,
		"AWS_SECRET_ACCESS_KEY=" + sandbox.DefaultSecretKey,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_ENDPOINT_URL=" + endpoint,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
		"AWS_PAGER=",
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// AWSCLIJSON runs the AWS CLI as AWSCLI does and decodes its JSON output
// into v; a failure of either fails the test.
func AWSCLIJSON(t *testing.T, endpoint, region string, v any, args ...string) {
	t.Helper()
	out, err := AWSCLI(t, endpoint, region, args...)
	if err != nil {
		t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
	}
	if v == nil {
		return
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("aws %s: decoding %q: %v", strings.Join(args, " "), out, err)
	}
}

type cliError struct {
	err    error
	stderr string
}

func (e *cliError) Error() string { return e.err.Error() + ": " + strings.TrimSpace(e.stderr) }
