package s3

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// TestSeededBucket checks a seeded bucket makes each part once, only when
// a request reaches under its prefix, keeps what a service wrote before,
// and is never saved.
func TestSeededBucket(t *testing.T) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	var saved []any
	s := New(Config{Now: func() time.Time { return now }, Recorder: memory{}, Store: recordingStore{changes: &saved}})
	var made [2]atomic.Int32
	part := func(i int, prefix string, keys ...string) awsapi.SeedPart {
		return awsapi.SeedPart{Prefix: prefix, Fill: func() ([]awsapi.Object, error) {
			made[i].Add(1)
			var out []awsapi.Object
			for _, k := range keys {
				out = append(out, awsapi.Object{Key: prefix + k, Body: []byte("seeded " + k), ContentType: "text/plain",
					Metadata: map[string]string{"Part": prefix}, LastModified: now.Add(-time.Hour)})
			}
			return out, nil
		}}
	}
	seed := awsapi.BucketSeed{Name: "seeded", Account: "123456789012", Region: "us-east-1", Policy: "{}", Created: now.AddDate(-2, 0, 0),
		Parts: []awsapi.SeedPart{part(0, "logs/a/", "1", "2"), part(1, "logs/b/", "1", "2")}}
	if err := s.SeedBucket(seed); err != nil {
		t.Fatal(err)
	}
	if err := s.SeedBucket(seed); !errors.Is(err, ErrBucketExists) {
		t.Fatalf("seeding twice: %v", err)
	}
	do := func(method, target string) *httptest.ResponseRecorder {
		t.Helper()
		rec := httptest.NewRecorder()
		s.ServeAPI(rec, httptest.NewRequest(method, target, strings.NewReader("")), awsapi.Caller{Region: "us-east-1", Account: "123456789012"}, nil)
		return rec
	}
	counts := func() [2]int32 { return [2]int32{made[0].Load(), made[1].Load()} }

	if rec := do(http.MethodGet, "/seeded?policy"); rec.Code != http.StatusOK || counts() != [2]int32{} {
		t.Fatalf("GetBucketPolicy: %d, parts made %v", rec.Code, counts())
	}
	// A service's write comes first and stays.
	if err := s.PutObject("seeded", "logs/b/2", []byte("written"), "", nil); err != nil {
		t.Fatal(err)
	}
	rec := do(http.MethodGet, "/seeded/logs/a/1")
	if rec.Code != http.StatusOK || rec.Body.String() != "seeded 1" ||
		rec.Header().Get("Last-Modified") != now.Add(-time.Hour).Format(http.TimeFormat) || counts() != [2]int32{1, 0} {
		t.Fatalf("GetObject = %d %q %v, parts made %v", rec.Code, rec.Body, rec.Header(), counts())
	}
	// User metadata goes on the wire in lower case, past net/http's
	// canonical form.
	for name, want := range map[string]string{"x-amz-meta-part": "logs/a/"} {
		if got := rec.Header()[name]; len(got) != 1 || got[0] != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	if rec := do(http.MethodGet, "/seeded?list-type=2&prefix=logs/&delimiter=/"); rec.Code != http.StatusOK || counts() != [2]int32{1, 1} {
		t.Fatalf("ListObjectsV2: %d, parts made %v", rec.Code, counts())
	}
	if rec := do(http.MethodGet, "/seeded/logs/b/2"); rec.Body.String() != "written" {
		t.Fatalf("the service's object = %q", rec.Body)
	}
	if rec := do(http.MethodGet, "/seeded?list-type=2"); !strings.Contains(rec.Body.String(), "<KeyCount>4</KeyCount>") || counts() != [2]int32{1, 1} {
		t.Fatalf("full listing: %s, parts made %v", rec.Body, counts())
	}
	if len(saved) != 0 {
		t.Errorf("a seeded bucket was saved: %v", saved)
	}
	snapshot, err := json.Marshal(s.snapshotLocked())
	if err != nil || strings.Contains(string(snapshot), "seeded") {
		t.Errorf("snapshot = %s, %v", snapshot, err)
	}
}

// TestSeedFailure answers a part that cannot be made as S3 answers its own
// failures, and leaves requests that need no part alone.
func TestSeedFailure(t *testing.T) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	s := New(Config{Now: func() time.Time { return now }, Recorder: memory{}, Store: memory{}})
	if err := s.SeedBucket(awsapi.BucketSeed{Name: "broken", Account: "123456789012", Region: "us-east-1", Created: now,
		Parts: []awsapi.SeedPart{{Prefix: "p/", Fill: func() ([]awsapi.Object, error) { return nil, errors.New("no") }}}}); err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]int{"/broken/p/x": http.StatusInternalServerError, "/broken/q/x": http.StatusNotFound, "/broken?location": http.StatusOK} {
		rec := httptest.NewRecorder()
		s.ServeAPI(rec, httptest.NewRequest(http.MethodGet, target, nil), awsapi.Caller{Region: "us-east-1", Account: "123456789012"}, nil)
		if rec.Code != want {
			t.Errorf("GET %s = %d %s, want %d", target, rec.Code, rec.Body, want)
		}
	}
}

// recordingStore keeps the changes written to it.
type recordingStore struct {
	memory
	changes *[]any
}

func (r recordingStore) Write(_ func() any, changes ...any) error {
	*r.changes = append(*r.changes, changes...)
	return nil
}

// TestCopyFromSeededPart makes the part of a seeded bucket a copy reads
// from, as a read would.
func TestCopyFromSeededPart(t *testing.T) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	s := New(Config{Now: func() time.Time { return now }, Recorder: memory{}, Store: memory{}})
	var made atomic.Int32
	if err := s.SeedBucket(awsapi.BucketSeed{Name: "seeded", Account: "123456789012", Region: "us-east-1", Created: now,
		Parts: []awsapi.SeedPart{{Prefix: "logs/", Fill: func() ([]awsapi.Object, error) {
			made.Add(1)
			return []awsapi.Object{{Key: "logs/1", Body: []byte("seeded 1"), ContentType: "text/plain", LastModified: now}}, nil
		}}}}); err != nil {
		t.Fatal(err)
	}
	caller := awsapi.Caller{Region: "us-east-1", Account: "123456789012", ARN: "arn:aws:iam::123456789012:user/sandbox"}
	do := func(method, target, copySource string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(method, target, nil)
		if copySource != "" {
			req.Header.Set("X-Amz-Copy-Source", copySource)
		}
		rec := httptest.NewRecorder()
		s.ServeAPI(rec, req, caller, nil)
		return rec
	}
	if rec := do(http.MethodPut, "/dest", ""); rec.Code != http.StatusOK {
		t.Fatalf("CreateBucket: %d %s", rec.Code, rec.Body)
	}
	if rec := do(http.MethodPut, "/dest/copied", "/seeded/logs/1"); rec.Code != http.StatusOK || made.Load() != 1 {
		t.Fatalf("CopyObject from a seeded part: %d %s, parts made %d", rec.Code, rec.Body, made.Load())
	}
	if rec := do(http.MethodGet, "/dest/copied", ""); rec.Body.String() != "seeded 1" {
		t.Errorf("copy = %q", rec.Body)
	}
}
