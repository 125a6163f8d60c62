package awsclient_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

func startSandbox(t *testing.T, opts sandbox.Options, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	srv, err := sandbox.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = srv
	if wrap != nil {
		h = wrap(srv)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}

func sandboxConfig(endpoint string) awsclient.Config {
	return awsclient.Config{
		Region:         "us-east-1",
		AccessKey:      "test",
		SecretKey:      "test",
		S3UsePathStyle: true,
		Endpoints:      awsclient.Endpoints{CloudTrail: endpoint, S3: endpoint, STS: endpoint, Athena: endpoint},
	}
}

func TestNewResolvesIdentityAndDefaults(t *testing.T) {
	ep := startSandbox(t, sandbox.Options{Account: "111122223333", NoHistory: true}, nil)
	c, err := awsclient.New(context.Background(), sandboxConfig(ep))
	if err != nil {
		t.Fatal(err)
	}
	if c.AccountID != "111122223333" || c.Partition != "aws" || c.Region != "us-east-1" {
		t.Errorf("got account %q partition %q region %q", c.AccountID, c.Partition, c.Region)
	}
	if len(c.Regions) != 9 || c.LookupRequestsPerSecond() != 2 {
		t.Errorf("defaults: regions %v, rps %v", c.Regions, c.LookupRequestsPerSecond())
	}
}

func TestEndpointsAndPathStyleHonoured(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	ep := startSandbox(t, sandbox.Options{NoHistory: true}, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, r.Host+r.URL.Path)
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	})
	c, err := awsclient.New(context.Background(), sandboxConfig(ep))
	if err != nil {
		t.Fatal(err)
	}
	// Only the sandbox answers: AWS does not know the test key pair.
	if _, err := c.Athena("").GetWorkGroup(context.Background(), &athena.GetWorkGroupInput{WorkGroup: aws.String("primary")}); err != nil {
		t.Fatalf("Athena through endpoints.athena: %v", err)
	}
	if _, err := c.S3("").CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("path-style-check")}); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(ep, "http://")
	mu.Lock()
	defer mu.Unlock()
	if last := seen[len(seen)-1]; last != host+"/path-style-check" {
		t.Errorf("CreateBucket went to %q, want path style %q", last, host+"/path-style-check")
	}
}

func TestAssumeRole(t *testing.T) {
	ep := startSandbox(t, sandbox.Options{NoHistory: true}, nil)
	cfg := sandboxConfig(ep)
	cfg.AssumeRole = &awsclient.AssumeRole{RoleARN: "arn:aws:iam::444455556666:role/auditor", SessionName: "ci", Duration: time.Hour}
	c, err := awsclient.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.CallerARN != "arn:aws:sts::444455556666:assumed-role/auditor/ci" || c.AccountID != "444455556666" {
		t.Errorf("caller %q account %q", c.CallerARN, c.AccountID)
	}
}

func TestBadInputsNameTheArgument(t *testing.T) {
	ep := startSandbox(t, sandbox.Options{NoHistory: true}, nil)
	cases := []struct {
		name  string
		edit  func(*awsclient.Config)
		attr  string
		inErr string
	}{
		{"unknown region", func(c *awsclient.Config) { c.Region = "us-nowhere-9" }, "region", "not an AWS region"},
		{"unknown fan-out region", func(c *awsclient.Config) { c.Regions = []string{"eu-west-1", "mars-1"} }, "regions", `"mars-1"`},
		{"bad endpoint", func(c *awsclient.Config) { c.Endpoints.S3 = "localhost:4599" }, "endpoints.s3", "scheme"},
		{"bad Athena endpoint", func(c *awsclient.Config) { c.Endpoints.Athena = "ftp://127.0.0.1" }, "endpoints.athena", "scheme"},
		{"wrong secret", func(c *awsclient.Config) { c.SecretKey = "wrong" }, "access_key", "SignatureDoesNotMatch"},
		{"unknown key", func(c *awsclient.Config) { c.AccessKey = "AKIAUNKNOWN" }, "access_key", "InvalidClientTokenId"},
		{"half a key pair", func(c *awsclient.Config) { c.SecretKey = "" }, "access_key", "together"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := sandboxConfig(ep)
			tc.edit(&cfg)
			_, err := awsclient.New(context.Background(), cfg)
			var ce *awsclient.Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want *awsclient.Error", err)
			}
			if ce.Attribute != tc.attr || !strings.Contains(err.Error(), tc.inErr) {
				t.Errorf("got attribute %q error %q; want %q containing %q", ce.Attribute, err, tc.attr, tc.inErr)
			}
		})
	}
}

