package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/owenrumney/go-sarif/v2/sarif"
)

// JSONReportVersion is bumped when JSONReport changes incompatibly.
const JSONReportVersion = 1

// JSONReport is the shape of Result.JSON, documented for consumers of the
// data source's report_json: fields are only ever added within a version.
type JSONReport struct {
	Version         int               `json:"version"`
	Status          Status            `json:"status"`
	FailOn          Severity          `json:"fail_on"`
	EventSource     string            `json:"event_source"`
	EventsEvaluated int               `json:"events_evaluated"`
	SourceEvents    int               `json:"source_events"`
	Reasons         []string          `json:"reasons"`
	Summary         JSONSummary       `json:"summary"`
	Findings        []JSONFinding     `json:"findings"`
	Errors          []JSONRuleError   `json:"errors"`
	Rules           []JSONRuleOutcome `json:"rules"`
}

// JSONSummary is Summary in the report.
type JSONSummary struct {
	Total      int              `json:"total"`
	BySeverity map[Severity]int `json:"by_severity"`
	ByRule     map[string]int   `json:"by_rule"`
}

// JSONFinding is Finding in the report; event_time is RFC 3339 (UTC), empty
// for posture findings.
type JSONFinding struct {
	RuleID      string   `json:"rule_id"`
	Severity    Severity `json:"severity"`
	Title       string   `json:"title"`
	Resource    string   `json:"resource"`
	EventID     string   `json:"event_id"`
	Region      string   `json:"region"`
	Principal   string   `json:"principal"`
	EventTime   string   `json:"event_time"`
	Message     string   `json:"message"`
	Remediation string   `json:"remediation"`
}

// JSONRuleError is RuleError in the report.
type JSONRuleError struct {
	RuleID  string `json:"rule_id"`
	Count   int    `json:"count"`
	EventID string `json:"event_id"`
	Message string `json:"message"`
}

// JSONRuleOutcome describes each rule and how it fared.
type JSONRuleOutcome struct {
	ID           string     `json:"id"`
	Title        string     `json:"title"`
	Severity     Severity   `json:"severity"`
	Target       Target     `json:"target"`
	User         bool       `json:"user"`
	Enabled      bool       `json:"enabled"`
	NotEvaluated string     `json:"not_evaluated"`
	Findings     int        `json:"findings"`
	Errors       int        `json:"errors"`
	References   References `json:"references"`
}

// FormatTime is how event times appear in reports and the data source.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// JSON renders the result as a JSONReport.
func (r Result) JSON() ([]byte, error) {
	rep := JSONReport{
		Version:         JSONReportVersion,
		Status:          r.Status,
		FailOn:          r.FailOn,
		EventSource:     r.EventSource,
		EventsEvaluated: r.EventsEvaluated,
		SourceEvents:    r.SourceEvents,
		Reasons:         append([]string{}, r.Reasons...),
		Summary:         JSONSummary{Total: r.Summary.Total, BySeverity: r.Summary.BySeverity, ByRule: r.Summary.ByRule},
		Findings:        []JSONFinding{},
		Errors:          []JSONRuleError{},
		Rules:           []JSONRuleOutcome{},
	}
	for _, f := range r.Findings {
		rep.Findings = append(rep.Findings, JSONFinding{
			RuleID: f.RuleID, Severity: f.Severity, Title: f.Title, Resource: f.Resource, EventID: f.EventID,
			Region: f.Region, Principal: f.Principal, EventTime: FormatTime(f.EventTime), Message: f.Message,
			Remediation: f.Remediation,
		})
	}
	for _, e := range r.Errors {
		rep.Errors = append(rep.Errors, JSONRuleError(e))
	}
	for _, ro := range r.Rules {
		rep.Rules = append(rep.Rules, JSONRuleOutcome{
			ID: ro.Rule.ID, Title: ro.Rule.Title, Severity: ro.Rule.Severity, Target: ro.Rule.Target, User: ro.Rule.User,
			Enabled: ro.Enabled, NotEvaluated: ro.NotEvaluated, Findings: ro.Findings, Errors: ro.Errors, References: ro.Rule.References,
		})
	}
	out, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding JSON report: %w", err)
	}
	return out, nil
}

// SARIFOptions parameterise the SARIF report.
type SARIFOptions struct {
	// ArtifactURI is the file results are attached to, relative to the
	// repository root, since GitHub code scanning needs a physical
	// location; empty means "main.tf".
	ArtifactURI string
	// ToolVersion is the provider version; empty leaves it out.
	ToolVersion string
}

const toolInformationURI = "https://github.com/opsaudit/terraform-provider-opsaudit"

