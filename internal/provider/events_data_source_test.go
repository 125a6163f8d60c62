package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/lookup"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

const eventsTestAccount = "123456789012"

// eventsHistory is the sandbox's seeded history at a pinned time, read by
// the tests independently of the provider.
type eventsHistory struct {
	now     time.Time
	records []sandbox.Record
}

// pinnedHistory picks the sandbox's clock: the current second, moved back
// until no event lies within ten minutes after the start of the default
// (7 days) or 30-day window. The provider measures those windows from its
// own clock, a little later than the pinned one, so an event right at an
// edge would make the expected set depend on how long the test took.
func pinnedHistory(t *testing.T) eventsHistory {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	for range 200 {
		recs := sandbox.History(eventsTestAccount, now)
		clear := true
		for _, r := range recs {
			for _, d := range []time.Duration{7 * 24 * time.Hour, 30 * 24 * time.Hour} {
				edge := now.Add(-d)
				if !r.EventTime.Before(edge) && r.EventTime.Before(edge.Add(10*time.Minute)) {
					clear = false
				}
			}
		}
		if clear {
			return eventsHistory{now: now, records: recs}
		}
		now = now.Add(-time.Second)
	}
	t.Fatal("no history without an event at a window's edge in 200 tries")
	return eventsHistory{}
}

func (h eventsHistory) options(rps float64) sandbox.Options {
	now := h.now
	return sandbox.Options{Account: eventsTestAccount, LookupRPS: rps, Now: func() time.Time { return now }}
}

// ids lists the history's event ids between from and to (inclusive) that
// keep says to, in the history's order, which is LookupEvents' (newest
// first).
func (h eventsHistory) ids(from, to time.Time, keep func(r *sandbox.Record) bool) []string {
	var ids []string
	for i := range h.records {
		r := &h.records[i]
		if r.EventSource == sandbox.OpsWorksCMSource && !r.EventTime.Before(from) && !r.EventTime.After(to) && keep(r) {
			ids = append(ids, r.EventID)
		}
	}
	return ids
}

func all(*sandbox.Record) bool { return true }

// eventsCheck runs check on the `events` of a data source in state, or
// withRecords on them and the `records`.
type eventsCheck struct {
	address     string
	check       func(evs []map[string]any) error
	withRecords func(evs []map[string]any, records map[string]any) error
}

func (c eventsCheck) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if req.State == nil || req.State.Values == nil || req.State.Values.RootModule == nil {
		resp.Error = fmt.Errorf("%s: no state", c.address)
		return
	}
	for _, r := range req.State.Values.RootModule.Resources {
		if r.Address != c.address {
			continue
		}
		raw, _ := r.AttributeValues["events"].([]any)
		evs := make([]map[string]any, len(raw))
		for i, e := range raw {
			evs[i], _ = e.(map[string]any)
		}
		var err error
		if c.withRecords != nil {
			records, _ := r.AttributeValues["records"].(map[string]any)
			err = c.withRecords(evs, records)
		} else {
			err = c.check(evs)
		}
		if err != nil {
			resp.Error = fmt.Errorf("%s: %w", c.address, err)
		}
		return
	}
	resp.Error = fmt.Errorf("%s not in state", c.address)
}

// expectIDs checks the data source returned exactly these events, in order.
func expectIDs(address string, want []string) statecheck.StateCheck {
	return eventsCheck{address: address, check: func(evs []map[string]any) error {
		got := make([]string, len(evs))
		for i, ev := range evs {
			got[i], _ = ev["event_id"].(string)
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("%d events, want %d\n got %v\nwant %v", len(got), len(want), got, want)
		}
		return nil
	}}
}

// expectCounts checks the number of events per region and event name.
func expectCounts(address string, want map[string]int) statecheck.StateCheck {
	return eventsCheck{address: address, check: func(evs []map[string]any) error {
		got := map[string]int{}
		for _, ev := range evs {
			got[fmt.Sprint(ev["region"], " ", ev["event_name"])]++
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				want[k] = 0
			}
		}
		var diffs []string
		for k, n := range want {
			if got[k] != n {
				diffs = append(diffs, fmt.Sprintf("%s: %d, history has %d", k, got[k], n))
			}
		}
		if len(diffs) > 0 {
			slices.Sort(diffs)
			return fmt.Errorf("counts differ:\n%s", strings.Join(diffs, "\n"))
		}
		return nil
	}}
}

