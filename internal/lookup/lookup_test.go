package lookup

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

// testNow is the sandbox's pinned clock: its history is a function of the
// account and this time, so the tests recompute it with sandbox.History.
var testNow = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

const testAccount = "123456789012"

type testEnv struct {
	srv     *sandbox.Server
	clients *awsclient.Clients
	history []sandbox.Record
}

// newTestEnv starts an in-process sandbox allowing rps LookupEvents calls
// per second per region and a client set pacing itself at the same rate.
func newTestEnv(t testing.TB, rps float64, opts sandbox.Options) *testEnv {
	t.Helper()
	opts.Account = testAccount
	opts.LookupRPS = rps
	opts.Now = func() time.Time { return testNow }
	srv, err := sandbox.New(opts)
	if err != nil {
		t.Fatalf("starting sandbox: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	clients, err := awsclient.New(context.Background(), awsclient.Config{
		Region:                  "us-east-1",
		AccessKey:               sandbox.DefaultAccessKey,
		SecretKey:               sandbox.DefaultSecretKey,
		Endpoints:               awsclient.Endpoints{CloudTrail: hs.URL, STS: hs.URL, S3: hs.URL},
		LookupRequestsPerSecond: rps,
	})
	if err != nil {
		t.Fatalf("building clients: %v", err)
	}
	e := &testEnv{srv: srv, clients: clients}
	if !opts.NoHistory {
		e.history = sandbox.History(testAccount, testNow)
	}
	return e
}

// fullWindow is everything LookupEvents still has.
func fullWindow(q Query) Query {
	q.Start, q.End = testNow.Add(-Window), testNow
	if q.Regions == nil {
		q.Regions = awsclient.OpsWorksCMRegions
	}
	return q
}

// expected is an independent reading of the history: what LookupEvents
// should return for q, computed from the records' own fields. The history
// is already in LookupEvents' order.
func (e *testEnv) expected(t *testing.T, q Query) []string {
	t.Helper()
	var ids []string
	for _, r := range e.history {
		if r.EventSource == events.DefaultEventSource && !r.EventTime.Before(q.Start) && !r.EventTime.After(q.End) &&
			slices.Contains(q.Regions, r.Region) && wanted(t, &q.Filter, &r) {
			ids = append(ids, r.EventID)
		}
	}
	return ids
}

// wanted applies f to a sandbox record, reading the principal from the
// raw record.
func wanted(t *testing.T, f *events.Filter, r *sandbox.Record) bool {
	principal, issuer := sandboxtest.Principal(t, *r)
	in := func(list []string, v ...string) bool {
		if len(list) == 0 {
			return true
		}
		for _, x := range v {
			if x != "" && slices.Contains(list, x) {
				return true
			}
		}
		return false
	}
	var resources []string
	for _, res := range r.Resources {
		resources = append(resources, res.Name)
	}
	ipOK := len(f.SourceIPCIDRs) == 0
	if a, err := netip.ParseAddr(r.SourceIPAddress); err == nil {
		for _, p := range f.SourceIPCIDRs {
			ipOK = ipOK || p.Contains(a)
		}
	}
	return in(f.EventNames, r.EventName) && in(f.Usernames, r.Username) &&
		in(f.PrincipalARNs, principal, issuer) &&
		(f.ReadOnly == nil || *f.ReadOnly == r.ReadOnly) && in(f.ErrorCodes, r.ErrorCode) &&
		in(f.ResourceNames, resources...) && ipOK
}

func ids(evs []events.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.EventID
	}
	return out
}

