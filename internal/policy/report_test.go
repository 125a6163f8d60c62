package policy

import (
	"encoding/json"
	"encoding/xml"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// reportResult has findings at every level, a disabled rule, a user rule,
// an unevaluated target (no bucket) and a rule error.
func reportResult(t *testing.T) Result {
	t.Helper()
	recs := loadRecords(t, "opsworks_cm_records.json")
	trail := goodTrail()
	trail.LogFileValidationEnabled = false // low
	trail.KMSKeyID = ""                    // medium
	broken := events.Event{EventID: "broken", EventName: "DescribeServers", EventSource: events.DefaultEventSource, Region: "eu-west-1", RequestParameters: `{}`}
	e := mustNew(t, Config{
		AllowedPrincipals: testAllowed,
		DisabledRules:     []string{"event_after_end_of_life"},
		UserRules: []UserRule{{ID: "no_delete_in_eu", Title: "No deletions in eu-west-1", Severity: SeverityHigh,
			Condition: `event.region == "eu-west-1" && event.request_parameters.serverName == "x"`, Remediation: "Ask first."}},
	})
	return e.Evaluate(Input{Trail: trail, Events: []events.Event{recs["root-describe"], recs["delete-by-outsider"], recs["create-with-public-ip"], broken}})
}

func TestJSONReport(t *testing.T) {
	res := reportResult(t)
	out, err := res.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"version", "status", "fail_on", "event_source", "events_evaluated", "source_events", "reasons", "summary", "findings", "errors", "rules"} {
		if _, ok := rep[key]; !ok {
			t.Errorf("report lacks %q", key)
		}
	}
	var typed JSONReport
	if err := json.Unmarshal(out, &typed); err != nil {
		t.Fatal(err)
	}
	if typed.Version != 1 || typed.Status != StatusFail || len(typed.Findings) != len(res.Findings) || len(typed.Errors) != 1 {
		t.Fatalf("report %+v", typed)
	}
	f := rep["findings"].([]any)[0].(map[string]any)
	for _, key := range []string{"rule_id", "severity", "title", "resource", "event_id", "region", "principal", "event_time", "message", "remediation"} {
		if _, ok := f[key]; !ok {
			t.Errorf("finding lacks %q", key)
		}
	}
	if f["rule_id"] != "event_root_user_call" || f["severity"] != "critical" || f["event_time"] != "2023-03-01T10:00:00Z" {
		t.Errorf("first finding %v", f)
	}
	again, _ := res.JSON()
	if string(again) != string(out) {
		t.Error("JSON report is not deterministic")
	}
}

// sarifRule is a rule of tool.driver.rules in sarifDoc.
type sarifRule struct {
	ID               string                          `json:"id"`
	Name             string                          `json:"name"`
	ShortDescription struct{ Text string }           `json:"shortDescription"`
	FullDescription  struct{ Text string }           `json:"fullDescription"`
	Help             struct{ Text, Markdown string } `json:"help"`
	Default          struct{ Level string }          `json:"defaultConfiguration"`
	Properties       struct {
		SecuritySeverity string   `json:"security-severity"`
		Tags             []string `json:"tags"`
	} `json:"properties"`
}

