package sandbox

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestGetCallerIdentity(t *testing.T) {
	e := newCTEnv(t, Options{NoHistory: true, Account: "111122223333"})
	out, err := stsWith(e.url, "eu-west-1", staticCreds("test", "test", "")).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if got := aws.ToString(out.Account); got != "111122223333" {
		t.Errorf("Account = %q", got)
	}
	if got := aws.ToString(out.Arn); got != "arn:aws:iam::111122223333:user/sandbox" {
		t.Errorf("Arn = %q", got)
	}
	if got := aws.ToString(out.UserId); !strings.HasPrefix(got, "AIDA") || len(got) != 21 {
		t.Errorf("UserId = %q, want AIDA + 17 characters", got)
	}
}

func TestWrongCredentialsPerService(t *testing.T) {
	e := newCTEnv(t, Options{NoHistory: true})
	ctx := context.Background()
	unknown := staticCreds("AKIAUNKNOWN", "test", "")
	badSecret := staticCreds("test", "wrong", "")
	ctWith := func(creds aws.CredentialsProvider) *cloudtrail.Client {
		return cloudtrail.New(cloudtrail.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.url), Credentials: creds, Retryer: connectionRetryer()})
	}
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"s3 unknown key", func() error {
			_, err := s3With(e.url, "us-east-1", unknown).ListBuckets(ctx, &s3.ListBucketsInput{})
			return err
		}, "InvalidAccessKeyId"},
		{"s3 bad signature", func() error {
			_, err := s3With(e.url, "us-east-1", badSecret).ListBuckets(ctx, &s3.ListBucketsInput{})
			return err
		}, "SignatureDoesNotMatch"},
		{"sts unknown key", func() error {
			_, err := stsWith(e.url, "us-east-1", unknown).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		}, "InvalidClientTokenId"},
		{"sts bad signature", func() error {
			_, err := stsWith(e.url, "us-east-1", badSecret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		}, "SignatureDoesNotMatch"},
		{"cloudtrail unknown key", func() error { _, err := ctWith(unknown).ListTrails(ctx, &cloudtrail.ListTrailsInput{}); return err }, "UnrecognizedClientException"},
		{"cloudtrail bad signature", func() error { _, err := ctWith(badSecret).ListTrails(ctx, &cloudtrail.ListTrailsInput{}); return err }, "InvalidSignatureException"},
		{"token with a long-term key", func() error {
			_, err := s3With(e.url, "us-east-1", staticCreds("test", "test", "bogus")).ListBuckets(ctx, &s3.ListBucketsInput{})
			return err
		}, "InvalidToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.call(), tt.want) })
	}
}

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
	e := newCTEnv(t, Options{NoHistory: true})
	ctx := context.Background()
	e.makeBucket(t, "eu-west-1", "presign-bucket", "")
	c := e.s3("eu-west-1")
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
	req, _ := http.NewRequest("GET", e.url+"/presign-bucket/dir/file%20one.txt?X-Amz-Expires=3600", nil)
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

