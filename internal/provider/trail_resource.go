package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

var (
	_ resource.ResourceWithConfigure      = (*trailResource)(nil)
	_ resource.ResourceWithImportState    = (*trailResource)(nil)
	_ resource.ResourceWithValidateConfig = (*trailResource)(nil)
)

// defaultTrailTimeout bounds create and update, including the wait for a
// fresh bucket policy to propagate.
const defaultTrailTimeout = 5 * time.Minute

// NewTrailResource is the multi-region trail that records the audited
// service's calls, modelled on hashicorp/aws aws_cloudtrail.
func NewTrailResource() resource.Resource { return &trailResource{} }

type trailResource struct {
	clients *awsclient.Clients
}

type trailResourceModel struct {
	trailModel
	Timeouts timeouts.Value `tfsdk:"timeouts"`
}

func (r *trailResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_trail"
}

func (r *trailResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	optString := func(name string, validators ...validator.String) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, MarkdownDescription: trailDocs[name],
			Validators: append([]validator.String{stringvalidator.LengthAtLeast(1)}, validators...)}
	}
	optBool := func(name string, def bool) schema.BoolAttribute {
		return schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(def),
			MarkdownDescription: trailDocs[name]}
	}
	// Empty-set defaults make an omitted set and an empty one the same
	// value, so neither shows a diff against what AWS reports.
	optSet := func(name string, validators ...validator.Set) schema.SetAttribute {
		return schema.SetAttribute{ElementType: types.StringType, Optional: true, Computed: true,
			Default: setdefault.StaticValue(types.SetValueMust(types.StringType, nil)), MarkdownDescription: trailDocs[name],
			Validators: validators}
	}
	computedString := func(name string, keep bool) schema.StringAttribute {
		a := schema.StringAttribute{Computed: true, MarkdownDescription: trailDocs[name]}
		if keep {
			a.PlanModifiers = []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
		}
		return a
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A CloudTrail trail that records the audited service's API calls: multi-region, " +
			"global service events, log file validation and logging on by default. A trail records all management " +
			"events, optionally only read-only or only write calls (`management_events`), optionally leaving out KMS " +
			"and RDS Data API events (`exclude_management_event_sources`). AWS does not let a trail record only named " +
			"event sources (a CloudTrail Lake event data store can); the `opsaudit_events` data source and the " +
			"compliance rules filter by event source instead. Attribute names follow hashicorp/aws `aws_cloudtrail`; " +
			"unlike it, creating the trail in the same run as its bucket needs no `depends_on` (a bucket policy still " +
			"propagating is retried) and the default event selector never shows a diff. The id is the trail ARN. " +
			"Import with the trail ARN or name.",
		Attributes: map[string]schema.Attribute{
			"id":          computedString("id", true),
			"arn":         computedString("arn", true),
			"home_region": computedString("home_region", true),
			"name": schema.StringAttribute{Required: true, MarkdownDescription: trailDocs["name"],
				Validators:    []validator.String{trailName()},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"s3_bucket_name": schema.StringAttribute{Required: true, MarkdownDescription: trailDocs["s3_bucket_name"],
				Validators: []validator.String{stringvalidator.LengthBetween(3, 63)}},
			"s3_key_prefix":                 optString("s3_key_prefix", keyPrefix()),
			"is_multi_region_trail":         optBool("is_multi_region_trail", true),
			"include_global_service_events": optBool("include_global_service_events", true),
			"enable_log_file_validation":    optBool("enable_log_file_validation", true),
			"enable_logging":                optBool("enable_logging", true),
			"is_organization_trail":         optBool("is_organization_trail", false),
			"kms_key_id":                    optString("kms_key_id", kmsKeyARN()),
			"cloud_watch_logs_group_arn": optString("cloud_watch_logs_group_arn",
				stringvalidator.AlsoRequires(path.MatchRoot("cloud_watch_logs_role_arn"))),
			"cloud_watch_logs_role_arn": optString("cloud_watch_logs_role_arn",
				stringvalidator.AlsoRequires(path.MatchRoot("cloud_watch_logs_group_arn"))),
			"sns_topic_name": optString("sns_topic_name"),
			"sns_topic_arn":  computedString("sns_topic_arn", false),
			"tags": schema.MapAttribute{ElementType: types.StringType, Optional: true, Computed: true,
				Default:             mapdefault.StaticValue(types.MapValueMust(types.StringType, nil)),
				MarkdownDescription: trailDocs["tags"]},
			"management_events": schema.StringAttribute{Optional: true, Computed: true,
				Default: stringdefault.StaticString(managementAll), MarkdownDescription: trailDocs["management_events"],
				Validators: []validator.String{stringvalidator.OneOf(managementAll, managementWriteOnly, managementReadOnly)}},
			"exclude_management_event_sources": optSet("exclude_management_event_sources",
				setvalidator.ValueStringsAre(stringvalidator.OneOf(excludableManagementSources...))),
			"insight_types": optSet("insight_types", setvalidator.ValueStringsAre(
				stringvalidator.OneOf(string(cttypes.InsightTypeApiCallRateInsight), string(cttypes.InsightTypeApiErrorRateInsight)))),
			"status": trailStatusAttribute(),
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true,
				CreateDescription: "How long to wait for the trail to be created, including the wait for a new bucket " +
					"policy to propagate (default `5m`).",
				UpdateDescription: "How long to wait for an update (default `5m`)."}),
		},
	}
}