func countsByName(h eventsHistory, ids []string) map[string]knownvalue.Check {
	byID := map[string]string{}
	for _, r := range h.records {
		byID[r.EventID] = r.EventName
	}
	n := map[string]int64{}
	for _, id := range ids {
		n[byID[id]]++
	}
	out := map[string]knownvalue.Check{}
	for name, c := range n {
		out[name] = knownvalue.Int64Exact(c)
	}
	return out
}

// TestAccEventsDataSource_history checks the events of the seeded history,
// with and without filters, through Terraform.
func TestAccEventsDataSource_history(t *testing.T) {
	h := pinnedHistory(t)
	env := newSandboxOnlyEnv(t, h.options(200), "compares with the seeded history")

	full := h.now.Add(-90 * 24 * time.Hour)
	ts := func(t time.Time) string { return t.Format(time.RFC3339) }
	var doc sandbox.Record
	for _, r := range h.records {
		if r.EventID == sandbox.DocCreateServerEventID {
			doc = r
		}
	}

	wantAll := h.ids(full, h.now, all)
	wantCounts := map[string]int{}
	for _, r := range h.records {
		if !r.EventTime.Before(full) {
			wantCounts[r.Region+" "+r.EventName]++
		}
	}
	wantDefault := h.ids(h.now.Add(-7*24*time.Hour), h.now, all)
	want30d := h.ids(h.now.Add(-30*24*time.Hour), h.now, all)
	wantNamesUsers := h.ids(full, h.now, func(r *sandbox.Record) bool {
		return (r.EventName == "DeleteServer" || r.EventName == "DeleteBackup") && (r.Username == "alice" || r.Username == "bob")
	})
	wantWritesFromNet := h.ids(full, h.now, func(r *sandbox.Record) bool {
		return !r.ReadOnly && strings.HasPrefix(r.SourceIPAddress, "192.0.2.")
	})
	wantDenied := h.ids(full, h.now, func(r *sandbox.Record) bool {
		return r.ErrorCode == "AccessDenied" && slices.ContainsFunc(r.Resources, func(res sandbox.Resource) bool { return res.Name == "chef-eu" })
	})
	wantDeleteServer := h.ids(full, h.now, func(r *sandbox.Record) bool { return r.EventName == "DeleteServer" })
	wantEdge := h.ids(doc.EventTime, doc.EventTime, all)
	for name, ids := range map[string][]string{"7 days": wantDefault, "names and users": wantNamesUsers,
		"writes from 192.0.2.0/24": wantWritesFromNet, "denied on chef-eu": wantDenied, "DeleteServer": wantDeleteServer} {
		if len(ids) == 0 {
			t.Fatalf("the history has no event for %s: the test would prove nothing", name)
		}
	}

	config := env.ProviderConfig("  lookup_requests_per_second = 200") + fmt.Sprintf(`
data "opsaudit_events" "all" {
  start_time     = %[1]q
  end_time       = %[2]q
  max_events     = 5000
  include_record = true
}

data "opsaudit_events" "default" {}

data "opsaudit_events" "month" {
  lookback   = "30d"
  max_events = 5000
}

data "opsaudit_events" "names_users" {
  start_time     = %[1]q
  event_names    = ["DeleteServer", "DeleteBackup"]
  usernames      = ["alice", "bob"]
}

data "opsaudit_events" "writes_from_net" {
  start_time      = %[1]q
  read_only       = false
  source_ip_cidrs = ["192.0.2.0/24"]
}

data "opsaudit_events" "denied" {
  start_time     = %[1]q
  error_codes    = ["AccessDenied"]
  resource_names = ["chef-eu"]
}

data "opsaudit_events" "delete_server" {
  start_time  = %[1]q
  event_names = ["DeleteServer"]
  regions     = ["us-east-1", "eu-central-1", "ap-northeast-1"]
}

data "opsaudit_events" "edge" {
  start_time = %[3]q
  end_time   = %[3]q
  regions    = ["us-west-2"]
}

data "opsaudit_events" "truncated" {
  start_time = %[1]q
  max_events = 5
}
`, ts(full), ts(h.now), ts(doc.EventTime))

	ds := func(name string) string { return "data.opsaudit_events." + name }
	env.accTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				expectIDs(ds("all"), wantAll),
				expectCounts(ds("all"), wantCounts),
				statecheck.ExpectKnownValue(ds("all"), tfjsonpath.New("counts_by_event_name"), knownvalue.MapExact(countsByName(h, wantAll))),
				statecheck.ExpectKnownValue(ds("all"), tfjsonpath.New("total_count"), knownvalue.Int64Exact(int64(len(wantAll)))),
				statecheck.ExpectKnownValue(ds("all"), tfjsonpath.New("truncated"), knownvalue.Bool(false)),
				statecheck.ExpectKnownValue(ds("all"), tfjsonpath.New("regions_queried"), knownvalue.ListSizeExact(9)),
				statecheck.ExpectKnownValue(ds("all"), tfjsonpath.New("event_source"), knownvalue.StringExact(sandbox.OpsWorksCMSource)),
				statecheck.ExpectKnownValue(ds("all"), tfjsonpath.New("latest_event_time"), knownvalue.StringExact(ts(h.records[0].EventTime))),

				expectIDs(ds("default"), wantDefault),
				statecheck.ExpectKnownValue(ds("default"), tfjsonpath.New("max_events"), knownvalue.Int64Exact(1000)),
				statecheck.ExpectKnownValue(ds("default"), tfjsonpath.New("on_region_error"), knownvalue.StringExact("fail")),
				expectIDs(ds("month"), want30d),
				expectIDs(ds("names_users"), wantNamesUsers),
				expectIDs(ds("writes_from_net"), wantWritesFromNet),
				expectIDs(ds("denied"), wantDenied),
				expectIDs(ds("delete_server"), h.ids(full, h.now, func(r *sandbox.Record) bool {
					return r.EventName == "DeleteServer" && slices.Contains([]string{"us-east-1", "eu-central-1", "ap-northeast-1"}, r.Region)
				})),
				expectIDs(ds("edge"), wantEdge),
				expectIDs(ds("truncated"), wantAll[:5]),
				statecheck.ExpectKnownValue(ds("truncated"), tfjsonpath.New("truncated"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue(ds("truncated"), tfjsonpath.New("total_count"), knownvalue.Int64Exact(5)),

				// The documentation's record, field by field.
				eventsCheck{address: ds("edge"), check: func(evs []map[string]any) error {
					for _, ev := range evs {
						if ev["event_id"] != sandbox.DocCreateServerEventID {
							continue
						}
						want := map[string]any{
							"event_name": "CreateServer", "region": "us-west-2", "username": "Alice", "user_identity_type": "IAMUser",
							"principal_arn": "arn:aws:iam::" + eventsTestAccount + ":user/Alice", "account_id": eventsTestAccount,
							"access_key_id": "AKIAIOSFODNN7EXAMPLE", "invoked_by": "signin.amazonaws.com", "mfa_authenticated": false,
							"source_ip_address": "198.51.100.31", "read_only": false, "error_code": nil, "session_issuer_arn": nil,
							"event_time": ts(doc.EventTime), "log_file": nil, "log_file_valid": nil,
						}
						for k, v := range want {
							if ev[k] != v {
								return fmt.Errorf("%s = %#v, want %#v", k, ev[k], v)
							}
						}
						if !strings.Contains(fmt.Sprint(ev["request_parameters"]), `"serverName":"puppet-test"`) {
							return fmt.Errorf("request_parameters = %v", ev["request_parameters"])
						}
						return nil
					}
					return fmt.Errorf("the documentation's CreateServer record is missing")
				}},
				// Records only when asked for.
				statecheck.ExpectKnownValue(ds("edge"), tfjsonpath.New("records"), knownvalue.Null()),
				// No secret reaches state, whatever the data source.
				eventsCheck{address: ds("all"), withRecords: func(evs []map[string]any, records map[string]any) error {
					if len(records) != len(evs) {
						return fmt.Errorf("%d records for %d events", len(records), len(evs))
					}
					found := false
					for _, ev := range evs {
						var record struct{ EventID string }
						raw := fmt.Sprint(records[fmt.Sprint(ev["event_id"])])
						if err := json.Unmarshal([]byte(raw), &record); err != nil {
							return fmt.Errorf("the record of %v: %w", ev["event_id"], err)
						}
						if record.EventID != ev["event_id"] {
							return fmt.Errorf("the record of %v is the record of %s", ev["event_id"], record.EventID)
						}
						for k, s := range map[string]string{"request_parameters": fmt.Sprint(ev["request_parameters"]),
							"response_elements": fmt.Sprint(ev["response_elements"]), "record": raw} {
							if strings.Contains(s, sandbox.UnredactedSecretValue) {
								return fmt.Errorf("%s of %v holds the unredacted admin password", k, ev["event_id"])
							}
							found = found || strings.Contains(s, `"serverName":"puppet-fra"`) && ev["event_name"] == "CreateServer"
						}
					}
					if !found {
						return fmt.Errorf("the relay's CreateServer record is missing")
					}
					return nil
				}},
			},
		}},
	})
}

