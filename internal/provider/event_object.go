package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// The event object is one element of a data source's `events`: the same for
// every data source that returns events.Event values, whatever read them.

// eventsEvent is one element of `events`; its names are the ones the
// policy package's CEL rules use.
var eventsEvent = schema.NestedAttributeObject{Attributes: eventAttributes()}

// eventResource is the object of one element of an event's `resources`.
var eventResource = schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
	"type": computedString("Resource type, such as `AWS::OpsWorksCM::Server`."),
	"name": computedString("Resource name or ARN."),
}}

var eventResourceType = eventResource.Type().(types.ObjectType)

// eventAttributes is the schema of one event. Each call returns a new map,
// to which a data source may add attributes of its own (and their values
// to eventValues' map).
func eventAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"event_id":           computedString("CloudTrail event id."),
		"event_name":         computedString("API action, such as `CreateServer`."),
		"event_time":         computedString("Time of the call, RFC 3339 in UTC."),
		"region":             computedString("Region the call was made in."),
		"event_source":       computedString("Service, such as `opsworks-cm.amazonaws.com`."),
		"username":           computedString("User name as CloudTrail reports it: IAM user name, `root`, session name or invoking service."),
		"user_identity_type": computedString("`IAMUser`, `AssumedRole`, `Root`, `AWSService`, `FederatedUser`..."),
		"principal_arn":      computedString("ARN of the caller; null when the record has none (AWS services)."),
		"session_issuer_arn": computedString("For an assumed-role session, the role's ARN; otherwise null."),
		"account_id":         computedString("Account of the caller."),
		"access_key_id":      computedString("Access key the call was signed with; null when none."),
		"invoked_by":         computedString("AWS service that made the call on the caller's behalf; null otherwise."),
		"mfa_authenticated": schema.BoolAttribute{Computed: true,
			MarkdownDescription: "Whether the session was authenticated with MFA."},
		"source_ip_address": computedString("Caller's IP address, or the calling service's name."),
		"user_agent":        computedString("Caller's user agent."),
		"read_only": schema.BoolAttribute{Computed: true,
			MarkdownDescription: "Whether the call only reads."},
		"error_code":    computedString("Error code of a failed call; null when the call succeeded."),
		"error_message": computedString("Error message of a failed call; null when the call succeeded."),
		"resources": schema.ListNestedAttribute{
			Computed:            true,
			MarkdownDescription: "Resources the call referenced, as LookupEvents reports them.",
			NestedObject:        eventResource,
		},
		"request_parameters": computedString("Request parameters, JSON (`null` when none), credentials redacted; read with `jsondecode`."),
		"response_elements":  computedString("Response elements, JSON (`null` when none), credentials redacted."),
		"log_file": computedString("Key of the trail's log file the event was read from, in its bucket or directory; " +
			"null for events LookupEvents returned. A record CloudTrail delivered twice names the first of its files in " +
			"key order."),
		"log_file_valid": schema.BoolAttribute{Computed: true,
			MarkdownDescription: "Whether `log_file` validated against the trail's signed digests; null when it was " +
				"not checked."},
	}
}

// recordAttributes are the argument that asks for the whole records and
// the attribute that holds them. The records stay out of the event objects:
// left out, as by default, a record attribute would be a null in every
// event, and terraform-plugin-framework spends longer on each null of a
// large list than the value would have cost.
func recordAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"include_record": schema.BoolAttribute{
			Optional: true,
			MarkdownDescription: "Fill `records` with the whole CloudTrail record of each event. The records " +
				"more than double the size of the result in the plan and the state, and the event attributes hold " +
				"what conditions usually test, so by default they are left out. Default: `false`.",
		},
		"records": schema.MapAttribute{
			Computed:    true,
			ElementType: types.StringType,
			MarkdownDescription: "The whole CloudTrail record of each event in `events`, by event id: JSON, " +
				"credentials redacted; read with `jsondecode(records[event.event_id])`. Null unless " +
				"`include_record` is true.",
		},
	}
}

// records is the value of `records`: each event's record by event id, or
// null when they were not asked for.
func records(evs []events.Event, include bool) (types.Map, diag.Diagnostics) {
	if !include {
		return types.MapNull(types.StringType), nil
	}
	elems := make(map[string]attr.Value, len(evs))
	for i := range evs {
		elems[evs[i].EventID] = types.StringValue(evs[i].CloudTrailEvent)
	}
	return types.MapValue(types.StringType, elems)
}