func (r *trailResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig rejects at plan time what AWS would refuse at apply time,
// and what would defeat the trail's purpose.
func (r *trailResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m trailResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	multi := m.IsMultiRegionTrail.IsNull() || m.IsMultiRegionTrail.ValueBool()
	if !m.IncludeGlobalServiceEvents.IsNull() && !m.IncludeGlobalServiceEvents.IsUnknown() &&
		!m.IncludeGlobalServiceEvents.ValueBool() && !m.IsMultiRegionTrail.IsUnknown() && multi {
		resp.Diagnostics.AddAttributeError(path.Root("include_global_service_events"), "Global service events required",
			"A multi-region trail must include global service events (AWS answers InvalidParameterCombinationException). "+
				"Remove include_global_service_events = false, or set is_multi_region_trail = false.")
	}
	excluded, diags := setStrings(ctx, m.ExcludeManagementEventSources)
	resp.Diagnostics.Append(diags...)
	// The OneOf validator refuses the audited source too, as AWS would;
	// this says why excluding it would matter even if AWS allowed it.
	if slices.Contains(excluded, events.DefaultEventSource) {
		resp.Diagnostics.AddAttributeError(path.Root("exclude_management_event_sources"), "Audited source excluded",
			fmt.Sprintf("Excluding %s would stop the trail recording the calls it exists to audit (and AWS lets a "+
				"trail exclude only %s). Remove it from exclude_management_event_sources.",
				events.DefaultEventSource, strings.Join(excludableManagementSources, " and ")))
	}
}

func (r *trailResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan trailResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, defaultTrailTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	name := plan.Name.ValueString()
	ct := r.clients.CloudTrail(r.clients.Region)
	tags, diags := plan.tagMap(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	in := &cloudtrail.CreateTrailInput{
		Name:                       aws.String(name),
		S3BucketName:               plan.S3BucketName.ValueStringPointer(),
		S3KeyPrefix:                plan.S3KeyPrefix.ValueStringPointer(),
		SnsTopicName:               plan.SNSTopicName.ValueStringPointer(),
		IsMultiRegionTrail:         plan.IsMultiRegionTrail.ValueBoolPointer(),
		IncludeGlobalServiceEvents: plan.IncludeGlobalServiceEvents.ValueBoolPointer(),
		EnableLogFileValidation:    plan.EnableLogFileValidation.ValueBoolPointer(),
		IsOrganizationTrail:        plan.IsOrganizationTrail.ValueBoolPointer(),
		KmsKeyId:                   plan.KMSKeyID.ValueStringPointer(),
		CloudWatchLogsLogGroupArn:  plan.CloudWatchLogsGroupARN.ValueStringPointer(),
		CloudWatchLogsRoleArn:      plan.CloudWatchLogsRoleARN.ValueStringPointer(),
		TagsList:                   tagList(tags),
	}
	out, err := awserr.RetryWhen(ctx, 0, func(ctx context.Context) (*cloudtrail.CreateTrailOutput, error) {
		return ct.CreateTrail(ctx, in)
	}, policyPropagationCodes...)
	if err != nil {
		resp.Diagnostics.AddError("Creating trail", trailWriteError(fmt.Errorf("creating trail %q: %w", name, err), timeout))
		return
	}
	trailARN := aws.ToString(out.TrailARN)
	tflog.Debug(ctx, "created trail", map[string]any{"arn": trailARN})

	// From here on the trail exists: whatever fails, it is saved in state
	// (and so tainted) rather than orphaned.
	stepErr := r.apply(ctx, ct, trailARN, &plan.trailModel, nil)
	r.saveState(ctx, trailARN, plan, true, &resp.State, &resp.Diagnostics)
	if stepErr != nil {
		resp.Diagnostics.AddError("Configuring trail", trailWriteError(stepErr, timeout)+
			"\n\nThe trail was created and is saved in state, marked tainted: the next apply replaces it.")
	}
}

func (r *trailResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state trailResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	info, err := readTrail(ctx, r.clients, state.ARN.ValueString())
	if awserr.IsA[*cttypes.TrailNotFoundException](err) {
		tflog.Debug(ctx, "trail is gone; removing it from state", map[string]any{"arn": state.ARN.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Reading trail", awserr.Explain(err))
		return
	}
	resp.Diagnostics.Append(state.fill(ctx, info)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *trailResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state trailResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, defaultTrailTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	trailARN := state.ARN.ValueString()
	ct := r.clients.CloudTrail(state.HomeRegion.ValueString())
	err := r.apply(ctx, ct, trailARN, &plan.trailModel, &state.trailModel)
	r.saveState(ctx, trailARN, plan, false, &resp.State, &resp.Diagnostics)
	if err != nil {
		resp.Diagnostics.AddError("Updating trail", trailWriteError(err, timeout))
	}
}

func (r *trailResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state trailResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	trailARN := state.ARN.ValueString()
	ct := r.clients.CloudTrail(trailHomeRegion(trailARN))
	_, err := ct.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(trailARN)})
	if err != nil && !awserr.IsA[*cttypes.TrailNotFoundException](err) {
		resp.Diagnostics.AddError("Deleting trail", awserr.Explain(fmt.Errorf("deleting trail %q: %w", trailARN, err)))
		return
	}
	tflog.Debug(ctx, "deleted trail", map[string]any{"arn": trailARN})
}

// ImportState accepts a trail ARN or a name; a name is resolved in the
// provider's region.
func (r *trailResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	trailARN, err := resolveTrailARN(ctx, r.clients, req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Importing trail", awserr.Explain(err)+"\n\nGive the ARN or the name of an existing trail.")
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), trailARN)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("arn"), trailARN)...)
}