func TestAssumeRole(t *testing.T) {
	e := newCTEnv(t, Options{NoHistory: true})
	ctx := context.Background()
	base := stsWith(e.url, "us-east-1", staticCreds("test", "test", ""))
	out, err := base.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String("arn:aws:iam::123456789012:role/path/auditor"),
		RoleSessionName: aws.String("ci-run"),
		ExternalId:      aws.String("ext-123"),
		DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	cr := out.Credentials
	if !strings.HasPrefix(aws.ToString(cr.AccessKeyId), "ASIA") || aws.ToString(cr.SessionToken) == "" {
		t.Errorf("credentials = %+v", cr)
	}
	// newCTEnv pins Options.Now, which expirations are relative to.
	if got := aws.ToTime(cr.Expiration); !got.Equal(ctTestNow.Add(900 * time.Second)) {
		t.Errorf("Expiration = %v, want 900s after %v", got, ctTestNow)
	}
	wantARN := "arn:aws:sts::123456789012:assumed-role/auditor/ci-run"
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != wantARN {
		t.Errorf("AssumedRoleUser.Arn = %q, want %q", got, wantARN)
	}
	roleCreds := staticCreds(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken))
	id, err := stsWith(e.url, "us-east-1", roleCreds).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with role credentials: %v", err)
	}
	if aws.ToString(id.Arn) != wantARN || !strings.HasSuffix(aws.ToString(id.UserId), ":ci-run") || !strings.HasPrefix(aws.ToString(id.UserId), "AROA") {
		t.Errorf("identity = %s / %s", aws.ToString(id.Arn), aws.ToString(id.UserId))
	}

	t.Run("session token must match", func(t *testing.T) {
		bad := staticCreds(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), "forged")
		_, err := stsWith(e.url, "us-east-1", bad).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		wantCode(t, err, "InvalidClientTokenId")
		_, err = s3With(e.url, "us-east-1", bad).ListBuckets(ctx, &s3.ListBucketsInput{})
		wantCode(t, err, "InvalidToken")
		missing := staticCreds(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), "")
		_, err = stsWith(e.url, "us-east-1", missing).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		wantCode(t, err, "InvalidClientTokenId")
	})
	t.Run("role chaining is limited to an hour", func(t *testing.T) {
		_, err := stsWith(e.url, "us-east-1", roleCreds).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::123456789012:role/next"), RoleSessionName: aws.String("chain"), DurationSeconds: aws.Int32(7200),
		})
		wantCode(t, err, "ValidationError")
	})
	t.Run("validation", func(t *testing.T) {
		for _, in := range []*sts.AssumeRoleInput{
			{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(899)},
			{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(43201)},
			{RoleArn: aws.String("arn:aws:iam::123456789012:user/r"), RoleSessionName: aws.String("s1")},
			{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("bad session")},
			{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s1"), ExternalId: aws.String("x")},
		} {
			_, err := base.AssumeRole(ctx, in)
			wantCode(t, err, "ValidationError")
		}
		if _, err := base.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(43200)}); err != nil {
			t.Errorf("AssumeRole for 12 hours: %v", err)
		}
	})
	t.Run("another account owns its buckets", func(t *testing.T) {
		other, err := base.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::210987654321:role/deployer"), RoleSessionName: aws.String("x-acct")})
		if err != nil {
			t.Fatalf("AssumeRole into another account: %v", err)
		}
		oc := other.Credentials
		otherCreds := staticCreds(aws.ToString(oc.AccessKeyId), aws.ToString(oc.SecretAccessKey), aws.ToString(oc.SessionToken))
		id, err := stsWith(e.url, "us-east-1", otherCreds).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil || aws.ToString(id.Account) != "210987654321" {
			t.Fatalf("GetCallerIdentity in the other account: %v, %v", id, err)
		}
		otherS3 := s3With(e.url, "us-east-1", otherCreds)
		if _, err := otherS3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("other-account-bucket")}); err != nil {
			t.Fatalf("CreateBucket in the other account: %v", err)
		}
		_, err = e.s3("us-east-1").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("other-account-bucket")})
		wantCode(t, err, "BucketAlreadyExists")
		_, err = e.s3("us-east-1").GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("other-account-bucket")})
		wantCode(t, err, "AccessDenied")
		list, err := e.s3("us-east-1").ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range list.Buckets {
			if aws.ToString(b.Name) == "other-account-bucket" {
				t.Errorf("ListBuckets shows another account's bucket")
			}
		}
	})
	t.Run("expired credentials", func(t *testing.T) {
		e.clock.Advance(901 * time.Second)
		_, err := stsWith(e.url, "us-east-1", roleCreds).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		wantCode(t, err, "ExpiredToken")
		_, err = s3With(e.url, "us-east-1", roleCreds).ListBuckets(ctx, &s3.ListBucketsInput{})
		wantCode(t, err, "ExpiredToken")
	})
}

// TestAWSChunkedTrailer exercises the Go SDK's streaming upload with a
// trailing checksum, which it uses only over TLS.
func TestAWSChunkedTrailer(t *testing.T) {
	srv, err := New(Options{NoHistory: true})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewTLSServer(srv)
	t.Cleanup(hs.Close)
	ctx := context.Background()
	c := s3With(hs.URL, "us-east-1", staticCreds("test", "test", ""), func(o *s3.Options) { o.HTTPClient = hs.Client() })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("chunked")}); err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("0123456789abcdef", 5000)
	// An io.Reader that is not seekable makes the SDK stream it.
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("chunked"), Key: aws.String("big"), Body: io.MultiReader(strings.NewReader(body)), ContentLength: aws.Int64(int64(len(body))),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32c}); err != nil {
		t.Fatalf("PutObject streaming: %v", err)
	}
	if got := readObject(t, c, "chunked", "big", nil); got != body {
		t.Errorf("stored body has %d bytes, want %d", len(got), len(body))
	}
	srv.mu.Lock()
	v := srv.buckets["chunked"].Objects["big"][0]
	srv.mu.Unlock()
	if v.ChecksumAlgorithm == "" || v.Checksum != checksumOf(v.ChecksumAlgorithm, []byte(body)) {
		t.Errorf("trailing checksum not verified and kept: %q %q", v.ChecksumAlgorithm, v.Checksum)
	}
}

func TestVirtualHostStyle(t *testing.T) {
	e := newCTEnv(t, Options{NoHistory: true})
	ctx := context.Background()
	addr := strings.TrimPrefix(e.url, "http://")
	_, port, _ := net.SplitHostPort(addr)
	// Every name under localhost reaches the test server, as a resolver
	// that follows RFC 6761 would.
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{},
	}}
	c := s3With("http://localhost:"+port, "us-east-1", staticCreds("test", "test", ""), func(o *s3.Options) {
		o.UsePathStyle = false
		o.HTTPClient = client
	})
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("vhost-bucket")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("vhost-bucket"), Key: aws.String("a/b.txt"), Body: strings.NewReader("virtual")}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	if got := readObject(t, e.s3("us-east-1"), "vhost-bucket", "a/b.txt", nil); got != "virtual" {
		t.Errorf("path-style read of a virtual-host write = %q", got)
	}
	if got := readObject(t, c, "vhost-bucket", "a/b.txt", nil); got != "virtual" {
		t.Errorf("virtual-host read = %q", got)
	}
}
