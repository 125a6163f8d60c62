package policy

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

func TestCELCompileErrors(t *testing.T) {
	tests := []struct {
		name, condition string
		line, column    int
		contains        string
	}{
		{name: "type error", condition: "event.event_name + 1", line: 1, column: 18, contains: "no matching overload for '_+_' applied to '(string, int)'"},
		{name: "non-bool result", condition: "event.event_name", line: 1, column: 1, contains: "must evaluate to bool, not string"},
		{name: "dyn result", condition: "event.request_parameters.serverName", line: 1, column: 1, contains: "must evaluate to bool, not dyn"},
		{name: "unknown field", condition: "event.evnt_name == 'DeleteServer'", line: 1, column: 6, contains: "undefined field 'evnt_name'"},
		{name: "unknown variable", condition: "evt.event_name == 'DeleteServer'", line: 1, column: 1, contains: "undeclared reference to 'evt'"},
		{name: "error on second line", condition: "event.read_only == false &&\n  event.error_code == 3", line: 2, column: 20, contains: "no matching overload"},
		{name: "syntax error", condition: "event.event_name ==", line: 1, column: 20, contains: "Syntax error"},
		{name: "empty", condition: "  ", line: 1, column: 1, contains: "must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CompileRules([]UserRule{{ID: "my_rule", Severity: SeverityHigh, Condition: tt.condition}})
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("want a *CompileError, got %v", err)
			}
			if ce.RuleID != "my_rule" || ce.Line != tt.line || ce.Column != tt.column || !strings.Contains(ce.Message, tt.contains) {
				t.Fatalf("got %+v, want %d:%d %q", ce, tt.line, tt.column, tt.contains)
			}
			if !strings.Contains(err.Error(), `rule "my_rule": condition `) {
				t.Fatalf("message %q", err)
			}
		})
	}
}

