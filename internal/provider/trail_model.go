package provider

import (
	"context"
	"fmt"
	"time"

	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// The trail model and the schema pieces the opsaudit_trail resource and
// data source share: the data source has the resource's attributes, read
// only, and both fill them from a trailInfo.

// trailModel holds the attributes the resource and the data source share.
type trailModel struct {
	ID                            types.String `tfsdk:"id"`
	ARN                           types.String `tfsdk:"arn"`
	Name                          types.String `tfsdk:"name"`
	HomeRegion                    types.String `tfsdk:"home_region"`
	S3BucketName                  types.String `tfsdk:"s3_bucket_name"`
	S3KeyPrefix                   types.String `tfsdk:"s3_key_prefix"`
	IsMultiRegionTrail            types.Bool   `tfsdk:"is_multi_region_trail"`
	IncludeGlobalServiceEvents    types.Bool   `tfsdk:"include_global_service_events"`
	EnableLogFileValidation       types.Bool   `tfsdk:"enable_log_file_validation"`
	EnableLogging                 types.Bool   `tfsdk:"enable_logging"`
	IsOrganizationTrail           types.Bool   `tfsdk:"is_organization_trail"`
	KMSKeyID                      types.String `tfsdk:"kms_key_id"`
	CloudWatchLogsGroupARN        types.String `tfsdk:"cloud_watch_logs_group_arn"`
	CloudWatchLogsRoleARN         types.String `tfsdk:"cloud_watch_logs_role_arn"`
	SNSTopicName                  types.String `tfsdk:"sns_topic_name"`
	SNSTopicARN                   types.String `tfsdk:"sns_topic_arn"`
	Tags                          types.Map    `tfsdk:"tags"`
	ManagementEvents              types.String `tfsdk:"management_events"`
	ExcludeManagementEventSources types.Set    `tfsdk:"exclude_management_event_sources"`
	InsightTypes                  types.Set    `tfsdk:"insight_types"`
	Status                        types.Object `tfsdk:"status"`
}

// trailStatusModel is the status attribute's object.
type trailStatusModel struct {
	IsLogging                types.Bool   `tfsdk:"is_logging"`
	LatestDeliveryTime       types.String `tfsdk:"latest_delivery_time"`
	LatestDeliveryError      types.String `tfsdk:"latest_delivery_error"`
	LatestDigestDeliveryTime types.String `tfsdk:"latest_digest_delivery_time"`
}

// trailDocs describe the trail's attributes; the data source takes them
// from the resource's schema.
var trailDocs = map[string]string{
	"id":             "The trail ARN: name-based calls fail for organization trails created by a delegated administrator.",
	"arn":            "ARN of the trail.",
	"name":           "Name of the trail: 3 to 128 letters, digits, periods, underscores and dashes, starting and ending with a letter or digit, without adjacent punctuation. Changing it replaces the trail.",
	"home_region":    "Region the trail was created in; every change to it is made there.",
	"s3_bucket_name": "Bucket that receives the log files. Its policy must let `cloudtrail.amazonaws.com` write (see `opsaudit_log_bucket`); a policy still propagating is waited for within the create timeout.",
	"s3_key_prefix":  "Key prefix of the log files in the bucket, without leading or trailing `/`.",
	"is_multi_region_trail": "Whether the trail records events of every region (a shadow of it shows in each). " +
		"Default: `true`.",
	"include_global_service_events": "Whether the trail records events of global services such as IAM and STS. " +
		"Must be `true` for a multi-region trail. Default: `true`.",
	"enable_log_file_validation": "Whether CloudTrail writes digest files that prove log files were not changed " +
		"(Security Hub CloudTrail.4, CIS 3.2). Default: `true`.",
	"enable_logging": "Whether the trail is logging: new trails start stopped, so the provider starts them. " +
		"Default: `true`.",
	"is_organization_trail": "Whether the trail records the events of every account of the organization; the " +
		"caller must be the management account or a delegated administrator. Default: `false`.",
	"kms_key_id": "ARN of the KMS key that encrypts the log files (`arn:aws:kms:<region>:<account>:key/<id>`), in " +
		"the home region. A key ARN rather than an alias, because CloudTrail reports the key ARN and an alias would " +
		"never match it (the hashicorp/aws #33928 diff).",
	"cloud_watch_logs_group_arn": "ARN of a CloudWatch Logs log group (ending in `:*`) the trail also delivers to. " +
		"Requires `cloud_watch_logs_role_arn`.",
	"cloud_watch_logs_role_arn": "ARN of the role CloudTrail assumes to write to `cloud_watch_logs_group_arn`. " +
		"Requires `cloud_watch_logs_group_arn`.",
	"sns_topic_name": "SNS topic name or ARN notified of each log file delivery.",
	"sns_topic_arn":  "ARN of the SNS topic notified of each log file delivery.",
	"tags":           "Tags of the trail.",
	"management_events": "Which management events the trail records: `All` (default), `WriteOnly` or `ReadOnly`. " +
		"Writing the default or omitting it is the same and never shows a diff. Read from AWS, `None` means no " +
		"management events are recorded and `Custom` means selectors this provider does not express (such as data " +
		"events); either shows as a change that puts the configured selectors back.",
	"exclude_management_event_sources": "Management event sources the trail leaves out, to cut high-volume noise: " +
		"AWS accepts only `kms.amazonaws.com` (KMS) and `rdsdata.amazonaws.com` (RDS Data API). The audited source (`" +
		events.DefaultEventSource + "`) can never be excluded.",
	"insight_types":                      "CloudTrail Insights types to enable: `ApiCallRateInsight`, `ApiErrorRateInsight`.",
	"status":                             "Logging status, from GetTrailStatus.",
	"status.is_logging":                  "Whether the trail is logging.",
	"status.latest_delivery_time":        "When CloudTrail last delivered a log file to the bucket (RFC 3339), null before the first delivery.",
	"status.latest_delivery_error":       "The error of the latest failed delivery to the bucket, such as `AccessDenied`; null when the latest delivery succeeded.",
	"status.latest_digest_delivery_time": "When CloudTrail last delivered a digest file (RFC 3339), null before the first one.",
}

// trailStatusAttribute is the computed status attribute.
func trailStatusAttribute() schema.SingleNestedAttribute {
	attrs := map[string]schema.Attribute{
		"is_logging": schema.BoolAttribute{Computed: true, MarkdownDescription: trailDocs["status.is_logging"]},
	}
	for _, n := range []string{"latest_delivery_time", "latest_delivery_error", "latest_digest_delivery_time"} {
		attrs[n] = schema.StringAttribute{Computed: true, MarkdownDescription: trailDocs["status."+n]}
	}
	return schema.SingleNestedAttribute{Computed: true, MarkdownDescription: trailDocs["status"], Attributes: attrs}
}

// trailStatusType is the status object's type, taken from its schema.
var trailStatusType = trailStatusAttribute().GetType().(types.ObjectType)

// dataSourceAttributes are the resource's attributes as a data source has
// them: every one computed, with the same type and description.
func dataSourceAttributes(attrs map[string]schema.Attribute) map[string]dschema.Attribute {
	out := make(map[string]dschema.Attribute, len(attrs))
	for name, a := range attrs {
		desc := a.GetMarkdownDescription()
		switch a := a.(type) {
		case schema.StringAttribute:
			out[name] = dschema.StringAttribute{Computed: true, MarkdownDescription: desc}
		case schema.BoolAttribute:
			out[name] = dschema.BoolAttribute{Computed: true, MarkdownDescription: desc}
		case schema.SetAttribute:
			out[name] = dschema.SetAttribute{Computed: true, ElementType: a.ElementType, MarkdownDescription: desc}
		case schema.MapAttribute:
			out[name] = dschema.MapAttribute{Computed: true, ElementType: a.ElementType, MarkdownDescription: desc}
		case schema.SingleNestedAttribute:
			out[name] = dschema.SingleNestedAttribute{Computed: true, Attributes: dataSourceAttributes(a.Attributes),
				MarkdownDescription: desc}
		default:
			panic(fmt.Sprintf("attribute %s: %T has no data source form", name, a))
		}
	}
	return out
}

// fill sets every attribute from what AWS reports.
func (m *trailModel) fill(ctx context.Context, info *trailInfo) diag.Diagnostics {
	var diags diag.Diagnostics
	timestamp := func(t time.Time) types.String {
		if t.IsZero() {
			return types.StringNull()
		}
		return types.StringValue(t.UTC().Format(time.RFC3339))
	}
	stringSet := func(ss []string) types.Set {
		v, d := types.SetValueFrom(ctx, types.StringType, append([]string{}, ss...))
		diags.Append(d...)
		return v
	}

	m.ID, m.ARN, m.Name = types.StringValue(info.ARN), types.StringValue(info.ARN), types.StringValue(info.Name)
	m.HomeRegion = types.StringValue(info.HomeRegion)
	m.S3BucketName, m.S3KeyPrefix = types.StringValue(info.S3BucketName), nullIfEmpty(info.S3KeyPrefix)
	m.IsMultiRegionTrail = types.BoolValue(info.IsMultiRegionTrail)
	m.IncludeGlobalServiceEvents = types.BoolValue(info.IncludeGlobalServiceEvents)
	m.EnableLogFileValidation = types.BoolValue(info.LogFileValidationEnabled)
	m.EnableLogging = types.BoolValue(info.Status.IsLogging)
	m.IsOrganizationTrail = types.BoolValue(info.IsOrganizationTrail)
	m.KMSKeyID = nullIfEmpty(info.KMSKeyID)
	m.CloudWatchLogsGroupARN = nullIfEmpty(info.CloudWatchLogsGroupARN)
	m.CloudWatchLogsRoleARN = nullIfEmpty(info.CloudWatchLogsRoleARN)
	// A topic configured by its ARN keeps that spelling: AWS reads it back
	// as the bare name, and the two denote the same topic.
	if info.SNSTopicARN == "" || m.SNSTopicName.ValueString() != info.SNSTopicARN {
		m.SNSTopicName = nullIfEmpty(info.SNSTopicName)
	}
	m.SNSTopicARN = nullIfEmpty(info.SNSTopicARN)

	tags, d := types.MapValueFrom(ctx, types.StringType, info.Tags)
	diags.Append(d...)
	m.Tags = tags

	rec := info.Recording
	m.ManagementEvents = types.StringValue(rec.ManagementEvents)
	if rec.DataEvents && rec.ManagementEvents != managementNone {
		// Data events are beyond what the attributes express: showing
		// Custom makes the plan put the configured selectors back.
		m.ManagementEvents = types.StringValue(managementCustom)
	}
	m.ExcludeManagementEventSources = stringSet(rec.ExcludeManagementEventSources)
	m.InsightTypes = stringSet(info.InsightTypes)

	status, d := types.ObjectValueFrom(ctx, trailStatusType.AttrTypes, trailStatusModel{
		IsLogging:                types.BoolValue(info.Status.IsLogging),
		LatestDeliveryTime:       timestamp(info.Status.LatestDeliveryTime),
		LatestDeliveryError:      nullIfEmpty(info.Status.LatestDeliveryError),
		LatestDigestDeliveryTime: timestamp(info.Status.LatestDigestDeliveryTime),
	})
	diags.Append(d...)
	m.Status = status
	return diags
}

// recording is what the model asks the trail to record.
func (m *trailModel) recording(ctx context.Context) (trailRecording, error) {
	excluded, diags := setStrings(ctx, m.ExcludeManagementEventSources)
	if diags.HasError() {
		return trailRecording{}, fmt.Errorf("reading exclude_management_event_sources: %v", diags)
	}
	return trailRecording{ManagementEvents: m.ManagementEvents.ValueString(), ExcludeManagementEventSources: excluded}, nil
}

func (m *trailModel) tagMap(ctx context.Context) (map[string]string, diag.Diagnostics) {
	tags := map[string]string{}
	if m.Tags.IsNull() || m.Tags.IsUnknown() {
		return tags, nil
	}
	diags := m.Tags.ElementsAs(ctx, &tags, false)
	return tags, diags
}

// setStrings is a string set's elements, sorted; nil when null or empty.
func setStrings(ctx context.Context, s types.Set) ([]string, diag.Diagnostics) {
	if s.IsNull() || s.IsUnknown() {
		return nil, nil
	}
	var out []string
	diags := s.ElementsAs(ctx, &out, false)
	return sortedCopy(out), diags
}
