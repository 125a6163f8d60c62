package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/lookup"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/policy"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sigma"
)

var (
	_ datasource.DataSourceWithConfigure        = (*complianceDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*complianceDataSource)(nil)
	_ datasource.DataSourceWithValidateConfig   = (*complianceDataSource)(nil)
)

const (
	defaultComplianceLookback  = "7d"
	defaultComplianceMaxEvents = 10000
	defaultSARIFArtifactURI    = "main.tf"
	// messageFindings bounds the findings listed in `message`, which is
	// meant for an error_message: the reports carry all of them.
	messageFindings = 20
	// Where the events evaluated come from.
	eventsFromLookup  = "lookup"
	eventsFromArchive = "archive"
)

// complianceWindow is opsaudit_compliance's window: LookupEvents' 90 days,
// or the archive's whole history.
var complianceWindow = windowArgs{
	defaultLookback: defaultComplianceLookback,
	lookbackNote: "At most `90d` with `events_from = \"lookup\"`, how far back LookupEvents reaches; as long as " +
		"the trail has logged with `events_from = \"archive\"`. The window is also the one whose log files " +
		"`trail_log_integrity` validates, as `opsaudit_log_validation` does (every digest of every source region " +
		"and every log file they list is read: disable the rule where that is too costly).",
	lookbackValidator: anyLookback(),
	computedLookback:  true,
}

// NewComplianceDataSource evaluates the policy rules over a trail, its log
// bucket and the events it recorded: the gate a plan can fail on.
func NewComplianceDataSource() datasource.DataSource { return &complianceDataSource{} }

type complianceDataSource struct {
	clients *awsclient.Clients
}

type complianceModel struct {
	Trail                 types.String       `tfsdk:"trail"`
	Regions               types.List         `tfsdk:"regions"`
	EventsFrom            types.String       `tfsdk:"events_from"`
	Engine                types.String       `tfsdk:"engine"`
	Athena                *athenaEngineModel `tfsdk:"athena"`
	EventSource           types.String       `tfsdk:"event_source"`
	AllowedPrincipals     types.List         `tfsdk:"allowed_principals"`
	AllowedSourceCIDRs    types.List         `tfsdk:"allowed_source_cidrs"`
	MinRetentionDays      types.Int64        `tfsdk:"min_retention_days"`
	AccessDeniedThreshold types.Int64        `tfsdk:"access_denied_threshold"`
	Rules                 types.List         `tfsdk:"rules"`
	DisabledRules         types.List         `tfsdk:"disabled_rules"`
	UserRules             []userRule         `tfsdk:"rule"`
	SigmaRules            types.List         `tfsdk:"sigma_rules"`
	FailOn                types.String       `tfsdk:"fail_on"`
	MaxEvents             types.Int64        `tfsdk:"max_events"`
	OnRegionError         types.String       `tfsdk:"on_region_error"`
	SARIFArtifactURI      types.String       `tfsdk:"sarif_artifact_uri"`
	windowModel

	Status          types.String   `tfsdk:"status"`
	Compliant       types.Bool     `tfsdk:"compliant"`
	Findings        []findingModel `tfsdk:"findings"`
	Summary         *summaryModel  `tfsdk:"summary"`
	Reasons         types.List     `tfsdk:"reasons"`
	Message         types.String   `tfsdk:"message"`
	Bucket          types.String   `tfsdk:"bucket"`
	EventsEvaluated types.Int64    `tfsdk:"events_evaluated"`
	ReportJSON      types.String   `tfsdk:"report_json"`
	ReportSARIF     types.String   `tfsdk:"report_sarif"`
	ReportJUnit     types.String   `tfsdk:"report_junit"`
}

type userRule struct {
	ID          types.String `tfsdk:"id"`
	Title       types.String `tfsdk:"title"`
	Severity    types.String `tfsdk:"severity"`
	Condition   types.String `tfsdk:"condition"`
	Remediation types.String `tfsdk:"remediation"`
}

func (d *complianceDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_compliance"
}

