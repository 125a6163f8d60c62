package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
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
)

var (
	_ datasource.DataSourceWithConfigure        = (*archiveEventsDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*archiveEventsDataSource)(nil)
	_ datasource.DataSourceWithValidateConfig   = (*archiveEventsDataSource)(nil)
)

const (
	defaultArchiveMaxEvents = 1000
	// warnedFiles bounds the failed files a warning names: files_failed
	// holds them all.
	warnedFiles = 10
)

// archiveWindow is opsaudit_archive_events' window: the archive reaches
// as far back as the trail has logged.
var archiveWindow = windowArgs{
	defaultLookback: "30d",
	lookbackNote: "As long as the archive goes back: each day of the window is one listing per account and " +
		"region, and every log file delivered that day is read.",
	lookbackValidator: anyLookback(),
}

// NewArchiveEventsDataSource reads the events of a trail's log files: its
// S3 bucket or a local copy, as far back as they go.
func NewArchiveEventsDataSource() datasource.DataSource {
	return &archiveEventsDataSource{progressInterval: archive.DefaultProgressInterval}
}

type archiveEventsDataSource struct {
	clients *awsclient.Clients
	// progressInterval is how often a read logs its progress.
	progressInterval time.Duration
}

type archiveEventsModel struct {
	Trail          types.String `tfsdk:"trail"`
	Bucket         types.String `tfsdk:"bucket"`
	S3KeyPrefix    types.String `tfsdk:"s3_key_prefix"`
	OrganizationID types.String `tfsdk:"organization_id"`
	Directory      types.String `tfsdk:"directory"`
	AccountIDs     types.List   `tfsdk:"account_ids"`
	Regions        types.List   `tfsdk:"regions"`
	windowModel
	eventFilterModel
	MaxEvents     types.Int64        `tfsdk:"max_events"`
	Concurrency   types.Int64        `tfsdk:"concurrency"`
	OnFileError   types.String       `tfsdk:"on_file_error"`
	IncludeRecord types.Bool         `tfsdk:"include_record"`
	Records       types.Map          `tfsdk:"records"`
	Engine        types.String       `tfsdk:"engine"`
	Athena        *athenaEngineModel `tfsdk:"athena"`

	Events            types.List       `tfsdk:"events"`
	TotalCount        types.Int64      `tfsdk:"total_count"`
	Truncated         types.Bool       `tfsdk:"truncated"`
	CountsByEventName types.Map        `tfsdk:"counts_by_event_name"`
	CountsByRegion    types.Map        `tfsdk:"counts_by_region"`
	CountsByAccount   types.Map        `tfsdk:"counts_by_account"`
	EarliestEventTime types.String     `tfsdk:"earliest_event_time"`
	LatestEventTime   types.String     `tfsdk:"latest_event_time"`
	AccountsRead      types.List       `tfsdk:"accounts_read"`
	RegionsRead       types.List       `tfsdk:"regions_read"`
	FilesScanned      types.Int64      `tfsdk:"files_scanned"`
	BytesScanned      types.Int64      `tfsdk:"bytes_scanned"`
	FilesFailed       []fileErrorModel `tfsdk:"files_failed"`
	AthenaQueryIDs    types.List       `tfsdk:"athena_query_execution_ids"`
}

type fileErrorModel struct {
	Key   types.String `tfsdk:"key"`
	Error types.String `tfsdk:"error"`
}

func (d *archiveEventsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_archive_events"
}