// apply brings the trail to plan: settings, logging, selectors, insights
// and tags, each only when it differs from prior (nil for a new trail).
func (r *trailResource) apply(ctx context.Context, ct *cloudtrail.Client, trailARN string, plan, prior *trailModel) error {
	id := aws.String(trailARN)
	if prior != nil && plan.settingsDiffer(prior) {
		in := &cloudtrail.UpdateTrailInput{
			Name:                       id,
			S3BucketName:               plan.S3BucketName.ValueStringPointer(),
			S3KeyPrefix:                aws.String(plan.S3KeyPrefix.ValueString()),
			SnsTopicName:               aws.String(plan.SNSTopicName.ValueString()),
			IsMultiRegionTrail:         plan.IsMultiRegionTrail.ValueBoolPointer(),
			IncludeGlobalServiceEvents: plan.IncludeGlobalServiceEvents.ValueBoolPointer(),
			EnableLogFileValidation:    plan.EnableLogFileValidation.ValueBoolPointer(),
			IsOrganizationTrail:        plan.IsOrganizationTrail.ValueBoolPointer(),
			KmsKeyId:                   aws.String(plan.KMSKeyID.ValueString()),
			CloudWatchLogsLogGroupArn:  aws.String(plan.CloudWatchLogsGroupARN.ValueString()),
			CloudWatchLogsRoleArn:      aws.String(plan.CloudWatchLogsRoleARN.ValueString()),
		}
		if _, err := awserr.RetryWhen(ctx, 0, func(ctx context.Context) (*cloudtrail.UpdateTrailOutput, error) {
			return ct.UpdateTrail(ctx, in)
		}, policyPropagationCodes...); err != nil {
			return fmt.Errorf("updating trail %q: %w", trailARN, err)
		}
		tflog.Debug(ctx, "updated trail settings", map[string]any{"arn": trailARN})
	}

	wasLogging := prior != nil && prior.EnableLogging.ValueBool()
	switch logging := plan.EnableLogging.ValueBool(); {
	case logging && !wasLogging:
		if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: id}); err != nil {
			return fmt.Errorf("starting logging of trail %q: %w", trailARN, err)
		}
		tflog.Debug(ctx, "started logging", map[string]any{"arn": trailARN})
	case !logging && wasLogging:
		if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: id}); err != nil {
			return fmt.Errorf("stopping logging of trail %q: %w", trailARN, err)
		}
		tflog.Debug(ctx, "stopped logging", map[string]any{"arn": trailARN})
	}

	want, err := plan.recording(ctx)
	if err != nil {
		return err
	}
	var had trailRecording
	if prior != nil {
		if had, err = prior.recording(ctx); err != nil {
			return err
		}
	} else {
		had = trailRecording{ManagementEvents: managementAll}
	}
	if !recordingEqual(want, had) {
		if _, err := ct.PutEventSelectors(ctx, eventSelectorsInput(trailARN, want)); err != nil {
			return fmt.Errorf("writing the event selectors of trail %q: %w", trailARN, err)
		}
		tflog.Debug(ctx, "wrote event selectors", map[string]any{"arn": trailARN, "management_events": want.ManagementEvents,
			"excluded": want.ExcludeManagementEventSources})
	}

	wantInsights, diags := setStrings(ctx, plan.InsightTypes)
	if diags.HasError() {
		return fmt.Errorf("reading insight_types: %v", diags)
	}
	var hadInsights []string
	if prior != nil {
		if hadInsights, diags = setStrings(ctx, prior.InsightTypes); diags.HasError() {
			return fmt.Errorf("reading insight_types: %v", diags)
		}
	}
	if !slices.Equal(wantInsights, hadInsights) {
		sels := []cttypes.InsightSelector{}
		for _, t := range wantInsights {
			sels = append(sels, cttypes.InsightSelector{InsightType: cttypes.InsightType(t)})
		}
		if _, err := ct.PutInsightSelectors(ctx, &cloudtrail.PutInsightSelectorsInput{TrailName: id, InsightSelectors: sels}); err != nil {
			return fmt.Errorf("writing the insight selectors of trail %q: %w", trailARN, err)
		}
		tflog.Debug(ctx, "wrote insight selectors", map[string]any{"arn": trailARN, "insight_types": wantInsights})
	}

	if prior != nil {
		return updateTags(ctx, ct, trailARN, plan, prior)
	}
	return nil
}