// eventValues returns the attribute values of ev in an object of
// eventAttributes.
func eventValues(ev *events.Event) map[string]attr.Value {
	resources := make([]attr.Value, len(ev.Resources))
	for i, r := range ev.Resources {
		resources[i] = types.ObjectValueMust(eventResourceType.AttrTypes, map[string]attr.Value{
			"type": types.StringValue(r.Type),
			"name": types.StringValue(r.Name),
		})
	}
	return map[string]attr.Value{
		"event_id":           types.StringValue(ev.EventID),
		"event_name":         types.StringValue(ev.EventName),
		"event_time":         types.StringValue(ev.EventTime.UTC().Format(time.RFC3339)),
		"region":             types.StringValue(ev.Region),
		"event_source":       types.StringValue(ev.EventSource),
		"username":           types.StringValue(ev.Username),
		"user_identity_type": types.StringValue(ev.UserIdentityType),
		"principal_arn":      nullIfEmpty(ev.PrincipalARN),
		"session_issuer_arn": nullIfEmpty(ev.SessionIssuerARN),
		"account_id":         types.StringValue(ev.AccountID),
		"access_key_id":      nullIfEmpty(ev.AccessKeyID),
		"invoked_by":         nullIfEmpty(ev.InvokedBy),
		"mfa_authenticated":  types.BoolValue(ev.MFAAuthenticated),
		"source_ip_address":  types.StringValue(ev.SourceIPAddress),
		"user_agent":         types.StringValue(ev.UserAgent),
		"read_only":          types.BoolValue(ev.ReadOnly),
		"error_code":         nullIfEmpty(ev.ErrorCode),
		"error_message":      nullIfEmpty(ev.ErrorMessage),
		"resources":          types.ListValueMust(eventResourceType, resources),
		"request_parameters": types.StringValue(ev.RequestParameters),
		"response_elements":  types.StringValue(ev.ResponseElements),
		"log_file":           nullIfEmpty(ev.LogFile),
		"log_file_valid":     types.BoolPointerValue(ev.LogFileValid),
	}
}

// eventList is the value of `events`: an empty list, not null, when there
// are none, since "no events" is an answer.
func eventList(evs []events.Event) (types.List, diag.Diagnostics) {
	return objectList(eventsEvent, len(evs), func(i int) map[string]attr.Value { return eventValues(&evs[i]) })
}

// setWithEvents writes model, whose `events` is left unset, to state, then
// list as `events`.
func setWithEvents(ctx context.Context, state *tfsdk.State, model any, list types.List) diag.Diagnostics {
	diags := state.Set(ctx, model)
	if diags.HasError() {
		return diags
	}
	return append(diags, setTopLevel(ctx, state, "events", list)...)
}

// objectList builds a list of n objects of obj's type from each element's
// attribute values, with the framework's value constructors: reflection
// over a Go struct per element took seconds for ten thousand events.
func objectList(obj schema.NestedAttributeObject, n int, values func(i int) map[string]attr.Value) (types.List, diag.Diagnostics) {
	typ := obj.Type().(types.ObjectType)
	elems := make([]attr.Value, n)
	for i := range elems {
		o, diags := types.ObjectValue(typ.AttrTypes, values(i))
		if diags.HasError() {
			return types.ListNull(typ), diags
		}
		elems[i] = o
	}
	return types.ListValue(typ, elems)
}

// setTopLevel replaces the top-level attribute name of state with v,
// converting v once. State.Set and SetAttribute on a struct or path would
// convert a large value twice, validate it, and walk the whole state: seconds
// for ten thousand events.
func setTopLevel(ctx context.Context, state *tfsdk.State, name string, v attr.Value) diag.Diagnostics {
	var diags diag.Diagnostics
	tv, err := v.ToTerraformValue(ctx)
	if err != nil {
		diags.AddAttributeError(path.Root(name), "Building the state", err.Error())
		return diags
	}
	var attrs map[string]tftypes.Value
	if err := state.Raw.As(&attrs); err != nil {
		diags.AddError("Building the state", err.Error())
		return diags
	}
	attrs[name] = tv
	return state.Set(ctx, tftypes.NewValue(state.Raw.Type(), attrs))
}

func computedString(desc string) schema.StringAttribute {
	return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
}