func (d *complianceDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	var ruleIDs []string
	var ruleList strings.Builder
	for _, r := range policy.Catalog() {
		ruleIDs = append(ruleIDs, r.ID)
		fmt.Fprintf(&ruleList, "\n  - `%s` (%s): %s.", r.ID, r.Severity, r.Title)
	}
	var severities []string
	for _, s := range policy.Severities {
		severities = append(severities, string(s))
	}
	idList := func(desc string) schema.ListAttribute {
		return schema.ListAttribute{
			ElementType:         types.StringType,
			Optional:            true,
			MarkdownDescription: desc,
			Validators: []validator.List{
				listvalidator.UniqueValues(),
				listvalidator.ValueStringsAre(stringvalidator.OneOf(ruleIDs...)),
			},
		}
	}
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Evaluates compliance rules over a CloudTrail trail, its S3 log bucket and the events " +
			"the trail recorded for the audited service (OpsWorks CM by default), and returns one verdict a plan can " +
			"stop on. Posture rules follow Security Hub CloudTrail.1-7, CIS AWS Foundations 3.x, Checkov and Prowler; " +
			"event rules flag OpsWorks CM's risky calls; `rule` blocks add CEL conditions of your own and `sigma_rules` " +
			"Sigma rules for CloudTrail.\n\n" +
			"`status` is `fail` when a finding is at least `fail_on`, `unknown` when anything could not be read (the " +
			"trail, the bucket, a region, a log file with `events_from = \"archive\"`, or more events than " +
			"`max_events`) and nothing failed, `pass` otherwise: " +
			"incomplete input is never a pass. The data source reads during `terraform plan`, so a `lifecycle` " +
			"`postcondition` on `compliant` fails the plan, with `message` as a ready-made error message.\n\n" +
			"Built-in rules:" + ruleList.String(),
		Attributes: map[string]schema.Attribute{
			"trail": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Name or ARN of the trail to audit. Its log bucket is read from the trail's " +
					"`S3BucketName`. A name is looked up in the provider's region, where multi-region trails of other " +
					"home regions are visible too.",
				Validators: []validator.String{trailNameOrARN()},
			},
			"regions": schema.ListAttribute{
				ElementType:         types.StringType,
				Optional:            true,
				MarkdownDescription: "Regions whose events are evaluated, all queried at once. Default: the provider's `regions`.",
				Validators:          regionList(),
			},
			"events_from": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Where the events evaluated come from: `lookup`, CloudTrail LookupEvents in every " +
					"region, as `opsaudit_events` reads them (the last 90 days); or `archive`, the trail's log files " +
					"in its bucket, as `opsaudit_archive_events` reads them, for the caller's account in `regions`, " +
					"as far back as the window goes. With `archive`, a log file that cannot be read makes `status` " +
					"at best `unknown`, with the file in `reasons`. Default: `" + eventsFromLookup + "`.",
				Validators: []validator.String{stringvalidator.OneOf(eventsFromLookup, eventsFromArchive)},
			},
			"engine": engineAttribute("Only with `events_from = \"archive\"`; a query Athena fails makes `status` at " +
				"best `unknown`, with the reason in `reasons`."),
			"event_source": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Audited service, as CloudTrail names it, or `*` for every service: the events " +
					"read and evaluated. Built-in event rules look at this source's events, and the trail must record " +
					"them; `rule` blocks and `sigma_rules` see every event read, so rules about other services need " +
					"`*`. With `*`, LookupEvents is called without a lookup attribute and returns every management " +
					"event of the account: many more events, read 50 per call at `lookup_requests_per_second` (10,000 " +
					"events take about 100 s per region at AWS's 2 calls per second), so raise `max_events` or shorten " +
					"`lookback` to match. Built-in event rules then judge every service's calls (a root call to any " +
					"service is a finding), but the rules about OpsWorks CM actions and `event_after_end_of_life` " +
					"judge OpsWorks CM calls only. A trail that leaves out any source's management events, even " +
					"`kms.amazonaws.com`, which AWS documents excluding to cut volume, is then a " +
					"`trail_multi_region_management_events` and `trail_source_not_excluded` finding, as it fails AWS " +
					"Config's `multi-region-cloudtrail-enabled` (Security Hub CloudTrail.1): the trail's log files lack " +
					"those calls, although LookupEvents still returns them. To keep such an exclusion, judge the " +
					"posture in an `opsaudit_compliance` with the default source and run cross-service rules in another " +
					"with `*` and `disabled_rules` for those two. Default: `" + events.DefaultEventSource + "`.",
				Validators: []validator.String{eventSource()},
			},
			"allowed_principals": schema.ListAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "ARN patterns (`*` matches any run of characters) of the principals allowed to " +
					"delete servers and backups and to export engine attributes. An assumed-role session matches by " +
					"its session ARN or its role's ARN. Empty or unset allows no one.",
				Validators: []validator.List{
					listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(stringvalidator.LengthBetween(1, 2048)),
				},
			},
			"allowed_source_cidrs": schema.ListAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "Networks calls may come from (`203.0.113.0/24`, `2001:db8::/32` or a single " +
					"address). Empty or unset turns `event_source_ip_not_allowed` off.",
				Validators: []validator.List{
					listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(cidrBlock()),
				},
			},
			"min_retention_days": schema.Int64Attribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: fmt.Sprintf("Shortest lifecycle expiration of the log files that "+
					"`bucket_retention` accepts. Default: `%d`.", policy.DefaultMinRetentionDays),
				Validators: []validator.Int64{int64validator.Between(1, 36500)},
			},
			"access_denied_threshold": schema.Int64Attribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: fmt.Sprintf("AccessDenied/Unauthorized errors one principal may collect before "+
					"`event_access_denied_burst` reports it. Default: `%d`.", policy.DefaultAccessDeniedThreshold),
				Validators: []validator.Int64{int64validator.Between(1, 1000000)},
			},
			"sigma_rules": schema.ListAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "[Sigma](https://sigmahq.io) rules for CloudTrail, the YAML text of one rule each, " +
					"such as `[for f in fileset(path.module, \"sigma/*.yml\") : file(\"${path.module}/${f}\")]`. Each " +
					"is a rule over every event read, always run, whose findings carry the rule's `id` as `rule_id`, its " +
					"`title`, its `level` as severity (`informational` is `info`), its `description` and " +
					"`falsepositives` as remediation; its `references` and ATT&CK tags (`attack.t1562.008`) reach the " +
					"JSON and SARIF reports. Only rules whose `logsource` is `product: aws`, `service: cloudtrail` are " +
					"taken. Supported: selections (maps, lists of maps), values and lists of values, `null`, the " +
					"modifiers `contains`, `startswith`, `endswith`, `re` (Go RE2 syntax), `cidr`, `all`, `exists` and " +
					"`cased`, the wildcards `*` and `?`, and conditions with `and`, `or`, `not`, parentheses, " +
					"`1 of`/`all of`. Field names are CloudTrail's, dotted into nested objects " +
					"(`userIdentity.type`, `requestParameters.bucketName`). Anything else (aggregations such as " +
					"`| count()`, `timeframe`, other modifiers such as `fieldref` or `base64`, keyword searches, " +
					"correlation and filter rules), a rule of another log source, and YAML that does not parse are " +
					"errors at plan time naming the rule, the feature and the line. Ids must be unique and differ from " +
					"built-in and `rule` ids. Rules see the events `event_source` selects: set `event_source = \"*\"` " +
					"for rules about other services.",
				Validators: []validator.List{listvalidator.NoNullValues()},
			},
			"rules": idList("Built-in rule ids to run. Default: all of them."),
			"disabled_rules": idList("Built-in rule ids not to run, for example the posture rules a sandbox or an " +
				"account without KMS or CloudWatch Logs cannot pass."),
			"fail_on": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Least severity that makes `status` `fail`: " + "`" + joinQuoted(severities) +
					"`. Findings below it are reported but do not fail. Default: `" + string(policy.DefaultFailOn) + "`.",
				Validators: []validator.String{stringvalidator.OneOf(severities...)},
			},
			"max_events": schema.Int64Attribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: fmt.Sprintf("Most events evaluated. When more match, the newest are kept and "+
					"`status` cannot be `pass` (it is `unknown` unless a finding fails it). Default: `%d`.",
					defaultComplianceMaxEvents),
				Validators: []validator.Int64{int64validator.Between(1, 1000000)},
			},
			"on_region_error": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "What a region whose lookup still fails after retries does: `warn` evaluates the " +
					"other regions' events and makes `status` at best `unknown`, with the region in `reasons`; `fail` " +
					"fails the read. Default: `warn`.",
				Validators: []validator.String{stringvalidator.OneOf(onRegionErrFail, onRegionErrWarn)},
			},
			"sarif_artifact_uri": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "File, relative to the repository root, that SARIF results are attached to: GitHub " +
					"code scanning needs a file location. Default: `" + defaultSARIFArtifactURI + "`.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},

			"status": str("`pass`, `fail` or `unknown`."),
			"compliant": schema.BoolAttribute{Computed: true,
				MarkdownDescription: "Whether `status` is `pass`: the value to put in a `postcondition`."},
			"findings": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "Every finding, most severe first, then in rule order and by event time.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"rule_id":     str("Id of the rule."),
					"severity":    str("`critical`, `high`, `medium`, `low` or `info`."),
					"title":       str("Title of the rule."),
					"resource":    str("Trail ARN, bucket name, or for event rules the resource the call named (else `cloudtrail/<region>/<event id>`)."),
					"event_id":    str("CloudTrail event id; null for posture rules."),
					"region":      str("Region of the call, or the trail's home region."),
					"principal":   str("Caller of the event; null for posture rules."),
					"event_time":  str("Time of the call, RFC 3339 in UTC; null for posture rules."),
					"message":     str("What was found."),
					"remediation": str("What to do about it."),
				}},
			},
			"summary": schema.SingleNestedAttribute{
				Computed:            true,
				MarkdownDescription: "Finding counts. Every severity and every enabled rule has a key, zero included.",
				Attributes: map[string]schema.Attribute{
					"total": schema.Int64Attribute{Computed: true, MarkdownDescription: "Number of findings."},
					"by_severity": schema.MapAttribute{Computed: true, ElementType: types.Int64Type,
						MarkdownDescription: "Findings per severity."},
					"by_rule": schema.MapAttribute{Computed: true, ElementType: types.Int64Type,
						MarkdownDescription: "Findings per rule id."},
				},
			},
			"reasons": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Why the input is incomplete (a trail, bucket or region that could not be read, " +
					"truncated events, a rule that could not be evaluated); empty when it is complete."},
			"message": str("The verdict in a few lines: status, counts, the first findings and any reasons, for a " +
				"`postcondition`'s `error_message` or a `check` block's warning."),
			"bucket": str("Name of the trail's log bucket; null when the trail could not be read."),
			"events_evaluated": schema.Int64Attribute{Computed: true,
				MarkdownDescription: "Number of events evaluated."},
			"report_json": str("The full result as JSON (version 1): status, summary, findings, errors and every " +
				"rule with its references."),
			"report_sarif": str("The result as SARIF 2.1.0 for GitHub code scanning (`terraform output -raw` it to a " +
				"file and upload it with `github/codeql-action/upload-sarif`)."),
			"report_junit": str("The result as JUnit XML, one test case per rule, for CI test reports."),
		},
		Blocks: map[string]schema.Block{
			"athena": athenaEngineBlock(),
			"rule": schema.ListNestedBlock{
				MarkdownDescription: "A rule of your own: a CEL condition over each event, always run. `event` has " +
					"the fields of `opsaudit_events` (`event.event_name`, `event.principal_arn`, " +
					"`event.source_ip_address`, `event.error_code`...), with `request_parameters`, " +
					"`response_elements` and `record` (the whole CloudTrail record) as maps. Conditions are compiled " +
					"at plan time. User rules see every event evaluated, whatever its source.",
				NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
					"id": schema.StringAttribute{Required: true,
						MarkdownDescription: "Rule id, unique, not a built-in id; it names the findings.",
						Validators:          []validator.String{stringvalidator.LengthBetween(1, 128)}},
					"title": schema.StringAttribute{Optional: true,
						MarkdownDescription: "Title of the findings. Default: the id."},
					"severity": schema.StringAttribute{Required: true,
						MarkdownDescription: "`" + joinQuoted(severities) + "`.",
						Validators:          []validator.String{stringvalidator.OneOf(severities...)}},
					"condition": schema.StringAttribute{Required: true,
						MarkdownDescription: "CEL expression that is `true` for an event that is a finding, such as " +
							"`event.event_name == \"DeleteServer\" && !event.mfa_authenticated`.",
						Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
					"remediation": schema.StringAttribute{Optional: true,
						MarkdownDescription: "What to do about a finding."},
				}},
			},
		},
	}
	maps.Copy(resp.Schema.Attributes, windowAttributes(complianceWindow))
}

