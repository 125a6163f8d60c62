package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

func TestUnknownOnIncompleteInput(t *testing.T) {
	clean := func() Input { return Input{Trail: goodTrail(), Bucket: goodBucket(t), LogIntegrity: intactLogs()} }
	tests := []struct {
		name   string
		cfg    Config
		input  func() Input
		reason string
	}{
		{name: "region failed", input: func() Input {
			in := clean()
			in.Incomplete = []string{"region ap-southeast-2: LookupEvents: ThrottlingException"}
			return in
		}, reason: "ap-southeast-2"},
		{name: "events truncated", input: func() Input {
			in := clean()
			in.Incomplete = []string{"event lookup truncated at max_events = 1000"}
			return in
		}, reason: "truncated"},
		{name: "trail unreadable", input: func() Input {
			in := clean()
			in.Trail = nil
			return in
		}, reason: "trail configuration not available"},
		{name: "bucket unreadable", input: func() Input {
			in := clean()
			in.Bucket = nil
			return in
		}, reason: "log bucket configuration not available"},
		{name: "log files not validated", input: func() Input {
			in := clean()
			in.LogIntegrity = nil
			return in
		}, reason: "log files not validated: rule trail_log_integrity not evaluated"},
		{name: "log files not all validated", input: func() Input {
			in := clean()
			in.LogIntegrity.Unknown = []string{"region eu-west-1: AccessDenied"}
			return in
		}, reason: "log files not all validated: region eu-west-1: AccessDenied"},
		{name: "user rule runtime error", cfg: Config{UserRules: []UserRule{{ID: "u", Severity: SeverityHigh, Condition: `event.request_parameters.serverName == "x"`}}},
			input: func() Input {
				in := clean()
				in.Events = []events.Event{{EventID: "e1", EventName: "DescribeServers", EventSource: events.DefaultEventSource, RequestParameters: `{}`}}
				return in
			}, reason: "rule u could not be evaluated 1 time(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustNew(t, tt.cfg).Evaluate(tt.input())
			if res.Status != StatusUnknown {
				t.Fatalf("status %s, want unknown (findings %v)", res.Status, res.Findings)
			}
			if !slices.ContainsFunc(res.Reasons, func(r string) bool { return strings.Contains(r, tt.reason) }) {
				t.Fatalf("reasons %q lack %q", res.Reasons, tt.reason)
			}
		})
	}
}

func TestMissingTrailDoesNotMatterWhenTrailRulesAreOff(t *testing.T) {
	res := mustNew(t, Config{Rules: []string{"event_root_user_call"}}).Evaluate(Input{})
	if res.Status != StatusPass {
		t.Fatalf("status %s reasons %v", res.Status, res.Reasons)
	}
	res = mustNew(t, Config{DisabledRules: []string{"bucket_not_public"}}).Evaluate(Input{Trail: goodTrail(), LogIntegrity: intactLogs()})
	if res.Status != StatusUnknown {
		t.Fatalf("bucket rules enabled without a bucket: status %s", res.Status)
	}
	for _, ro := range res.Rules {
		wantNotEvaluated := ro.Enabled && ro.Rule.Target == TargetBucket
		if (ro.NotEvaluated != "") != wantNotEvaluated {
			t.Errorf("rule %s enabled=%v not_evaluated=%q", ro.Rule.ID, ro.Enabled, ro.NotEvaluated)
		}
	}
}

func TestFailOn(t *testing.T) {
	trail := goodTrail()
	trail.LogFileValidationEnabled = false // low
	trail.KMSKeyID = ""                    // medium
	in := Input{Trail: trail, Bucket: goodBucket(t), LogIntegrity: intactLogs()}

	res := mustNew(t, Config{}).Evaluate(in)
	if res.Status != StatusPass || len(res.Findings) != 2 || res.FailOn != SeverityHigh {
		t.Fatalf("findings below the default fail_on must not fail: %s %v", res.Status, res.Findings)
	}
	if res = mustNew(t, Config{FailOn: SeverityMedium}).Evaluate(in); res.Status != StatusFail {
		t.Fatalf("fail_on medium: status %s", res.Status)
	}
	in.Incomplete = []string{"region us-west-1 failed"}
	if res = mustNew(t, Config{FailOn: SeverityLow}).Evaluate(in); res.Status != StatusFail {
		t.Fatalf("a failure on partial data is still a failure: status %s", res.Status)
	}
}

