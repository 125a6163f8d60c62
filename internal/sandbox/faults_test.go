package sandbox_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

func TestParseFault(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want sandbox.Fault
	}{
		{"throttle:rate=0.5,op=LookupEvents,region=us-east-1", sandbox.Fault{Kind: sandbox.FaultThrottle, Rate: 0.5, Op: "LookupEvents", Region: "us-east-1"}},
		{"error:rate=0.1,status=503", sandbox.Fault{Kind: sandbox.FaultError, Rate: 0.1, Status: 503}},
		{"error", sandbox.Fault{Kind: sandbox.FaultError, Rate: 1, Status: 500}},
		{"latency:ms=200,service=s3", sandbox.Fault{Kind: sandbox.FaultLatency, Rate: 1, Latency: 200 * time.Millisecond, Service: "s3"}},
		{"region-down:region=eu-west-1", sandbox.Fault{Kind: sandbox.FaultRegionDown, Rate: 1, Region: "eu-west-1"}},
		{"deny:op=GetObject,key=AWSLogs/a b/x.json.gz", sandbox.Fault{Kind: sandbox.FaultDeny, Rate: 1, Op: "GetObject", Key: "AWSLogs/a b/x.json.gz"}},
	} {
		got, err := sandbox.ParseFault(tc.spec)
		if err != nil || got != tc.want {
			t.Fatalf("sandbox.ParseFault(%q) = %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "explode", "throttle:rate=2", "error:status=404", "latency", "latency:ms=-1",
		"region-down", "throttle:op", "throttle:colour=red", "throttle:service=ec2", "deny:key="} {
		if _, err := sandbox.ParseFault(bad); err == nil {
			t.Fatalf("sandbox.ParseFault(%q) succeeded", bad)
		}
	}
}

func mustFault(t *testing.T, spec string) sandbox.Fault {
	t.Helper()
	f, err := sandbox.ParseFault(spec)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFaults(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true, LookupRPS: 1e6})
	ctx := context.Background()
	east, west := e.CloudTrail("us-east-1"), e.CloudTrail("eu-west-1")
	lookup := func(c *cloudtrail.Client) error {
		_, err := c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
		return err
	}

	t.Run("throttle", func(t *testing.T) {
		e.Server.SetFaults([]sandbox.Fault{mustFault(t, "throttle:op=LookupEvents,region=us-east-1")})
		sandboxtest.WantCode(t, lookup(east), "ThrottlingException")
		if err := lookup(west); err != nil {
			t.Fatalf("other region: %v", err)
		}
		if _, err := east.ListTrails(ctx, &cloudtrail.ListTrailsInput{}); err != nil {
			t.Fatalf("other operation: %v", err)
		}
		_, err := e.S3("us-east-1").ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			t.Fatalf("S3 ListBuckets: %v", err)
		}
	})
	t.Run("error", func(t *testing.T) {
		e.Server.SetFaults([]sandbox.Fault{mustFault(t, "error:status=500,service=cloudtrail")})
		sandboxtest.WantCode(t, lookup(east), "InternalFailure")
		e.Server.SetFaults([]sandbox.Fault{mustFault(t, "error:status=503")})
		sandboxtest.WantCode(t, lookup(east), "ServiceUnavailableException")
		_, err := e.S3("us-east-1").ListBuckets(ctx, &s3.ListBucketsInput{})
		sandboxtest.WantCode(t, err, "ServiceUnavailable")
	})
	t.Run("latency", func(t *testing.T) {
		e.Server.SetFaults([]sandbox.Fault{mustFault(t, "latency:ms=150,op=LookupEvents")})
		start := time.Now()
		if err := lookup(east); err != nil {
			t.Fatalf("LookupEvents: %v", err)
		}
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Fatalf("LookupEvents took %s with 150ms added", d)
		}
	})
	t.Run("region-down", func(t *testing.T) {
		e.Server.SetFaults([]sandbox.Fault{mustFault(t, "region-down:region=eu-west-1")})
		sandboxtest.WantCode(t, lookup(west), "ServiceUnavailableException")
		_, err := west.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
		sandboxtest.WantCode(t, err, "ServiceUnavailableException")
		_, err = e.S3("eu-west-1").ListBuckets(ctx, &s3.ListBucketsInput{})
		sandboxtest.WantCode(t, err, "ServiceUnavailable")
		if err := lookup(east); err != nil {
			t.Fatalf("us-east-1 while eu-west-1 is down: %v", err)
		}
	})
	t.Run("deny", func(t *testing.T) {
		e.MakeBucket(t, "us-east-1", "deny-bucket", "")
		c := e.S3("us-east-1")
		for _, key := range []string{"logs/refused.json.gz", "logs/readable.json.gz"} {
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("deny-bucket"), Key: aws.String(key), Body: strings.NewReader("x")}); err != nil {
				t.Fatalf("PutObject %s: %v", key, err)
			}
		}
		e.Server.SetFaults([]sandbox.Fault{
			mustFault(t, "deny:op=GetObject,key=logs/refused.json.gz"),
			mustFault(t, "deny:op=LookupEvents,region=eu-west-1"),
			mustFault(t, "deny:op=GetCallerIdentity"),
		})
		get := func(key string) error {
			_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("deny-bucket"), Key: aws.String(key)})
			return err
		}
		err := get("logs/refused.json.gz")
		sandboxtest.WantCode(t, err, "AccessDenied")
		var re *awshttp.ResponseError
		if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
			t.Errorf("refused GetObject: %v, want a 403", err)
		}
		if err := get("logs/readable.json.gz"); err != nil {
			t.Errorf("another key: %v", err)
		}
		// The key is the whole path when the bucket is in the host name.
		_, err = e.S3VirtualHost("us-east-1").GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("deny-bucket"), Key: aws.String("logs/refused.json.gz")})
		sandboxtest.WantCode(t, err, "AccessDenied")
		if _, err := e.S3VirtualHost("us-east-1").GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("deny-bucket"), Key: aws.String("logs/readable.json.gz")}); err != nil {
			t.Errorf("another key, virtual-hosted: %v", err)
		}
		if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("deny-bucket"), Key: aws.String("logs/refused.json.gz")}); err != nil {
			t.Errorf("another operation on the refused key: %v", err)
		}
		err = lookup(west)
		sandboxtest.WantCode(t, err, "AccessDeniedException")
		if err == nil || !strings.Contains(err.Error(), "is not authorized to perform: cloudtrail:LookupEvents") {
			t.Errorf("refused LookupEvents: %v, want the action named", err)
		}
		if err := lookup(east); err != nil {
			t.Errorf("LookupEvents in another region: %v", err)
		}
		_, err = e.STS("us-east-1").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		sandboxtest.WantCode(t, err, "AccessDenied")
	})
	t.Run("rate is repeatable", func(t *testing.T) {
		run := func() []bool {
			e.Server.SetFaults([]sandbox.Fault{mustFault(t, "throttle:rate=0.3,op=ListTrails")})
			hits := make([]bool, 100)
			for i := range hits {
				_, err := east.ListTrails(ctx, &cloudtrail.ListTrailsInput{})
				hits[i] = sandboxtest.ErrCode(err) == "ThrottlingException"
			}
			return hits
		}
		a, b := run(), run()
		n := 0
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("fault sequence differs at request %d", i)
			}
			if a[i] {
				n++
			}
		}
		if n < 15 || n > 45 {
			t.Fatalf("%d of 100 requests throttled at rate 0.3", n)
		}
	})
	e.Server.SetFaults(nil)
	if _, err := east.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("none")}); sandboxtest.ErrCode(err) != "TrailNotFoundException" {
		t.Fatalf("after clearing faults: %v", err)
	}
}