// sarifDoc is the subset of SARIF 2.1.0 GitHub code scanning reads.
type sarifDoc struct {
	Version string `json:"version"`
	Schema  string `json:"$schema"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name  string      `json:"name"`
				Rules []sarifRule `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []struct {
			RuleID    string                `json:"ruleId"`
			RuleIndex int                   `json:"ruleIndex"`
			Level     string                `json:"level"`
			Message   struct{ Text string } `json:"message"`
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct{ URI string }    `json:"artifactLocation"`
					Region           struct{ StartLine int } `json:"region"`
				} `json:"physicalLocation"`
				LogicalLocations []struct {
					Name               string `json:"name"`
					FullyQualifiedName string `json:"fullyQualifiedName"`
				} `json:"logicalLocations"`
			} `json:"locations"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
		} `json:"results"`
		Invocations []struct {
			ExecutionSuccessful bool `json:"executionSuccessful"`
			Notifications       []struct {
				Level   string                `json:"level"`
				Message struct{ Text string } `json:"message"`
			} `json:"toolExecutionNotifications"`
		} `json:"invocations"`
	} `json:"runs"`
}

func TestSARIFReport(t *testing.T) {
	res := reportResult(t)
	out, err := res.SARIF(SARIFOptions{ToolVersion: "0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	var doc sarifDoc
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2.1.0" || !strings.Contains(doc.Schema, "sarif-schema-2.1.0") || len(doc.Runs) != 1 {
		t.Fatalf("header: %s %s runs=%d", doc.Version, doc.Schema, len(doc.Runs))
	}
	run := doc.Runs[0]
	if run.Tool.Driver.Name != "opsaudit" {
		t.Errorf("driver %q", run.Tool.Driver.Name)
	}
	var ruleIDsInDriver []string
	for _, r := range run.Tool.Driver.Rules {
		ruleIDsInDriver = append(ruleIDsInDriver, r.ID)
		sev, err := strconv.ParseFloat(r.Properties.SecuritySeverity, 64)
		if r.Name == "" || r.ShortDescription.Text == "" || r.FullDescription.Text == "" || r.Help.Text == "" || r.Help.Markdown == "" ||
			err != nil || sev < 0 || sev > 10 || !slices.Contains(r.Properties.Tags, "security") || r.Default.Level == "" {
			t.Errorf("rule metadata incomplete: %+v", r)
		}
	}
	if slices.Contains(ruleIDsInDriver, "event_after_end_of_life") || !slices.Contains(ruleIDsInDriver, "no_delete_in_eu") ||
		len(ruleIDsInDriver) != len(catalog) {
		t.Errorf("driver rules %v: want all enabled built-ins plus the user rule, without the disabled one", ruleIDsInDriver)
	}
	if r := run.Tool.Driver.Rules[0]; r.ID != "trail_multi_region_management_events" || r.Name != "TrailMultiRegionManagementEvents" ||
		!slices.Contains(r.Properties.Tags, "CloudTrail.1") || !slices.Contains(r.Properties.Tags, "CIS 3.1") {
		t.Errorf("first rule %+v", r)
	}

	if len(run.Results) != len(res.Findings) {
		t.Fatalf("%d results for %d findings", len(run.Results), len(res.Findings))
	}
	levels := map[string]string{}
	fingerprints := map[string]bool{}
	for i, r := range run.Results {
		levels[r.RuleID] = r.Level
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %d ruleIndex %d points at %s, not %s", i, r.RuleIndex, run.Tool.Driver.Rules[r.RuleIndex].ID, r.RuleID)
		}
		if len(r.Locations) != 1 || r.Locations[0].PhysicalLocation.ArtifactLocation.URI != "main.tf" ||
			r.Locations[0].PhysicalLocation.Region.StartLine != 1 || len(r.Locations[0].LogicalLocations) != 1 {
			t.Fatalf("result %d locations %+v", i, r.Locations)
		}
		fp := r.PartialFingerprints["opsauditFinding/v1"]
		if fp == "" || fingerprints[fp] {
			t.Errorf("result %d fingerprint %q missing or duplicated", i, fp)
		}
		fingerprints[fp] = true
		if r.Message.Text != res.Findings[i].Message {
			t.Errorf("result %d message %q", i, r.Message.Text)
		}
	}
	for rule, want := range map[string]string{
		"event_root_user_call": "error", "trail_kms_encryption": "warning", "trail_log_file_validation": "note", "event_create_server_exposed": "warning",
	} {
		if levels[rule] != want {
			t.Errorf("level of %s = %q, want %q", rule, levels[rule], want)
		}
	}
	root := run.Results[0]
	if root.RuleID != "event_root_user_call" || root.Locations[0].LogicalLocations[0].FullyQualifiedName != "cloudtrail/us-east-1/root-describe" ||
		root.Locations[0].LogicalLocations[0].Name != "arn:aws:opsworks-cm:us-east-1:111122223333:server/puppet-prod/0a1b2c3d" {
		t.Errorf("event result logical location %+v", root.Locations[0].LogicalLocations)
	}

	inv := run.Invocations
	if len(inv) != 1 || inv[0].ExecutionSuccessful || len(inv[0].Notifications) != len(res.Reasons) {
		t.Errorf("invocations %+v for reasons %v", inv, res.Reasons)
	}

	out, err = res.SARIF(SARIFOptions{ArtifactURI: "envs/prod/audit.tf"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"uri": "envs/prod/audit.tf"`) {
		t.Error("ArtifactURI not used")
	}
}

