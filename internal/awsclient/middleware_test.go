package awsclient_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

// TestCallLogNamesEveryCall reads the provider's debug log as Terraform
// gets it (JSON lines) and checks that each AWS call names its service,
// operation, region, request id, attempts and duration, and that no line
// carries the credentials.
func TestCallLogNamesEveryCall(t *testing.T) {
	const accessKey, secretKey = "AKIALOGTESTKEY000001", "log-test-secret-must-not-appear"
	var lookupFailures atomic.Int32
	lookupFailures.Store(1)
	sent := &requestIDs{}
	ep := startSandbox(t, sandbox.Options{NoHistory: true, AccessKey: accessKey, SecretKey: secretKey},
		func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w = &requestIDWriter{ResponseWriter: w, ids: sent}
				if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".LookupEvents") && lookupFailures.Add(-1) >= 0 {
					http.Error(w, "unavailable", http.StatusServiceUnavailable)
					return
				}
				next.ServeHTTP(w, r)
			})
		})
	cfg := sandboxConfig(ep)
	cfg.AccessKey, cfg.SecretKey = accessKey, secretKey

	var out bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &out)
	c, err := awsclient.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CloudTrail("eu-west-1").LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.S3("").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("call-log-check")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.S3("").HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("no-such-bucket-here")}); err == nil {
		t.Fatal("HeadBucket of a missing bucket succeeded")
	}

	if raw := out.String(); strings.Contains(raw, secretKey) || strings.Contains(raw, accessKey) {
		t.Errorf("the log carries a credential:\n%s", raw)
	}
	entries, err := tflogtest.MultilineJSONDecode(&out)
	if err != nil {
		t.Fatal(err)
	}
	type call struct{ service, operation, region, message string }
	want := map[call]float64{
		{"STS", "GetCallerIdentity", "us-east-1", "AWS call"}:   1,
		{"CloudTrail", "LookupEvents", "eu-west-1", "AWS call"}: 2,
		{"S3", "CreateBucket", "us-east-1", "AWS call"}:         1,
		{"S3", "HeadBucket", "us-east-1", "AWS call failed"}:    1,
	}
	got := map[call]float64{}
	for _, e := range entries {
		msg, _ := e["@message"].(string)
		if !strings.HasPrefix(msg, "AWS call") {
			continue
		}
		k := call{str(e["aws_service"]), str(e["aws_operation"]), str(e["aws_region"]), msg}
		attempts, _ := e["aws_attempts"].(float64)
		got[k] = attempts
		if id := str(e["aws_request_id"]); !sent.has(id) {
			t.Errorf("%v: request id %q is not one the endpoint sent, in %v", k, id, e)
		}
		if _, ok := e["duration_ms"].(float64); !ok {
			t.Errorf("%v: no duration in %v", k, e)
		}
	}
	for k, n := range want {
		if a, ok := got[k]; !ok {
			t.Errorf("no log line for %v; got %v", k, got)
		} else if a != n {
			t.Errorf("%v: %v attempts logged, want %v", k, a, n)
		}
	}
}

// requestIDWriter records the request id of every response and stamps one
// where the sandbox sends none (its CloudTrail success answers), as AWS puts
// one on every response.
type requestIDWriter struct {
	http.ResponseWriter
	ids         *requestIDs
	wroteHeader bool
}

func (w *requestIDWriter) WriteHeader(status int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	h := w.Header()
	id := h.Get("X-Amz-Request-Id")
	if id == "" {
		id = h.Get("X-Amzn-Requestid")
	}
	if id == "" {
		id = fmt.Sprintf("stamped-%d", w.ids.next())
		h.Set("X-Amzn-Requestid", id)
	}
	w.ids.add(id)
	w.ResponseWriter.WriteHeader(status)
}

func (w *requestIDWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

type requestIDs struct {
	mu  sync.Mutex
	n   int
	ids map[string]bool
}

func (r *requestIDs) next() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	return r.n
}

func (r *requestIDs) add(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids = map[string]bool{}
	}
	r.ids[id] = true
}

func (r *requestIDs) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return id != "" && r.ids[id]
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