// TestAccEventsDataSource_rootPostcondition runs the documentation's
// example at AWS's real pace: its postcondition on root-user calls fails
// the plan against the seeded history, which has one.
func TestAccEventsDataSource_rootPostcondition(t *testing.T) {
	h := pinnedHistory(t)
	env := newSandboxOnlyEnv(t, h.options(0), "relies on the root-user call in the seeded history")
	example, err := os.ReadFile(filepath.Join("..", "..", "examples", "data-sources", "opsaudit_events", "data-source.tf"))
	if err != nil {
		t.Fatal(err)
	}
	env.accTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      env.ProviderConfig("") + string(example),
			ExpectError: regexp.MustCompile(`(?s)Resource postcondition failed.*root`),
		}},
	})
}

// TestAccEventsDataSource_everySource checks event_source = "*" returns
// every service's management events, among them the S3 and CloudTrail
// calls the test makes (and, in the in-process sandbox, the seeded
// OpsWorks CM history): the events LookupEvents returns without a lookup
// attribute, read back with the SDK, in the same order.
func TestAccEventsDataSource_everySource(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{LookupRPS: 1e6})
	ctx := context.Background()
	// The window reaches back over the seeded history in the in-process
	// sandbox; elsewhere it holds only the test's calls and what else the
	// account did at that time.
	first := time.Now().UTC().Truncate(time.Second).Add(-time.Second)
	start, wantSources := first.Add(-30*24*time.Hour), []string{sandbox.OpsWorksCMSource, "s3.amazonaws.com", "cloudtrail.amazonaws.com"}
	rps := "  lookup_requests_per_second = 1000"
	if env.Sandbox == nil {
		start, wantSources, rps = first, wantSources[1:], ""
	}
	buckets := []string{accName("every-source"), accName("every-source")}
	for _, b := range buckets {
		if _, err := env.S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("CreateBucket: %v", err)
		}
		t.Cleanup(func() { env.removeBucket(t, b) })
	}
	if _, err := env.CloudTrail("").DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{}); err != nil {
		t.Fatalf("DescribeTrails: %v", err)
	}
	// The window ends at the second of the last call; the test's later
	// calls, and the provider's own, come after it.
	end := time.Now().UTC().Truncate(time.Second)
	time.Sleep(time.Until(end.Add(1100 * time.Millisecond)))
	in := &cloudtrail.LookupEventsInput{StartTime: aws.Time(start), EndTime: aws.Time(end)}
	var want, wantBuckets []string
	var sources map[string]bool
	ours := 0
	// AWS makes a call visible to LookupEvents minutes after it was made:
	// read until the test's own calls are there.
	for wait := time.Now().Add(20 * time.Minute); ; time.Sleep(30 * time.Second) {
		want, wantBuckets, sources, ours = nil, nil, map[string]bool{}, 0
		for _, ev := range env.LookupEvents(t, testRegion, in) {
			want = append(want, aws.ToString(ev.EventId))
			sources[aws.ToString(ev.EventSource)] = true
			if aws.ToString(ev.EventName) == "CreateBucket" {
				wantBuckets = append(wantBuckets, aws.ToString(ev.EventId))
				if slices.Contains(buckets, eventBucket(ev)) {
					ours++
				}
			}
		}
		if ours == len(buckets) || env.Sandbox != nil || time.Now().After(wait) {
			break
		}
	}
	for _, src := range wantSources {
		if !sources[src] {
			t.Fatalf("LookupEvents without a lookup attribute has no event of %s (sources %v): the test proves nothing", src, sources)
		}
	}
	if ours != len(buckets) {
		t.Fatalf("LookupEvents has %d CreateBucket calls of the test's buckets, the test made %d", ours, len(buckets))
	}
	config := func(extra string) string {
		return env.ProviderConfig(rps) + fmt.Sprintf(`
data "opsaudit_events" "this" {
  event_source = "*"
  regions      = [%q]
  start_time   = %q
  end_time     = %q
  %s
}
`, testRegion, start.Format(time.RFC3339), end.Format(time.RFC3339), extra)
	}
	env.accTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config(""),
				ConfigStateChecks: []statecheck.StateCheck{
					expectIDs("data.opsaudit_events.this", want),
					statecheck.ExpectKnownValue("data.opsaudit_events.this", tfjsonpath.New("truncated"), knownvalue.Bool(false)),
					eventsCheck{address: "data.opsaudit_events.this", check: func(evs []map[string]any) error {
						got := map[string]bool{}
						for _, ev := range evs {
							got[fmt.Sprint(ev["event_source"])] = true
						}
						if !maps.Equal(got, sources) {
							return fmt.Errorf("event sources %v, LookupEvents has %v", got, sources)
						}
						return nil
					}},
				},
			},
			{
				// One event name is looked up by name, from every source.
				Config:            config(`event_names = ["CreateBucket"]`),
				ConfigStateChecks: []statecheck.StateCheck{expectIDs("data.opsaudit_events.this", wantBuckets)},
			},
		},
	})
}