func run(t *testing.T, e *testEnv, q Query) *Result {
	t.Helper()
	res, err := Run(context.Background(), e.clients, q)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func TestRunCountsMatchHistory(t *testing.T) {
	e := newTestEnv(t, 100, sandbox.Options{})
	res := run(t, e, fullWindow(Query{}))

	want := map[string]int{}
	got := map[string]int{}
	for _, r := range e.history {
		if !r.EventTime.Before(testNow.Add(-Window)) {
			want[r.Region+" "+r.EventName]++
		}
	}
	for _, ev := range res.Events {
		got[ev.Region+" "+ev.EventName]++
	}
	if len(want) < 20 {
		t.Fatalf("the history has only %d region/event name pairs: the fixture changed", len(want))
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d events, history has %d", k, got[k], n)
		}
	}
	for k, n := range got {
		if want[k] == 0 {
			t.Errorf("%s: %d events not in the history", k, n)
		}
	}
	if !slices.Equal(ids(res.Events), e.expected(t, fullWindow(Query{}))) {
		t.Error("events are not the history's, newest first")
	}
	if res.Truncated || !slices.Equal(res.RegionsQueried, awsclient.OpsWorksCMRegions) || len(res.Failed) != 0 {
		t.Errorf("truncated %v, regions %v, failed %v", res.Truncated, res.RegionsQueried, res.Failed)
	}
	var pages int
	for _, s := range res.Stats {
		pages += s.Requests
		if s.Throttled != 0 {
			t.Errorf("%s: %d throttled attempts while pacing at the sandbox's rate", s.Region, s.Throttled)
		}
	}
	if pages < len(res.Events)/PageSize {
		t.Errorf("%d pages for %d events", pages, len(res.Events))
	}
}

// TestRunFilters checks each filter alone and every pair against an
// independent filter over the history.
func TestRunFilters(t *testing.T) {
	e := newTestEnv(t, 200, sandbox.Options{})
	no := false
	cidrs, err := events.ParseCIDRs([]string{"198.51.100.0/24", "192.0.2.15"})
	if err != nil {
		t.Fatal(err)
	}
	type part struct {
		name string
		set  func(*events.Filter)
	}
	parts := []part{
		{"event_names", func(f *events.Filter) { f.EventNames = []string{"DeleteServer", "UpdateServer", "DescribeBackups"} }},
		{"usernames", func(f *events.Filter) { f.Usernames = []string{"alice", "ci-pipeline-4711", "root"} }},
		{"principal_arns", func(f *events.Filter) {
			f.PrincipalARNs = []string{"arn:aws:iam::" + testAccount + ":role/TerraformDeploy", "arn:aws:iam::" + testAccount + ":user/bob"}
		}},
		{"read_only", func(f *events.Filter) { f.ReadOnly = &no }},
		{"error_codes", func(f *events.Filter) { f.ErrorCodes = []string{"AccessDenied"} }},
		{"resource_names", func(f *events.Filter) { f.ResourceNames = []string{"chef-eu", "puppet-fra", "chef-automate-1"} }},
		{"source_ip_cidrs", func(f *events.Filter) { f.SourceIPCIDRs = cidrs }},
	}
	var combos [][]part
	for i := range parts {
		combos = append(combos, []part{parts[i]})
	}
	for i := range parts {
		for j := i + 1; j < len(parts); j++ {
			combos = append(combos, []part{parts[i], parts[j]})
		}
	}
	nonEmpty := 0
	for _, combo := range combos {
		var names []string
		q := fullWindow(Query{})
		for _, p := range combo {
			names = append(names, p.name)
			p.set(&q.Filter)
		}
		t.Run(strings.Join(names, "+"), func(t *testing.T) {
			want := e.expected(t, q)
			if len(combo) == 1 && len(want) == 0 {
				t.Fatalf("the history has no event for %v alone: the test would prove nothing", names)
			}
			got := ids(run(t, e, q).Events)
			if !slices.Equal(got, want) {
				t.Errorf("%d events, want %d\n got %v\nwant %v", len(got), len(want), got, want)
			}
			if len(want) > 0 {
				nonEmpty++
			}
		})
	}
	if nonEmpty < len(combos)*2/3 {
		t.Errorf("only %d of %d combinations select anything: choose filter values that overlap", nonEmpty, len(combos))
	}
}

