// Command opsaudit-sandbox serves a local CloudTrail, S3, STS,
// Organizations and Athena endpoint that behaves like AWS, with a realistic
// OpsWorks CM history, for tests, demos and CI without an AWS account.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

// shutdownGrace is how long in-flight requests get to finish on SIGINT or
// SIGTERM.
const shutdownGrace = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "opsaudit-sandbox:", err)
		os.Exit(1)
	}
}

// config is the command line, parsed.
type config struct {
	addr      string
	readyFile string
	opts      sandbox.Options
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("opsaudit-sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:4599", "address to listen on (port 0 picks a free port)")
	fs.StringVar(&c.opts.Account, "account", sandbox.DefaultAccount, "12-digit account id of the key pair")
	fs.StringVar(&c.opts.AccessKey, "access-key", sandbox.DefaultAccessKey, "access key id the sandbox accepts")
	fs.StringVar(&c.opts.SecretKey, "secret-key", sandbox.DefaultSecretKey, "secret access key the sandbox accepts")
	fs.Func("events", "CloudTrail record file or directory to load (repeatable)", func(v string) error {
		c.opts.EventFiles = append(c.opts.EventFiles, v)
		return nil
	})
	fs.StringVar(&c.opts.DataDir, "data", "", "directory that keeps state across restarts")
	fs.Float64Var(&c.opts.LookupRPS, "lookup-rps", sandbox.DefaultLookupRPS, "LookupEvents requests per second per account and region")
	fs.Func("fault", "fault to inject, e.g. throttle:op=LookupEvents,rate=0.5 (repeatable)", func(v string) error {
		f, err := sandbox.ParseFault(v)
		if err != nil {
			return err
		}
		c.opts.Faults = append(c.opts.Faults, f)
		return nil
	})
	fs.BoolVar(&c.opts.NoHistory, "no-history", false, "start with an empty account: no OpsWorks CM history, no pre-existing trail")
	fs.BoolVar(&c.opts.NoArchive, "no-archive", false, "start without the pre-existing trail and its two years of log files")
	fs.DurationVar(&c.opts.DigestInterval, "digest-interval", sandbox.DefaultDigestInterval, "how often trails with log file validation deliver digests (whole seconds)")
	fs.DurationVar(&c.opts.KeyRotation, "key-rotation", sandbox.DefaultKeyRotation, "how long one key signs digests before the next (per account and region)")
	fs.DurationVar(&c.opts.PolicyPropagationDelay, "policy-delay", 0, "how long CreateTrail keeps refusing a newly written bucket policy")
	fs.DurationVar(&c.opts.AthenaQueryDelay, "athena-query-delay", 0, "how long every Athena query stays RUNNING before it runs")
	fs.StringVar(&c.readyFile, "ready-file", "", "file to write the endpoint URL to once listening")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.opts.LookupRPS <= 0 {
		return c, fmt.Errorf("-lookup-rps must be positive, got %v", c.opts.LookupRPS)
	}
	if d := c.opts.DigestInterval; d < time.Second || d%time.Second != 0 {
		return c, fmt.Errorf("-digest-interval must be whole seconds, at least 1s (digests are named to the second), got %v", d)
	}
	if c.opts.KeyRotation < time.Second {
		return c, fmt.Errorf("-key-rotation must be at least 1s, got %v", c.opts.KeyRotation)
	}
	return c, nil
}

// run serves until ctx is done, then shuts down gracefully.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	srv, err := sandbox.New(c.opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	endpoint := "http://" + ln.Addr().String()
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(stderr, "opsaudit-sandbox: ", log.LstdFlags),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	// Nobody can find a sandbox whose endpoint could not be announced.
	if err := printEnvironment(stdout, endpoint, c.opts); err != nil {
		return errors.Join(fmt.Errorf("printing the environment: %w", err), hs.Close())
	}
	if c.readyFile != "" {
		if err := writeReadyFile(c.readyFile, endpoint); err != nil {
			return errors.Join(err, hs.Close())
		}
		// A ready file left behind would tell the next script that a
		// stopped sandbox is still listening.
		defer func() {
			if rerr := os.Remove(c.readyFile); rerr != nil {
				err = errors.Join(err, fmt.Errorf("removing ready file: %w", rerr))
			}
		}()
	}

	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if _, err := fmt.Fprintln(stdout, "opsaudit-sandbox: stopped"); err != nil {
		return fmt.Errorf("reporting the shutdown: %w", err)
	}
	return nil
}

// printEnvironment tells the endpoint and credentials, composed first so
// there is one write, and one error, to handle.
func printEnvironment(w io.Writer, endpoint string, opts sandbox.Options) error {
	account := opts.Account
	if account == "" {
		account = sandbox.DefaultAccount
	}
	var b strings.Builder
	fmt.Fprintf(&b, "opsaudit-sandbox: CloudTrail, S3, STS, Organizations and Athena on %s (account %s)\n", endpoint, account)
	fmt.Fprintln(&b, "Use it from a shell with:")
	for _, kv := range [][2]string{
		{"AWS_ENDPOINT_URL", endpoint},
		{"AWS_ACCESS_KEY_ID", opts.AccessKey},
		{"AWS_SECRET_ACCESS_KEY", opts.SecretKey},
		{"AWS_REGION", "us-east-1"},
		{"AWS_DEFAULT_REGION", "us-east-1"},
	} {
		fmt.Fprintf(&b, "  export %s=%s\n", kv[0], kv[1])
	}
	fmt.Fprintln(&b, "S3 clients must use path-style addressing (virtual-host style works under *.localhost).")
	if !opts.NoHistory && !opts.NoArchive {
		fmt.Fprintf(&b, "Pre-existing trail %s (home region %s) logs into s3://%s since %s, with signed digests over the last 7 days.\n",
			sandbox.ArchiveTrailName, sandbox.ArchiveHomeRegion, sandbox.ArchiveBucket(account), sandbox.ArchiveStart.Format(time.DateOnly))
	}
	// The last line is for scripts: one key=value, nothing else.
	fmt.Fprintf(&b, "endpoint=%s\n", endpoint)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeReadyFile writes the endpoint by rename, so a script polling for
// the file never reads it half-written.
func writeReadyFile(path, endpoint string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ready-*")
	if err != nil {
		return fmt.Errorf("writing ready file: %w", err)
	}
	_, err = tmp.WriteString(endpoint + "\n")
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("writing ready file: %w", err), os.Remove(tmp.Name()))
	}
	return nil
}