// securitySeverity maps severities onto GitHub's security-severity scale
// (critical above 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9).
var securitySeverity = map[Severity]string{
	SeverityCritical: "9.5",
	SeverityHigh:     "8.0",
	SeverityMedium:   "5.5",
	SeverityLow:      "3.0",
	SeverityInfo:     "0.0",
}

func sarifLevel(s Severity) string {
	switch s {
	case SeverityCritical, SeverityHigh:
		return "error"
	case SeverityMedium:
		return "warning"
	}
	return "note"
}

// SARIF renders the result as SARIF 2.1.0 for GitHub code scanning: every
// enabled rule in tool.driver.rules, one result per finding located both
// logically (the trail, bucket or cloudtrail/<region>/<event-id>) and
// physically (ArtifactURI), and the reasons for an unknown status as tool
// execution notifications.
func (r Result) SARIF(opts SARIFOptions) ([]byte, error) {
	if opts.ArtifactURI == "" {
		opts.ArtifactURI = "main.tf"
	}
	report, err := sarif.New(sarif.Version210)
	if err != nil {
		return nil, fmt.Errorf("creating SARIF report: %w", err)
	}
	driver := sarif.NewDriver("opsaudit").WithInformationURI(toolInformationURI)
	if opts.ToolVersion != "" {
		driver = driver.WithVersion(opts.ToolVersion)
	}
	run := sarif.NewRun(*sarif.NewTool(driver))
	ruleIndex := map[string]int{}
	for _, ro := range r.Rules {
		if !ro.Enabled {
			continue
		}
		rule := ro.Rule
		ruleIndex[rule.ID] = len(run.Tool.Driver.Rules)
		props := sarif.NewPropertyBag()
		props.Add("security-severity", securitySeverity[rule.Severity])
		props.Add("tags", slices.Concat([]string{"security", string(rule.Target)}, rule.References.all(), rule.Tags))
		props.Add("precision", "high")
		props.Add("problem.severity", sarifLevel(rule.Severity))
		desc := rule.Description
		if desc == "" {
			desc = rule.Title
		}
		help := rule.Remediation
		if refs := slices.Concat(rule.References.all(), rule.References.URLs); len(refs) > 0 {
			help += "\n\nReferences: " + strings.Join(refs, ", ")
		}
		run.AddRule(rule.ID).
			WithName(ruleName(rule.ID)).
			WithShortDescription(sarif.NewMultiformatMessageString(rule.Title)).
			WithFullDescription(sarif.NewMultiformatMessageString(desc)).
			WithHelp(sarif.NewMultiformatMessageString(help).WithMarkdown(markdownHelp(rule))).
			WithDefaultConfiguration(&sarif.ReportingConfiguration{Level: sarifLevel(rule.Severity)}).
			WithProperties(props.Properties)
	}
	for _, f := range r.Findings {
		logical := f.Resource
		if f.EventID != "" {
			logical = fmt.Sprintf("cloudtrail/%s/%s", f.Region, f.EventID)
		}
		loc := sarif.NewLocation().
			WithPhysicalLocation(sarif.NewPhysicalLocation().
				WithArtifactLocation(sarif.NewSimpleArtifactLocation(opts.ArtifactURI)).
				WithRegion(sarif.NewSimpleRegion(1, 1))).
			WithLogicalLocations([]*sarif.LogicalLocation{
				sarif.NewLogicalLocation().WithName(f.Resource).WithFullyQualifiedName(logical).WithKind("resource"),
			})
		res := run.CreateResultForRule(f.RuleID).
			WithRuleIndex(ruleIndex[f.RuleID]).
			WithLevel(sarifLevel(f.Severity)).
			WithMessage(sarif.NewTextMessage(f.Message)).
			WithLocations([]*sarif.Location{loc}).
			// All results share one physical line, so GitHub's line-hash
			// fingerprint would merge them; this one tells findings apart.
			WithPartialFingerPrints(map[string]any{"opsauditFinding/v1": fingerprint(f)})
		props := sarif.NewPropertyBag()
		props.Add("severity", string(f.Severity))
		props.Add("resource", f.Resource)
		if f.EventID != "" {
			props.Add("event_id", f.EventID)
			props.Add("event_time", FormatTime(f.EventTime))
			props.Add("principal", f.Principal)
		}
		res.AttachPropertyBag(props)
	}
	inv := run.AddInvocation(len(r.Reasons) == 0)
	for _, reason := range r.Reasons {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications,
			&sarif.Notification{Level: "warning", Message: sarif.NewTextMessage(reason)})
	}
	runProps := sarif.NewPropertyBag()
	runProps.Add("status", string(r.Status))
	runProps.Add("fail_on", string(r.FailOn))
	run.AttachPropertyBag(runProps)
	report.AddRun(run)

	var buf bytes.Buffer
	if err := report.PrettyWrite(&buf); err != nil {
		return nil, fmt.Errorf("encoding SARIF report: %w", err)
	}
	return buf.Bytes(), nil
}