// TestRunSingleEventNameLooksUpByName checks the lookup attribute: by
// event name, the sandbox returns only that event's pages.
func TestRunSingleEventNameLooksUpByName(t *testing.T) {
	for _, tc := range []struct {
		name   string
		filter events.Filter
		key    cttypes.LookupAttributeKey
		value  string
	}{
		{"no event name", events.Filter{EventSource: "s3.amazonaws.com"}, cttypes.LookupAttributeKeyEventSource, "s3.amazonaws.com"},
		{"two event names", events.Filter{EventSource: "x", EventNames: []string{"A", "B"}}, cttypes.LookupAttributeKeyEventSource, "x"},
		{"one event name", events.Filter{EventSource: "x", EventNames: []string{"A"}}, cttypes.LookupAttributeKeyEventName, "A"},
		{"every source, one event name", events.Filter{EventSource: events.AllEventSources, EventNames: []string{"A"}}, cttypes.LookupAttributeKeyEventName, "A"},
		{"every source", events.Filter{EventSource: events.AllEventSources, EventNames: []string{"A", "B"}}, "", ""},
	} {
		a := Attributes(&tc.filter)
		switch {
		case tc.key == "" && len(a) != 0:
			t.Errorf("%s: %+v, want no lookup attribute", tc.name, a)
		case tc.key != "" && (len(a) != 1 || a[0].AttributeKey != tc.key || *a[0].AttributeValue != tc.value):
			t.Errorf("%s: %+v, want %s = %s", tc.name, a, tc.key, tc.value)
		}
	}
	e := newTestEnv(t, 100, sandbox.Options{})
	q := fullWindow(Query{Filter: events.Filter{EventNames: []string{"DeleteServer"}}})
	res := run(t, e, q)
	if !slices.Equal(ids(res.Events), e.expected(t, q)) || len(res.Events) == 0 {
		t.Fatalf("DeleteServer: %v, want %v", ids(res.Events), e.expected(t, q))
	}
	for _, s := range res.Stats {
		if s.Requests != 1 || s.Scanned != s.Matched {
			t.Errorf("%s: %d pages scanning %d events for %d DeleteServer calls: not looked up by name", s.Region, s.Requests, s.Scanned, s.Matched)
		}
	}
}

// TestRunAllEventSources checks "*" reads every service's management
// events: the seeded OpsWorks CM history and the S3 and CloudTrail calls the
// test makes, which the sandbox records as CloudTrail does.
func TestRunAllEventSources(t *testing.T) {
	e := newTestEnv(t, 100, sandbox.Options{})
	ctx := t.Context()
	const buckets = 3
	for i := range buckets {
		if _, err := e.clients.S3("us-east-1").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(fmt.Sprintf("all-sources-%d", i))}); err != nil {
			t.Fatalf("CreateBucket: %v", err)
		}
	}
	if _, err := e.clients.CloudTrail("us-east-1").DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{}); err != nil {
		t.Fatalf("DescribeTrails: %v", err)
	}
	q := fullWindow(Query{Regions: []string{"us-east-1"}, Filter: events.Filter{EventSource: events.AllEventSources}})
	res := run(t, e, q)
	bySource := map[string]int{}
	for _, ev := range res.Events {
		bySource[ev.EventSource]++
	}
	opsworks := len(e.expected(t, fullWindow(Query{Regions: []string{"us-east-1"}})))
	if bySource[events.DefaultEventSource] != opsworks || bySource["s3.amazonaws.com"] != buckets || bySource["cloudtrail.amazonaws.com"] != 1 {
		t.Errorf("events by source %v, want %d of OpsWorks CM, %d of S3 and 1 of CloudTrail", bySource, opsworks, buckets)
	}
	if s := res.Stats[0]; s.Scanned != s.Matched || s.Requests != (s.Scanned+PageSize-1)/PageSize {
		t.Errorf("%d pages scanning %d events for %d matches: every event LookupEvents returns should be kept", s.Requests, s.Scanned, s.Matched)
	}

	q.Filter.EventNames = []string{"CreateBucket"}
	res = run(t, e, q)
	if len(res.Events) != buckets || res.Stats[0].Scanned != buckets {
		t.Errorf("CreateBucket from every source: %d events of %d scanned, want %d looked up by name", len(res.Events), res.Stats[0].Scanned, buckets)
	}
}

