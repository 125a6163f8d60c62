package policy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sigma"
)

// sigmaTestRules reads the 57 Sigma rules of testdata, one document each.
func sigmaTestRules(t testing.TB) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "sigma_cloudtrail_rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(raw), "\n---\n")
}

const versioningRule = `title: S3 bucket versioning suspended
id: 7b0e2c1a-versioning
description: Suspending versioning lets overwritten and deleted objects go for good.
references:
  - https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html
tags:
  - attack.impact
  - attack.t1490
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: s3.amazonaws.com
    eventName: PutBucketVersioning
    requestParameters|contains: '"Status":"Suspended"'
  condition: selection
falsepositives:
  - Buckets of short-lived data
  - Test accounts
level: high
`

const consoleRule = `title: Console sign-in without MFA
id: 7b0e2c1a-console
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventName: consolelogin
    additionalEventData.MFAUsed: 'no'
  condition: selection
level: informational
`

// A Sigma rule's finding is a user rule's finding: its id, title, level as
// severity, remediation from description and false positives; its
// references and ATT&CK ids reach the reports.
func TestSigmaRuleFindings(t *testing.T) {
	recs := loadRecords(t, "cloudtrail_records.json")
	e := mustNew(t, Config{Rules: []string{"trail_logging_enabled"}, SigmaRules: []string{versioningRule, consoleRule}})
	var evs []events.Event
	for _, id := range []string{"s3-versioning-suspended", "s3-versioning-enabled", "console-login-without-mfa", "console-login-with-mfa", "root-list-buckets"} {
		evs = append(evs, recs[id])
	}
	res := e.Evaluate(Input{Trail: goodTrail(), Events: evs})
	if len(res.Errors) != 0 || res.Status != StatusFail {
		t.Fatalf("status %s errors %v", res.Status, res.Errors)
	}
	want := []Finding{
		{
			RuleID: "7b0e2c1a-versioning", Severity: SeverityHigh, Title: "S3 bucket versioning suspended",
			Resource: "arn:aws:s3:::audit-logs", EventID: "s3-versioning-suspended", Region: "eu-west-1",
			Principal: "arn:aws:iam::111122223333:user/alice", EventTime: time.Date(2025, 3, 1, 10, 1, 0, 0, time.UTC),
			Message: "PutBucketVersioning by arn:aws:iam::111122223333:user/alice at 2025-03-01T10:01:00Z in eu-west-1 matched the Sigma rule's detection",
			Remediation: "Suspending versioning lets overwritten and deleted objects go for good. " +
				"Confirm the call was expected; known false positives: Buckets of short-lived data; Test accounts.",
		},
		{
			RuleID: "7b0e2c1a-console", Severity: SeverityInfo, Title: "Console sign-in without MFA",
			Resource: "cloudtrail/us-east-1/console-login-without-mfa", EventID: "console-login-without-mfa", Region: "us-east-1",
			Principal: "arn:aws:iam::111122223333:user/bob", EventTime: time.Date(2025, 3, 1, 10, 3, 0, 0, time.UTC),
			Message:     "ConsoleLogin by arn:aws:iam::111122223333:user/bob at 2025-03-01T10:03:00Z in us-east-1 matched the Sigma rule's detection",
			Remediation: "Confirm the call was expected.",
		},
	}
	if len(res.Findings) != len(want) {
		t.Fatalf("findings %+v", res.Findings)
	}
	for i, f := range res.Findings {
		f.ruleOrder = 0
		if f != want[i] {
			t.Errorf("finding %d\n got %+v\nwant %+v", i, f, want[i])
		}
	}

	var outcome RuleOutcome
	for _, ro := range res.Rules {
		if ro.Rule.ID == "7b0e2c1a-versioning" {
			outcome = ro
		}
	}
	if !outcome.Enabled || !outcome.Rule.User || outcome.Rule.Target != TargetEvent || outcome.Findings != 1 ||
		!slices.Equal(outcome.Rule.References.ATTACK, []string{"T1490"}) ||
		!slices.Equal(outcome.Rule.References.URLs, []string{"https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html"}) ||
		!slices.Equal(outcome.Rule.Tags, []string{"attack.impact", "attack.t1490"}) {
		t.Fatalf("rule outcome %+v", outcome)
	}

	js, err := res.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var rep JSONReport
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(rep.Rules, func(r JSONRuleOutcome) bool { return r.ID == "7b0e2c1a-versioning" })
	if i < 0 || !rep.Rules[i].User || !slices.Equal(rep.Rules[i].References.ATTACK, []string{"T1490"}) || len(rep.Rules[i].References.URLs) != 1 {
		t.Fatalf("JSON rules %+v", rep.Rules)
	}
	out, err := res.SARIF(SARIFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var doc sarifDoc
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	rules := doc.Runs[0].Tool.Driver.Rules
	i = slices.IndexFunc(rules, func(r sarifRule) bool { return r.ID == "7b0e2c1a-versioning" })
	if i < 0 || !slices.Equal(rules[i].Properties.Tags, []string{"security", "event", "T1490", "attack.impact", "attack.t1490"}) ||
		!strings.Contains(rules[i].Help.Markdown, "MITRE ATT&CK: T1490") ||
		!strings.Contains(rules[i].Help.Markdown, "Links: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html") {
		t.Fatalf("SARIF rules %+v", rules)
	}
}

func TestSigmaLevels(t *testing.T) {
	for level, want := range map[string]Severity{
		"informational": SeverityInfo, "low": SeverityLow, "medium": SeverityMedium, "high": SeverityHigh, "critical": SeverityCritical,
	} {
		doc := strings.Replace(consoleRule, "level: informational", "level: "+level, 1)
		e := mustNew(t, Config{SigmaRules: []string{doc}})
		ro := e.rules[len(e.rules)-1]
		if ro.Rule.ID != "7b0e2c1a-console" || ro.Rule.Severity != want {
			t.Errorf("level %s: rule %s severity %s, want %s", level, ro.Rule.ID, ro.Rule.Severity, want)
		}
	}
}

// CompileSigmaRules reports each refused document with its index, so the
// data source can point at sigma_rules[i] at plan time.
func TestCompileSigmaRulesErrors(t *testing.T) {
	windows := strings.Replace(consoleRule, "product: aws\n  service: cloudtrail", "product: windows\n  category: process_creation", 1)
	aggregation := strings.Replace(consoleRule, "condition: selection", "condition: selection | count() > 3", 1)
	builtin := strings.Replace(consoleRule, "id: 7b0e2c1a-console", "id: event_root_user_call", 1)
	err := CompileSigmaRules([]string{versioningRule, windows, aggregation, builtin}, nil)
	type got struct {
		index         int
		line          int
		feature, text string
	}
	var all []got
	for _, e := range flatten(err) {
		var se *sigma.Error
		if !errors.As(e, &se) {
			t.Fatalf("%v is not a *sigma.Error", e)
		}
		all = append(all, got{se.Index, se.Line, se.Feature, se.Message})
	}
	want := []got{
		{1, 4, "", "only CloudTrail rules are taken: logsource must be product: aws, service: cloudtrail, not product: windows, category: process_creation"},
		{2, 10, "aggregation", `"| count() > 3" counts or correlates events; this engine judges each event on its own`},
		{3, 0, "", "id is already the id of a built-in rule"},
	}
	if !slices.Equal(all, want) {
		t.Fatalf("errors\n got %+v\nwant %+v", all, want)
	}
	if err := CompileSigmaRules(sigmaTestRules(t), nil); err != nil {
		t.Fatalf("the 57 test rules: %v", err)
	}
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// A Sigma id repeating a CEL rule's id is refused by New and, given the
// CEL ids, by CompileSigmaRules at plan time.
func TestSigmaIDTakenByCELRule(t *testing.T) {
	_, err := New(Config{
		UserRules:  []UserRule{{ID: "7b0e2c1a-console", Severity: SeverityLow, Condition: "true"}},
		SigmaRules: []string{versioningRule, consoleRule},
	})
	for name, err := range map[string]error{
		"New":               err,
		"CompileSigmaRules": CompileSigmaRules([]string{versioningRule, consoleRule}, []string{"7b0e2c1a-console"}),
	} {
		var se *sigma.Error
		if !errors.As(err, &se) || se.Index != 1 || se.RuleID != "7b0e2c1a-console" || se.Message != "id is already the id of a CEL rule" {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

// A record that does not decode is a rule error for every Sigma rule, and
// makes the result unknown rather than pass.
func TestSigmaRecordDecodeError(t *testing.T) {
	e := mustNew(t, Config{Rules: []string{"trail_logging_enabled"}, SigmaRules: []string{versioningRule, consoleRule}})
	res := e.Evaluate(Input{Trail: goodTrail(), Events: []events.Event{{EventID: "bad", EventName: "ConsoleLogin", CloudTrailEvent: "{"}}})
	if res.Status != StatusUnknown || len(res.Errors) != 2 || !strings.Contains(res.Errors[0].Message, "event bad: parsing the CloudTrail record") {
		t.Fatalf("status %s errors %+v", res.Status, res.Errors)
	}
}

// CEL rules reading event.record and Sigma rules judge the same records
// side by side.
func TestSigmaAndCELOnTheSameEvents(t *testing.T) {
	recs := loadRecords(t, "cloudtrail_records.json")
	e := mustNew(t, Config{
		Rules:      []string{"trail_logging_enabled"},
		UserRules:  []UserRule{{ID: "cel_mfa", Severity: SeverityLow, Condition: `event.record.?additionalEventData.MFAUsed.orValue("") == "No"`}},
		SigmaRules: []string{consoleRule},
	})
	res := e.Evaluate(Input{Trail: goodTrail(), Events: []events.Event{recs["console-login-with-mfa"], recs["console-login-without-mfa"], recs["console-login-failed"]}})
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.RuleID+"/"+f.EventID)
	}
	want := []string{"cel_mfa/console-login-without-mfa", "cel_mfa/console-login-failed", "7b0e2c1a-console/console-login-without-mfa", "7b0e2c1a-console/console-login-failed"}
	if len(res.Errors) != 0 || !slices.Equal(got, want) {
		t.Fatalf("findings %v errors %v", got, res.Errors)
	}
}

// The 57 test rules over the test records: each record the rules are
// about is found by the right rule, and nothing else is.
func TestSigmaTestRulesOverRecords(t *testing.T) {
	e := mustNew(t, Config{Rules: []string{"trail_logging_enabled"}, SigmaRules: sigmaTestRules(t)})
	var evs []events.Event
	for _, ev := range loadRecords(t, "cloudtrail_records.json") {
		evs = append(evs, ev)
	}
	for _, ev := range loadRecords(t, "opsworks_cm_records.json") {
		evs = append(evs, ev)
	}
	res := e.Evaluate(Input{Trail: goodTrail(), Events: evs})
	if len(res.Errors) != 0 {
		t.Fatalf("errors %v", res.Errors)
	}
	got := map[string][]string{}
	for _, f := range res.Findings {
		got[f.Title] = append(got[f.Title], f.EventID)
	}
	for _, ids := range got {
		slices.Sort(ids)
	}
	want := map[string][]string{
		"CloudTrail logging stopped or trail removed":     {"cloudtrail-stop-logging"},
		"Root user activity":                              {"root-describe", "root-list-buckets"},
		"Console sign-in without MFA":                     {"console-login-without-mfa"},
		"Console sign-in failed":                          {"console-login-failed"},
		"S3 bucket versioning suspended":                  {"s3-versioning-suspended"},
		"S3 bucket deleted":                               {"s3-delete-bucket"},
		"S3 buckets listed by a long-term identity":       {"root-list-buckets"},
		"IAM access key created for a named user":         {"iam-create-access-key-for-other"},
		"IAM console password created or changed":         {"iam-update-login-profile"},
		"GuardDuty detector deleted or disabled":          {"guardduty-delete-detector"},
		"AWS Config recording stopped":                    {"config-stop-recorder"},
		"Security group opened to the internet":           {"ec2-ingress-ssh-open"},
		"OpsWorks CM server or backup deleted":            {"delete-by-allowed-role-session", "delete-by-outsider"},
		"Instance role credentials used from outside AWS": {"ec2-describe-by-instance-role"},
		"KMS key disabled or scheduled for deletion":      {"kms-schedule-key-deletion"},
		"Lambda function URL without authentication":      {"lambda-public-url"},
		"Identity checked by an offensive tool":           {"sts-trufflehog"},
		"Access key used from a scanner address range":    {"delete-denied", "denied-prober-1", "denied-prober-2", "denied-prober-3", "denied-typo-1", "denied-typo-2"},
	}
	if len(got) != len(want) {
		t.Errorf("rules with findings: got %d, want %d", len(got), len(want))
	}
	for title, ids := range want {
		if !slices.Equal(got[title], ids) {
			t.Errorf("%s: got %v, want %v", title, got[title], ids)
		}
	}
	for title, ids := range got {
		if _, ok := want[title]; !ok {
			t.Errorf("unexpected findings of %s: %v", title, ids)
		}
	}
}