func (d *complianceDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return windowConfigValidators()
}

// ValidateConfig compiles the rule blocks' CEL conditions and the Sigma
// rules, so that a mistake shows at plan time on the rule at fault, with
// its line. Values not known yet are checked when they are, at read time.
func (d *complianceDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	validateWindowOrder(ctx, req.Config, &resp.Diagnostics)
	validateLookupLookback(ctx, req.Config, &resp.Diagnostics)
	var engine, from types.String
	var block *athenaEngineModel
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("engine"), &engine)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("athena"), &block)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("events_from"), &from)...)
	if !resp.Diagnostics.HasError() {
		validateEngine(engine, block, []engineConflict{{"events_from", !from.IsUnknown() && from.ValueString() != eventsFromArchive,
			`is not "archive": the engine reads the trail's archive, so it goes with events_from = "archive"`}}, &resp.Diagnostics)
	}
	var rules []userRule
	var sigmaDocs types.List
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("rule"), &rules)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("sigma_rules"), &sigmaDocs)...)
	if resp.Diagnostics.HasError() {
		return
	}
	validateRuleConditions(rules, &resp.Diagnostics)
	var celIDs []string
	for _, r := range rules {
		if !r.ID.IsUnknown() {
			celIDs = append(celIDs, r.ID.ValueString())
		}
	}
	validateSigmaRules(sigmaDocs, celIDs, &resp.Diagnostics)
}