func TestRunOtherEventSource(t *testing.T) {
	e := newTestEnv(t, 100, sandbox.Options{})
	q := fullWindow(Query{Filter: events.Filter{EventSource: "s3.amazonaws.com"}})
	res := run(t, e, q)
	if len(res.Events) != 0 {
		t.Errorf("%d OpsWorks CM events returned for s3.amazonaws.com", len(res.Events))
	}
}

// TestRunTimeWindowEdges checks both ends of the window are inclusive,
// to the second.
func TestRunTimeWindowEdges(t *testing.T) {
	e := newTestEnv(t, 100, sandbox.Options{})
	var doc sandbox.Record
	for _, r := range e.history {
		if r.EventID == sandbox.DocCreateServerEventID {
			doc = r
		}
	}
	at := doc.EventTime
	for _, tc := range []struct {
		name       string
		start, end time.Time
		want       bool
	}{
		{"start at the event", at, at.Add(time.Hour), true},
		{"end at the event", at.Add(-time.Hour), at, true},
		{"start and end at the event", at, at, true},
		{"start a second after", at.Add(time.Second), at.Add(time.Hour), false},
		{"end a second before", at.Add(-time.Hour), at.Add(-time.Second), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := Query{Regions: []string{"us-west-2"}, Start: tc.start, End: tc.end}
			res := run(t, e, q)
			got := slices.Contains(ids(res.Events), doc.EventID)
			if got != tc.want {
				t.Errorf("window %s..%s: documentation event included %v, want %v", tc.start, tc.end, got, tc.want)
			}
			if !slices.Equal(ids(res.Events), e.expected(t, q)) {
				t.Errorf("events %v, want %v", ids(res.Events), e.expected(t, q))
			}
		})
	}
	if _, err := Run(context.Background(), e.clients, Query{Regions: []string{"us-west-2"}, Start: at, End: at.Add(-time.Second)}); err == nil {
		t.Error("a window ending before it starts was accepted")
	}
}

func TestRunTruncation(t *testing.T) {
	e := newTestEnv(t, 200, sandbox.Options{})
	all := e.expected(t, fullWindow(Query{}))
	for _, tc := range []struct {
		max       int
		truncated bool
	}{{1, true}, {75, true}, {len(all) - 1, true}, {len(all), false}, {len(all) + 1, false}} {
		res := run(t, e, fullWindow(Query{MaxEvents: tc.max}))
		want := all[:min(tc.max, len(all))]
		if res.Truncated != tc.truncated || !slices.Equal(ids(res.Events), want) {
			t.Errorf("max %d: %d events, truncated %v; want the newest %d, truncated %v", tc.max, len(res.Events), res.Truncated, len(want), tc.truncated)
		}
	}
	// A small cap stops the streams early rather than reading everything.
	res := run(t, e, fullWindow(Query{MaxEvents: 10}))
	for _, s := range res.Stats {
		if s.Requests > 1 {
			t.Errorf("%s: %d pages read for max_events 10", s.Region, s.Requests)
		}
	}
}

func TestRunRegionFailure(t *testing.T) {
	down, err := sandbox.ParseFault("region-down:region=eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, 100, sandbox.Options{Faults: []sandbox.Fault{down}})

	_, err = Run(context.Background(), e.clients, fullWindow(Query{}))
	var re *RegionError
	if !errors.As(err, &re) || re.Region != "eu-west-1" || re.Code != "ServiceUnavailableException" {
		t.Fatalf("error %v, want eu-west-1's ServiceUnavailableException", err)
	}
	if !strings.Contains(err.Error(), "eu-west-1") || !strings.Contains(err.Error(), "ServiceUnavailableException") {
		t.Errorf("message %q does not name the region and code", err)
	}

	q := fullWindow(Query{WarnOnRegionError: true})
	res := run(t, e, q)
	if len(res.Failed) != 1 || res.Failed[0].Region != "eu-west-1" || res.Failed[0].Code != "ServiceUnavailableException" {
		t.Fatalf("failed regions %v", res.Failed)
	}
	if slices.Contains(res.RegionsQueried, "eu-west-1") || len(res.RegionsQueried) != len(awsclient.OpsWorksCMRegions)-1 {
		t.Errorf("regions queried %v", res.RegionsQueried)
	}
	q.Regions = slices.DeleteFunc(slices.Clone(q.Regions), func(r string) bool { return r == "eu-west-1" })
	if !slices.Equal(ids(res.Events), e.expected(t, q)) {
		t.Errorf("with warn: %d events, want the other regions' %d", len(res.Events), len(e.expected(t, q)))
	}
}

func TestRunThrottlingRetried(t *testing.T) {
	throttle, err := sandbox.ParseFault("throttle:rate=0.5,op=LookupEvents")
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, 200, sandbox.Options{Faults: []sandbox.Fault{throttle}})
	// Half the answers throttled: the SDK's default 3 retries would give
	// up on one page in sixteen.
	e.clients = clientsWithRetries(t, e, 10)
	q := fullWindow(Query{})
	res := run(t, e, q)
	if !slices.Equal(ids(res.Events), e.expected(t, q)) {
		t.Errorf("%d events, want %d", len(res.Events), len(e.expected(t, q)))
	}
	var throttled int
	for _, s := range res.Stats {
		throttled += s.Throttled
	}
	if throttled == 0 {
		t.Error("no throttled attempt counted: the fault was not injected")
	}
	t.Logf("%d throttled attempts retried", throttled)
}

