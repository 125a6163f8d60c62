package sandbox

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// ctClock is a settable clock for Options.Now.
type ctClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *ctClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *ctClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// ctEnv is an in-process sandbox with SDK clients for it.
type ctEnv struct {
	srv   *Server
	url   string
	clock *ctClock
}

// ctTestNow is the pinned time of CloudTrail tests: well after OpsWorks
// CM's end of life, as the history assumes.
var ctTestNow = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

func newCTEnv(t testing.TB, opts Options) *ctEnv {
	t.Helper()
	clock := &ctClock{t: ctTestNow}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &ctEnv{srv: srv, url: hs.URL, clock: clock}
}

// connectionRetryer retries only connection errors, at once, so tests see
// every service error (throttling included) as the sandbox answered it.
// Connection errors must be retried: against a loopback server the SDK
// can close a connection while its request body is still being checked
// for trailing bytes, and then fails reading the response with "use of
// closed network connection" (aws/aws-sdk-go-v2#2737), which its default
// retryer also retries.
func connectionRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 5
		o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
		o.RateLimiter = ratelimit.None
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

func (e *ctEnv) ct(region string) *cloudtrail.Client {
	return cloudtrail.New(cloudtrail.Options{
		Region:       region,
		BaseEndpoint: aws.String(e.url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:      connectionRetryer(),
	})
}

func (e *ctEnv) s3(region string) *s3.Client {
	return s3.New(s3.Options{
		Region:       region,
		BaseEndpoint: aws.String(e.url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		UsePathStyle: true,
		Retryer:      connectionRetryer(),
	})
}

// trailPolicy is the bucket policy CloudTrail needs, scoped to one trail.
func trailPolicy(bucket, prefix, account, trailARN string) string {
	p := bucket + "/"
	if prefix != "" {
		p += prefix + "/"
	}
	return `{"Version":"2012-10-17","Statement":[
	 {"Sid":"AWSCloudTrailAclCheck","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},
	  "Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::` + bucket + `",
	  "Condition":{"StringEquals":{"aws:SourceArn":"` + trailARN + `"}}},
	 {"Sid":"AWSCloudTrailWrite","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},
	  "Action":"s3:PutObject","Resource":"arn:aws:s3:::` + p + `AWSLogs/` + account + `/*",
	  "Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control","aws:SourceArn":"` + trailARN + `"}}}]}`
}

// makeBucket creates a bucket in region with the given policy (none if
// empty).
func (e *ctEnv) makeBucket(t testing.TB, region, bucket, policy string) {
	t.Helper()
	ctx := context.Background()
	c := e.s3(region)
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
	}
	if _, err := c.CreateBucket(ctx, in); err != nil {
		t.Fatalf("CreateBucket %s: %v", bucket, err)
	}
	if policy != "" {
		if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)}); err != nil {
			t.Fatalf("PutBucketPolicy %s: %v", bucket, err)
		}
	}
}

// errCode is the AWS error code of err ("" for nil or non-API errors).
func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// wantCode fails unless err carries the AWS error code want.
func wantCode(t testing.TB, err error, want string) {
	t.Helper()
	if got := errCode(err); got != want {
		t.Fatalf("error = %v (code %q), want code %q", err, got, want)
	}
}

func trailARNFor(region, account, name string) string {
	return "arn:aws:cloudtrail:" + region + ":" + account + ":trail/" + name
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
