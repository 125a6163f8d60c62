package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/logvalidation"
)

var (
	_ datasource.DataSourceWithConfigure        = (*logValidationDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*logValidationDataSource)(nil)
	_ datasource.DataSourceWithValidateConfig   = (*logValidationDataSource)(nil)
)

const (
	defaultValidationLookback    = 7 * 24 * time.Hour
	defaultValidationMaxProblems = 100
)

// NewLogValidationDataSource validates a trail's log files as `aws
// cloudtrail validate-logs` does, every region at once.
func NewLogValidationDataSource() datasource.DataSource { return &logValidationDataSource{} }

type logValidationDataSource struct {
	clients *awsclient.Clients
}

type logValidationModel struct {
	Trail types.String `tfsdk:"trail"`
	windowModel
	Regions     types.List   `tfsdk:"regions"`
	AccountID   types.String `tfsdk:"account_id"`
	Concurrency types.Int64  `tfsdk:"concurrency"`
	MaxProblems types.Int64  `tfsdk:"max_problems"`
	Verbose     types.Bool   `tfsdk:"verbose"`

	Status         types.String          `tfsdk:"status"`
	Valid          types.Bool            `tfsdk:"valid"`
	DigestsValid   types.Int64           `tfsdk:"digests_valid"`
	DigestsInvalid types.Int64           `tfsdk:"digests_invalid"`
	LogsValid      types.Int64           `tfsdk:"logs_valid"`
	LogsInvalid    types.Int64           `tfsdk:"logs_invalid"`
	Gaps           []validationGapModel  `tfsdk:"gaps"`
	Problems       []validationFileModel `tfsdk:"problems"`
	ResultsStart   types.String          `tfsdk:"results_start"`
	ResultsEnd     types.String          `tfsdk:"results_end"`
	Reasons        types.List            `tfsdk:"reasons"`
	ReportJSON     types.String          `tfsdk:"report_json"`
}

type validationGapModel struct {
	Region types.String `tfsdk:"region"`
	Start  types.String `tfsdk:"start"`
	End    types.String `tfsdk:"end"`
}

type validationFileModel struct {
	Kind    types.String `tfsdk:"kind"`
	Region  types.String `tfsdk:"region"`
	S3Key   types.String `tfsdk:"s3_key"`
	Reason  types.String `tfsdk:"reason"`
	Message types.String `tfsdk:"message"`
}

// logValidationReport is report_json: the engine's result with the trail
// it is about, why it is unknown, and with verbose every file's verdict.
type logValidationReport struct {
	TrailARN  string `json:"trail_arn"`
	Bucket    string `json:"s3_bucket"`
	AccountID string `json:"account_id"`
	*logvalidation.Result
	Reasons []string                    `json:"reasons"`
	Files   []logvalidation.FileVerdict `json:"files,omitempty"`
}

func (d *logValidationDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_log_validation"
}

