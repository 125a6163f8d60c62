package policy

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// benchEvents cycles the records of the testdata files into n distinct
// events spread over 90 days.
func benchEvents(b *testing.B, n int, files ...string) []events.Event {
	recs := map[string]events.Event{}
	for _, f := range files {
		maps.Copy(recs, loadRecords(b, f))
	}
	ids := slices.Sorted(maps.Keys(recs))
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]events.Event, n)
	for i := range out {
		ev := recs[ids[i%len(ids)]]
		ev.EventID = fmt.Sprintf("%s-%06d", ev.EventID, i)
		ev.EventTime = start.Add(time.Duration(i) * 77 * time.Second)
		out[i] = ev
	}
	return out
}

// BenchmarkEvaluate100k runs every built-in rule and two user rules (one
// reading request parameters) over 100,000 events plus a trail and bucket.
func BenchmarkEvaluate100k(b *testing.B) {
	in := Input{Trail: goodTrail(), Bucket: goodBucket(b), Events: benchEvents(b, 100_000, "opsworks_cm_records.json")}
	e := mustNew(b, Config{
		AllowedPrincipals:  testAllowed,
		AllowedSourceCIDRs: []string{"10.0.0.0/8"},
		UserRules: []UserRule{
			{ID: "eu_deletes", Severity: SeverityHigh, Condition: `event.region.startsWith("eu-") && event.event_name.startsWith("Delete")`},
			{ID: "prod_changes", Severity: SeverityLow, Condition: `!event.read_only && event.request_parameters.?serverName.orValue("") == "puppet-prod"`},
		},
	})
	benchEvaluate(b, e, in)
}

// benchEvaluate is the measured loop: it evaluates in, checks that the
// result has findings and no errors, and reports how many findings.
func benchEvaluate(b *testing.B, e *Evaluator, in Input) {
	b.ReportAllocs()
	b.ResetTimer()
	var res Result
	for b.Loop() {
		res = e.Evaluate(in)
	}
	b.StopTimer()
	if res.EventsEvaluated != len(in.Events) || len(res.Findings) == 0 || len(res.Errors) != 0 {
		b.Fatalf("unexpected result: %d events, %d findings, errors %v", res.EventsEvaluated, len(res.Findings), res.Errors)
	}
	b.ReportMetric(float64(len(res.Findings)), "findings")
}

// BenchmarkSigma100kEvents57Rules runs the 57 Sigma rules of testdata over
// 100,000 events of OpsWorks CM and other services, through the evaluator
// as the compliance data source does: each record decoded once, every rule
// matched against it. Only one built-in rule (a trail rule) is enabled, so
// the time is the Sigma rules'.
func BenchmarkSigma100kEvents57Rules(b *testing.B) {
	const n = 100_000
	rules := sigmaTestRules(b)
	in := Input{Trail: goodTrail(), Events: benchEvents(b, n, "opsworks_cm_records.json", "cloudtrail_records.json")}
	e := mustNew(b, Config{Rules: []string{"trail_logging_enabled"}, SigmaRules: rules})
	benchEvaluate(b, e, in)
	perRun := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(len(rules)), "rules")
	b.ReportMetric(perRun, "s/run")
	b.ReportMetric(float64(n*len(rules))/perRun, "event-rules/s")
}