type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			ClassName string `xml:"classname,attr"`
			Failures  []struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
			} `xml:"error"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnitReport(t *testing.T) {
	res := reportResult(t)
	out, err := res.JUnit()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), xml.Header) {
		t.Error("missing XML header")
	}
	var doc junitDoc
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 3 || doc.Suites[0].Name != "trail" || doc.Suites[1].Name != "bucket" || doc.Suites[2].Name != "event" {
		t.Fatalf("suites %+v", doc.Suites)
	}
	perTarget := map[string]int{}
	for _, r := range catalog {
		perTarget[string(r.Target)]++
	}
	perTarget["event"]++ // the user rule
	totals := [4]int{}
	for _, s := range doc.Suites {
		if s.Tests != perTarget[s.Name] || len(s.Cases) != s.Tests {
			t.Errorf("suite %s: tests=%d cases=%d want %d", s.Name, s.Tests, len(s.Cases), perTarget[s.Name])
		}
		totals[0] += s.Tests
		totals[1] += s.Failures
		totals[2] += s.Errors
		totals[3] += s.Skipped
		var failures, errs, skipped int
		for _, c := range s.Cases {
			if len(c.Failures) > 0 {
				failures++
			}
			if c.Error != nil {
				errs++
			}
			if c.Skipped != nil {
				skipped++
			}
			if want := res.Summary.ByRule[c.Name]; len(c.Failures) != want {
				t.Errorf("case %s: %d failure elements, %d findings", c.Name, len(c.Failures), want)
			}
		}
		if failures != s.Failures || errs != s.Errors || skipped != s.Skipped {
			t.Errorf("suite %s counts f=%d e=%d s=%d, cases say %d %d %d", s.Name, s.Failures, s.Errors, s.Skipped, failures, errs, skipped)
		}
	}
	if totals != [4]int{doc.Tests, doc.Failures, doc.Errors, doc.Skipped} {
		t.Errorf("testsuites totals %d/%d/%d/%d, suites sum %v", doc.Tests, doc.Failures, doc.Errors, doc.Skipped, totals)
	}

	cases := map[string]int{}
	for i, c := range doc.Suites[2].Cases {
		cases[c.Name] = i
	}
	event := doc.Suites[2].Cases
	if c := event[cases["event_after_end_of_life"]]; c.Skipped == nil || c.Skipped.Message != "rule disabled" {
		t.Errorf("disabled rule not skipped: %+v", c)
	}
	if c := event[cases["event_root_user_call"]]; len(c.Failures) != 1 || c.Failures[0].Type != "critical" || !strings.Contains(c.Failures[0].Text, "event_id: root-describe") {
		t.Errorf("root case %+v", c)
	}
	if c := event[cases["no_delete_in_eu"]]; c.Error == nil || c.Error.Type != "evaluation" || c.ClassName != "opsaudit.event.user" {
		t.Errorf("user rule with runtime error %+v", c)
	}
	for _, c := range doc.Suites[1].Cases {
		if c.Error == nil || c.Error.Type != "incomplete" {
			t.Errorf("bucket case %s without bucket input must be an error: %+v", c.Name, c)
		}
	}
}