func (d *logValidationDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	count := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Validates a trail's log files as `aws cloudtrail validate-logs` does, with the same verdict " +
			"on every file, but every source region at once and many files in parallel, during `terraform plan`. " +
			"Each region's chain of digest files is walked from the newest digest of the window back to the window's " +
			"start; each digest must be where CloudTrail wrote it and verify with the CloudTrail public key its " +
			"fingerprint names (`ListPublicKeys`, RSA with SHA-256); each log file a valid digest lists is streamed " +
			"through gunzip into SHA-256 and compared with the hash the digest recorded. A starting digest with older " +
			"digests behind it is a gap (log file validation or logging was off then), not a failure.\n\n" +
			"`status` is `fail` when any file is invalid; `unknown` when files could not all be validated and none is " +
			"invalid: a region that could not be read (`AccessDenied` on the bucket or on `ListPublicKeys`), no digest " +
			"in a region although the trail is logging with log file validation on since before the window's end and " +
			"has delivered a digest since it started logging (CloudTrail delivers one for every region each hour, so " +
			"a window shorter than an hour may have none yet), or a trail or bucket that could not be read; `pass` " +
			"otherwise. A missing trail is an " +
			"error. The caller needs `cloudtrail:GetTrail`, `cloudtrail:GetTrailStatus`, `cloudtrail:ListPublicKeys`, " +
			"`s3:GetBucketLocation`, `s3:ListBucket` and `s3:GetObject` on the trail's bucket.",
		Attributes: map[string]schema.Attribute{
			"trail": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Name or ARN of the trail. A name is looked up in the provider's region, where " +
					"multi-region trails of other home regions are visible too; give the ARN for an organization trail " +
					"seen from a member account.",
				Validators: []validator.String{trailNameOrARN()},
			},
			"start_time": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Oldest delivery time of the log files validated, RFC 3339 (`2024-03-01T00:00:00Z`), " +
					"as validate-logs' `--start-time`. Default: 7 days before `end_time`, or `lookback` before now. " +
					"Conflicts with `lookback`.",
				Validators: []validator.String{rfc3339Time()},
			},
			"end_time": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Newest delivery time of the log files validated, RFC 3339, as validate-logs' " +
					"`--end-time`: digests delivered up to an hour later are read, since they list the files delivered " +
					"before it. Default: now. Conflicts with `lookback`.",
				Validators: []validator.String{rfc3339Time()},
			},
			"lookback": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Window ending now, as a duration: `72h`, `30d`, `1d12h`, as long as the archive " +
					"goes back. Each hour of each region is one digest to read. Default: `7d` when neither " +
					"`start_time` nor `end_time` is set.",
				Validators: []validator.String{anyLookback()},
			},
			"regions": schema.ListAttribute{
				ElementType: types.StringType,
				Optional:    true,
				Computed:    true,
				MarkdownDescription: "Source regions whose digest chains are validated, all at once. Default: every " +
					"region the trail writes digests for: its home region for a single-region trail; for a " +
					"multi-region trail, each region with a folder under the account's `CloudTrail-Digest/` in the " +
					"bucket (read with one listing, so regions that were enabled and later disabled are included, " +
					"and no EC2 permission is needed).",
				Validators: regionList(),
			},
			"account_id": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Account whose files are validated. For an organization trail, the member " +
					"account (the organization id is read from the bucket's `AWSLogs/o-*/` folder holding its " +
					"digests). Default: the caller's account.",
				Validators: []validator.String{awsAccountID()},
			},
			"concurrency": schema.Int64Attribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: fmt.Sprintf("Most digest and log files read at once, across all regions. "+
					"Default: `%d`.", logvalidation.DefaultConcurrency),
				Validators: []validator.Int64{int64validator.Between(1, 1024)},
			},
			"max_problems": schema.Int64Attribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: fmt.Sprintf("Most invalid files listed in `problems`, the first ones in the "+
					"order validate-logs prints them; `digests_invalid` and `logs_invalid` count them all. "+
					"Default: `%d`.", defaultValidationMaxProblems),
				Validators: []validator.Int64{int64validator.Between(1, 1000000)},
			},
			"verbose": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "List every digest and log file with its verdict in `report_json` (`files`), as " +
					"validate-logs' `--verbose` prints them. A week of a busy trail is tens of thousands of files, " +
					"all kept in the state. Default: `false`.",
			},

			"status": str("`pass`, `fail` or `unknown`."),
			"valid": schema.BoolAttribute{Computed: true,
				MarkdownDescription: "Whether `status` is `pass`: the value to put in a `postcondition`."},
			"digests_valid":   count("Digest files found valid."),
			"digests_invalid": count("Digest files found invalid."),
			"logs_valid":      count("Log files found valid."),
			"logs_invalid":    count("Log files found invalid."),
			"gaps": schema.ListNestedAttribute{
				Computed: true,
				MarkdownDescription: "Times no digest covers between two chains of a region, as validate-logs' \"No " +
					"log files were delivered by CloudTrail between ...\": log file validation or logging was off. " +
					"Not a failure.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"region": str("Source region."),
					"start":  str("End of the older chain, RFC 3339."),
					"end":    str("Start of the newer chain, RFC 3339."),
				}},
			},
			"problems": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "Invalid files, region by region, each region's newest first, up to `max_problems`.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"kind":   str("`digest` or `log`."),
					"region": str("Source region of the file's chain."),
					"s3_key": str("The file's S3 key."),
					"reason": str("`not_found`, `signature_invalid`, `hash_mismatch`, `moved`, `invalid_format` or " +
						"`public_key_not_found`."),
					"message": str("validate-logs' line for the file."),
				}},
			},
			"results_start": str("Start of the time valid digests cover within the window, RFC 3339, as " +
				"validate-logs' \"Results found for\"; null when no digest is valid."),
			"results_end": str("End of the time valid digests cover within the window, RFC 3339; null when no " +
				"digest is valid."),
			"reasons": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Why `status` is `unknown`: each region, trail or bucket that could not be " +
					"validated, with the AWS error code and what to do about it; empty otherwise."},
			"report_json": str("The whole result as JSON: `status`, the counts (backfill digests apart too), " +
				"`start`/`end` (the window), `covered`, `gaps`, `problems` with `problems_total`, each region's counts " +
				"and `error`, `reasons`, and with `verbose` every file's verdict in `files` (`kind`, `region`, " +
				"`s3_bucket`, `s3_key`, `backfill`, `valid`, `reason`)."),
		},
	}
}

