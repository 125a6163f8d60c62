package cloudtrail_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

// lookupAll pages through LookupEvents and returns every event.
func lookupAll(t *testing.T, c *cloudtrail.Client, in cloudtrail.LookupEventsInput) []cttypes.Event {
	t.Helper()
	var all []cttypes.Event
	for {
		out, err := c.LookupEvents(context.Background(), &in)
		if err != nil {
			t.Fatalf("LookupEvents: %v", err)
		}
		if in.MaxResults != nil && len(out.Events) > int(*in.MaxResults) {
			t.Fatalf("page of %d events for MaxResults %d", len(out.Events), *in.MaxResults)
		}
		all = append(all, out.Events...)
		if out.NextToken == nil {
			return all
		}
		in.NextToken = out.NextToken
	}
}

func TestLookupEventsValidation(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{LookupRPS: 1e6})
	ctx := context.Background()
	c := e.CloudTrail("us-east-1")
	attr := func(k cttypes.LookupAttributeKey, v string) cttypes.LookupAttribute {
		return cttypes.LookupAttribute{AttributeKey: k, AttributeValue: aws.String(v)}
	}
	for _, tc := range []struct {
		name string
		in   cloudtrail.LookupEventsInput
		want string
	}{
		{"two attributes", cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
			attr(cttypes.LookupAttributeKeyEventName, "CreateServer"), attr(cttypes.LookupAttributeKeyUsername, "alice")}}, "InvalidLookupAttributesException"},
		{"unknown key", cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{attr("Colour", "red")}}, "InvalidLookupAttributesException"},
		{"MaxResults 0", cloudtrail.LookupEventsInput{MaxResults: aws.Int32(0)}, "InvalidMaxResultsException"},
		{"MaxResults 51", cloudtrail.LookupEventsInput{MaxResults: aws.Int32(51)}, "InvalidMaxResultsException"},
		{"start after end", cloudtrail.LookupEventsInput{StartTime: aws.Time(sandboxtest.Now.Add(-time.Hour)), EndTime: aws.Time(sandboxtest.Now.Add(-2 * time.Hour))}, "InvalidTimeRangeException"},
		{"garbage token", cloudtrail.LookupEventsInput{NextToken: aws.String("not-a-token")}, "InvalidNextTokenException"},
		{"bad category", cloudtrail.LookupEventsInput{EventCategory: "data"}, "InvalidEventCategoryException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.LookupEvents(ctx, &tc.in)
			sandboxtest.WantCode(t, err, tc.want)
		})
	}

	// MaxResults bounds are inclusive; the default page is 50.
	for _, n := range []int32{1, 50} {
		out, err := c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(n)})
		if err != nil || len(out.Events) != int(n) || out.NextToken == nil {
			t.Fatalf("MaxResults %d: %d events, token %v, %v", n, len(out.Events), out.NextToken, err)
		}
	}
	out, err := c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
	if err != nil || len(out.Events) != 50 {
		t.Fatalf("default page: %d events, %v", len(out.Events), err)
	}

	// A token is valid only with the parameters that produced it.
	first, err := c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(5),
		LookupAttributes: []cttypes.LookupAttribute{attr(cttypes.LookupAttributeKeyEventName, "DescribeServers")}})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	_, err = c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{NextToken: first.NextToken,
		LookupAttributes: []cttypes.LookupAttribute{attr(cttypes.LookupAttributeKeyEventName, "DescribeBackups")}})
	sandboxtest.WantCode(t, err, "InvalidNextTokenException")
	_, err = c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{NextToken: first.NextToken})
	sandboxtest.WantCode(t, err, "InvalidNextTokenException")
	_, err = e.CloudTrail("eu-west-1").LookupEvents(ctx, &cloudtrail.LookupEventsInput{NextToken: first.NextToken,
		LookupAttributes: []cttypes.LookupAttribute{attr(cttypes.LookupAttributeKeyEventName, "DescribeServers")}})
	sandboxtest.WantCode(t, err, "InvalidNextTokenException")
	if _, err := c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{NextToken: first.NextToken, MaxResults: aws.Int32(7),
		LookupAttributes: []cttypes.LookupAttribute{attr(cttypes.LookupAttributeKeyEventName, "DescribeServers")}}); err != nil {
		t.Fatalf("next page with the same parameters: %v", err)
	}
}

