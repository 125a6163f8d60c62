package sigv4

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// testKeys knows one long-term key ("test") and one temporary key
// ("ASIATEMP"), valid until the test clock passes testExpiry.
type testKeys struct{}

var testExpiry = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func (testKeys) Principal(accessKey string) (Principal, bool) {
	switch accessKey {
	case "test":
		return Principal{Account: "123456789012", ARN: "arn:aws:iam::123456789012:user/sandbox", Secret: "test"}, true
	case "ASIATEMP":
		return Principal{Account: "210987654321", ARN: "arn:aws:sts::210987654321:assumed-role/r/s", Secret: "temp-secret", Token: "session-token", Expires: testExpiry}, true
	}
	return Principal{}, false
}

func verifierAt(now time.Time) *Verifier {
	return &Verifier{Keys: testKeys{}, Now: func() time.Time { return now }}
}

// sign signs a request with the SDK's signer.
func sign(t *testing.T, method, target string, body []byte, creds aws.Credentials, service, region string, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	hash := hashHex(body)
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, service, region, at); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestVerify(t *testing.T) {
	now := time.Now()
	long := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	temp := aws.Credentials{AccessKeyID: "ASIATEMP", SecretAccessKey: "temp-secret", SessionToken: "session-token"}
	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")

	signed, got, verr := verifierAt(now).Verify(sign(t, "POST", "http://localhost/", body, long, "sts", "eu-west-1", now), body, "sts")
	if verr != nil {
		t.Fatalf("Verify: %+v", verr)
	}
	if signed.AccessKey != "test" || signed.Region != "eu-west-1" || signed.Account != "123456789012" || !bytes.Equal(got, body) {
		t.Errorf("Verify = %+v, body %q", signed, got)
	}
	signed, _, verr = verifierAt(now).Verify(sign(t, "GET", "http://localhost/b/k", nil, temp, "s3", "us-east-1", now), nil, "s3")
	if verr != nil || signed.ARN != "arn:aws:sts::210987654321:assumed-role/r/s" {
		t.Errorf("temporary credentials: %+v, %+v", signed, verr)
	}

	query := sign(t, "GET", "http://localhost/b?list-type=2&prefix=a%20b%2Fc&delimiter=%2F&max-keys=5", nil, long, "s3", "us-east-1", now)
	if _, _, verr := verifierAt(now).Verify(query, nil, "s3"); verr != nil {
		t.Errorf("query parameters: %+v", verr)
	}

	// Each rejection, and how S3 words it.
	for _, tc := range []struct {
		name string
		req  func() *http.Request
		body []byte
		at   time.Time
		want Kind
		code string
	}{
		{"unsigned", func() *http.Request { r, _ := http.NewRequest("GET", "http://localhost/", nil); return r }, nil, now, Missing, "AccessDenied"},
		{"unknown key", func() *http.Request {
			return sign(t, "GET", "http://localhost/", nil, aws.Credentials{AccessKeyID: "AKIANOBODY", SecretAccessKey: "x"}, "s3", "us-east-1", now)
		}, nil, now, UnknownKey, "InvalidAccessKeyId"},
		{"wrong secret", func() *http.Request {
			return sign(t, "GET", "http://localhost/", nil, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "wrong"}, "s3", "us-east-1", now)
		}, nil, now, BadSignature, "SignatureDoesNotMatch"},
		{"scoped to another service", func() *http.Request {
			return sign(t, "GET", "http://localhost/", nil, long, "sts", "us-east-1", now)
		}, nil, now, BadSignature, "SignatureDoesNotMatch"},
		{"token with a long-term key", func() *http.Request {
			return sign(t, "GET", "http://localhost/", nil, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", SessionToken: "x"}, "s3", "us-east-1", now)
		}, nil, now, InvalidToken, "InvalidToken"},
		{"forged token", func() *http.Request {
			return sign(t, "GET", "http://localhost/", nil, aws.Credentials{AccessKeyID: "ASIATEMP", SecretAccessKey: "temp-secret", SessionToken: "forged"}, "s3", "us-east-1", now)
		}, nil, now, InvalidToken, "InvalidToken"},
		{"expired session", func() *http.Request {
			return sign(t, "GET", "http://localhost/", nil, temp, "s3", "us-east-1", now)
		}, nil, testExpiry.Add(time.Second), ExpiredToken, "ExpiredToken"},
		{"clock skew", func() *http.Request {
			return sign(t, "GET", "http://localhost/", nil, long, "s3", "us-east-1", now.Add(-time.Hour))
		}, nil, now, ClockSkew, "RequestTimeTooSkewed"},
		{"body changed", func() *http.Request {
			return sign(t, "PUT", "http://localhost/b/k", []byte("signed"), long, "s3", "us-east-1", now)
		}, []byte("sent"), now, ContentSHA256, "XAmzContentSHA256Mismatch"},
		{"header changed", func() *http.Request {
			r := sign(t, "GET", "http://localhost/", nil, long, "s3", "us-east-1", now)
			r.Header.Set("X-Amz-Date", now.Add(time.Second).UTC().Format(amzDateFormat))
			return r
		}, nil, now, BadSignature, "SignatureDoesNotMatch"},
		{"malformed presigned URL", func() *http.Request {
			r, _ := http.NewRequest("GET", "http://localhost/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=0", nil)
			return r
		}, nil, now, MalformedQuery, "AuthorizationQueryParametersError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, verr := verifierAt(tc.at).Verify(tc.req(), tc.body, "s3")
			if verr == nil || verr.Kind != tc.want {
				t.Fatalf("Verify = %+v, want kind %d", verr, tc.want)
			}
			if code := S3.Reply(verr).Code; code != tc.code {
				t.Errorf("S3 answers %s, want %s", code, tc.code)
			}
		})
	}
}

