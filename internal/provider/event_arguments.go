package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// The arguments every data source that reads events takes alike: the
// filters and the window. opsaudit_events reads the events from
// LookupEvents, opsaudit_archive_events from the trail's log files; the
// names, validators and descriptions are one, so that a query moves from
// one to the other by changing the data source's type, and a data source
// says only what its reader adds (a note per argument).

// eventFilterModel holds the filter arguments.
type eventFilterModel struct {
	EventSource   types.String `tfsdk:"event_source"`
	EventNames    types.List   `tfsdk:"event_names"`
	Usernames     types.List   `tfsdk:"usernames"`
	PrincipalARNs types.List   `tfsdk:"principal_arns"`
	ReadOnly      types.Bool   `tfsdk:"read_only"`
	ErrorCodes    types.List   `tfsdk:"error_codes"`
	ResourceNames types.List   `tfsdk:"resource_names"`
	SourceIPCIDRs types.List   `tfsdk:"source_ip_cidrs"`
}

// eventFilterAttributes is the schema of the filter arguments. notes, by
// argument name, follow the shared description of an argument: what the
// data source's reader does with it.
func eventFilterAttributes(notes map[string]string) map[string]schema.Attribute {
	note := func(name string) string {
		if n := notes[name]; n != "" {
			return " " + n
		}
		return ""
	}
	filter := func(name, what string, extra ...validator.String) schema.ListAttribute {
		return schema.ListAttribute{
			ElementType: types.StringType,
			Optional:    true,
			MarkdownDescription: "Keep only events " + what + ". An event matches when it has any of the values; " +
				"different filters combine with AND." + note(name),
			Validators: []validator.List{
				listvalidator.SizeAtLeast(1),
				listvalidator.UniqueValues(),
				listvalidator.ValueStringsAre(append([]validator.String{stringvalidator.LengthBetween(1, 2000)}, extra...)...),
			},
		}
	}
	return map[string]schema.Attribute{
		"event_source": schema.StringAttribute{
			Optional: true,
			Computed: true,
			MarkdownDescription: "Service whose events are read, as CloudTrail names it (`s3.amazonaws.com`), or `*` " +
				"for every service." + note("event_source") + " Default: `" + events.DefaultEventSource + "`.",
			Validators: []validator.String{eventSource()},
		},
		"event_names": filter("event_names", "with one of these event names (API actions such as `CreateServer`)"),
		"usernames": filter("usernames", "by one of these user names, as CloudTrail reports them: the IAM user "+
			"name, `root`, or an assumed role's session name"),
		"principal_arns": filter("principal_arns", "by one of these principals: an IAM user's, root's or session's "+
			"ARN, or a role's ARN, which matches all its sessions"),
		"read_only": schema.BoolAttribute{
			Optional:            true,
			MarkdownDescription: "Keep only read-only calls (`true`) or only calls that change something (`false`).",
		},
		"error_codes": filter("error_codes", "that failed with one of these error codes, such as `AccessDenied`"),
		"resource_names": filter("resource_names", "that name one of these resources (a server name, backup id "+
			"or ARN, as LookupEvents reports resources)"),
		"source_ip_cidrs": filter("source_ip_cidrs", "whose caller's source address is in one of these CIDR "+
			"blocks (`203.0.113.0/24`, `2001:db8::/32` or a single address); calls made by AWS services match none",
			cidrBlock()),
	}
}