// TestLookupEventsPagination checks that paging returns each event of the
// window exactly once, newest first, and matches an independent count
// over the history.
func TestLookupEventsPagination(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{LookupRPS: 1e6})
	hist := sandbox.History(sandbox.DefaultAccount, sandboxtest.Now)
	regions := map[string]bool{}
	for _, r := range hist {
		regions[r.Region] = true
	}
	for region := range regions {
		want := map[string]bool{}
		for _, r := range hist {
			if r.Region == region && !r.EventTime.Before(sandboxtest.Now.Add(-90*24*time.Hour)) {
				want[r.EventID] = true
			}
		}
		got := lookupAll(t, e.CloudTrail(region), cloudtrail.LookupEventsInput{MaxResults: aws.Int32(7)})
		seen := map[string]bool{}
		for i, ev := range got {
			id := aws.ToString(ev.EventId)
			if seen[id] {
				t.Fatalf("%s: event %s returned twice", region, id)
			}
			seen[id] = true
			if !want[id] {
				t.Fatalf("%s: event %s (%s) not expected", region, id, aws.ToTime(ev.EventTime))
			}
			if i > 0 && aws.ToTime(ev.EventTime).After(aws.ToTime(got[i-1].EventTime)) {
				t.Fatalf("%s: events not newest first at %d", region, i)
			}
		}
		if len(seen) != len(want) {
			t.Fatalf("%s: got %d events, want %d", region, len(seen), len(want))
		}
	}
}

func TestLookupEventsFilters(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{LookupRPS: 1e6})
	hist := sandbox.History(sandbox.DefaultAccount, sandboxtest.Now)
	c := e.CloudTrail("us-east-1")
	window := sandboxtest.Now.Add(-90 * 24 * time.Hour)
	count := func(f func(sandbox.Record) bool) int {
		n := 0
		for _, r := range hist {
			if r.Region == "us-east-1" && !r.EventTime.Before(window) && f(r) {
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		key   cttypes.LookupAttributeKey
		value string
		match func(sandbox.Record) bool
	}{
		{cttypes.LookupAttributeKeyEventName, "UpdateServer", func(r sandbox.Record) bool { return r.EventName == "UpdateServer" }},
		{cttypes.LookupAttributeKeyReadOnly, "false", func(r sandbox.Record) bool { return !r.ReadOnly }},
		{cttypes.LookupAttributeKeyUsername, "bob", func(r sandbox.Record) bool { return r.Username == "bob" }},
		{cttypes.LookupAttributeKeyUsername, "root", func(r sandbox.Record) bool { return r.UserIdentityType == "Root" }},
		{cttypes.LookupAttributeKeyEventSource, sandbox.OpsWorksCMSource, func(r sandbox.Record) bool { return r.EventSource == sandbox.OpsWorksCMSource }},
		{cttypes.LookupAttributeKeyResourceName, "chef-legacy", func(r sandbox.Record) bool { return strings.Contains(string(r.Raw), `"serverName":"chef-legacy"`) }},
		{cttypes.LookupAttributeKeyResourceType, "AWS::OpsWorksCM::Backup", func(r sandbox.Record) bool { return strings.Contains(string(r.Raw), `"backupId"`) }},
		{cttypes.LookupAttributeKeyAccessKeyId, "AKIAQBOBCLIKEY00001", func(r sandbox.Record) bool { return r.Username == "bob" }},
	} {
		t.Run(string(tc.key)+"="+tc.value, func(t *testing.T) {
			want := count(tc.match)
			if want == 0 {
				t.Fatalf("history has no us-east-1 event for %s=%s", tc.key, tc.value)
			}
			got := lookupAll(t, c, cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
				{AttributeKey: tc.key, AttributeValue: aws.String(tc.value)}}})
			if len(got) != want {
				t.Fatalf("got %d events, want %d", len(got), want)
			}
		})
	}
	// EventId finds exactly one; a time range narrows.
	one := lookupAll(t, e.CloudTrail("us-west-2"), cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
		{AttributeKey: cttypes.LookupAttributeKeyEventId, AttributeValue: aws.String(sandbox.DocCreateServerEventID)}}})
	if len(one) != 1 || aws.ToString(one[0].EventName) != "CreateServer" || len(one[0].Resources) == 0 ||
		aws.ToString(one[0].Resources[0].ResourceName) != "puppet-test" {
		t.Fatalf("EventId lookup = %+v", one)
	}
	start, end := sandboxtest.Now.Add(-10*24*time.Hour), sandboxtest.Now.Add(-5*24*time.Hour)
	ranged := lookupAll(t, c, cloudtrail.LookupEventsInput{StartTime: aws.Time(start), EndTime: aws.Time(end)})
	want := count(func(r sandbox.Record) bool { return !r.EventTime.Before(start) && !r.EventTime.After(end) })
	if len(ranged) != want || want == 0 {
		t.Fatalf("time range: got %d events, want %d", len(ranged), want)
	}
}