// TestVerifySignedChunks builds a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body by
// hand, as the SDK sends none over plain HTTP: each chunk's signature
// chains from the request's.
func TestVerifySignedChunks(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	payload := []byte("hello, signed chunks")
	encode := func(tamper bool) ([]byte, *Error) {
		sig := &signature{scopeDate: now.Format(scopeDateFormat), region: "us-east-1", service: "s3", amzDate: now}
		key := signingKey("test", sig.scopeDate, sig.region, sig.service)
		req, _ := http.NewRequest("PUT", "http://localhost/signed-chunks/obj", nil)
		req.Header.Set("X-Amz-Content-Sha256", streamingSigned)
		req.Header.Set("X-Amz-Date", now.Format(amzDateFormat))
		req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(payload)))
		req.Header.Set("Content-Encoding", "aws-chunked")
		sig.signedHeaders = []string{"content-encoding", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-decoded-content-length"}
		creq := strings.Join([]string{"PUT", "/signed-chunks/obj", "", canonicalHeaders(req, sig.signedHeaders), strings.Join(sig.signedHeaders, ";"), streamingSigned}, "\n")
		sig.value = signString(key, sig, creq)
		prev := sig.value
		var body bytes.Buffer
		for _, chunk := range [][]byte{payload, nil} {
			sts := strings.Join([]string{algorithm + "-PAYLOAD", now.Format(amzDateFormat), sig.scope(), prev, emptySHA256, hashHex(chunk)}, "\n")
			prev = fmt.Sprintf("%x", hmacSHA256(key, sts))
			fmt.Fprintf(&body, "%x;chunk-signature=%s\r\n%s\r\n", len(chunk), prev, chunk)
		}
		out := body.Bytes()
		if tamper {
			out = bytes.Replace(out, []byte("hello"), []byte("HELLO"), 1)
		}
		req.Header.Set("Authorization", fmt.Sprintf("%s Credential=test/%s, SignedHeaders=%s, Signature=%s", algorithm, sig.scope(), strings.Join(sig.signedHeaders, ";"), sig.value))
		req.Body = io.NopCloser(bytes.NewReader(out))
		_, decoded, verr := verifierAt(now).Verify(req, out, "s3")
		return decoded, verr
	}
	decoded, verr := encode(false)
	if verr != nil || !bytes.Equal(decoded, payload) {
		t.Fatalf("signed aws-chunked body: %q, %+v", decoded, verr)
	}
	if _, verr := encode(true); verr == nil || verr.Kind != BadSignature {
		t.Errorf("tampered chunk: %+v, want a bad signature", verr)
	}
}

// TestWordingsAreComplete checks every protocol words every kind of
// rejection: a missing one would answer status 0.
func TestWordingsAreComplete(t *testing.T) {
	for name, w := range map[string]Wording{"JSON": JSON, "Query": Query, "S3": S3} {
		for k := Missing; k <= TooLarge; k++ {
			if r := w.Reply(&Error{Kind: k}); r.Status < 400 || r.Code == "" || r.Message == "" {
				t.Errorf("%s words kind %d as %+v", name, k, r)
			}
		}
	}
}
