package s3

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// memory is a Store and a Recorder that keep nothing.
type memory struct{}

func (memory) Write(func() any, ...any) error              { return nil }
func (memory) SaveBody([]byte) (string, error)             { return "", nil }
func (memory) LoadBody(string) ([]byte, error)             { return nil, nil }
func (memory) RecordCall(awsapi.Caller, awsapi.Call) error { return nil }

// TestPutObjectForAService writes an object as CloudTrail delivers one,
// with user metadata, and reads it back as a client would.
func TestPutObjectForAService(t *testing.T) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	s := New(Config{Now: func() time.Time { return now }, Recorder: memory{}, Store: memory{}})
	s.buckets["trail-logs"] = &bucket{Name: "trail-logs", Account: "123456789012", Region: "us-east-1", Objects: map[string][]*objectVersion{}}
	if err := s.PutObject("trail-logs", "AWSLogs/digest.json.gz", []byte("digest"), "application/x-gzip",
		map[string]string{"Signature": "00ff", "signature-algorithm": "SHA256withRSA"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutObject("no-such-bucket", "k", nil, "", nil); err == nil {
		t.Error("PutObject into a bucket that does not exist succeeded")
	}
	policy, _, ok := s.BucketPolicy("trail-logs")
	if !ok || policy != "" {
		t.Errorf("BucketPolicy = %q, %v", policy, ok)
	}

	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/trail-logs/AWSLogs/digest.json.gz", nil)
	s.ServeAPI(rec, r, awsapi.Caller{Region: "us-east-1", Account: "123456789012"}, nil)
	h := rec.Result().Header
	if rec.Code != http.StatusOK || rec.Body.String() != "digest" || h.Get("Content-Type") != "application/x-gzip" {
		t.Fatalf("GetObject = %d %q %v", rec.Code, rec.Body.String(), h)
	}
	// The names are set as they go on the wire, in lower case.
	for name, want := range map[string]string{"x-amz-meta-signature": "00ff", "x-amz-meta-signature-algorithm": "SHA256withRSA"} {
		if got := h[name]; len(got) != 1 || got[0] != want {
			t.Errorf("header %s = %q, want %q (all: %v)", name, got, want, h)
		}
	}
}
