package s3_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

// readResponse reads resp's body to the end and closes it, failing the
// test on error.
func readResponse(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("reading the response body: %v", err)
	}
	return b
}

// s3ErrorCode is the Code of an S3 error response body.
func s3ErrorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct{ Code string }
	if err := xml.Unmarshal(body, &e); err != nil {
		t.Fatalf("body %q is not an S3 error: %v", body, err)
	}
	return e.Code
}

func TestPresignedURLs(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	e.MakeBucket(t, "eu-west-1", "presign-bucket", "")
	c := e.S3("eu-west-1")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("presign-bucket"), Key: aws.String("dir/file one.txt"), Body: strings.NewReader("hello")}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	ps, err := s3.NewPresignClient(c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("presign-bucket"), Key: aws.String("dir/file one.txt")})
	if err != nil {
		t.Fatalf("PresignGetObject: %v", err)
	}
	resp, err := http.Get(ps.URL)
	if err != nil {
		t.Fatal(err)
	}
	body := readResponse(t, resp)
	if resp.StatusCode != 200 || string(body) != "hello" {
		t.Fatalf("presigned GET: status %d body %q", resp.StatusCode, body)
	}

	u, _ := url.Parse(ps.URL)
	q := u.Query()
	sig := q.Get("X-Amz-Signature")
	q.Set("X-Amz-Signature", strings.Repeat("0", len(sig)))
	u.RawQuery = q.Encode()
	resp, err = http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	if code := s3ErrorCode(t, readResponse(t, resp)); resp.StatusCode != 403 || code != "SignatureDoesNotMatch" {
		t.Errorf("tampered signature: status %d code %q", resp.StatusCode, code)
	}
	q = u.Query()
	q.Set("X-Amz-Signature", sig)
	q.Set("X-Amz-Expires", "0")
	u.RawQuery = q.Encode()
	resp, err = http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	if code := s3ErrorCode(t, readResponse(t, resp)); resp.StatusCode != 400 || code != "AuthorizationQueryParametersError" {
		t.Errorf("X-Amz-Expires=0: status %d code %q", resp.StatusCode, code)
	}
	other := strings.Replace(ps.URL, "file%20one", "file%20two", 1)
	resp, err = http.Get(other)
	if err != nil {
		t.Fatal(err)
	}
	if code := s3ErrorCode(t, readResponse(t, resp)); code != "SignatureDoesNotMatch" {
		t.Errorf("tampered key: code %q", code)
	}

	// Presigned two hours ago for one hour: expired.
	req, _ := http.NewRequest("GET", e.URL+"/presign-bucket/dir/file%20one.txt?X-Amz-Expires=3600", nil)
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	signed, _, err := v4.NewSigner().PresignHTTP(ctx, creds, req, "UNSIGNED-PAYLOAD", "s3", "eu-west-1", time.Now().Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(signed)
	if err != nil {
		t.Fatal(err)
	}
	if code := s3ErrorCode(t, readResponse(t, resp)); resp.StatusCode != 403 || code != "AccessDenied" {
		t.Errorf("expired presigned URL: status %d code %q, want 403 AccessDenied", resp.StatusCode, code)
	}
}

// TestAWSChunkedTrailer exercises the Go SDK's streaming upload with a
// trailing checksum, which it uses only over TLS.
func TestAWSChunkedTrailer(t *testing.T) {
	srv, err := sandbox.New(sandbox.Options{NoHistory: true})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewTLSServer(srv)
	t.Cleanup(hs.Close)
	ctx := context.Background()
	c := sandboxtest.S3Client(hs.URL, "us-east-1", sandboxtest.Creds("test", "test", ""), func(o *s3.Options) { o.HTTPClient = hs.Client() })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("chunked")}); err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("0123456789abcdef", 5000)
	// An io.Reader that is not seekable makes the SDK stream it.
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("chunked"), Key: aws.String("big"), Body: io.MultiReader(strings.NewReader(body)), ContentLength: aws.Int64(int64(len(body))),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32c}); err != nil {
		t.Fatalf("PutObject streaming: %v", err)
	}
	if got := sandboxtest.ReadObject(t, c, "chunked", "big", nil); got != body {
		t.Errorf("stored body has %d bytes, want %d", len(got), len(body))
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("chunked"), Key: aws.String("big"), ChecksumMode: s3types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	sum := crc32.Checksum([]byte(body), crc32.MakeTable(crc32.Castagnoli))
	if want := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, sum)); aws.ToString(head.ChecksumCRC32C) != want {
		t.Errorf("trailing checksum not kept: CRC32C %q, want %q", aws.ToString(head.ChecksumCRC32C), want)
	}
}

func TestVirtualHostStyle(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	c := e.S3VirtualHost("us-east-1")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("vhost-bucket")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("vhost-bucket"), Key: aws.String("a/b.txt"), Body: strings.NewReader("virtual")}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	if got := sandboxtest.ReadObject(t, e.S3("us-east-1"), "vhost-bucket", "a/b.txt", nil); got != "virtual" {
		t.Errorf("path-style read of a virtual-host write = %q", got)
	}
	if got := sandboxtest.ReadObject(t, c, "vhost-bucket", "a/b.txt", nil); got != "virtual" {
		t.Errorf("virtual-host read = %q", got)
	}
}