// validateLookupLookback holds lookback to LookupEvents' 90 days unless
// the events come from the archive.
func validateLookupLookback(ctx context.Context, config tfsdk.Config, diags *diag.Diagnostics) {
	var from, lookback types.String
	diags.Append(config.GetAttribute(ctx, path.Root("events_from"), &from)...)
	diags.Append(config.GetAttribute(ctx, path.Root("lookback"), &lookback)...)
	if from.IsUnknown() || from.ValueString() == eventsFromArchive {
		return
	}
	var resp validator.StringResponse
	lookbackDuration().ValidateString(ctx, validator.StringRequest{Path: path.Root("lookback"), ConfigValue: lookback}, &resp)
	diags.Append(resp.Diagnostics...)
}

func validateRuleConditions(rules []userRule, diags *diag.Diagnostics) {
	var known []policy.UserRule
	index := map[string]int{}
	for i, r := range rules {
		if r.ID.IsUnknown() || r.Severity.IsUnknown() || r.Condition.IsUnknown() || r.Title.IsUnknown() || r.Remediation.IsUnknown() {
			continue
		}
		if _, dup := index[r.ID.ValueString()]; !dup {
			index[r.ID.ValueString()] = i
		}
		known = append(known, r.policyRule())
	}
	for _, err := range flattenErrors(policy.CompileRules(known)) {
		var ce *policy.CompileError
		if errors.As(err, &ce) {
			diags.AddAttributeError(path.Root("rule").AtListIndex(index[ce.RuleID]).AtName("condition"),
				"Invalid rule condition",
				fmt.Sprintf("Rule %q, condition line %d, column %d: %s", ce.RuleID, ce.Line, ce.Column, ce.Message))
			continue
		}
		diags.AddAttributeError(path.Root("rule"), "Invalid rule", err.Error())
	}
}