// ruleName is the rule id in PascalCase, the form SARIF viewers show.
func ruleName(id string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(strings.NewReplacer("-", "_", ".", "_").Replace(id), "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func markdownHelp(rule Rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** (%s)\n\n%s\n\n**Remediation:** %s", rule.Title, rule.Severity, rule.Description, rule.Remediation)
	for _, ref := range []struct {
		name string
		ids  []string
	}{
		{"Security Hub", rule.References.SecurityHub},
		{"CIS AWS Foundations v3.0.0", rule.References.CIS},
		{"Checkov", rule.References.Checkov},
		{"Prowler", rule.References.Prowler},
		{"MITRE ATT&CK", rule.References.ATTACK},
		{"Links", rule.References.URLs},
	} {
		if len(ref.ids) > 0 {
			fmt.Fprintf(&b, "\n\n%s: %s", ref.name, strings.Join(ref.ids, ", "))
		}
	}
	return b.String()
}

func fingerprint(f Finding) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{f.RuleID, f.Resource, f.EventID, f.Message}, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// JUnit types: the de facto schema Jenkins, GitLab and GitHub test
// reporters read. No maintained Go library writes it, and encoding/xml
// with these structs is all it takes.
type junitTestSuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Name     string           `xml:"name,attr"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Errors   int              `xml:"errors,attr"`
	Skipped  int              `xml:"skipped,attr"`
	Suites   []junitTestSuite `xml:"testsuite"`
}

type junitTestSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitTestCase `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitTestCase struct {
	Name      string         `xml:"name,attr"`
	ClassName string         `xml:"classname,attr"`
	Failures  []junitFailure `xml:"failure"`
	Error     *junitFailure  `xml:"error"`
	Skipped   *junitSkipped  `xml:"skipped"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// JUnit renders one testsuite per target kind and one testcase per rule:
// a failure per finding (type = severity), an error when the rule could not
// be evaluated, skipped when the rule is disabled. Counts follow JUnit
// convention: failures and errors count test cases, not findings.
func (r Result) JUnit() ([]byte, error) {
	byRule := map[string][]Finding{}
	for _, f := range r.Findings {
		byRule[f.RuleID] = append(byRule[f.RuleID], f)
	}
	errs := map[string]RuleError{}
	for _, e := range r.Errors {
		errs[e.RuleID] = e
	}
	doc := junitTestSuites{Name: "opsaudit"}
	for _, target := range Targets {
		suite := junitTestSuite{Name: string(target), Properties: []junitProperty{
			{Name: "status", Value: string(r.Status)},
			{Name: "fail_on", Value: string(r.FailOn)},
		}}
		for _, ro := range r.Rules {
			if ro.Rule.Target != target {
				continue
			}
			tc := junitTestCase{Name: ro.Rule.ID, ClassName: "opsaudit." + string(target)}
			if ro.Rule.User {
				tc.ClassName += ".user"
			}
			switch {
			case !ro.Enabled:
				tc.Skipped = &junitSkipped{Message: "rule disabled"}
				suite.Skipped++
			case ro.NotEvaluated != "":
				tc.Error = &junitFailure{Message: ro.NotEvaluated, Type: "incomplete"}
				suite.Errors++
			}
			if e, ok := errs[ro.Rule.ID]; ok {
				tc.Error = &junitFailure{Message: e.Message, Type: "evaluation", Text: fmt.Sprintf("failed %d time(s); first event: %s", e.Count, e.EventID)}
				suite.Errors++
			}
			for _, f := range byRule[ro.Rule.ID] {
				text := fmt.Sprintf("resource: %s\nregion: %s", f.Resource, f.Region)
				if f.EventID != "" {
					text += fmt.Sprintf("\nevent_id: %s\nevent_time: %s\nprincipal: %s", f.EventID, FormatTime(f.EventTime), f.Principal)
				}
				text += "\nremediation: " + f.Remediation
				tc.Failures = append(tc.Failures, junitFailure{Message: f.Message, Type: string(f.Severity), Text: text})
			}
			if len(tc.Failures) > 0 {
				suite.Failures++
			}
			suite.Cases = append(suite.Cases, tc)
		}
		suite.Tests = len(suite.Cases)
		doc.Tests += suite.Tests
		doc.Failures += suite.Failures
		doc.Errors += suite.Errors
		doc.Skipped += suite.Skipped
		doc.Suites = append(doc.Suites, suite)
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding JUnit report: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}
