// Package testserver starts moto_server, an S3 independent of the
// sandbox, for the tests of every package that reads or writes S3 (the
// sandbox's own command is started by sandboxtest.StartCommand).
package testserver

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"
)

// readyWithin is how long moto_server may take to start on a busy
// machine.
const readyWithin = 2 * time.Minute

// Moto runs moto_server on a free loopback port and returns its URL, or
// skips the test when moto_server is not installed.
func Moto(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		tb.Skip("moto_server is not on PATH (pip install 'moto[server]'): skipping the run against an independent S3")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("finding a free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		tb.Fatalf("freeing port %d for moto_server: %v", port, err)
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting moto_server: %v", err)
	}
	tb.Cleanup(func() {
		// moto_server holds nothing to save: killing it is its stop.
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(readyWithin)
	for {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			if err := resp.Body.Close(); err != nil {
				tb.Fatalf("closing moto_server's answer: %v", err)
			}
			return url
		}
		if time.Now().After(deadline) {
			tb.Fatalf("moto_server did not answer at %s within %s: %v\n%s", url, readyWithin, err, output.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