func TestCELRuleValidation(t *testing.T) {
	err := CompileRules([]UserRule{
		{ID: "", Severity: SeverityHigh, Condition: "true"},
		{ID: "dup", Severity: SeverityHigh, Condition: "true"},
		{ID: "dup", Severity: SeverityHigh, Condition: "true"},
		{ID: "sev", Severity: "urgent", Condition: "true"},
	})
	for _, want := range []string{"rule #1: id must not be empty", `rule "dup": duplicate id`, `rule "sev": unknown severity "urgent"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	if err := CompileRules([]UserRule{{ID: "ok", Severity: SeverityInfo, Condition: "event.read_only"}}); err != nil {
		t.Fatalf("valid rule: %v", err)
	}
}

func TestCELRulesMatch(t *testing.T) {
	recs := loadRecords(t, "opsworks_cm_records.json")
	tests := []struct {
		condition string
		match     []string
		miss      []string
	}{
		{`event.event_name == "DeleteServer" && event.error_code == ""`, []string{"delete-by-outsider"}, []string{"delete-denied", "user-describe"}},
		{`event.request_parameters.?keyPair.orValue("") != ""`, []string{"restore-with-key-pair"}, []string{"restore-without-key-pair", "root-describe"}},
		{`"disableAutomatedBackup" in event.request_parameters && event.request_parameters.disableAutomatedBackup == true`, []string{"update-disable-backups"}, []string{"update-keep-backups", "update-by-user-with-mfa"}},
		{`event.event_time > timestamp("2024-05-05T23:59:59Z")`, []string{"mutating-after-eol"}, []string{"mutating-on-eol-day"}},
		{`event.resources.exists(r, r.name.contains("server/chef-prod"))`, []string{"reset-pivotal-key"}, []string{"delete-by-outsider"}},
		{`event.record.userIdentity.type == "Root" && event.record.eventVersion == "1.08"`, []string{"root-describe"}, []string{"user-describe"}},
		{`event.user_identity_type == "IAMUser" && !event.mfa_authenticated && event.principal_arn.endsWith("/bob")`, []string{"update-by-user-without-mfa"}, []string{"update-by-user-with-mfa"}},
		{`event.session_issuer_arn.startsWith("arn:aws:iam::111122223333:role/ops/") && event.source_ip_address == "203.0.113.7"`, []string{"call-from-outside"}, []string{"call-from-office"}},
	}
	for _, tt := range tests {
		t.Run(tt.condition, func(t *testing.T) {
			e := mustNew(t, Config{Rules: []string{"trail_logging_enabled"}, UserRules: []UserRule{{ID: "u", Title: "custom", Severity: SeverityMedium, Condition: tt.condition, Remediation: "look"}}})
			var in Input
			in.Trail = goodTrail()
			for _, id := range append(append([]string{}, tt.match...), tt.miss...) {
				in.Events = append(in.Events, recs[id])
			}
			res := e.Evaluate(in)
			if len(res.Errors) != 0 {
				t.Fatalf("errors: %+v", res.Errors)
			}
			var got []string
			for _, f := range res.Findings {
				got = append(got, f.EventID)
				if f.RuleID != "u" || f.Title != "custom" || f.Severity != SeverityMedium || f.Remediation != "look" {
					t.Errorf("finding %+v", f)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.match, ",") {
				t.Fatalf("matched %v, want %v", got, tt.match)
			}
		})
	}
}

// TestCELLogFile checks rules see the log file an archive event was read
// from, and an empty one for events LookupEvents returned.
func TestCELLogFile(t *testing.T) {
	recs := loadRecords(t, "opsworks_cm_records.json")
	fromArchive, fromLookup := recs["user-describe"], recs["root-describe"]
	fromArchive.LogFile = "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/03/01/111122223333_CloudTrail_eu-west-1_20240301T0005Z_abcdefghijklmnop.json.gz"
	e := mustNew(t, Config{Rules: []string{"trail_logging_enabled"}, UserRules: []UserRule{
		{ID: "archived", Severity: SeverityLow, Condition: `event.log_file.contains("/CloudTrail/eu-west-1/")`},
		{ID: "looked_up", Severity: SeverityLow, Condition: `event.log_file == ""`},
	}})
	res := e.Evaluate(Input{Trail: goodTrail(), Events: []events.Event{fromArchive, fromLookup}})
	got := map[string]string{}
	for _, f := range res.Findings {
		got[f.RuleID] = f.EventID
	}
	want := map[string]string{"archived": fromArchive.EventID, "looked_up": fromLookup.EventID}
	if len(res.Errors) != 0 || !maps.Equal(got, want) {
		t.Fatalf("findings by rule %v (errors %v), want %v", got, res.Errors, want)
	}
}

func TestCELRuntimeErrorIsReportedPerRule(t *testing.T) {
	e := mustNew(t, Config{Rules: []string{"trail_logging_enabled"}, UserRules: []UserRule{
		{ID: "strict", Severity: SeverityHigh, Condition: `event.request_parameters.serverName == "puppet-prod"`},
		{ID: "fine", Severity: SeverityHigh, Condition: `event.event_name == "DeleteServer"`},
	}})
	evs := []events.Event{
		{EventID: "a", EventName: "DescribeServers", RequestParameters: `{}`},
		{EventID: "b", EventName: "DescribeServers", RequestParameters: `{}`},
		{EventID: "c", EventName: "DeleteServer", RequestParameters: `{"serverName":"puppet-prod"}`},
	}
	res := e.Evaluate(Input{Trail: goodTrail(), Events: evs})
	if len(res.Errors) != 1 || res.Errors[0].RuleID != "strict" || res.Errors[0].Count != 2 || res.Errors[0].EventID != "a" ||
		!strings.Contains(res.Errors[0].Message, "no such key: serverName") {
		t.Fatalf("errors %+v", res.Errors)
	}
	if got := ruleIDs(res.Findings); strings.Join(got, ",") != "strict,fine" { // configuration order
		t.Fatalf("findings %v", got)
	}
	// The matches are high, so the gate fails even though one rule errored.
	if res.Status != StatusFail {
		t.Fatalf("status %s", res.Status)
	}
	res = e.Evaluate(Input{Trail: goodTrail(), Events: evs[:2]})
	if res.Status != StatusUnknown {
		t.Fatalf("rule error without failing findings must be unknown, got %s", res.Status)
	}
}

func TestCELDecodesOnlyWhatRulesRead(t *testing.T) {
	e := mustNew(t, Config{Rules: []string{"trail_logging_enabled"}, UserRules: []UserRule{{ID: "u", Severity: SeverityLow, Condition: `event.event_name == "X"`}}})
	// Broken JSON in fields no rule reads must not produce errors.
	res := e.Evaluate(Input{Trail: goodTrail(), Events: []events.Event{{EventID: "a", EventName: "X", RequestParameters: "{", CloudTrailEvent: "{"}}})
	if len(res.Errors) != 0 || len(res.Findings) != 1 {
		t.Fatalf("errors %v findings %v", res.Errors, res.Findings)
	}
	e = mustNew(t, Config{Rules: []string{"trail_logging_enabled"}, UserRules: []UserRule{{ID: "u", Severity: SeverityLow, Condition: `has(event.record.eventID)`}}})
	res = e.Evaluate(Input{Trail: goodTrail(), Events: []events.Event{{EventID: "a", CloudTrailEvent: "{"}}})
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Message, "decoding the CloudTrail record") {
		t.Fatalf("errors %v", res.Errors)
	}
}

func TestCELLimits(t *testing.T) {
	long := strings.Repeat("event.read_only || ", 300) + "true"
	var ce *CompileError
	if err := CompileRules([]UserRule{{ID: "long", Severity: SeverityHigh, Condition: long}}); !errors.As(err, &ce) ||
		!strings.Contains(ce.Message, "more than the limit of 4096") {
		t.Errorf("a %d-character condition: %v", len(long), err)
	}
	deep := strings.Repeat("(", 300) + "true" + strings.Repeat(")", 300)
	if err := CompileRules([]UserRule{{ID: "deep", Severity: SeverityHigh, Condition: deep}}); !errors.As(err, &ce) {
		t.Errorf("300 nested parentheses: %v, want a compile error", err)
	}

	// Three nested comprehensions over 1,000 resources are a billion
	// steps: the cost limit stops the rule on the event, and the other
	// rule still runs.
	ev := events.Event{EventID: "many", EventName: "TagResource"}
	for i := range 1000 {
		ev.Resources = append(ev.Resources, events.Resource{Type: "AWS::OpsWorksCM::Server", Name: fmt.Sprintf("server-%d", i)})
	}
	e := mustNew(t, Config{Rules: []string{"trail_logging_enabled"}, UserRules: []UserRule{
		{ID: "cubic", Severity: SeverityHigh, Condition: `event.resources.exists(a, event.resources.exists(b, event.resources.exists(c, a.name + b.name + c.name == "never")))`},
		{ID: "cheap", Severity: SeverityHigh, Condition: `event.resources.exists(r, r.name == "server-999")`},
	}})
	// The rule stopped on the first event is not run on the others.
	evs := []events.Event{ev, ev, ev, ev, ev, ev, ev, ev, ev, ev}
	for i := range evs {
		evs[i].EventID = fmt.Sprintf("many-%d", i)
	}
	start := time.Now()
	res := e.Evaluate(Input{Trail: goodTrail(), Events: evs})
	elapsed := time.Since(start)
	t.Logf("10 events evaluated in %s", elapsed)
	if len(res.Errors) != 1 || res.Errors[0].RuleID != "cubic" || res.Errors[0].Count != 1 || res.Errors[0].EventID != "many-0" ||
		!strings.Contains(res.Errors[0].Message, "costs more than the limit of 1000000") {
		t.Fatalf("errors %+v", res.Errors)
	}
	if got := ruleIDs(res.Findings); len(got) != 10 || got[0] != "cheap" {
		t.Errorf("findings %v, want the cheap rule's on every event", got)
	}
	if elapsed > 5*time.Second {
		t.Errorf("the rules ran for %s on 10 events", elapsed)
	}
}
