package awserr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// answers is an AWS endpoint that fails each call with the next code of a
// script (CloudTrail's JSON errors, or S3's XML ones), then succeeds. A
// script ending in "*" repeats its last code for ever.
type answers struct {
	script []string
	calls  atomic.Int32
}

func (a *answers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(a.calls.Add(1)) - 1
	code := ""
	switch last := len(a.script) - 1; {
	case last > 0 && a.script[last] == "*" && n >= last-1:
		code = a.script[last-1]
	case n <= last:
		code = a.script[n]
	}
	s3 := r.Header.Get("X-Amz-Target") == ""
	switch {
	case code == "" && s3:
		w.WriteHeader(http.StatusOK)
	case code == "":
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{}`))
	case s3:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = fmt.Fprintf(w, `<Error><Code>%s</Code><Message>answer %d</Message></Error>`, code, n)
	default:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"__type":%q,"message":"answer %d"}`, code, n)
	}
}

func serve(t *testing.T, script ...string) (*answers, *cloudtrail.Client, *s3.Client) {
	t.Helper()
	a := &answers{script: script}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	}
	ct := cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	s := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(srv.URL); o.UsePathStyle = true })
	return a, ct, s
}

func TestRecognise(t *testing.T) {
	_, ct, s := serve(t, "TrailNotFoundException", "NoSuchBucket", "NoSuchBucket", "NoSuchBucketPolicy")
	ctx := context.Background()
	_, err := ct.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("main")})
	err = fmt.Errorf("reading trail %q: %w", "main", err)
	if !IsA[*cttypes.TrailNotFoundException](err) || IsA[*cttypes.InsightNotEnabledException](err) {
		t.Errorf("IsA does not tell TrailNotFoundException in %v", err)
	}
	if Code(err) != "TrailNotFoundException" || Message(err) != "answer 0" {
		t.Errorf("code %q, message %q", Code(err), Message(err))
	}

	// The SDK models NoSuchBucket as a type for the listing operations only.
	_, err = s.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("logs")})
	if !IsA[*s3types.NoSuchBucket](err) || !BucketNotFound(err) || !HasCode(err, "OperationAborted", "NoSuchBucket") {
		t.Errorf("NoSuchBucket not recognised in %v", err)
	}
	_, err = s.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("logs")})
	if IsA[*s3types.NoSuchBucket](err) || !BucketNotFound(err) || NotConfigured(err) {
		t.Errorf("NoSuchBucket without a type not recognised in %v", err)
	}
	_, err = s.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("logs")})
	if !NotConfigured(err) || BucketNotFound(err) {
		t.Errorf("NoSuchBucketPolicy not told from NoSuchBucket in %v", err)
	}
	if Code(errors.New("dial tcp: connection refused")) != "" || HasCode(nil, "") {
		t.Error("an error without an AWS code has one")
	}
}

func TestRetryWhen(t *testing.T) {
	ctx := context.Background()
	createTrail := func(ct *cloudtrail.Client) func(context.Context) (*cloudtrail.CreateTrailOutput, error) {
		return func(ctx context.Context) (*cloudtrail.CreateTrailOutput, error) {
			return ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("main"), S3BucketName: aws.String("logs")})
		}
	}

	t.Run("retries the listed codes until success", func(t *testing.T) {
		a, ct, _ := serve(t, "InsufficientS3BucketPolicyException", "InsufficientS3BucketPolicyException")
		if _, err := RetryWhen(ctx, time.Minute, createTrail(ct), "InsufficientS3BucketPolicyException"); err != nil {
			t.Fatal(err)
		}
		if n := a.calls.Load(); n != 3 {
			t.Errorf("%d calls, want 3", n)
		}
	})

	t.Run("returns any other code at once", func(t *testing.T) {
		a, ct, _ := serve(t, "InsufficientS3BucketPolicyException", "TrailAlreadyExistsException")
		_, err := RetryWhen(ctx, time.Minute, createTrail(ct), "InsufficientS3BucketPolicyException")
		if !IsA[*cttypes.TrailAlreadyExistsException](err) || a.calls.Load() != 2 {
			t.Errorf("error %v after %d calls, want TrailAlreadyExistsException after 2", err, a.calls.Load())
		}
	})

	t.Run("gives up after the timeout with the last error", func(t *testing.T) {
		a, _, s := serve(t, "OperationAborted", "*")
		start := time.Now()
		_, err := RetryWhen(ctx, 2*time.Second, func(ctx context.Context) (*s3.PutBucketVersioningOutput, error) {
			return s.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("logs"),
				VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
		}, "OperationAborted")
		if Code(err) != "OperationAborted" || a.calls.Load() < 2 {
			t.Errorf("error %v after %d calls, want OperationAborted after retries", err, a.calls.Load())
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("gave up after %s, timeout 2s", d)
		}
	})

	t.Run("keeps the AWS error when the context ends", func(t *testing.T) {
		_, ct, _ := serve(t, "InsufficientS3BucketPolicyException", "*")
		ctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		defer cancel()
		_, err := RetryWhen(ctx, 0, createTrail(ct), "InsufficientS3BucketPolicyException")
		if !errors.Is(err, context.DeadlineExceeded) || !IsA[*cttypes.InsufficientS3BucketPolicyException](err) {
			t.Errorf("error %v, want the deadline and InsufficientS3BucketPolicyException", err)
		}
	})
}

func TestAdvice(t *testing.T) {
	_, ct, s := serve(t, "AccessDeniedException", "AccessDenied", "AccessDenied", "SignatureDoesNotMatch", "SomethingNew")
	ctx := context.Background()
	_, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
	if a := Advice(fmt.Errorf("region eu-west-1: %w", err)); !strings.Contains(a, "IAM permission cloudtrail:LookupEvents:") {
		t.Errorf("advice %q does not name cloudtrail:LookupEvents", a)
	}
	_, err = s.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String("logs")})
	if a := Advice(err); !strings.Contains(a, "s3:GetEncryptionConfiguration") {
		t.Errorf("advice %q does not name the IAM action of GetBucketEncryption", a)
	}
	_, err = s.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("logs")})
	if a := Advice(err); !strings.Contains(a, "s3:GetBucketVersioning") {
		t.Errorf("advice %q does not name s3:GetBucketVersioning", a)
	}
	_, err = ct.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("main")})
	if got := Explain(err); !strings.HasPrefix(got, err.Error()+". The secret key does not belong to the access key") {
		t.Errorf("Explain = %q", got)
	}
	_, err = ct.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("main")})
	if Advice(err) != "" || Explain(err) != err.Error() {
		t.Errorf("a code without advice got some: %q", Explain(err))
	}
	generic := Advice(fmt.Errorf("wrapped: %w", &smithy.GenericAPIError{Code: "AccessDenied"}))
	if !strings.Contains(generic, "IAM permission for this call") {
		t.Errorf("advice without the failed call %q", generic)
	}
}