// failFirst answers 503 to as many requests as failures holds, then hands
// them to the sandbox.
func failFirst(failures *atomic.Int32) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failures.Add(-1) >= 0 {
				http.Error(w, "unavailable", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestRetriesFollowMaxRetries(t *testing.T) {
	var failures atomic.Int32
	ep := startSandbox(t, sandbox.Options{NoHistory: true}, failFirst(&failures))
	for _, tc := range []struct {
		retries, failures int
		ok                bool
	}{{retries: 3, failures: 3, ok: true}, {retries: 1, failures: 2, ok: false}} {
		failures.Store(int32(tc.failures))
		cfg := sandboxConfig(ep)
		cfg.MaxRetries = tc.retries
		_, err := awsclient.New(context.Background(), cfg)
		if (err == nil) != tc.ok {
			t.Errorf("max_retries %d with %d failures: err = %v", tc.retries, tc.failures, err)
		}
	}
}

// TestLookupPace measures the limiter: callers hammering one region get the
// configured rate, and a second region runs at the same rate alongside.
func TestLookupPace(t *testing.T) {
	ep := startSandbox(t, sandbox.Options{NoHistory: true, LookupRPS: 1000}, nil)
	cfg := sandboxConfig(ep)
	cfg.LookupRequestsPerSecond = 5
	c, err := awsclient.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	const window = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), window)
	defer cancel()
	counts := map[string]*atomic.Int32{"us-east-1": {}, "eu-west-1": {}}
	var wg sync.WaitGroup
	for region, n := range counts {
		for range 4 {
			wg.Go(func() {
				for {
					_, err := c.CloudTrail(region).LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(1)})
					if err != nil {
						return
					}
					n.Add(1)
				}
			})
		}
	}
	wg.Wait()
	// 5 per second for 2 seconds, plus the one the limiter's burst allows.
	for region, n := range counts {
		if got := n.Load(); got < 9 || got > 11 {
			t.Errorf("%s: %d LookupEvents calls in %s at 5/s, want 10±1", region, got, window)
		}
	}
}

// TestBucketRegionAskedOnce checks a bucket's region is read from S3 once
// and remembered, and that a bucket S3 does not know is asked about again.
func TestBucketRegionAskedOnce(t *testing.T) {
	var locations atomic.Int32
	ep := startSandbox(t, sandbox.Options{NoHistory: true}, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Has("location") {
				locations.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	c, err := awsclient.New(ctx, sandboxConfig(ep))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.S3("eu-central-1").CreateBucket(ctx, &s3.CreateBucketInput{
		Bucket:                    aws.String("region-cache-check"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuCentral1},
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		region, err := c.BucketRegion(ctx, "region-cache-check")
		if err != nil || region != "eu-central-1" {
			t.Fatalf("BucketRegion = %q, %v; want eu-central-1", region, err)
		}
	}
	if n := locations.Load(); n != 1 {
		t.Errorf("%d GetBucketLocation calls for three reads of one bucket, want 1", n)
	}
	for range 2 {
		if _, err := c.BucketRegion(ctx, "no-such-bucket-here"); awserr.Code(err) != "NoSuchBucket" {
			t.Fatalf("BucketRegion of a missing bucket: %v, want NoSuchBucket", err)
		}
	}
	if n := locations.Load(); n != 3 {
		t.Errorf("%d GetBucketLocation calls, want 3: a missing bucket is not remembered", n)
	}
}

// TestConnectionsReusedAtArchiveConcurrency checks that reading as many
// objects at once as the archive does, again and again, keeps reusing about
// one connection per request in flight (the SDK's default kept ten and
// opened the rest anew every round): against AWS every new one costs a TLS
// handshake. Half again is allowed for a connection not yet back in the
// pool when the next round starts.
func TestConnectionsReusedAtArchiveConcurrency(t *testing.T) {
	srv, err := sandbox.New(sandbox.Options{NoHistory: true})
	if err != nil {
		t.Fatal(err)
	}
	var opened atomic.Int32
	hs := httptest.NewUnstartedServer(srv)
	hs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	hs.Start()
	t.Cleanup(hs.Close)
	ctx := context.Background()
	c, err := awsclient.New(ctx, sandboxConfig(hs.URL))
	if err != nil {
		t.Fatal(err)
	}
	client := c.S3("")
	bucket, key := aws.String("connection-reuse"), aws.String("AWSLogs/o.json.gz")
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: key, Body: strings.NewReader("log")}); err != nil {
		t.Fatal(err)
	}
	const rounds = 10
	before := opened.Load()
	for range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, archive.DefaultConcurrency)
		for range archive.DefaultConcurrency {
			wg.Go(func() {
				out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: key})
				if err == nil {
					_, err = io.Copy(io.Discard, out.Body)
					err = errors.Join(err, out.Body.Close())
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	n := opened.Load() - before
	t.Logf("%d rounds of %d GetObject at once opened %d connections", rounds, archive.DefaultConcurrency, n)
	if n > archive.DefaultConcurrency+archive.DefaultConcurrency/2 {
		t.Errorf("%d rounds of %d GetObject at once opened %d connections, want at most %d: idle connections are closed between rounds",
			rounds, archive.DefaultConcurrency, n, archive.DefaultConcurrency+archive.DefaultConcurrency/2)
	}
}

func TestLocationRegion(t *testing.T) {
	for c, want := range map[s3types.BucketLocationConstraint]string{"": "us-east-1", "EU": "eu-west-1", "ap-south-1": "ap-south-1"} {
		if got := awsclient.LocationRegion(c); got != want {
			t.Errorf("LocationRegion(%q) = %q, want %q", c, got, want)
		}
	}
}

// TestMaxBackoffBoundsRetryWaits checks max_backoff caps the wait before
// each retry: five failures in a row cost the SDK's default backoff about
// 20 seconds on average, and well under a second at 10ms.
func TestMaxBackoffBoundsRetryWaits(t *testing.T) {
	var failures atomic.Int32
	ep := startSandbox(t, sandbox.Options{NoHistory: true}, failFirst(&failures))
	failures.Store(5)
	cfg := sandboxConfig(ep)
	cfg.MaxRetries, cfg.MaxBackoff = 5, 10*time.Millisecond
	start := time.Now()
	if _, err := awsclient.New(context.Background(), cfg); err != nil {
		t.Fatalf("five failures with five retries: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("five retries capped at 10ms took %s", d)
	}
	if n := failures.Load(); n >= 0 {
		t.Errorf("%d injected failures left: the retries did not run", n+1)
	}
}
