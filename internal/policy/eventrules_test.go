package policy

import (
	"strings"
	"testing"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

var testAllowed = []string{"arn:aws:iam::111122223333:role/ops/OpsAdmin", "arn:aws:iam::111122223333:user/ci-*"}

func TestEventRules(t *testing.T) {
	recs := loadRecords(t, "opsworks_cm_records.json")
	tests := []struct {
		rule   string
		events []string
		cidrs  []string
		// want is the number of findings, and contains a fragment of the
		// first finding's message.
		want     int
		contains string
	}{
		{rule: "event_root_user_call", events: []string{"root-describe"}, want: 1, contains: "root user of account 111122223333"},
		{rule: "event_root_user_call", events: []string{"user-describe"}},

		{rule: "event_delete_by_unallowed_principal", events: []string{"delete-by-outsider"}, want: 1, contains: "user/mallory"},
		{rule: "event_delete_by_unallowed_principal", events: []string{"delete-by-allowed-role-session"}},
		{rule: "event_delete_by_unallowed_principal", events: []string{"delete-denied"}},

		{rule: "event_credential_reset", events: []string{"reset-pivotal-key"}, want: 1, contains: "CHEF_PIVOTAL_KEY on server chef-prod"},
		{rule: "event_credential_reset", events: []string{"reset-failed"}},

		{rule: "event_export_by_unallowed_principal", events: []string{"export-by-outsider"}, want: 1, contains: "not in allowed_principals"},
		{rule: "event_export_by_unallowed_principal", events: []string{"export-by-ci-user"}},

		{rule: "event_restore_new_key_pair", events: []string{"restore-with-key-pair"}, want: 1, contains: "key pair attacker-key"},
		{rule: "event_restore_new_key_pair", events: []string{"restore-without-key-pair"}},

		{rule: "event_mutating_without_mfa", events: []string{"update-by-user-without-mfa"}, want: 1, contains: "(IAMUser) without MFA"},
		{rule: "event_mutating_without_mfa", events: []string{"update-by-user-with-mfa", "update-by-role-without-mfa", "user-describe"}},

		{rule: "event_source_ip_not_allowed", events: []string{"call-from-outside"}, cidrs: []string{"10.0.0.0/8", "192.0.2.1"}, want: 1, contains: "from 203.0.113.7"},
		{rule: "event_source_ip_not_allowed", events: []string{"call-from-office", "call-by-service"}, cidrs: []string{"10.0.0.0/8"}},
		{rule: "event_source_ip_not_allowed", events: []string{"call-from-outside"}},

		{rule: "event_create_server_exposed", events: []string{"create-without-security-groups"}, want: 1, contains: "no security groups"},
		{rule: "event_create_server_exposed", events: []string{"create-with-public-ip"}, want: 1, contains: "public IP address"},
		{rule: "event_create_server_exposed", events: []string{"create-private"}},

		{rule: "event_backups_disabled", events: []string{"update-disable-backups"}, want: 1, contains: "disabled automated backups of puppet-prod"},
		{rule: "event_backups_disabled", events: []string{"update-keep-backups"}},

		{rule: "event_access_denied_burst", events: []string{"denied-prober-1", "denied-prober-2", "denied-prober-3"}, want: 1, contains: "3 AccessDenied/Unauthorized errors by arn:aws:sts::111122223333:assumed-role/prober/probe-session"},
		{rule: "event_access_denied_burst", events: []string{"denied-typo-1", "denied-typo-2", "denied-prober-1", "denied-prober-2"}},

		{rule: "event_after_end_of_life", events: []string{"mutating-after-eol"}, want: 1, contains: "after OpsWorks CM's end of life"},
		{rule: "event_after_end_of_life", events: []string{"describe-after-eol", "mutating-on-eol-day"}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.rule+"/"+strings.Join(tt.events, "+"), func(t *testing.T) {
			covered[tt.rule] = true
			var in Input
			for _, id := range tt.events {
				ev, ok := recs[id]
				if !ok {
					t.Fatalf("no record %q in testdata", id)
				}
				in.Events = append(in.Events, ev)
			}
			e := mustNew(t, Config{Rules: []string{tt.rule}, AllowedPrincipals: testAllowed, AllowedSourceCIDRs: tt.cidrs})
			res := e.Evaluate(in)
			if len(res.Findings) != tt.want {
				t.Fatalf("got %d findings %v, want %d", len(res.Findings), res.Findings, tt.want)
			}
			if len(res.Errors) > 0 {
				t.Fatalf("rule errors: %v", res.Errors)
			}
			if tt.want == 0 {
				return
			}
			f := res.Findings[0]
			if f.RuleID != tt.rule || !strings.Contains(f.Message, tt.contains) {
				t.Errorf("finding %+v: want rule %s and message containing %q", f, tt.rule, tt.contains)
			}
			if f.EventID == "" || f.Principal == "" || f.EventTime.IsZero() || f.Region == "" || f.Resource == "" {
				t.Errorf("finding lacks event details: %+v", f)
			}
		})
	}
	for _, r := range catalog {
		if r.Target == TargetEvent && !covered[r.ID] {
			t.Errorf("event rule %s has no test case", r.ID)
		}
	}
}

func TestEventRulesOnlySeeTheAuditedSource(t *testing.T) {
	ev := loadRecords(t, "opsworks_cm_records.json")["root-describe"]
	ev.EventSource = "ec2.amazonaws.com"
	res := mustNew(t, Config{Rules: []string{"event_root_user_call"}}).Evaluate(Input{Events: []events.Event{ev}})
	if len(res.Findings) != 0 || res.SourceEvents != 0 || res.EventsEvaluated != 1 {
		t.Fatalf("an ec2 event was judged by opsworks-cm rules: %+v", res)
	}
	res = mustNew(t, Config{Rules: []string{"event_root_user_call"}, EventSource: "ec2.amazonaws.com"}).Evaluate(Input{Events: []events.Event{ev}})
	if len(res.Findings) != 1 {
		t.Fatalf("event_source did not retarget the rules: %+v", res.Findings)
	}
}

// With every event source audited, built-in event rules judge every event.
func TestEventRulesSeeEverySource(t *testing.T) {
	recs := loadRecords(t, "opsworks_cm_records.json")
	ec2 := recs["root-describe"]
	ec2.EventSource = "ec2.amazonaws.com"
	res := mustNew(t, Config{Rules: []string{"event_root_user_call"}, EventSource: events.AllEventSources}).
		Evaluate(Input{Events: []events.Event{ec2, recs["root-describe"], recs["user-describe"]}})
	if got := ruleIDs(res.Findings); len(got) != 2 || res.SourceEvents != 3 || res.EventSource != "*" {
		t.Fatalf("findings %v, %d source events, source %q", got, res.SourceEvents, res.EventSource)
	}
}

// The rules about named OpsWorks CM actions leave other services' actions
// of the same names alone, even with every source audited.
func TestOpsWorksActionRulesOnlyForOpsWorksCM(t *testing.T) {
	recs := loadRecords(t, "opsworks_cm_records.json")
	for rule, id := range map[string]string{
		"event_delete_by_unallowed_principal": "delete-by-outsider",
		"event_create_server_exposed":         "create-without-security-groups",
	} {
		opsworks := recs[id]
		other := opsworks
		other.EventSource, other.EventID = "transfer.amazonaws.com", "other-"+opsworks.EventID
		res := mustNew(t, Config{Rules: []string{rule}, AllowedPrincipals: testAllowed, EventSource: events.AllEventSources}).
			Evaluate(Input{Events: []events.Event{other, opsworks}})
		if len(res.Findings) != 1 || res.Findings[0].EventID != opsworks.EventID {
			t.Errorf("%s: want the OpsWorks CM call only: %+v", rule, res.Findings)
		}
	}
}

func TestEndOfLifeOnlyForOpsWorksCM(t *testing.T) {
	ev := loadRecords(t, "opsworks_cm_records.json")["mutating-after-eol"]
	ev.EventSource = "ec2.amazonaws.com"
	res := mustNew(t, Config{Rules: []string{"event_after_end_of_life"}, EventSource: "ec2.amazonaws.com"}).Evaluate(Input{Events: []events.Event{ev}})
	if len(res.Findings) != 0 {
		t.Fatalf("end of life applied to another service: %+v", res.Findings)
	}
	opsworks := loadRecords(t, "opsworks_cm_records.json")["mutating-after-eol"]
	res = mustNew(t, Config{Rules: []string{"event_after_end_of_life"}, EventSource: events.AllEventSources}).Evaluate(Input{Events: []events.Event{ev, opsworks}})
	if len(res.Findings) != 1 || res.Findings[0].EventID != opsworks.EventID {
		t.Fatalf("with every source audited, want the OpsWorks CM call only: %+v", res.Findings)
	}
}

func TestAccessDeniedThresholdConfigurable(t *testing.T) {
	recs := loadRecords(t, "opsworks_cm_records.json")
	in := Input{Events: []events.Event{recs["denied-typo-1"], recs["denied-typo-2"]}}
	res := mustNew(t, Config{Rules: []string{"event_access_denied_burst"}, AccessDeniedThreshold: 2}).Evaluate(in)
	if len(res.Findings) != 1 || res.Findings[0].EventID != "denied-typo-2" {
		t.Fatalf("want one finding on the latest denied call, got %+v", res.Findings)
	}
}

func TestMalformedRequestParametersIsARuleError(t *testing.T) {
	ev := loadRecords(t, "opsworks_cm_records.json")["update-disable-backups"]
	ev.RequestParameters = `{"serverName":`
	res := mustNew(t, Config{Rules: []string{"event_backups_disabled"}}).Evaluate(Input{Events: []events.Event{ev}})
	if res.Status != StatusUnknown || len(res.Errors) != 1 || res.Errors[0].EventID != ev.EventID {
		t.Fatalf("want unknown with a rule error, got %s %+v", res.Status, res.Errors)
	}
}