// updateTags adds and removes tags so that the trail has plan's.
func updateTags(ctx context.Context, ct *cloudtrail.Client, trailARN string, plan, prior *trailModel) error {
	want, diags := plan.tagMap(ctx)
	if diags.HasError() {
		return fmt.Errorf("reading tags: %v", diags)
	}
	had, diags := prior.tagMap(ctx)
	if diags.HasError() {
		return fmt.Errorf("reading tags: %v", diags)
	}
	var remove []cttypes.Tag
	for k := range had {
		if _, ok := want[k]; !ok {
			remove = append(remove, cttypes.Tag{Key: aws.String(k)})
		}
	}
	add := map[string]string{}
	for k, v := range want {
		if old, ok := had[k]; !ok || old != v {
			add[k] = v
		}
	}
	if len(remove) > 0 {
		if _, err := ct.RemoveTags(ctx, &cloudtrail.RemoveTagsInput{ResourceId: aws.String(trailARN), TagsList: remove}); err != nil {
			return fmt.Errorf("removing tags of trail %q: %w", trailARN, err)
		}
	}
	if len(add) > 0 {
		if _, err := ct.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(trailARN), TagsList: tagList(add)}); err != nil {
			return fmt.Errorf("adding tags to trail %q: %w", trailARN, err)
		}
	}
	return nil
}