func (d *logValidationDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return windowConfigValidators()
}

func (d *logValidationDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	validateWindowOrder(ctx, req.Config, &resp.Diagnostics)
}

func (d *logValidationDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *logValidationDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m logValidationModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	v, diags := m.validation(ctx, d.clients, time.Now())
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	report := &logValidationReport{AccountID: v.Account}
	if m.Verbose.ValueBool() {
		report.Files = []logvalidation.FileVerdict{}
		// The engine calls OnFile one file at a time.
		v.OnFile = func(f logvalidation.FileVerdict) { report.Files = append(report.Files, f) }
	}
	unknown := func(summary string, err error) {
		reason := awserr.Explain(err)
		resp.Diagnostics.AddWarning(summary, reason+"\n\nThe validation's status is unknown.")
		report.Reasons = append(report.Reasons, reason)
		report.Result = &logvalidation.Result{Status: logvalidation.StatusUnknown, Start: v.Start, End: v.End,
			Gaps: []logvalidation.Gap{}, Problems: []logvalidation.Problem{}}
	}

	nameOrARN := m.Trail.ValueString()
	tflog.Debug(ctx, "Reading trail", map[string]any{"trail": nameOrARN})
	info, err := readTrailSettings(ctx, d.clients, nameOrARN)
	switch {
	case awserr.IsA[*cttypes.TrailNotFoundException](err):
		resp.Diagnostics.AddAttributeError(path.Root("trail"), "Trail not found", awserr.Explain(err))
		return
	case ctx.Err() != nil:
		// Cancelled, not unreadable: no verdict at all.
		resp.Diagnostics.AddError("Reading trail", fmt.Sprintf("Stopped before the end: %v", err))
		return
	case err != nil:
		unknown("Trail not readable", err)
	default:
		report.TrailARN, report.Bucket, v.Trail = info.ARN, info.S3BucketName, info
		tflog.Debug(ctx, "Validating log files", map[string]any{
			"trail": info.ARN, "bucket": info.S3BucketName, "regions": v.Regions,
			"start": v.Start.Format(time.RFC3339), "end": v.End.Format(time.RFC3339),
		})
		out, err := validateTrailLogs(ctx, d.clients, v)
		switch {
		case ctx.Err() != nil:
			resp.Diagnostics.AddError("Validating log files", fmt.Sprintf("Stopped before the end: %v", err))
			return
		case err != nil:
			unknown("Log files not validated", err)
		default:
			report.Result, v.Regions = out.Result, out.Regions
			for _, reason := range validationReasons(out.Result) {
				resp.Diagnostics.AddWarning("Log files not all validated", reason+"\n\nThe validation's status is unknown.")
				report.Reasons = append(report.Reasons, reason)
			}
			tflog.Debug(ctx, "Validated log files", map[string]any{
				"status": string(out.Result.Status), "digests_valid": out.Result.DigestsValid, "logs_valid": out.Result.LogsValid,
			})
		}
	}
	resp.Diagnostics.Append(m.setResult(ctx, v, report)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// validation turns the configuration into what to validate, with the
// defaults written into the model so that they show in state; the trail
// is left to the read.
func (m *logValidationModel) validation(ctx context.Context, clients *awsclient.Clients, now time.Time) (trailValidation, diag.Diagnostics) {
	var diags diag.Diagnostics
	var v trailValidation
	v.Start, v.End, diags = timeWindow(m.StartTime, m.EndTime, m.Lookback, now, defaultValidationLookback)
	if m.StartTime.IsNull() {
		m.StartTime = types.StringValue(v.Start.Format(time.RFC3339))
	}
	if m.EndTime.IsNull() {
		m.EndTime = types.StringValue(v.End.Format(time.RFC3339))
	}
	if m.AccountID.IsNull() {
		m.AccountID = types.StringValue(clients.AccountID)
	}
	v.Account = m.AccountID.ValueString()
	if m.Concurrency.IsNull() {
		m.Concurrency = types.Int64Value(logvalidation.DefaultConcurrency)
	}
	if m.MaxProblems.IsNull() {
		m.MaxProblems = types.Int64Value(defaultValidationMaxProblems)
	}
	v.Concurrency, v.MaxProblems = int(m.Concurrency.ValueInt64()), int(m.MaxProblems.ValueInt64())
	if !m.Regions.IsNull() {
		diags.Append(m.Regions.ElementsAs(ctx, &v.Regions, false)...)
	}
	return v, diags
}

func (m *logValidationModel) setResult(ctx context.Context, v trailValidation, report *logValidationReport) diag.Diagnostics {
	var diags diag.Diagnostics
	res := report.Result
	m.Status = types.StringValue(string(res.Status))
	m.Valid = types.BoolValue(res.Status == logvalidation.StatusPass)
	m.DigestsValid, m.DigestsInvalid = types.Int64Value(int64(res.DigestsValid)), types.Int64Value(int64(res.DigestsInvalid))
	m.LogsValid, m.LogsInvalid = types.Int64Value(int64(res.LogsValid)), types.Int64Value(int64(res.LogsInvalid))
	// Empty lists, not null: "no gap" and "no problem" are answers.
	m.Gaps = make([]validationGapModel, len(res.Gaps))
	for i, g := range res.Gaps {
		m.Gaps[i] = validationGapModel{
			Region: types.StringValue(g.Region),
			Start:  types.StringValue(g.Start.UTC().Format(time.RFC3339)),
			End:    types.StringValue(g.End.UTC().Format(time.RFC3339)),
		}
	}
	m.Problems = make([]validationFileModel, len(res.Problems))
	for i, p := range res.Problems {
		m.Problems[i] = validationFileModel{
			Kind: types.StringValue(string(p.Kind)), Region: types.StringValue(p.Region), S3Key: types.StringValue(p.Key),
			Reason: types.StringValue(string(p.Reason)), Message: types.StringValue(p.Message),
		}
	}
	m.ResultsStart, m.ResultsEnd = types.StringNull(), types.StringNull()
	if c := res.Covered; c != nil {
		m.ResultsStart, m.ResultsEnd = types.StringValue(c.Start.UTC().Format(time.RFC3339)), types.StringValue(c.End.UTC().Format(time.RFC3339))
	}
	if m.Regions.IsNull() && v.Regions != nil {
		var d diag.Diagnostics
		m.Regions, d = types.ListValueFrom(ctx, types.StringType, v.Regions)
		diags.Append(d...)
	}
	if report.Reasons == nil {
		report.Reasons = []string{}
	}
	var d diag.Diagnostics
	m.Reasons, d = types.ListValueFrom(ctx, types.StringType, report.Reasons)
	diags.Append(d...)
	js, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		diags.AddError("Rendering the JSON report", err.Error())
	}
	m.ReportJSON = types.StringValue(string(js))
	return diags
}