func (d *archiveEventsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	count := func(desc string) schema.MapAttribute {
		return schema.MapAttribute{Computed: true, ElementType: types.Int64Type, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The events of a trail's log files, as far back as the trail has logged: the same " +
			"arguments and event objects as `opsaudit_events`, without LookupEvents' 90 days. The log files are read " +
			"from the trail's S3 bucket, or from a local copy of it (`aws s3 sync`), by walking the date folders of " +
			"each account and region in the window (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`) and " +
			"streaming each file through gunzip and a JSON decoder, many at once: memory stays flat however long " +
			"the window, and the counts cover every match, also past `max_events`. Folders are named by delivery " +
			"time, so the day after the window is read too (a call at 23:58 is usually delivered the next day); " +
			"a record CloudTrail delivered twice counts once. Values of fields that carry credentials are redacted, " +
			"as in `opsaudit_events`.\n\n" +
			"A long window reads many files: a busy account writes thousands a day. `max_events = 0` returns the " +
			"counts alone, which keeps the state small; with `TF_LOG=INFO` the provider logs its progress every " +
			"few seconds. The caller needs `s3:GetBucketLocation`, `s3:ListBucket` and `s3:GetObject` on the " +
			"bucket (and `cloudtrail:GetTrail` and `cloudtrail:GetTrailStatus` with `trail`). The data source " +
			"reads during `terraform plan` when its arguments are known, so a `lifecycle` `postcondition` on it " +
			"fails the plan.\n\n" +
			"For an organization's archive, `engine = \"athena\"` asks Amazon Athena instead, through the table an " +
			"`opsaudit_athena_table` made over the bucket: the partitions bound what it scans to the accounts, regions " +
			"and days named, the window and filters are pushed down into the SQL, and the answer is the same (see the " +
			"guide \"Querying an organization's archive with Athena\").",
		Attributes: map[string]schema.Attribute{
			"trail": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Name or ARN of the trail whose files are read: its bucket, key prefix and, for " +
					"an organization trail, organization id (the one `AWSLogs/o-*/` folder of its bucket) are read " +
					"from the trail. A name is looked up in the provider's region, where multi-region trails of " +
					"other home regions are visible too. Exactly one of `trail`, `bucket` and `directory` is " +
					"required.",
				Validators: []validator.String{trailNameOrARN()},
			},
			"bucket": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "S3 bucket the log files are read from, through a client of the bucket's " +
					"region. With `trail`, the trail's bucket.",
				Validators: []validator.String{bucketName()},
			},
			"s3_key_prefix": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Key prefix the trail writes under, with `bucket` or `directory`. With " +
					"`trail`, the trail's.",
				Validators: []validator.String{keyPrefix()},
			},
			"organization_id": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Organization id (`o-a1b2c3d4e5`) of an organization trail, whose account " +
					"folders are under `AWSLogs/<organization id>/`, with `bucket` or `directory`. With `trail`, " +
					"read from the bucket for an organization trail.",
				Validators: []validator.String{organizationID()},
			},
			"directory": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Local directory holding a copy of the bucket, as `aws s3 sync s3://<bucket> " +
					"<directory>` leaves it: the file of key `k` is `<directory>/k`.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"account_ids": schema.ListAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "Accounts whose folders are read. `[\"*\"]` reads every account folder found " +
					"(all the members of an organization trail). Default: the caller's account.",
				Validators: []validator.List{
					listvalidator.SizeAtLeast(1),
					listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(orEveryFolder(awsAccountID())),
					everyFolderAlone(),
				},
			},
			"regions": schema.ListAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "Regions whose folders are read. `[\"*\"]` reads every region folder found. " +
					"Default: the provider's `regions`.",
				Validators: []validator.List{
					listvalidator.SizeAtLeast(1),
					listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(orEveryFolder(knownRegion())),
					everyFolderAlone(),
				},
			},
			"max_events": schema.Int64Attribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: fmt.Sprintf("Most events kept in `events`, the newest; `truncated` tells when "+
					"more matched, and the counts cover them all. `0` keeps none and returns the counts alone: for "+
					"long windows. Default: `%d`.", defaultArchiveMaxEvents),
				Validators: []validator.Int64{int64validator.Between(0, 1000000)},
			},
			"concurrency": schema.Int64Attribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: fmt.Sprintf("Most listings and file reads at once, with the direct scan. Reading "+
					"is bound by S3's latency more than by the processor, so more than the processors help. Default: `%d`.",
					archive.DefaultConcurrency),
				Validators: []validator.Int64{int64validator.Between(1, 1024)},
			},
			"on_file_error": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "What a log file that cannot be read (missing, refused, not gzip, not a " +
					"CloudTrail log file) does: `fail` the read with an error naming the file and the cause, or " +
					"`warn` and go on, listing it in `files_failed` (its events are then missing from the result). " +
					"A folder that cannot be listed always fails the read. Default: `fail`.",
				Validators: []validator.String{stringvalidator.OneOf(string(archive.FailOnFileError), string(archive.WarnOnFileError))},
			},

			"events": schema.ListNestedAttribute{
				Computed: true,
				MarkdownDescription: "Matching events, the newest `max_events` across accounts and regions, newest " +
					"first, each event id once; the object of `opsaudit_events`' events, with `log_file` set.",
				NestedObject: eventsEvent,
			},
			"total_count": schema.Int64Attribute{Computed: true,
				MarkdownDescription: "Number of matching events, also those past `max_events`."},
			"truncated": schema.BoolAttribute{Computed: true,
				MarkdownDescription: "Whether more events matched than `events` holds."},
			"counts_by_event_name": count("Number of matching events per event name."),
			"counts_by_region":     count("Number of matching events per region (the event's `awsRegion`)."),
			"counts_by_account":    count("Number of matching events per account of the caller."),
			"earliest_event_time":  computedString("Time of the oldest matching event, RFC 3339; null when none matched."),
			"latest_event_time":    computedString("Time of the newest matching event, RFC 3339; null when none matched."),
			"accounts_read": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Account folders read, sorted: `account_ids`, or those found with `[\"*\"]`."},
			"regions_read": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Region folders read, sorted: `regions`, or those found with `[\"*\"]`."},
			"files_scanned": schema.Int64Attribute{Computed: true,
				MarkdownDescription: "Log files read to their end; null with `engine = \"athena\"`, which does not say."},
			"bytes_scanned": schema.Int64Attribute{Computed: true,
				MarkdownDescription: "Compressed bytes of the log files read; with `engine = \"athena\"`, the bytes Athena " +
					"scanned and billed (`DataScannedInBytes` of every query)."},
			"engine": engineAttribute("With `athena`, `source_ip_cidrs`, `resource_names`, `directory` and " +
				"`on_file_error = \"warn\"` are refused at plan time."),
			"athena_query_execution_ids": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "With `engine = \"athena\"`, the queries run: the counts', then the events' when " +
					"one ran (`aws athena get-query-execution --query-execution-id ...` shows their statistics). Empty " +
					"with `s3`."},
			"files_failed": schema.ListNestedAttribute{
				Computed: true,
				MarkdownDescription: "Log files that could not be read, with `on_file_error = \"warn\"`, sorted " +
					"by key; empty when every file was read.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"key":   computedString("Key of the log file."),
					"error": computedString("Why it could not be read, with the S3 error code when S3 refused it."),
				}},
			},
		},
		Blocks: map[string]schema.Block{"athena": athenaEngineBlock()},
	}
	maps.Copy(resp.Schema.Attributes, recordAttributes())
	maps.Copy(resp.Schema.Attributes, windowAttributes(archiveWindow))
	maps.Copy(resp.Schema.Attributes, eventFilterAttributes(map[string]string{
		"event_source": "Every log file of the window is read whatever the source, so `*` reads no more " +
			"files, but it matches more events.",
		"resource_names": "The resources are those LookupEvents would report for the record. Not with " +
			"`engine = \"athena\"`.",
		"source_ip_cidrs": "Not with `engine = \"athena\"`.",
	}))
}