// saveState reads the trail back and stores what AWS reports. A trail just
// created may not show at once: reading it back retries NotFound briefly,
// as hashicorp/aws does. When the read fails, it stores the plan with the
// ARN, so the trail is tracked.
func (r *trailResource) saveState(ctx context.Context, trailARN string, plan trailResourceModel, created bool, state stateSetter, diags *diag.Diagnostics) {
	var notFound []string
	if created {
		notFound = []string{"TrailNotFoundException"}
	}
	info, err := awserr.RetryWhen(ctx, awserr.PropagationTimeout, func(ctx context.Context) (*trailInfo, error) {
		return readTrail(ctx, r.clients, trailARN)
	}, notFound...)
	if err == nil {
		diags.Append(plan.fill(ctx, info)...)
		diags.Append(state.Set(ctx, plan)...)
		return
	}
	diags.AddError("Reading trail back", awserr.Explain(err))
	plan.ID, plan.ARN = types.StringValue(trailARN), types.StringValue(trailARN)
	plan.HomeRegion = types.StringValue(trailHomeRegion(trailARN))
	if plan.SNSTopicARN.IsUnknown() {
		plan.SNSTopicARN = types.StringNull()
	}
	if plan.Status.IsUnknown() {
		plan.Status = types.ObjectNull(trailStatusType.AttrTypes)
	}
	diags.Append(state.Set(ctx, plan)...)
}

type stateSetter interface {
	Set(ctx context.Context, val any) diag.Diagnostics
}

// policyPropagationCodes are CreateTrail's and UpdateTrail's answers while
// a bucket, key or topic policy written moments ago does not yet let
// CloudTrail in: they are retried until the operation's timeout.
var policyPropagationCodes = []string{
	"InsufficientS3BucketPolicyException", "InsufficientEncryptionPolicyException", "InsufficientSnsTopicPolicyException",
}

// trailWriteError is the detail of a failed create or update: the error,
// what to do about its AWS error code, and the timeout when it ran out.
func trailWriteError(err error, timeout time.Duration) string {
	msg := awserr.Explain(err)
	if errors.Is(err, context.DeadlineExceeded) {
		msg += fmt.Sprintf("\n\nThe operation did not finish within %s; raise the timeouts block's value.", timeout)
	}
	return msg
}

// eventSelectorsInput writes r as the one basic selector; writing it also
// replaces any advanced selectors set elsewhere.
func eventSelectorsInput(trailARN string, r trailRecording) *cloudtrail.PutEventSelectorsInput {
	return &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(trailARN), EventSelectors: []cttypes.EventSelector{{
		ReadWriteType:                 cttypes.ReadWriteType(r.ManagementEvents),
		IncludeManagementEvents:       aws.Bool(true),
		ExcludeManagementEventSources: append([]string{}, r.ExcludeManagementEventSources...),
	}}}
}

func recordingEqual(a, b trailRecording) bool {
	return a.ManagementEvents == b.ManagementEvents &&
		slices.Equal(a.ExcludeManagementEventSources, b.ExcludeManagementEventSources)
}

// settingsDiffer reports whether UpdateTrail is needed to go from prior to m.
func (m *trailModel) settingsDiffer(prior *trailModel) bool {
	return !m.S3BucketName.Equal(prior.S3BucketName) || !m.S3KeyPrefix.Equal(prior.S3KeyPrefix) ||
		!m.SNSTopicName.Equal(prior.SNSTopicName) || !m.IsMultiRegionTrail.Equal(prior.IsMultiRegionTrail) ||
		!m.IncludeGlobalServiceEvents.Equal(prior.IncludeGlobalServiceEvents) ||
		!m.EnableLogFileValidation.Equal(prior.EnableLogFileValidation) ||
		!m.IsOrganizationTrail.Equal(prior.IsOrganizationTrail) || !m.KMSKeyID.Equal(prior.KMSKeyID) ||
		!m.CloudWatchLogsGroupARN.Equal(prior.CloudWatchLogsGroupARN) ||
		!m.CloudWatchLogsRoleARN.Equal(prior.CloudWatchLogsRoleARN)
}

func tagList(tags map[string]string) []cttypes.Tag {
	var out []cttypes.Tag
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, cttypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}