func TestFindingsSortedAndSummarised(t *testing.T) {
	recs := loadRecords(t, "opsworks_cm_records.json")
	var evs []events.Event
	for _, id := range []string{"update-by-user-without-mfa", "root-describe", "delete-by-outsider", "mutating-after-eol", "create-with-public-ip"} {
		evs = append(evs, recs[id])
	}
	trail := goodTrail()
	trail.LogFileValidationEnabled = false
	e := mustNew(t, Config{AllowedPrincipals: testAllowed})
	res := e.Evaluate(Input{Trail: trail, Bucket: goodBucket(t), Events: evs})

	if !slices.IsSortedFunc(res.Findings, compareFindings) {
		t.Fatalf("findings not sorted: %v", ruleIDs(res.Findings))
	}
	if res.Findings[0].Severity != SeverityCritical || res.Findings[len(res.Findings)-1].RuleID != "trail_log_file_validation" {
		t.Fatalf("order: %v", ruleIDs(res.Findings))
	}
	// Reversing the input must not change the output.
	slices.Reverse(evs)
	again := e.Evaluate(Input{Trail: trail, Bucket: goodBucket(t), Events: evs})
	if !slices.EqualFunc(res.Findings, again.Findings, func(a, b Finding) bool { return a == b }) {
		t.Fatalf("order depends on input order:\n%v\n%v", ruleIDs(res.Findings), ruleIDs(again.Findings))
	}

	if res.Summary.Total != len(res.Findings) {
		t.Fatalf("total %d != %d findings", res.Summary.Total, len(res.Findings))
	}
	sum := 0
	for _, sev := range Severities {
		n, ok := res.Summary.BySeverity[sev]
		if !ok {
			t.Errorf("summary lacks severity %s", sev)
		}
		sum += n
	}
	if sum != res.Summary.Total || res.Summary.ByRule["event_root_user_call"] != 1 || res.Summary.ByRule["event_delete_by_unallowed_principal"] != 1 {
		t.Fatalf("summary %+v", res.Summary)
	}
	if n, ok := res.Summary.ByRule["bucket_versioning"]; !ok || n != 0 {
		t.Fatalf("enabled rules without findings must be in the summary with 0: %v", res.Summary.ByRule)
	}
	if res.Status != StatusFail {
		t.Fatalf("status %s", res.Status)
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := New(Config{
		Rules:              []string{"trail_logging_enabled", "no_such_rule"},
		DisabledRules:      []string{"also_unknown"},
		AllowedSourceCIDRs: []string{"10.0.0.0/33"},
		FailOn:             "severe",
		UserRules:          []UserRule{{ID: "trail_logging_enabled", Severity: SeverityLow, Condition: "true"}},
	})
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{`"no_such_rule"`, `"also_unknown"`, "10.0.0.0/33", `"severe"`, "built-in rule id"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestRulesSubsetAndDisabled(t *testing.T) {
	e := mustNew(t, Config{Rules: []string{"trail_logging_enabled", "trail_kms_encryption"}, DisabledRules: []string{"trail_kms_encryption"}})
	trail := goodTrail()
	trail.IsLogging, trail.KMSKeyID, trail.IsMultiRegion = false, "", false
	res := e.Evaluate(Input{Trail: trail})
	if got := ruleIDs(res.Findings); !slices.Equal(got, []string{"trail_logging_enabled"}) {
		t.Fatalf("findings %v", got)
	}
	if res.Status != StatusFail {
		t.Fatalf("status %s reasons %v", res.Status, res.Reasons)
	}
}

func TestSeverity(t *testing.T) {
	if s, err := ParseSeverity(" HIGH "); err != nil || s != SeverityHigh {
		t.Fatalf("ParseSeverity: %v %v", s, err)
	}
	if !SeverityCritical.AtLeast(SeverityHigh) || SeverityMedium.AtLeast(SeverityHigh) || !SeverityInfo.AtLeast(SeverityInfo) {
		t.Fatal("AtLeast ordering")
	}
	if Severity("bogus").AtLeast(SeverityInfo) {
		t.Fatal("unknown severity must never reach a threshold")
	}
}

func TestCatalogIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Catalog() {
		if seen[r.ID] {
			t.Errorf("duplicate id %s", r.ID)
		}
		seen[r.ID] = true
		if !strings.HasPrefix(r.ID, string(r.Target)+"_") || r.ID != strings.ToLower(r.ID) {
			t.Errorf("id %s does not follow <target>_snake_case", r.ID)
		}
		if r.Title == "" || r.Description == "" || r.Remediation == "" || r.Severity.rank() < 0 {
			t.Errorf("rule %s lacks metadata", r.ID)
		}
		checks := 0
		for _, set := range []bool{r.trail != nil, r.bucket != nil, r.files != nil, r.match != nil, r.aggregate != nil} {
			if set {
				checks++
			}
		}
		if checks != 1 {
			t.Errorf("rule %s has %d checks", r.ID, checks)
		}
	}
}

func TestEvaluateIsIndependentOfEarlierRuns(t *testing.T) {
	e := mustNew(t, Config{Rules: []string{"event_access_denied_burst"}})
	recs := loadRecords(t, "opsworks_cm_records.json")
	in := Input{Events: []events.Event{recs["denied-prober-1"], recs["denied-prober-2"]}}
	for range 3 {
		if res := e.Evaluate(in); len(res.Findings) != 0 {
			t.Fatalf("counts leaked between evaluations: %v", res.Findings)
		}
	}
}

func TestCompileErrorIsTyped(t *testing.T) {
	err := CompileRules([]UserRule{{ID: "bad", Severity: SeverityLow, Condition: "event.nope == 1"}})
	var ce *CompileError
	if !errors.As(err, &ce) || ce.RuleID != "bad" || ce.Line != 1 || ce.Column != 6 {
		t.Fatalf("got %#v", err)
	}
}