// TestLookupEventsWindow checks events older than 90 days are not found.
func TestLookupEventsWindow(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true, LookupRPS: 1e6})
	recs := []string{
		testRecord("recent", "CreateBackup", "us-east-1", sandboxtest.Now.Add(-89*24*time.Hour), false),
		testRecord("old", "DeleteBackup", "us-east-1", sandboxtest.Now.Add(-91*24*time.Hour), false),
	}
	if err := e.Server.AddRecords(strings.NewReader(`{"Records":[` + strings.Join(recs, ",") + `]}`)); err != nil {
		t.Fatalf("AddRecords: %v", err)
	}
	got := lookupAll(t, e.CloudTrail("us-east-1"), cloudtrail.LookupEventsInput{StartTime: aws.Time(sandboxtest.Now.Add(-365 * 24 * time.Hour))})
	if len(got) != 1 || aws.ToString(got[0].EventId) != "recent" {
		t.Fatalf("events = %+v", got)
	}
	if aws.ToString(got[0].ReadOnly) != "false" || aws.ToString(got[0].Username) != "tester" || aws.ToString(got[0].AccessKeyId) != "AKIATESTER" {
		t.Fatalf("event fields = %+v", got[0])
	}
}

// TestLookupEventsRateLimit has concurrent callers hammer one region for
// about two seconds: about rps*2 (+ burst) succeed and the rest are
// throttled; another region has its own budget.
func TestLookupEventsRateLimit(t *testing.T) {
	const rps = 5
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true, LookupRPS: rps})
	c := e.CloudTrail("us-east-1")
	var ok, throttled, other atomic.Int64
	deadline := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				_, err := c.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{})
				switch sandboxtest.ErrCode(err) {
				case "":
					ok.Add(1)
				case "ThrottlingException":
					throttled.Add(1)
				default:
					other.Add(1)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d succeeded, %d throttled", ok.Load(), throttled.Load())
	if other.Load() != 0 {
		t.Fatalf("%d calls failed with other errors", other.Load())
	}
	// 2 s at 5 rps plus a burst of 2, with slack for scheduling.
	if n := ok.Load(); n < rps*2-1 || n > rps*2+2+1 {
		t.Fatalf("%d calls succeeded in 2s at %d rps", n, rps)
	}
	if throttled.Load() < 50 {
		t.Fatalf("only %d calls throttled", throttled.Load())
	}
	if _, err := e.CloudTrail("eu-west-1").LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{}); err != nil {
		t.Fatalf("another region is throttled too: %v", err)
	}
}

// BenchmarkLookupEventsPaging pages through 100,000 events in one region.
func BenchmarkLookupEventsPaging(b *testing.B) {
	e := sandboxtest.New(b, sandbox.Options{NoHistory: true, LookupRPS: 1e9})
	var sb strings.Builder
	sb.WriteString(`{"Records":[`)
	const n = 100000
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(testRecord(fmt.Sprintf("ev-%06d", i), "DescribeServers", "us-east-1", sandboxtest.Now.Add(-time.Duration(i)*time.Minute/2), true))
	}
	sb.WriteString(`]}`)
	if err := e.Server.AddRecords(strings.NewReader(sb.String())); err != nil {
		b.Fatalf("AddRecords: %v", err)
	}
	c := e.CloudTrail("us-east-1")
	b.ResetTimer()
	for b.Loop() {
		in := &cloudtrail.LookupEventsInput{StartTime: aws.Time(sandboxtest.Now.Add(-24 * time.Hour))}
		pages := 0
		for {
			out, err := c.LookupEvents(context.Background(), in)
			if err != nil {
				b.Fatalf("LookupEvents: %v", err)
			}
			pages++
			if out.NextToken == nil {
				break
			}
			in.NextToken = out.NextToken
		}
		// A day at two events a minute is 2,880 events, 58 pages.
		if pages != 58 {
			b.Fatalf("%d pages", pages)
		}
	}
}