// validateSigmaRules compiles the known Sigma documents and reports each
// refused one on its element of sigma_rules.
func validateSigmaRules(list types.List, celIDs []string, diags *diag.Diagnostics) {
	if list.IsNull() || list.IsUnknown() {
		return
	}
	var docs []string
	// at maps a position in docs back to the element of sigma_rules.
	var at []int
	for i, el := range list.Elements() {
		s, ok := el.(types.String)
		if !ok || s.IsNull() || s.IsUnknown() {
			continue
		}
		docs = append(docs, s.ValueString())
		at = append(at, i)
	}
	for _, err := range flattenErrors(policy.CompileSigmaRules(docs, celIDs)) {
		var se *sigma.Error
		if !errors.As(err, &se) {
			diags.AddAttributeError(path.Root("sigma_rules"), "Invalid Sigma rule", err.Error())
			continue
		}
		e := *se
		e.Index = at[se.Index]
		summary := "Invalid Sigma rule"
		if e.Feature != "" {
			summary = "Unsupported Sigma feature"
		}
		diags.AddAttributeError(path.Root("sigma_rules").AtListIndex(e.Index), summary, e.Error())
	}
}

// flattenErrors undoes errors.Join, so each problem gets its diagnostic.
func flattenErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flattenErrors(e)...)
		}
		return out
	}
	return []error{err}
}

