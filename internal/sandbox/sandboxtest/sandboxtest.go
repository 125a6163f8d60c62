// Package sandboxtest runs the sandbox for the tests of its packages:
// in-process with AWS SDK clients pointed at it, or as the command with
// the AWS CLI (botocore) pointed at it.
package sandboxtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

// Now is the time the sandbox's clock starts at in tests: well after
// OpsWorks CM's end of life, as the history assumes.
var Now = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

// Clock is a settable clock for Options.Now.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Env is an in-process sandbox on a loopback port.
type Env struct {
	Server *sandbox.Server
	URL    string
	// Clock is the sandbox's clock, unless the options named another.
	Clock *Clock
}

// New starts a sandbox with opts; its clock starts at Now unless opts
// sets one. It stops when the test ends.
func New(t testing.TB, opts sandbox.Options) *Env {
	t.Helper()
	clock := &Clock{t: Now}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	srv, err := sandbox.New(opts)
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &Env{Server: srv, URL: hs.URL, Clock: clock}
}

// Retryer retries only connection errors, at once, so tests see every
// service error (throttling included) as the sandbox answered it.
// Connection errors must be retried: against a loopback server the SDK
// can close a connection while its request body is still being checked
// for trailing bytes, and then fails reading the response with "use of
// closed network connection" (aws/aws-sdk-go-v2#2737), which its default
// retryer also retries.
func Retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 5
		o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
		o.RateLimiter = ratelimit.None
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

// Creds are static credentials.
func Creds(key, secret, token string) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(key, secret, token)
}

// defaultCreds is the sandbox's default key pair.
var defaultCreds = Creds(sandbox.DefaultAccessKey, sandbox.DefaultSecretKey, "")

// CloudTrail is a CloudTrail client for region with the default key pair.
func (e *Env) CloudTrail(region string) *cloudtrail.Client {
	return CloudTrailClient(e.URL, region, defaultCreds)
}

// S3 is a path-style S3 client for region with the default key pair.
func (e *Env) S3(region string) *s3.Client {
	return S3Client(e.URL, region, defaultCreds)
}

// S3VirtualHost is a virtual-hosted-style S3 client for region with the
// default key pair: it names the bucket in the host, bucket.localhost,
// and dials the sandbox for every name under localhost, as a resolver
// that follows RFC 6761 would.
func (e *Env) S3VirtualHost(region string) *s3.Client {
	addr := strings.TrimPrefix(e.URL, "http://")
	_, port, _ := net.SplitHostPort(addr)
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	return S3Client("http://localhost:"+port, region, defaultCreds, func(o *s3.Options) {
		o.UsePathStyle = false
		o.HTTPClient = client
	})
}

// STS is an STS client for region with the default key pair.
func (e *Env) STS(region string) *sts.Client {
	return STSClient(e.URL, region, defaultCreds)
}

// Athena is an Athena client for region with the default key pair.
func (e *Env) Athena(region string) *athena.Client {
	return AthenaClient(e.URL, region, defaultCreds)
}

// AthenaClient is an Athena client for url with creds.
func AthenaClient(url, region string, creds aws.CredentialsProvider) *athena.Client {
	return athena.New(athena.Options{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials:  creds,
		Retryer:      Retryer(),
	})
}

// CloudTrailClient is a CloudTrail client for url with creds.
func CloudTrailClient(url, region string, creds aws.CredentialsProvider) *cloudtrail.Client {
	return cloudtrail.New(cloudtrail.Options{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials:  creds,
		Retryer:      Retryer(),
	})
}

// S3Client is a path-style S3 client for url with creds.
func S3Client(url, region string, creds aws.CredentialsProvider, optFns ...func(*s3.Options)) *s3.Client {
	return s3.New(s3.Options{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials:  creds,
		UsePathStyle: true,
		Retryer:      Retryer(),
	}, optFns...)
}

// STSClient is an STS client for url with creds.
func STSClient(url, region string, creds aws.CredentialsProvider) *sts.Client {
	return sts.New(sts.Options{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials:  creds,
		Retryer:      Retryer(),
	})
}

// TrailARN is the ARN of the trail name in region and account.
func TrailARN(region, account, name string) string {
	return "arn:aws:cloudtrail:" + region + ":" + account + ":trail/" + name
}

// TrailPolicy is the bucket policy CloudTrail needs, scoped to one trail.
func TrailPolicy(bucket, prefix, account, trailARN string) string {
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

// MakeBucket creates a bucket in region with the given policy (none if
// empty).
func (e *Env) MakeBucket(t testing.TB, region, bucket, policy string) {
	t.Helper()
	ctx := context.Background()
	c := e.S3(region)
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

// ReadObject returns an object's body, failing the test on error.
func ReadObject(t testing.TB, c *s3.Client, bucket, key string, versionID *string) string {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: versionID})
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	b, err := io.ReadAll(out.Body)
	if cerr := out.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("reading %s/%s: %v", bucket, key, err)
	}
	return string(b)
}

// ErrCode is the AWS error code of err ("" for nil or non-API errors).
func ErrCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// WantCode fails unless err carries the AWS error code want.
func WantCode(t testing.TB, err error, want string) {
	t.Helper()
	if got := ErrCode(err); got != want {
		t.Fatalf("error = %v (code %q), want code %q", err, got, want)
	}
}

// Principal reads the caller of a record from its JSON, as the tests that
// check principal filters need it: the principal's ARN and, for a role
// session, the role's.
func Principal(t testing.TB, r sandbox.Record) (arn, sessionIssuerARN string) {
	t.Helper()
	var raw struct {
		UserIdentity struct {
			ARN            string `json:"arn"`
			SessionContext struct {
				SessionIssuer struct {
					ARN string `json:"arn"`
				} `json:"sessionIssuer"`
			} `json:"sessionContext"`
		} `json:"userIdentity"`
	}
	if err := json.Unmarshal(r.Raw, &raw); err != nil {
		t.Fatalf("record %s: %v", r.EventID, err)
	}
	return raw.UserIdentity.ARN, raw.UserIdentity.SessionContext.SessionIssuer.ARN
}
