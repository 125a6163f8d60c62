package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/lookup"
)

var (
	_ datasource.DataSourceWithConfigure        = (*eventsDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*eventsDataSource)(nil)
	_ datasource.DataSourceWithValidateConfig   = (*eventsDataSource)(nil)
)

const (
	defaultMaxEvents = 1000
	onRegionErrFail  = "fail"
	onRegionErrWarn  = "warn"
)

// NewEventsDataSource queries the events CloudTrail recorded for a service
// in every region at once.
func NewEventsDataSource() datasource.DataSource { return &eventsDataSource{} }

type eventsDataSource struct {
	clients *awsclient.Clients
}

type eventsModel struct {
	Regions types.List `tfsdk:"regions"`
	windowModel
	eventFilterModel
	MaxEvents     types.Int64  `tfsdk:"max_events"`
	OnRegionError types.String `tfsdk:"on_region_error"`
	IncludeRecord types.Bool   `tfsdk:"include_record"`
	Records       types.Map    `tfsdk:"records"`

	Events            types.List   `tfsdk:"events"`
	TotalCount        types.Int64  `tfsdk:"total_count"`
	Truncated         types.Bool   `tfsdk:"truncated"`
	CountsByEventName types.Map    `tfsdk:"counts_by_event_name"`
	LatestEventTime   types.String `tfsdk:"latest_event_time"`
	RegionsQueried    types.List   `tfsdk:"regions_queried"`
}

func (d *eventsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_events"
}

func (d *eventsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The management events CloudTrail recorded for a service (OpsWorks CM by default) in the " +
			"last 90 days, from every region at once, as values HCL conditions can test. Each region is one " +
			"`LookupEvents` stream, paced at the provider's `lookup_requests_per_second` and paginated to the end of " +
			"the window or `max_events`. The most selective filter is sent to AWS as the lookup attribute (a single " +
			"event name, else the event source, none for every source); the others are applied as events arrive, so " +
			"any combination works. " +
			"Throttling and 5xx answers are retried. Values of fields that carry credentials (engine attributes, " +
			"passwords, private keys, secret keys, session tokens) are redacted in every JSON attribute, even when a " +
			"record arrives unredacted.\n\nThe data source reads during `terraform plan` when its arguments are known, " +
			"so a `lifecycle` `postcondition` on it fails the plan. For events older than 90 days, " +
			"`opsaudit_archive_events` takes the same arguments and reads the trail's log files in S3.",
		Attributes: map[string]schema.Attribute{
			"regions": schema.ListAttribute{
				ElementType:         types.StringType,
				Optional:            true,
				MarkdownDescription: "Regions to query, all at once. Default: the provider's `regions`.",
				Validators:          regionList(),
			},
			"max_events": schema.Int64Attribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: fmt.Sprintf("Most events kept, the newest across all regions; `truncated` tells "+
					"when more matched. Default: `%d`.", defaultMaxEvents),
				Validators: []validator.Int64{int64validator.Between(1, 1000000)},
			},
			"on_region_error": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "What a region that still fails after retries does: `fail` the read with an error " +
					"naming the region and the AWS error code, or `warn` and return the other regions' events (the failed " +
					"region is then missing from `regions_queried`). Default: `fail`.",
				Validators: []validator.String{stringvalidator.OneOf(onRegionErrFail, onRegionErrWarn)},
			},

			"events": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "Matching events, newest first across regions, each event id once.",
				NestedObject:        eventsEvent,
			},
			"total_count": schema.Int64Attribute{Computed: true, MarkdownDescription: "Number of events in `events`."},
			"truncated": schema.BoolAttribute{Computed: true,
				MarkdownDescription: "Whether more events matched than `max_events`: only the newest were kept."},
			"counts_by_event_name": schema.MapAttribute{Computed: true, ElementType: types.Int64Type,
				MarkdownDescription: "Number of events in `events` per event name."},
			"latest_event_time": computedString("Time of the newest event, RFC 3339; null when there is none."),
			"regions_queried": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Regions that answered for the whole window."},
		},
	}
	maps.Copy(resp.Schema.Attributes, recordAttributes())
	maps.Copy(resp.Schema.Attributes, windowAttributes(eventsWindow))
	maps.Copy(resp.Schema.Attributes, eventFilterAttributes(map[string]string{
		"event_source": "With `*` and not exactly one `event_names`, LookupEvents is called without a lookup " +
			"attribute and returns every management event of the account: many more events than one service's, " +
			"read 50 per call at `lookup_requests_per_second` (10,000 events take about 100 s per region at AWS's 2 " +
			"calls per second), so narrow the window or filter by one event name where you can.",
		"event_names": "With exactly one, the lookup is done by event name.",
	}))
}