// clientsWithRetries is a client set for e's sandbox with more retries.
func clientsWithRetries(t *testing.T, e *testEnv, retries int) *awsclient.Clients {
	t.Helper()
	ep := e.clients.CloudTrail("us-east-1").Options().BaseEndpoint
	c, err := awsclient.New(context.Background(), awsclient.Config{
		Region: "us-east-1", AccessKey: sandbox.DefaultAccessKey, SecretKey: sandbox.DefaultSecretKey,
		Endpoints:  awsclient.Endpoints{CloudTrail: *ep, STS: *ep, S3: *ep},
		MaxRetries: retries, LookupRequestsPerSecond: e.clients.LookupRequestsPerSecond(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRunRedactsCredentials(t *testing.T) {
	e := newTestEnv(t, 100, sandbox.Options{})
	res := run(t, e, fullWindow(Query{Regions: []string{"eu-central-1"}, Filter: events.Filter{EventNames: []string{"CreateServer"}}}))
	if len(res.Events) == 0 {
		t.Fatal("no CreateServer event in eu-central-1")
	}
	raw := 0
	for _, r := range e.history {
		if strings.Contains(string(r.Raw), sandbox.UnredactedSecretValue) {
			raw++
		}
	}
	if raw == 0 {
		t.Fatal("the history no longer holds an unredacted secret: the test would prove nothing")
	}
	for _, ev := range res.Events {
		for name, doc := range map[string]string{"request": ev.RequestParameters, "response": ev.ResponseElements, "record": ev.CloudTrailEvent} {
			if strings.Contains(doc, sandbox.UnredactedSecretValue) {
				t.Errorf("%s of %s leaks the admin password", name, ev.EventID)
			}
		}
		if !strings.Contains(ev.RequestParameters, `"value":"*** Redacted ***"`) {
			t.Errorf("request parameters lack the redaction marker: %s", ev.RequestParameters)
		}
	}
}

// TestRunCancellation checks cancelling stops every stream promptly, even
// when each is waiting for its limiter.
func TestRunCancellation(t *testing.T) {
	e := newTestEnv(t, 0.5, sandbox.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := Run(ctx, e.clients, fullWindow(Query{}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want cancellation", err)
	}
	// The whole run takes minutes at this pace; the bound leaves room
	// for a loaded machine under the race detector.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run returned %s after the start, cancelled at 300ms", d)
	}
}

func TestRegionErrorMessage(t *testing.T) {
	err := &RegionError{Region: "ap-southeast-2", Code: "AccessDeniedException", Err: errors.New("not authorized")}
	if got := err.Error(); got != "CloudTrail LookupEvents in ap-southeast-2 failed with AccessDeniedException: not authorized" {
		t.Errorf("message %q", got)
	}
	wrapped := fmt.Errorf("x: %w", err)
	var re *RegionError
	if !errors.As(wrapped, &re) {
		t.Error("RegionError does not unwrap")
	}
}
