package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// syncBuffer is written by run's goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunServesAndStops(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-ready-file", ready, "-account", "111122223333",
			"-access-key", "AKIDEXAMPLE", "-secret-key", "secret", "-no-history", "-data", filepath.Join(dir, "data"),
			"-fault", "latency:op=ListTrails,ms=1", "-policy-delay", "2s", "-athena-query-delay", "1ms"}, &stdout, io.Discard)
	}()
	var endpoint string
	for deadline := time.Now().Add(10 * time.Second); endpoint == "" && time.Now().Before(deadline); {
		if b, err := os.ReadFile(ready); err == nil {
			endpoint = strings.TrimSpace(string(b))
		}
		select {
		case err := <-done:
			t.Fatalf("run returned before serving: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !strings.HasPrefix(endpoint, "http://127.0.0.1:") || strings.HasSuffix(endpoint, ":0") {
		t.Fatalf("ready file holds %q, want the bound endpoint", endpoint)
	}
	out := stdout.String()
	for _, want := range []string{
		"export AWS_ENDPOINT_URL=" + endpoint + "\n",
		"export AWS_ACCESS_KEY_ID=AKIDEXAMPLE\n",
		"export AWS_SECRET_ACCESS_KEY=secret\n",
		"export AWS_REGION=us-east-1\n",
		"\nendpoint=" + endpoint + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	c := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	id, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != "111122223333" {
		t.Fatalf("GetCallerIdentity = %v, %v", id, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after its context was cancelled")
	}
	if _, err := os.Stat(ready); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ready file still present after shutdown: %v", err)
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-events", "a.json", "-events", "dir", "-fault", "throttle:op=LookupEvents,rate=0.5", "-lookup-rps", "10",
		"-no-archive", "-digest-interval", "2s", "-key-rotation", "1h"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.opts.EventFiles) != 2 || len(c.opts.Faults) != 1 || c.opts.Faults[0].Op != "LookupEvents" || c.opts.LookupRPS != 10 || c.addr != "127.0.0.1:4599" ||
		!c.opts.NoArchive || c.opts.DigestInterval != 2*time.Second || c.opts.KeyRotation != time.Hour {
		t.Errorf("parsed %+v", c)
	}
	if c, err := parseFlags(nil, io.Discard); err != nil || c.opts.DigestInterval != time.Hour || c.opts.KeyRotation != 30*24*time.Hour || c.opts.NoArchive {
		t.Errorf("defaults: %+v, %v", c.opts, err)
	}
	for _, args := range [][]string{
		{"-fault", "explode"},
		{"-lookup-rps", "0"},
		{"extra"},
		{"-policy-delay", "soon"},
		{"-digest-interval", "1500ms"},
		{"-digest-interval", "0s"},
		{"-key-rotation", "0s"},
		{"-athena-query-delay", "soon"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

func TestRunRejectsBadAccount(t *testing.T) {
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-account", "12"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "12 digits") {
		t.Errorf("run with a bad account: %v", err)
	}
}