func (d *archiveEventsDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return append(windowConfigValidators(),
		datasourcevalidator.ExactlyOneOf(path.MatchRoot("trail"), path.MatchRoot("bucket"), path.MatchRoot("directory")),
		datasourcevalidator.Conflicting(path.MatchRoot("trail"), path.MatchRoot("s3_key_prefix")),
		datasourcevalidator.Conflicting(path.MatchRoot("trail"), path.MatchRoot("organization_id")),
	)
}

func (d *archiveEventsDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	validateWindowOrder(ctx, req.Config, &resp.Diagnostics)
	var m archiveEventsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	validateEngine(m.Engine, m.Athena, []engineConflict{
		{"source_ip_cidrs", !m.SourceIPCIDRs.IsNull(), notPushedDown},
		{"resource_names", !m.ResourceNames.IsNull(), notPushedDown},
		{"directory", !m.Directory.IsNull(), "is a local copy of the bucket, and Athena reads the bucket itself"},
		{"on_file_error", m.OnFileError.ValueString() == string(archive.WarnOnFileError),
			`= "warn" cannot be honoured: Athena fails the query on a file it cannot read`},
	}, &resp.Diagnostics)
}

func (d *archiveEventsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *archiveEventsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m archiveEventsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	q, diags := m.query(ctx, d.clients, time.Now().UTC())
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	src, closeSource, diags := m.source(ctx, d.clients)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	defer closeSource()
	q.Source = src
	q.Location = archive.Location{Prefix: m.S3KeyPrefix.ValueString(), OrganizationID: m.OrganizationID.ValueString()}
	q.ProgressInterval = d.progressInterval

	tflog.Info(ctx, "Reading the CloudTrail archive", map[string]any{
		"source": src.Name(), "prefix": q.Location.AccountsPrefix(), "accounts": q.AccountIDs, "regions": q.Regions,
		"start": q.Start.Format(time.RFC3339), "end": q.End.Format(time.RFC3339), "event_source": q.Filter.EventSource,
		"engine": engineOf(m.Engine),
	})
	res, queryIDs, err := readArchive(ctx, d.clients, archiveRead{Engine: m.Engine, Block: m.Athena, Bucket: m.Bucket.ValueString(), Query: q})
	if err != nil {
		if engineOf(m.Engine) == engineAthena {
			resp.Diagnostics.AddError("Reading the CloudTrail archive through Athena", err.Error())
		} else {
			resp.Diagnostics.AddError("Reading the CloudTrail archive", archiveFailure(err))
		}
		return
	}
	m.AthenaQueryIDs, diags = types.ListValueFrom(ctx, types.StringType, append([]string{}, queryIDs...))
	resp.Diagnostics.Append(diags...)
	tflog.Info(ctx, "Read the CloudTrail archive", map[string]any{
		"source": src.Name(), "files": res.FilesScanned, "files_failed": len(res.FilesFailed), "bytes": res.BytesScanned,
		"matches": res.TotalCount, "events": len(res.Events), "duration": res.Duration.Round(time.Millisecond).String(),
	})
	if n := len(res.FilesFailed); n > 0 {
		resp.Diagnostics.AddWarning(fmt.Sprintf("CloudTrail archive incomplete: %d log files could not be read", n),
			failedFiles(res.FilesFailed)+"\n\nTheir events are missing from the result; files_failed lists every file.")
	}

	start := time.Now()
	resp.Diagnostics.Append(m.writeState(ctx, res, &resp.State)...)
	tflog.Debug(ctx, "Built archive events state", map[string]any{"events": len(res.Events), "duration_ms": time.Since(start).Milliseconds()})
}