// eventsWindow is opsaudit_events' window: LookupEvents reaches 90 days
// back.
var eventsWindow = windowArgs{
	defaultLookback:   "7d",
	lookbackNote:      "At most `90d`, how far back LookupEvents reaches.",
	lookbackValidator: lookbackDuration(),
}

func (d *eventsDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return windowConfigValidators()
}

func (d *eventsDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	validateWindowOrder(ctx, req.Config, &resp.Diagnostics)
}

func (d *eventsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *eventsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m eventsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	q, diags := m.query(ctx, d.clients, time.Now().UTC())
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	tflog.Debug(ctx, "Looking up events", map[string]any{
		"regions": q.Regions, "start": q.Start.Format(time.RFC3339), "end": q.End.Format(time.RFC3339),
		"event_source": q.Filter.EventSource, "max_events": q.MaxEvents,
	})
	start := time.Now()
	res, err := lookup.Run(ctx, d.clients, q)
	if err != nil {
		resp.Diagnostics.AddError("Looking up CloudTrail events", lookupFailure(err))
		return
	}
	for _, f := range res.Failed {
		resp.Diagnostics.AddWarning("CloudTrail events incomplete: region "+f.Region+" failed",
			awserr.Explain(f)+"\n\nIts events are missing and it is left out of regions_queried.")
	}
	tflog.Debug(ctx, "Looked up events", map[string]any{"events": len(res.Events), "truncated": res.Truncated,
		"duration_ms": time.Since(start).Milliseconds()})

	start = time.Now()
	resp.Diagnostics.Append(m.writeState(ctx, res, &resp.State)...)
	tflog.Debug(ctx, "Built events state", map[string]any{"events": len(res.Events), "duration_ms": time.Since(start).Milliseconds()})
}

// lookupFailure is the detail of a lookup that failed in a region: the
// error, what to do about its AWS error code, and how to go on without the
// region. The events and compliance data sources both report it.
func lookupFailure(err error) string {
	msg := awserr.Explain(err)
	var re *lookup.RegionError
	if errors.As(err, &re) {
		msg += fmt.Sprintf("\n\nTo go on without %s, remove it from regions, or set on_region_error = \"warn\" "+
			"to go on with the other regions.", re.Region)
	}
	return msg
}

// query turns the configuration into a lookup, with defaults applied to
// the model so they appear in state.
func (m *eventsModel) query(ctx context.Context, clients *awsclient.Clients, now time.Time) (lookup.Query, diag.Diagnostics) {
	if m.MaxEvents.IsNull() {
		m.MaxEvents = types.Int64Value(defaultMaxEvents)
	}
	if m.OnRegionError.IsNull() {
		m.OnRegionError = types.StringValue(onRegionErrFail)
	}
	filter, diags := m.filter(ctx)
	q := lookup.Query{
		Regions:           clients.Regions,
		MaxEvents:         int(m.MaxEvents.ValueInt64()),
		WarnOnRegionError: m.OnRegionError.ValueString() == onRegionErrWarn,
		Filter:            filter,
	}
	if !m.Regions.IsNull() {
		diags.Append(m.Regions.ElementsAs(ctx, &q.Regions, false)...)
	}
	var d diag.Diagnostics
	q.Start, q.End, d = m.window(now, eventsWindow)
	diags.Append(d...)
	return q, diags
}

// writeState writes the configuration and the result to state.
func (m *eventsModel) writeState(ctx context.Context, res *lookup.Result, state *tfsdk.State) diag.Diagnostics {
	list, diags := m.setResult(ctx, res)
	if diags.HasError() {
		return diags
	}
	return append(diags, setWithEvents(ctx, state, m, list)...)
}

// setResult sets the result's attributes but events, which it returns
// for setTopLevel.
func (m *eventsModel) setResult(ctx context.Context, res *lookup.Result) (types.List, diag.Diagnostics) {
	list, diags := eventList(res.Events)
	var d diag.Diagnostics
	m.Records, d = records(res.Events, m.IncludeRecord.ValueBool())
	diags.Append(d...)
	counts := map[string]int64{}
	for i := range res.Events {
		counts[res.Events[i].EventName]++
	}
	m.CountsByEventName, d = types.MapValueFrom(ctx, types.Int64Type, counts)
	diags.Append(d...)
	m.RegionsQueried, d = types.ListValueFrom(ctx, types.StringType, res.RegionsQueried)
	diags.Append(d...)
	m.TotalCount = types.Int64Value(int64(len(res.Events)))
	m.Truncated = types.BoolValue(res.Truncated)
	m.LatestEventTime = types.StringNull()
	if len(res.Events) > 0 {
		m.LatestEventTime = types.StringValue(res.Events[0].EventTime.Format(time.RFC3339))
	}
	return list, diags
}

// nullIfEmpty makes an absent value null, so that HCL tests it with
// `!= null` rather than comparing to "".
func nullIfEmpty(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}