// filter is the events.Filter the arguments describe. The default event
// source goes into the model, so that it shows in state.
func (m *eventFilterModel) filter(ctx context.Context) (events.Filter, diag.Diagnostics) {
	var diags diag.Diagnostics
	if m.EventSource.IsNull() {
		m.EventSource = types.StringValue(events.DefaultEventSource)
	}
	f := events.Filter{EventSource: m.EventSource.ValueString()}
	listInto := func(l types.List, dst *[]string) {
		if !l.IsNull() {
			diags.Append(l.ElementsAs(ctx, dst, false)...)
		}
	}
	listInto(m.EventNames, &f.EventNames)
	listInto(m.Usernames, &f.Usernames)
	listInto(m.PrincipalARNs, &f.PrincipalARNs)
	listInto(m.ErrorCodes, &f.ErrorCodes)
	listInto(m.ResourceNames, &f.ResourceNames)
	var cidrs []string
	listInto(m.SourceIPCIDRs, &cidrs)
	var err error
	if f.SourceIPCIDRs, err = events.ParseCIDRs(cidrs); err != nil {
		diags.AddAttributeError(path.Root("source_ip_cidrs"), "Invalid CIDR block", err.Error())
	}
	if !m.ReadOnly.IsNull() {
		ro := m.ReadOnly.ValueBool()
		f.ReadOnly = &ro
	}
	return f, diags
}

// windowModel holds the window arguments.
type windowModel struct {
	StartTime types.String `tfsdk:"start_time"`
	EndTime   types.String `tfsdk:"end_time"`
	Lookback  types.String `tfsdk:"lookback"`
}

// windowArgs is what differs between the data sources' windows.
type windowArgs struct {
	// defaultLookback is the window's length when no argument sets it, in
	// the lookback syntax.
	defaultLookback string
	// lookbackNote says how far back lookback may reach, which
	// lookbackValidator checks, and what else the window is used for.
	lookbackNote      string
	lookbackValidator validator.String
	// computedLookback stores the default lookback in state.
	computedLookback bool
}

// windowAttributes is the schema of the window arguments.
func windowAttributes(a windowArgs) map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"start_time": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "Oldest event time, RFC 3339 (`2024-03-01T00:00:00Z`), inclusive. Default: `" +
				a.defaultLookback + "` before `end_time`. Conflicts with `lookback`.",
			Validators: []validator.String{rfc3339Time()},
		},
		"end_time": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "Newest event time, RFC 3339, inclusive. Default: now. Conflicts with `lookback`.",
			Validators:          []validator.String{rfc3339Time()},
		},
		"lookback": schema.StringAttribute{
			Optional: true,
			Computed: a.computedLookback,
			MarkdownDescription: "Window ending now, as a duration: `72h`, `30d`, `1d12h`. " + a.lookbackNote +
				" Default: `" + a.defaultLookback + "` when neither `start_time` nor `end_time` is set.",
			Validators: []validator.String{a.lookbackValidator},
		},
	}
}

// windowConfigValidators keep lookback apart from the times.
func windowConfigValidators() []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.Conflicting(path.MatchRoot("lookback"), path.MatchRoot("start_time")),
		datasourcevalidator.Conflicting(path.MatchRoot("lookback"), path.MatchRoot("end_time")),
	}
}

// validateWindowOrder checks what no single attribute's validator can:
// the order of start_time and end_time.
func validateWindowOrder(ctx context.Context, config tfsdk.Config, diags *diag.Diagnostics) {
	var start, end types.String
	diags.Append(config.GetAttribute(ctx, path.Root("start_time"), &start)...)
	diags.Append(config.GetAttribute(ctx, path.Root("end_time"), &end)...)
	if start.IsNull() || start.IsUnknown() || end.IsNull() || end.IsUnknown() {
		return
	}
	s, errS := time.Parse(time.RFC3339, start.ValueString())
	e, errE := time.Parse(time.RFC3339, end.ValueString())
	if errS == nil && errE == nil && s.After(e) {
		diags.AddAttributeError(path.Root("start_time"), "Start after end",
			fmt.Sprintf("start_time %s is after end_time %s: give the older time as start_time.", start.ValueString(), end.ValueString()))
	}
}

// window is the time window the arguments give at now, with a's default
// length.
func (w windowModel) window(now time.Time, a windowArgs) (start, end time.Time, diags diag.Diagnostics) {
	// The default is a constant the tests parse.
	span, _ := parseLookback(a.defaultLookback)
	return timeWindow(w.StartTime, w.EndTime, w.Lookback, now, span)
}