// query turns the configuration into an archive query, but for where the
// files are; defaults go into the model, so that they show in state.
func (m *archiveEventsModel) query(ctx context.Context, clients *awsclient.Clients, now time.Time) (archive.Query, diag.Diagnostics) {
	if m.MaxEvents.IsNull() {
		m.MaxEvents = types.Int64Value(defaultArchiveMaxEvents)
	}
	if m.Concurrency.IsNull() {
		m.Concurrency = types.Int64Value(archive.DefaultConcurrency)
	}
	if m.OnFileError.IsNull() {
		m.OnFileError = types.StringValue(string(archive.FailOnFileError))
	}
	filter, diags := m.filter(ctx)
	q := archive.Query{
		AccountIDs:  []string{clients.AccountID},
		Regions:     clients.Regions,
		Filter:      filter,
		MaxEvents:   int(m.MaxEvents.ValueInt64()),
		Concurrency: int(m.Concurrency.ValueInt64()),
		OnFileError: archive.OnFileError(m.OnFileError.ValueString()),
	}
	if !m.AccountIDs.IsNull() {
		diags.Append(m.AccountIDs.ElementsAs(ctx, &q.AccountIDs, false)...)
	}
	if !m.Regions.IsNull() {
		diags.Append(m.Regions.ElementsAs(ctx, &q.Regions, false)...)
	}
	var d diag.Diagnostics
	q.Start, q.End, d = m.window(now, archiveWindow)
	diags.Append(d...)
	return q, diags
}

