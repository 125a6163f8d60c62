package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/policy"
)

// How an evaluation's result reads in opsaudit_compliance: the verdict,
// findings, counts, message and reports.

type findingModel struct {
	RuleID      types.String `tfsdk:"rule_id"`
	Severity    types.String `tfsdk:"severity"`
	Title       types.String `tfsdk:"title"`
	Resource    types.String `tfsdk:"resource"`
	EventID     types.String `tfsdk:"event_id"`
	Region      types.String `tfsdk:"region"`
	Principal   types.String `tfsdk:"principal"`
	EventTime   types.String `tfsdk:"event_time"`
	Message     types.String `tfsdk:"message"`
	Remediation types.String `tfsdk:"remediation"`
}

type summaryModel struct {
	Total      types.Int64 `tfsdk:"total"`
	BySeverity types.Map   `tfsdk:"by_severity"`
	ByRule     types.Map   `tfsdk:"by_rule"`
}

func (m *complianceModel) setResult(ctx context.Context, res policy.Result) diag.Diagnostics {
	var diags diag.Diagnostics
	m.Status = types.StringValue(string(res.Status))
	m.Compliant = types.BoolValue(res.Status == policy.StatusPass)
	m.EventsEvaluated = types.Int64Value(int64(res.EventsEvaluated))

	// An empty list, not null: "no findings" is an answer.
	m.Findings = make([]findingModel, len(res.Findings))
	for i, f := range res.Findings {
		m.Findings[i] = findingModel{
			RuleID:      types.StringValue(f.RuleID),
			Severity:    types.StringValue(string(f.Severity)),
			Title:       types.StringValue(f.Title),
			Resource:    types.StringValue(f.Resource),
			EventID:     nullIfEmpty(f.EventID),
			Region:      nullIfEmpty(f.Region),
			Principal:   nullIfEmpty(f.Principal),
			EventTime:   nullIfEmpty(policy.FormatTime(f.EventTime)),
			Message:     types.StringValue(f.Message),
			Remediation: types.StringValue(f.Remediation),
		}
	}
	bySeverity := map[string]int64{}
	for sev, n := range res.Summary.BySeverity {
		bySeverity[string(sev)] = int64(n)
	}
	byRule := map[string]int64{}
	for id, n := range res.Summary.ByRule {
		byRule[id] = int64(n)
	}
	sevMap, d := types.MapValueFrom(ctx, types.Int64Type, bySeverity)
	diags.Append(d...)
	ruleMap, d := types.MapValueFrom(ctx, types.Int64Type, byRule)
	diags.Append(d...)
	m.Summary = &summaryModel{Total: types.Int64Value(int64(res.Summary.Total)), BySeverity: sevMap, ByRule: ruleMap}
	m.Reasons, d = types.ListValueFrom(ctx, types.StringType, append([]string{}, res.Reasons...))
	diags.Append(d...)
	m.Message = types.StringValue(verdictMessage(res))

	js, err := res.JSON()
	if err != nil {
		diags.AddError("Rendering the JSON report", err.Error())
	}
	sarif, err := res.SARIF(policy.SARIFOptions{ArtifactURI: m.SARIFArtifactURI.ValueString()})
	if err != nil {
		diags.AddError("Rendering the SARIF report", err.Error())
	}
	junit, err := res.JUnit()
	if err != nil {
		diags.AddError("Rendering the JUnit report", err.Error())
	}
	m.ReportJSON, m.ReportSARIF, m.ReportJUnit = types.StringValue(string(js)), types.StringValue(string(sarif)), types.StringValue(string(junit))
	return diags
}

// verdictMessage is the result in a few lines, for an error_message:
// status and counts, then the findings that fail (or all, up to a bound),
// then why the input is incomplete.
func verdictMessage(res policy.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "opsaudit compliance: %s (fail_on = %s), %d finding(s)", res.Status, res.FailOn, res.Summary.Total)
	var counts []string
	for _, sev := range policy.Severities {
		if n := res.Summary.BySeverity[sev]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, sev))
		}
	}
	if len(counts) > 0 {
		fmt.Fprintf(&b, ": %s", strings.Join(counts, ", "))
	}
	b.WriteString(".")

	shown := slices.DeleteFunc(slices.Clone(res.Findings), func(f policy.Finding) bool { return !f.Severity.AtLeast(res.FailOn) })
	if len(shown) == 0 {
		shown = res.Findings
	}
	for i, f := range shown {
		if i == messageFindings {
			fmt.Fprintf(&b, "\n  ... and %d more (see findings or report_json)", len(shown)-i)
			break
		}
		fmt.Fprintf(&b, "\n  [%s] %s: %s", f.Severity, f.RuleID, f.Message)
	}
	if len(res.Reasons) > 0 {
		b.WriteString("\nIncomplete input:")
		for _, r := range res.Reasons {
			fmt.Fprintf(&b, "\n  - %s", r)
		}
	}
	return b.String()
}