// eventBucket is the bucket a LookupEvents event names in its request.
func eventBucket(ev cttypes.Event) string {
	var rec struct {
		RequestParameters struct {
			BucketName string `json:"bucketName"`
		} `json:"requestParameters"`
	}
	if json.Unmarshal([]byte(aws.ToString(ev.CloudTrailEvent)), &rec) != nil {
		return ""
	}
	return rec.RequestParameters.BucketName
}

// TestAccEventsDataSource_badInput checks each bad argument is refused at
// plan time, against that argument.
func TestAccEventsDataSource_badInput(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true})
	cases := []struct{ name, args, want string }{
		{"lookback over 90 days", `lookback = "91d"`, `(?s)lookback.*longer than 90 days`},
		{"lookback not a duration", `lookback = "a week"`, `(?s)lookback.*not a duration`},
		{"lookback zero", `lookback = "0h"`, `(?s)lookback.*longer than zero`},
		{"start after end", `
  start_time = "2025-03-02T00:00:00Z"
  end_time   = "2025-03-01T00:00:00Z"`, `(?s)start_time.*after end_time`},
		{"lookback with start_time", `
  lookback   = "3d"
  start_time = "2025-03-01T00:00:00Z"`, `(?s)lookback.*cannot be configured together: \[lookback,start_time\]`},
		{"time not RFC 3339", `end_time = "2025-03-01 00:00"`, `(?s)end_time.*not an RFC 3339 time`},
		{"bad CIDR", `source_ip_cidrs = ["192.0.2.0/40"]`, `(?s)source_ip_cidrs.*not a CIDR block`},
		{"unknown region", `regions = ["eu-nowhere-1"]`, `(?s)regions.*not an AWS region`},
		{"on_region_error", `on_region_error = "ignore"`, `(?s)on_region_error.*value must be one of`},
		{"max_events zero", `max_events = 0`, `(?s)max_events.*between 1 and`},
		{"empty filter list", `event_names = []`, `(?s)event_names.*at least 1`},
		{"event source", `event_source = "OpsWorks CM"`, `(?s)event_source.*service endpoint name`},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{
			Config:      env.ProviderConfig("") + "data \"opsaudit_events\" \"this\" {\n  " + c.args + "\n}\n",
			ExpectError: regexp.MustCompile(c.want),
		})
	}
	env.accTest(t, resource.TestCase{ProtoV6ProviderFactories: testAccProtoV6ProviderFactories, Steps: steps})
}

