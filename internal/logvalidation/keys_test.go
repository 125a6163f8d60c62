package logvalidation

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/google/go-cmp/cmp"
)

// listPublicKeysServer answers CloudTrail ListPublicKeys as AWS does (JSON
// 1.1, epoch seconds, base64 values), two keys a page, and records the
// calls it gets.
type listPublicKeysServer struct {
	keys []PublicKey

	mu    sync.Mutex
	calls []string
}

func (s *listPublicKeysServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".ListPublicKeys") {
		http.Error(w, "unexpected operation "+r.Header.Get("X-Amz-Target"), http.StatusBadRequest)
		return
	}
	var in struct {
		StartTime, EndTime float64
		NextToken          string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, fmt.Sprintf("%s %d-%d %s", signedRegion(r), int64(in.StartTime), int64(in.EndTime), in.NextToken))
	s.mu.Unlock()

	first := 0
	if in.NextToken != "" {
		if _, err := fmt.Sscanf(in.NextToken, "page-%d", &first); err != nil {
			http.Error(w, "bad token", http.StatusBadRequest)
			return
		}
	}
	type key struct {
		Value                              string
		ValidityStartTime, ValidityEndTime int64
		Fingerprint                        string
	}
	out := struct {
		PublicKeyList []key
		NextToken     string `json:",omitempty"`
	}{PublicKeyList: []key{}}
	for i := first; i < len(s.keys) && i < first+2; i++ {
		k := s.keys[i]
		out.PublicKeyList = append(out.PublicKeyList, key{base64.StdEncoding.EncodeToString(k.Value), k.ValidityStart.Unix(), k.ValidityEnd.Unix(), k.Fingerprint})
	}
	if first+2 < len(s.keys) {
		out.NextToken = fmt.Sprintf("page-%d", first+2)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

// signedRegion is the region of a SigV4 request's credential scope.
func signedRegion(r *http.Request) string {
	_, scope, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	parts := strings.Split(scope, "/")
	if len(parts) < 3 {
		return ""
	}
	return parts[2]
}

func TestCloudTrailKeys(t *testing.T) {
	from, to := t0.Add(-time.Hour), t0.AddDate(0, 0, 7)
	var want []PublicKey
	for i := range 3 {
		want = append(want, testSigner(t, i).publicKey(from.Add(time.Duration(i)*time.Hour), to))
	}
	srv := &listPublicKeysServer{keys: want}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	clients := map[string]*cloudtrail.Client{}
	for _, r := range []string{"us-east-1", "eu-west-1"} {
		clients[r] = cloudtrail.New(cloudtrail.Options{
			Region: r, BaseEndpoint: aws.String(ts.URL),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		})
	}
	keys := NewCloudTrailKeys(func(region string) *cloudtrail.Client { return clients[region] })

	// Concurrent askers of one range share one paged exchange.
	var wg sync.WaitGroup
	results := make([][]PublicKey, 8)
	errs := make([]error, 8)
	for i := range results {
		wg.Go(func() {
			results[i], errs[i] = keys.PublicKeys(context.Background(), "us-east-1", t0, t0.Add(26*time.Hour))
		})
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil {
			t.Fatalf("PublicKeys: %v", errs[i])
		}
		if diff := cmp.Diff(want, results[i]); diff != "" {
			t.Errorf("keys (-want +got):\n%s", diff)
		}
	}
	if _, err := keys.PublicKeys(context.Background(), "eu-west-1", t0, t0.Add(26*time.Hour)); err != nil {
		t.Fatal(err)
	}
	start, end := t0.Unix(), t0.Add(26*time.Hour).Unix()
	wantCalls := []string{
		fmt.Sprintf("us-east-1 %d-%d ", start, end), fmt.Sprintf("us-east-1 %d-%d page-2", start, end),
		fmt.Sprintf("eu-west-1 %d-%d ", start, end), fmt.Sprintf("eu-west-1 %d-%d page-2", start, end),
	}
	if diff := cmp.Diff(wantCalls, srv.calls); diff != "" {
		t.Errorf("ListPublicKeys calls (-want +got):\n%s", diff)
	}
}

func TestCloudTrailKeysErrors(t *testing.T) {
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"AccessDeniedException","message":"not authorized to perform cloudtrail:ListPublicKeys"}`))
	}))
	t.Cleanup(ts.Close)
	client := cloudtrail.New(cloudtrail.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(ts.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	keys := NewCloudTrailKeys(func(string) *cloudtrail.Client { return client })
	for range 2 {
		_, err := keys.PublicKeys(context.Background(), "us-east-1", t0, t0.Add(time.Hour))
		if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") || !strings.Contains(err.Error(), "listing CloudTrail public keys in us-east-1") ||
			!strings.Contains(err.Error(), "lacks the IAM permission cloudtrail:ListPublicKeys") {
			t.Errorf("error %v", err)
		}
	}
	// A failure is not remembered: the second ask asked again.
	if n := calls.Load(); n != 2 {
		t.Errorf("%d ListPublicKeys calls, want 2", n)
	}
}