// source opens where the log files are, and with trail fills bucket,
// s3_key_prefix and organization_id from it. Errors are on the argument
// that named the place.
func (m *archiveEventsModel) source(ctx context.Context, clients *awsclient.Clients) (archive.Source, func(), diag.Diagnostics) {
	var diags diag.Diagnostics
	noClose := func() {}
	switch {
	case !m.Directory.IsNull():
		dir, err := archive.OpenDir(m.Directory.ValueString())
		if err != nil {
			diags.AddAttributeError(path.Root("directory"), "Archive directory not readable", err.Error())
			return nil, noClose, diags
		}
		return dir, func() { _ = dir.Close() }, diags
	case !m.Bucket.IsNull():
		b, err := archiveBucket(ctx, clients, m.Bucket.ValueString())
		if err != nil {
			diags.AddAttributeError(path.Root("bucket"), "Bucket not readable", awserr.Explain(err))
			return nil, noClose, diags
		}
		return b, noClose, diags
	}
	info, err := readTrailSettings(ctx, clients, m.Trail.ValueString())
	if err != nil {
		diags.AddAttributeError(path.Root("trail"), "Trail not readable", awserr.Explain(err))
		return nil, noClose, diags
	}
	b, loc, err := trailArchive(ctx, clients, info)
	if err != nil {
		diags.AddAttributeError(path.Root("trail"), "Trail's log files not readable", awserr.Explain(err))
		return nil, noClose, diags
	}
	m.Bucket = types.StringValue(info.S3BucketName)
	m.S3KeyPrefix = nullIfEmpty(loc.Prefix)
	m.OrganizationID = nullIfEmpty(loc.OrganizationID)
	return b, noClose, diags
}

// archiveFailure is the detail of a read that failed: the error, which
// carries S3's error code and what to do about it, and for a file how to
// go on without it.
func archiveFailure(err error) string {
	msg := err.Error()
	var fe *archive.FileError
	if errors.As(err, &fe) {
		msg += "\n\nTo go on without the log files that cannot be read, set on_file_error = \"warn\": they are " +
			"then listed in files_failed."
	}
	return msg
}

// failedFiles names the first failed files and why, for a warning.
func failedFiles(failed []*archive.FileError) string {
	var b strings.Builder
	for i, f := range failed {
		if i == warnedFiles {
			fmt.Fprintf(&b, "\n... and %d more", len(failed)-i)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(f.Error())
	}
	return b.String()
}

// writeState writes the configuration and the result to state.
func (m *archiveEventsModel) writeState(ctx context.Context, res *archive.Result, state *tfsdk.State) diag.Diagnostics {
	list, diags := eventList(res.Events)
	if diags.HasError() {
		return diags
	}
	var d diag.Diagnostics
	m.Records, d = records(res.Events, m.IncludeRecord.ValueBool())
	diags.Append(d...)
	counts := func(c map[string]int) types.Map {
		elems := make(map[string]attr.Value, len(c))
		for k, n := range c {
			elems[k] = types.Int64Value(int64(n))
		}
		return types.MapValueMust(types.Int64Type, elems)
	}
	m.CountsByEventName = counts(res.CountsByEventName)
	m.CountsByRegion = counts(res.CountsByRegion)
	m.CountsByAccount = counts(res.CountsByAccount)
	m.TotalCount = types.Int64Value(int64(res.TotalCount))
	m.Truncated = types.BoolValue(res.Truncated)
	m.EarliestEventTime, m.LatestEventTime = types.StringNull(), types.StringNull()
	if res.TotalCount > 0 {
		m.EarliestEventTime = types.StringValue(res.EarliestEventTime.UTC().Format(time.RFC3339))
		m.LatestEventTime = types.StringValue(res.LatestEventTime.UTC().Format(time.RFC3339))
	}
	m.AccountsRead, d = types.ListValueFrom(ctx, types.StringType, res.Accounts)
	diags.Append(d...)
	m.RegionsRead, d = types.ListValueFrom(ctx, types.StringType, res.Regions)
	diags.Append(d...)
	m.FilesScanned = types.Int64Value(int64(res.FilesScanned))
	if engineOf(m.Engine) == engineAthena {
		m.FilesScanned = types.Int64Null()
	}
	m.BytesScanned = types.Int64Value(res.BytesScanned)
	m.FilesFailed = make([]fileErrorModel, len(res.FilesFailed))
	for i, f := range res.FilesFailed {
		m.FilesFailed[i] = fileErrorModel{Key: types.StringValue(f.Key), Error: types.StringValue(f.Err.Error())}
	}
	if diags.HasError() {
		return diags
	}
	return append(diags, setWithEvents(ctx, state, m, list)...)
}
