package s3_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

// TestMaxBucketsMustBeAnInteger sends what the SDK cannot (its MaxBuckets
// is an int32): values fmt.Sscan would have read as numbers.
func TestMaxBucketsMustBeAnInteger(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	e.MakeBucket(t, "us-east-1", "only-bucket", "")
	list := func(maxBuckets string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, e.URL+"/?max-buckets="+url.QueryEscape(maxBuckets), nil)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(nil)
		hash := hex.EncodeToString(sum[:])
		req.Header.Set("X-Amz-Content-Sha256", hash)
		creds := aws.Credentials{AccessKeyID: sandbox.DefaultAccessKey, SecretAccessKey: sandbox.DefaultSecretKey}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		if cerr := resp.Body.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		var answer struct {
			XMLName xml.Name
			Code    string
		}
		if err := xml.Unmarshal(body, &answer); err != nil {
			t.Fatalf("max-buckets=%q: answer %q: %v", maxBuckets, body, err)
		}
		return resp.StatusCode, answer.XMLName.Local + "/" + answer.Code
	}
	for _, bad := range []string{"5abc", "3 4", "0x10", "+1 ", "0", "10001"} {
		if status, got := list(bad); status != http.StatusBadRequest || got != "Error/InvalidArgument" {
			t.Errorf("max-buckets=%q: %d %s, want 400 InvalidArgument", bad, status, got)
		}
	}
	if status, got := list("1"); status != http.StatusOK || got != "ListAllMyBucketsResult/" {
		t.Errorf("max-buckets=1: %d %s", status, got)
	}
}

// TestRangeAsS3ReadsIt checks GetObject's Range header: a range S3
// cannot read is ignored (the whole object), one that starts past the
// end is InvalidRange.
func TestRangeAsS3ReadsIt(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	c := e.S3("us-east-1")
	e.MakeBucket(t, "us-east-1", "ranges", "")
	const body = "0123456789"
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("ranges"), Key: aws.String("k"), Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	get := func(rng string) (string, string, error) {
		t.Helper()
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ranges"), Key: aws.String("k"), Range: aws.String(rng)})
		if err != nil {
			return "", "", err
		}
		b, err := io.ReadAll(out.Body)
		if cerr := out.Body.Close(); err == nil {
			err = cerr
		}
		return string(b), aws.ToString(out.ContentRange), err
	}
	// The body and Content-Range each Range gets.
	for rng, want := range map[string][2]string{
		"bytes=2-4": {"234", "bytes 2-4/10"}, "bytes=7-": {"789", "bytes 7-9/10"},
		"bytes=-3": {"789", "bytes 7-9/10"}, "bytes=8-100": {"89", "bytes 8-9/10"},
		// Not a range S3 reads: the whole object.
		"bytes=5abc-": {body, ""}, "bytes=3 4": {body, ""}, "bytes=0x10-": {body, ""}, "bytes=+1-2": {body, ""},
		"bytes=5-2": {body, ""}, "bytes=0-1,3-4": {body, ""}, "items=0-1": {body, ""},
	} {
		if got, gotRange, err := get(rng); err != nil || got != want[0] || gotRange != want[1] {
			t.Errorf("Range %q: %q (%q), %v; want %q (%q)", rng, got, gotRange, err, want[0], want[1])
		}
	}
	for _, rng := range []string{"bytes=10-", "bytes=10-12", "bytes=-0"} {
		_, _, err := get(rng)
		sandboxtest.WantCode(t, err, "InvalidRange")
		var re interface{ HTTPStatusCode() int }
		if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("Range %q: %v, want status 416", rng, err)
		}
		var ae smithy.APIError
		if errors.As(err, &ae) && !strings.Contains(ae.ErrorMessage(), "not satisfiable") {
			t.Errorf("Range %q: message %q", rng, ae.ErrorMessage())
		}
	}
}