// TestEventsStateCost bounds the work of turning a large result into
// Terraform values, counted in allocations, which unlike time do not
// depend on what else the machine runs. Reflection over a Go struct per
// event took about 2,500 allocations per event and made a plan over 13,500
// events spend seconds here; the value constructors take about 260.
func TestEventsStateCost(t *testing.T) {
	const n, maxPerEvent = 2000, 400
	ctx := context.Background()
	var sresp datasource.SchemaResponse
	(&eventsDataSource{}).Schema(ctx, datasource.SchemaRequest{}, &sresp)
	typ := sresp.Schema.Type().TerraformType(ctx)
	attrs := map[string]tftypes.Value{}
	for name, at := range typ.(tftypes.Object).AttributeTypes {
		attrs[name] = tftypes.NewValue(at, nil)
	}
	config := tfsdk.Config{Schema: sresp.Schema, Raw: tftypes.NewValue(typ, attrs)}
	now := time.Now().UTC()
	res := &lookup.Result{RegionsQueried: []string{"us-east-1"}}
	for i := range n {
		res.Events = append(res.Events, events.Event{
			EventID: fmt.Sprintf("%08x-1111-4000-8000-000000000000", i), EventName: "UpdateServer", EventTime: now,
			Region: "us-east-1", EventSource: events.DefaultEventSource, Username: "alice", UserIdentityType: "IAMUser",
			PrincipalARN: "arn:aws:iam::123456789012:user/alice", AccountID: "123456789012", AccessKeyID: "AKIAEXAMPLE",
			SourceIPAddress: "203.0.113.7", UserAgent: "aws-cli/2.15.30",
			Resources:         []events.Resource{{Type: "AWS::OpsWorksCM::Server", Name: "puppet-1"}},
			RequestParameters: `{"serverName":"puppet-1"}`, ResponseElements: "null", CloudTrailEvent: `{"eventID":"x"}`,
		})
	}
	var state tfsdk.State
	allocs := testing.AllocsPerRun(2, func() {
		var m eventsModel
		if d := config.Get(ctx, &m); d.HasError() {
			t.Fatal(d)
		}
		state = tfsdk.State{Schema: sresp.Schema, Raw: tftypes.NewValue(typ, nil)}
		if d := m.writeState(ctx, res, &state); d.HasError() {
			t.Fatal(d)
		}
	})
	var got types.List
	if d := state.GetAttribute(ctx, path.Root("events"), &got); d.HasError() {
		t.Fatal(d)
	}
	if evs := got.Elements(); len(evs) != n {
		t.Fatalf("state holds %d events, want %d", len(evs), n)
	} else if last := evs[n-1].(types.Object).Attributes(); last["event_id"] != types.StringValue(res.Events[n-1].EventID) || !last["error_code"].IsNull() {
		t.Fatalf("the last event in state: %v", last)
	}
	if perEvent := allocs / n; perEvent > maxPerEvent {
		t.Errorf("%.0f allocations per event, want at most %d", perEvent, maxPerEvent)
	}
}
