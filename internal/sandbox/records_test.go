package sandbox

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// TestEventFilesRouting loads testdata/events (plain, gzipped, nested) and
// checks each record lands in its region and account.
func TestEventFilesRouting(t *testing.T) {
	e := newCTEnv(t, Options{NoHistory: true, LookupRPS: 1e6, EventFiles: []string{"testdata/events"}})
	want := map[string][]string{
		"us-east-1":      {"f1000000-0000-4000-8000-000000000001"},
		"eu-west-1":      {"f1000000-0000-4000-8000-000000000002"},
		"ap-southeast-2": {"f1000000-0000-4000-8000-000000000003"},
		"us-west-2":      nil,
	}
	for region, ids := range want {
		got := lookupAll(t, e.ct(region), cloudtrail.LookupEventsInput{})
		if len(got) != len(ids) {
			t.Fatalf("%s: %d events, want %v", region, len(got), ids)
		}
		for i, id := range ids {
			if aws.ToString(got[i].EventId) != id {
				t.Fatalf("%s: event %s, want %s", region, aws.ToString(got[i].EventId), id)
			}
		}
	}
	// The record without recipientAccountId belongs to its caller's account.
	e.srv.mu.Lock()
	idx := e.srv.ctrt.index[indexKey("111122223333", "us-east-1")]
	e.srv.mu.Unlock()
	if idx == nil || len(idx.events) != 1 || idx.events[0].EventName != "DeleteServer" {
		t.Fatalf("other account's index = %+v", idx)
	}
}

func TestAddRecordsGzipAndDuplicates(t *testing.T) {
	e := newCTEnv(t, Options{NoHistory: true, LookupRPS: 1e6})
	body := []byte(`{"Records":[` + testRecord("dup-1", "CreateBackup", "us-east-1", ctTestNow.Add(-time.Hour), false) + `]}`)
	for _, b := range [][]byte{body, gzipBytes(t, body)} {
		if err := e.srv.AddRecords(bytes.NewReader(b)); err != nil {
			t.Fatalf("AddRecords: %v", err)
		}
	}
	out, err := e.ct("us-east-1").LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{})
	if err != nil || len(out.Events) != 1 {
		t.Fatalf("LookupEvents = %+v, %v", out, err)
	}
	for _, bad := range []string{`{"Records":[{"eventName":"X"}]}`, `not json`, `{"Records":[{"eventName":"X","eventSource":"s","eventTime":"yesterday"}]}`} {
		if err := e.srv.AddRecords(bytes.NewReader([]byte(bad))); err == nil {
			t.Fatalf("AddRecords(%s) succeeded", bad)
		}
	}
}