func (r userRule) policyRule() policy.UserRule {
	return policy.UserRule{
		ID:          r.ID.ValueString(),
		Title:       r.Title.ValueString(),
		Severity:    policy.Severity(r.Severity.ValueString()),
		Condition:   r.Condition.ValueString(),
		Remediation: r.Remediation.ValueString(),
	}
}

func (d *complianceDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *complianceDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m complianceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m.applyDefaults()
	cfg, diags := m.policyConfig(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	evaluator, err := policy.New(cfg)
	if err != nil {
		resp.Diagnostics.AddError("Invalid compliance configuration", err.Error())
		return
	}

	in, diags := d.gather(ctx, &m, time.Now().UTC(), evaluator.Runs(policy.RuleTrailLogIntegrity))
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	res := evaluator.Evaluate(in)
	tflog.Debug(ctx, "Evaluated compliance", map[string]any{
		"status": string(res.Status), "findings": len(res.Findings), "events": res.EventsEvaluated, "reasons": len(res.Reasons),
	})
	resp.Diagnostics.Append(m.setResult(ctx, res)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// applyDefaults puts the defaults into the model, so that they show in state.
func (m *complianceModel) applyDefaults() {
	if m.Lookback.IsNull() && m.StartTime.IsNull() && m.EndTime.IsNull() {
		m.Lookback = types.StringValue(defaultComplianceLookback)
	}
	if m.EventsFrom.IsNull() {
		m.EventsFrom = types.StringValue(eventsFromLookup)
	}
	if m.EventSource.IsNull() {
		m.EventSource = types.StringValue(events.DefaultEventSource)
	}
	if m.MinRetentionDays.IsNull() {
		m.MinRetentionDays = types.Int64Value(policy.DefaultMinRetentionDays)
	}
	if m.AccessDeniedThreshold.IsNull() {
		m.AccessDeniedThreshold = types.Int64Value(policy.DefaultAccessDeniedThreshold)
	}
	if m.FailOn.IsNull() {
		m.FailOn = types.StringValue(string(policy.DefaultFailOn))
	}
	if m.MaxEvents.IsNull() {
		m.MaxEvents = types.Int64Value(defaultComplianceMaxEvents)
	}
	if m.OnRegionError.IsNull() {
		m.OnRegionError = types.StringValue(onRegionErrWarn)
	}
	if m.SARIFArtifactURI.IsNull() {
		m.SARIFArtifactURI = types.StringValue(defaultSARIFArtifactURI)
	}
}

func (m *complianceModel) policyConfig(ctx context.Context) (policy.Config, diag.Diagnostics) {
	var diags diag.Diagnostics
	cfg := policy.Config{
		EventSource:           m.EventSource.ValueString(),
		MinRetentionDays:      int(m.MinRetentionDays.ValueInt64()),
		AccessDeniedThreshold: int(m.AccessDeniedThreshold.ValueInt64()),
		FailOn:                policy.Severity(m.FailOn.ValueString()),
	}
	for _, l := range []struct {
		list types.List
		dst  *[]string
	}{
		{m.AllowedPrincipals, &cfg.AllowedPrincipals},
		{m.AllowedSourceCIDRs, &cfg.AllowedSourceCIDRs},
		{m.Rules, &cfg.Rules},
		{m.DisabledRules, &cfg.DisabledRules},
		{m.SigmaRules, &cfg.SigmaRules},
	} {
		if !l.list.IsNull() {
			diags.Append(l.list.ElementsAs(ctx, l.dst, false)...)
		}
	}
	for _, r := range m.UserRules {
		cfg.UserRules = append(cfg.UserRules, r.policyRule())
	}
	return cfg, diags
}

// gather reads the trail, its bucket and the events, and with
// validateLogs validates the trail's log files over the window. What
// cannot be read becomes an Incomplete reason (and a warning), so the
// verdict is at best unknown rather than the read failing: the gate must
// not pass, and a plan that only warns should still show the other
// findings.
func (d *complianceDataSource) gather(ctx context.Context, m *complianceModel, now time.Time, validateLogs bool) (policy.Input, diag.Diagnostics) {
	var diags diag.Diagnostics
	var in policy.Input
	incomplete := func(summary string, err error) {
		reason := awserr.Explain(err)
		diags.AddWarning(summary, reason+"\n\nThe compliance status cannot be pass.")
		in.Incomplete = append(in.Incomplete, reason)
	}
	start, end, wd := m.window(now, complianceWindow)
	diags.Append(wd...)
	regions := d.clients.Regions
	if !m.Regions.IsNull() {
		diags.Append(m.Regions.ElementsAs(ctx, &regions, false)...)
	}
	if diags.HasError() {
		return in, diags
	}

	m.Bucket = types.StringNull()
	nameOrARN := m.Trail.ValueString()
	tflog.Debug(ctx, "Reading trail", map[string]any{"trail": nameOrARN})
	info, err := readTrail(ctx, d.clients, nameOrARN)
	switch {
	case awserr.IsA[*cttypes.TrailNotFoundException](err):
		incomplete("Trail not found", err)
	case err != nil:
		incomplete("Trail not readable", err)
	default:
		in.Trail = policyTrail(info)
		m.Bucket = types.StringValue(info.S3BucketName)
		tflog.Debug(ctx, "Reading log bucket posture", map[string]any{"bucket": info.S3BucketName})
		b, err := readBucketPosture(ctx, d.clients, info.S3BucketName, info.S3KeyPrefix, now)
		if err != nil {
			incomplete("Log bucket not readable", err)
		} else {
			in.Bucket = b
		}
		if validateLogs {
			in.LogIntegrity = d.validateLogs(ctx, info, start, end, &diags)
		}
	}

	if m.EventsFrom.ValueString() == eventsFromArchive {
		in.Events = d.archiveEvents(ctx, m, info, archive.Query{
			AccountIDs: []string{d.clients.AccountID}, Regions: regions, Start: start, End: end,
			Filter: events.Filter{EventSource: m.EventSource.ValueString()}, MaxEvents: int(m.MaxEvents.ValueInt64()),
			OnFileError: archive.WarnOnFileError,
		}, incomplete)
		return in, diags
	}
	q := lookup.Query{
		Regions:           regions,
		Start:             start,
		End:               end,
		Filter:            events.Filter{EventSource: m.EventSource.ValueString()},
		MaxEvents:         int(m.MaxEvents.ValueInt64()),
		WarnOnRegionError: m.OnRegionError.ValueString() == onRegionErrWarn,
	}
	tflog.Debug(ctx, "Looking up events", map[string]any{
		"regions": q.Regions, "start": q.Start.Format(time.RFC3339), "event_source": q.Filter.EventSource, "max_events": q.MaxEvents,
	})
	res, err := lookup.Run(ctx, d.clients, q)
	if err != nil {
		diags.AddError("Looking up CloudTrail events", lookupFailure(err))
		return in, diags
	}
	for _, f := range res.Failed {
		incomplete("CloudTrail events incomplete: region "+f.Region+" failed", fmt.Errorf("events of region %s not read: %w", f.Region, f))
	}
	if res.Truncated {
		incomplete("CloudTrail events truncated", fmt.Errorf("more than max_events (%d) events matched: only the newest were evaluated; raise max_events or shorten lookback", q.MaxEvents))
	}
	in.Events = res.Events
	return in, diags
}

// archiveEvents reads the events of q's window from the trail's log files,
// the trail info says where. A file that cannot be read, like a trail,
// bucket or folder that cannot be, is a reason the input is incomplete.
func (d *complianceDataSource) archiveEvents(ctx context.Context, m *complianceModel, info *trailInfo, q archive.Query, incomplete func(string, error)) []events.Event {
	if info == nil {
		incomplete("CloudTrail archive not read", errors.New("events not read: the trail could not be read, so where its log files are is unknown"))
		return nil
	}
	src, loc, err := trailArchive(ctx, d.clients, info)
	if err != nil {
		incomplete("CloudTrail archive not read", fmt.Errorf("events not read: %w", err))
		return nil
	}
	q.Source, q.Location = src, loc
	tflog.Info(ctx, "Reading the CloudTrail archive", map[string]any{
		"source": src.Name(), "prefix": loc.AccountsPrefix(), "regions": q.Regions, "start": q.Start.Format(time.RFC3339),
		"end": q.End.Format(time.RFC3339), "event_source": q.Filter.EventSource, "max_events": q.MaxEvents,
		"engine": engineOf(m.Engine),
	})
	res, _, err := readArchive(ctx, d.clients, archiveRead{Engine: m.Engine, Block: m.Athena, Bucket: info.S3BucketName, Query: q})
	if err != nil {
		incomplete("CloudTrail archive not read", fmt.Errorf("events not read: %w", err))
		return nil
	}
	tflog.Info(ctx, "Read the CloudTrail archive", map[string]any{
		"source": src.Name(), "files": res.FilesScanned, "files_failed": len(res.FilesFailed), "bytes": res.BytesScanned,
		"matches": res.TotalCount, "duration": res.Duration.Round(time.Millisecond).String(),
	})
	if n := len(res.FilesFailed); n > 0 {
		incomplete("CloudTrail archive incomplete", fmt.Errorf("%d log files could not be read, their events were not evaluated:\n%s", n, failedFiles(res.FilesFailed)))
	}
	if res.Truncated {
		incomplete("CloudTrail events truncated", fmt.Errorf("%d events matched, more than max_events (%d): only the newest were evaluated; raise max_events or shorten the window", res.TotalCount, q.MaxEvents))
	}
	return res.Events
}

// validateLogs validates the trail's log files from start to end for
// trail_log_integrity; why files could not all be validated goes with the
// result, and into a warning.
func (d *complianceDataSource) validateLogs(ctx context.Context, info *trailInfo, start, end time.Time, diags *diag.Diagnostics) *policy.LogIntegrity {
	tflog.Debug(ctx, "Validating log files", map[string]any{"trail": info.ARN, "start": start.Format(time.RFC3339)})
	li := &policy.LogIntegrity{}
	if out, err := validateTrailLogs(ctx, d.clients, trailValidation{Trail: info, Start: start, End: end}); err != nil {
		li.Unknown = []string{awserr.Explain(err)}
	} else {
		li = policyLogIntegrity(out.Result)
	}
	for _, reason := range li.Unknown {
		diags.AddWarning("Log files not all validated", reason+"\n\nThe compliance status cannot be pass.")
	}
	return li
}
