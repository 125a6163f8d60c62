package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/bucketpolicy"
)

var (
	_ resource.ResourceWithConfigure      = (*logBucketResource)(nil)
	_ resource.ResourceWithImportState    = (*logBucketResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*logBucketResource)(nil)
	_ resource.ResourceWithValidateConfig = (*logBucketResource)(nil)
)

const (
	// lifecycleRuleID names the one lifecycle rule the resource owns.
	lifecycleRuleID = "opsaudit-log-retention"
	// bucketPrefixMaxLength leaves room for the 26-character unique suffix
	// within S3's 63, as hashicorp/aws does.
	bucketPrefixMaxLength = 37

	sseS3  = string(s3types.ServerSideEncryptionAes256)
	sseKMS = string(s3types.ServerSideEncryptionAwsKms)
)

// NewLogBucketResource is the hardened S3 bucket CloudTrail delivers to:
// bucket, policy, public access block, ownership, encryption, versioning,
// object lock, lifecycle, access logging and tags in one resource.
func NewLogBucketResource() resource.Resource { return &logBucketResource{} }

type logBucketResource struct {
	clients *awsclient.Clients
}

type logBucketModel struct {
	ID                             types.String `tfsdk:"id"`
	Bucket                         types.String `tfsdk:"bucket"`
	BucketPrefix                   types.String `tfsdk:"bucket_prefix"`
	TrailNames                     types.Set    `tfsdk:"trail_names"`
	SourceTrailARNs                types.Set    `tfsdk:"source_trail_arns"`
	S3KeyPrefix                    types.String `tfsdk:"s3_key_prefix"`
	OrganizationID                 types.String `tfsdk:"organization_id"`
	KMSKeyARN                      types.String `tfsdk:"kms_key_arn"`
	RetentionDays                  types.Int64  `tfsdk:"retention_days"`
	NoncurrentVersionRetentionDays types.Int64  `tfsdk:"noncurrent_version_retention_days"`
	Versioning                     types.Bool   `tfsdk:"versioning"`
	ObjectLock                     types.Object `tfsdk:"object_lock"`
	AccessLogBucket                types.String `tfsdk:"access_log_bucket"`
	AccessLogPrefix                types.String `tfsdk:"access_log_prefix"`
	ForceDestroy                   types.Bool   `tfsdk:"force_destroy"`
	Tags                           types.Map    `tfsdk:"tags"`

	ARN                   types.String `tfsdk:"arn"`
	Region                types.String `tfsdk:"region"`
	Policy                types.String `tfsdk:"policy"`
	BlockPublicACLs       types.Bool   `tfsdk:"block_public_acls"`
	BlockPublicPolicy     types.Bool   `tfsdk:"block_public_policy"`
	IgnorePublicACLs      types.Bool   `tfsdk:"ignore_public_acls"`
	RestrictPublicBuckets types.Bool   `tfsdk:"restrict_public_buckets"`
	ObjectOwnership       types.String `tfsdk:"object_ownership"`
	SSEAlgorithm          types.String `tfsdk:"sse_algorithm"`
	BucketKeyEnabled      types.Bool   `tfsdk:"bucket_key_enabled"`
}

type objectLockModel struct {
	Mode types.String `tfsdk:"mode"`
	Days types.Int64  `tfsdk:"days"`
}

func (r *logBucketResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_log_bucket"
}

func (r *logBucketResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	alwaysTrue := func(what string) schema.BoolAttribute {
		return schema.BoolAttribute{
			Computed: true,
			Default:  booldefault.StaticBool(true),
			MarkdownDescription: "Public access block setting `" + what + "` as read from the bucket; always `true`. " +
				"It shows a change when it was turned off outside Terraform, and the next apply turns it back on.",
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A hardened S3 bucket that receives CloudTrail log files: what otherwise takes seven " +
			"hashicorp/aws resources and a hand-written policy. Every control is on by default: all four public access " +
			"block settings, object ownership `BucketOwnerEnforced`, default encryption (SSE-S3, or SSE-KMS with a " +
			"bucket key), versioning, log retention, a statement denying requests without TLS, and CloudTrail " +
			"statements scoped with `aws:SourceArn` to the named trails. Each sub-resource is compared with what it " +
			"should be on every refresh: a change made outside Terraform shows in the next plan, and the next apply " +
			"restores it. Import with the bucket name.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Name of the bucket.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"bucket": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Name of the bucket; changing it replaces the bucket. Checked against the S3 " +
					"naming rules at plan time. Exactly one of `bucket` and `bucket_prefix` is required.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace(), stringplanmodifier.UseStateForUnknown()},
				Validators: []validator.String{
					stringvalidator.ExactlyOneOf(path.MatchRoot("bucket_prefix")),
					bucketName(),
				},
			},
			"bucket_prefix": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("Creates a unique bucket name beginning with this prefix (at most %d "+
					"characters); changing it replaces the bucket.", bucketPrefixMaxLength),
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, bucketPrefixMaxLength),
					bucketPrefix(),
				},
			},
			"trail_names": schema.SetAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "Names of the trails allowed to write, in the provider's account and region: their " +
					"ARNs (`arn:<partition>:cloudtrail:<region>:<account>:trail/<name>`) go into the policy's " +
					"`aws:SourceArn` condition, so the trails may be created after the bucket. At least one of " +
					"`trail_names` and `source_trail_arns` is required.",
				Validators: []validator.Set{setvalidator.ValueStringsAre(trailName())},
			},
			"source_trail_arns": schema.SetAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "ARNs of further trails allowed to write, for trails of another region or " +
					"account (such as an organization trail created by the management account).",
				Validators: []validator.Set{setvalidator.ValueStringsAre(trailARN())},
			},
			"s3_key_prefix": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The trails' `s3_key_prefix`: log files arrive under " +
					"`<s3_key_prefix>/AWSLogs/<account id>/`. Without slashes at either end. Default: none.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1), keyPrefix()},
			},
			"organization_id": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "AWS Organizations id (`o-...`) of an organization trail: CloudTrail may then " +
					"also write under `AWSLogs/<organization_id>/`.",
				Validators: []validator.String{organizationID()},
			},
			"kms_key_arn": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "ARN of a KMS key (`arn:<partition>:kms:<region>:<account>:key/<id>`) for SSE-KMS " +
					"default encryption with an S3 bucket key. Aliases and bare key ids are refused at plan time: S3 " +
					"reports the key ARN, so an alias would show a change on every plan (hashicorp/aws #33928). " +
					"Default: SSE-S3 (`AES256`).",
				Validators: []validator.String{kmsKeyARN()},
			},
			"retention_days": schema.Int64Attribute{
				Optional: true,
				Computed: true,
				Default:  int64default.StaticInt64(365),
				MarkdownDescription: "Days after which log objects expire (a lifecycle rule). `0` keeps them forever " +
					"(Terraform cannot tell an explicit `null` from an omitted argument, so `0` is the way to say " +
					"\"never\"). Must not be shorter than `object_lock.days`. Default: `365`.",
				Validators: []validator.Int64{int64validator.AtLeast(0)},
			},
			"noncurrent_version_retention_days": schema.Int64Attribute{
				Optional: true,
				Computed: true,
				Default:  int64default.StaticInt64(90),
				MarkdownDescription: "Days after which noncurrent object versions expire. `0` keeps them forever. " +
					"Default: `90`.",
				Validators: []validator.Int64{int64validator.AtLeast(0)},
			},
			"versioning": schema.BoolAttribute{
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(true),
				MarkdownDescription: "Keep object versions; `object_lock` requires it. Default: `true`.",
			},
			"access_log_bucket": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Bucket that receives this bucket's S3 server access logs (Security Hub " +
					"CloudTrail.7, CIS 3.4). It must let `logging.s3.amazonaws.com` write. Default: no access logging.",
				Validators: []validator.String{bucketName()},
			},
			"access_log_prefix": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Key prefix of the server access logs in `access_log_bucket`.",
				Validators: []validator.String{
					stringvalidator.LengthAtLeast(1),
					stringvalidator.AlsoRequires(path.MatchRoot("access_log_bucket")),
				},
			},
			"force_destroy": schema.BoolAttribute{
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
				MarkdownDescription: "Let destroy delete every object version and delete marker first. Without it, " +
					"destroying a bucket that holds logs fails, which protects the audit trail. Default: `false`.",
			},
			"tags": schema.MapAttribute{
				ElementType:         types.StringType,
				Optional:            true,
				Computed:            true,
				Default:             mapdefault.StaticValue(types.MapValueMust(types.StringType, map[string]attr.Value{})),
				MarkdownDescription: "Tags of the bucket. Default: none (`{}`).",
			},

			"arn": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "ARN of the bucket.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"region": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Region of the bucket: the provider's home region.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"policy": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The bucket policy (JSON) the resource writes, as " +
					"`provider::opsaudit::cloudtrail_bucket_policy` returns it. When the bucket's policy was changed " +
					"outside Terraform, this holds the policy found, and the plan shows the change back. Policies are " +
					"compared by meaning, not text.",
			},
			"block_public_acls":       alwaysTrue("BlockPublicAcls"),
			"block_public_policy":     alwaysTrue("BlockPublicPolicy"),
			"ignore_public_acls":      alwaysTrue("IgnorePublicAcls"),
			"restrict_public_buckets": alwaysTrue("RestrictPublicBuckets"),
			"object_ownership": schema.StringAttribute{
				Computed: true,
				Default:  stringdefault.StaticString(string(s3types.ObjectOwnershipBucketOwnerEnforced)),
				MarkdownDescription: "Object ownership as read from the bucket; always `BucketOwnerEnforced` (ACLs " +
					"disabled).",
			},
			"sse_algorithm": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "Default encryption as read from the bucket: `AES256` (SSE-S3) or `aws:kms` " +
					"with `kms_key_arn`.",
			},
			"bucket_key_enabled": schema.BoolAttribute{
				Computed:            true,
				MarkdownDescription: "Whether the S3 bucket key is on, as read from the bucket; `true` with `kms_key_arn`.",
			},
			"object_lock": objectLockAttribute(),
		},
	}
}

// objectLockAttribute is object_lock: a single object whose mode and days
// are both required, which Terraform then checks itself.
func objectLockAttribute() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: "Object lock default retention (WORM) for log objects, such as " +
			"`{ mode = \"GOVERNANCE\", days = 365 }`. Object lock can only be turned on when a bucket is created, so " +
			"adding or removing it replaces the bucket; changing `mode` or `days` is done in place. Requires " +
			"`versioning`. Default: none.",
		PlanModifiers: []planmodifier.Object{objectplanmodifier.RequiresReplaceIf(
			func(_ context.Context, req planmodifier.ObjectRequest, resp *objectplanmodifier.RequiresReplaceIfFuncResponse) {
				resp.RequiresReplace = req.StateValue.IsNull() != req.PlanValue.IsNull()
			},
			"Adding or removing object lock replaces the bucket.",
			"Adding or removing object lock replaces the bucket.",
		)},
		Attributes: map[string]schema.Attribute{
			"mode": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "`GOVERNANCE` (users with `s3:BypassGovernanceRetention` may delete) or " +
					"`COMPLIANCE` (nobody may delete before the days are over).",
				Validators: []validator.String{stringvalidator.OneOf(
					string(s3types.ObjectLockRetentionModeGovernance), string(s3types.ObjectLockRetentionModeCompliance))},
			},
			"days": schema.Int64Attribute{
				Required:            true,
				MarkdownDescription: "Days a new log object is locked.",
				Validators:          []validator.Int64{int64validator.Between(1, 36500)},
			},
		},
	}
}

// objectLockType is object_lock's type, taken from its schema.
var objectLockType = objectLockAttribute().GetType().(types.ObjectType)

// objectLock is object_lock's value; nil when it is not set or not known
// yet.
func (m *logBucketModel) objectLock(ctx context.Context) (*objectLockModel, diag.Diagnostics) {
	if m.ObjectLock.IsNull() || m.ObjectLock.IsUnknown() {
		return nil, nil
	}
	var lock objectLockModel
	diags := m.ObjectLock.As(ctx, &lock, basetypes.ObjectAsOptions{})
	return &lock, diags
}

func (r *logBucketResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig holds the checks that span attributes.
func (r *logBucketResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m logBucketModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	emptyOrNull := func(s types.Set) bool { return s.IsNull() || (!s.IsUnknown() && len(s.Elements()) == 0) }
	if emptyOrNull(m.TrailNames) && emptyOrNull(m.SourceTrailARNs) {
		resp.Diagnostics.AddAttributeError(path.Root("trail_names"), "No trail may write to the bucket",
			"Give trail_names (trails of this account and region) or source_trail_arns: the bucket policy lets only "+
				"these trails write (aws:SourceArn), so without any the bucket cannot receive logs.")
	}
	lock, diags := m.objectLock(ctx)
	resp.Diagnostics.Append(diags...)
	if lock == nil {
		return
	}
	if !m.Versioning.IsNull() && !m.Versioning.IsUnknown() && !m.Versioning.ValueBool() {
		resp.Diagnostics.AddAttributeError(path.Root("versioning"), "Object lock needs versioning",
			"S3 object lock works on object versions: remove versioning = false or object_lock.")
	}
	days, retention := lock.Days, m.RetentionDays
	if !days.IsNull() && !days.IsUnknown() && !retention.IsNull() && !retention.IsUnknown() &&
		retention.ValueInt64() > 0 && retention.ValueInt64() < days.ValueInt64() {
		resp.Diagnostics.AddAttributeError(path.Root("retention_days"), "Retention shorter than object lock",
			fmt.Sprintf("retention_days (%d) is shorter than object_lock.days (%d): the lifecycle rule could not expire "+
				"locked log objects. Make retention_days at least %d, or 0 to keep logs forever.",
				retention.ValueInt64(), days.ValueInt64(), days.ValueInt64()))
	}
}

// ModifyPlan fills in the computed attributes that follow from the
// configuration, so that a bucket read back in another shape shows a change.
func (r *logBucketResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.clients == nil {
		return
	}
	var plan logBucketModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	var state *logBucketModel
	if !req.State.Raw.IsNull() {
		state = &logBucketModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}

	if !plan.Bucket.IsUnknown() {
		plan.ID = plan.Bucket
		plan.ARN = types.StringValue(r.bucketARN(plan.Bucket.ValueString()))
	}
	if plan.Region.IsUnknown() {
		plan.Region = types.StringValue(r.clients.Region)
	}
	if plan.KMSKeyARN.IsUnknown() {
		plan.SSEAlgorithm, plan.BucketKeyEnabled = types.StringUnknown(), types.BoolUnknown()
	} else {
		plan.SSEAlgorithm, plan.BucketKeyEnabled = types.StringValue(sseS3), types.BoolValue(false)
		if !plan.KMSKeyARN.IsNull() {
			plan.SSEAlgorithm, plan.BucketKeyEnabled = types.StringValue(sseKMS), types.BoolValue(true)
		}
	}

	plan.Policy = types.StringUnknown()
	if opts, known := r.policyOptions(ctx, &plan, &resp.Diagnostics); known {
		doc, err := bucketpolicy.Build(opts)
		if err != nil {
			resp.Diagnostics.AddError("Building the bucket policy", err.Error())
			return
		}
		plan.Policy = types.StringValue(doc)
		// Keep the stored text when it means the same, so that
		// formatting never shows as a change.
		if state != nil && !state.Policy.IsNull() {
			if same, err := bucketpolicy.Equivalent(state.Policy.ValueString(), doc); err == nil && same {
				plan.Policy = state.Policy
			}
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *logBucketResource) bucketARN(name string) string {
	return arn.ARN{Partition: r.clients.Partition, Service: "s3", Resource: name}.String()
}

// policyOptions turns the model into policy inputs; known is false while any
// input is unknown.
func (r *logBucketResource) policyOptions(ctx context.Context, m *logBucketModel, diags *diag.Diagnostics) (bucketpolicy.Options, bool) {
	for _, v := range []interface{ IsUnknown() bool }{m.Bucket, m.TrailNames, m.SourceTrailARNs, m.S3KeyPrefix, m.OrganizationID} {
		if v.IsUnknown() {
			return bucketpolicy.Options{}, false
		}
	}
	var names, arns []string
	diags.Append(m.TrailNames.ElementsAs(ctx, &names, false)...)
	diags.Append(m.SourceTrailARNs.ElementsAs(ctx, &arns, false)...)
	for _, n := range names {
		arns = append(arns, bucketpolicy.TrailARN(r.clients.Partition, r.clients.Region, r.clients.AccountID, n))
	}
	return bucketpolicy.Options{
		Bucket:         m.Bucket.ValueString(),
		AccountID:      r.clients.AccountID,
		TrailARNs:      arns,
		KeyPrefix:      m.S3KeyPrefix.ValueString(),
		OrganizationID: m.OrganizationID.ValueString(),
	}, !diags.HasError()
}

func (r *logBucketResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan logBucketModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Bucket.ValueString()
	if plan.Bucket.IsUnknown() {
		suffix, err := uniqueSuffix()
		if err != nil {
			resp.Diagnostics.AddError("Generating a bucket name", err.Error())
			return
		}
		name = plan.BucketPrefix.ValueString() + suffix
		plan.Bucket, plan.ID = types.StringValue(name), types.StringValue(name)
		plan.ARN = types.StringValue(r.bucketARN(name))
		opts, _ := r.policyOptions(ctx, &plan, &resp.Diagnostics)
		doc, err := bucketpolicy.Build(opts)
		if err != nil {
			resp.Diagnostics.AddError("Building the bucket policy", err.Error())
			return
		}
		plan.Policy = types.StringValue(doc)
	}
	if resp.Diagnostics.HasError() {
		return
	}

	client := r.clients.S3("")
	in := &s3.CreateBucketInput{
		Bucket:          aws.String(name),
		ObjectOwnership: s3types.ObjectOwnershipBucketOwnerEnforced,
	}
	if r.clients.Region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{
			LocationConstraint: s3types.BucketLocationConstraint(r.clients.Region),
		}
	}
	if !plan.ObjectLock.IsNull() {
		in.ObjectLockEnabledForBucket = aws.Bool(true)
	}
	tflog.Debug(ctx, "creating log bucket", map[string]any{"bucket": name, "object_lock": !plan.ObjectLock.IsNull()})
	if _, err := awserr.RetryWhen(ctx, awserr.PropagationTimeout, func(ctx context.Context) (*s3.CreateBucketOutput, error) {
		return client.CreateBucket(ctx, in)
	}, "OperationAborted"); err != nil {
		resp.Diagnostics.AddError("Creating the log bucket", awserr.Explain(fmt.Errorf("creating bucket %q: %w", name, err)))
		return
	}
	// From here on the bucket exists: a failure below keeps it in state,
	// where Terraform taints it, so nothing is orphaned.
	if err := r.apply(ctx, client, &plan, nil); err != nil {
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		resp.Diagnostics.AddError("Configuring the log bucket", awserr.Explain(err))
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *logBucketResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state logBucketModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	found, err := r.read(ctx, &state, &resp.Diagnostics)
	if err != nil {
		resp.Diagnostics.AddError("Reading the log bucket", awserr.Explain(err))
		return
	}
	if !found {
		tflog.Debug(ctx, "log bucket is gone, removing it from state", map[string]any{"bucket": state.Bucket.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *logBucketResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state logBucketModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.apply(ctx, r.clients.S3(""), &plan, &state); err != nil {
		resp.Diagnostics.AddError("Updating the log bucket", awserr.Explain(err))
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *logBucketResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state logBucketModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name, client := state.Bucket.ValueString(), r.clients.S3("")
	if state.ForceDestroy.ValueBool() {
		if err := emptyBucket(ctx, client, name); err != nil {
			resp.Diagnostics.AddError("Emptying the log bucket", awserr.Explain(err))
			return
		}
	}
	tflog.Debug(ctx, "deleting log bucket", map[string]any{"bucket": name})
	_, err := awserr.RetryWhen(ctx, awserr.PropagationTimeout, func(ctx context.Context) (*s3.DeleteBucketOutput, error) {
		return client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
	}, "OperationAborted")
	if err != nil && !awserr.BucketNotFound(err) {
		resp.Diagnostics.AddError("Deleting the log bucket", awserr.Explain(fmt.Errorf("deleting bucket %q: %w", name, err)))
	}
}

func (r *logBucketResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if problem := bucketNameProblem(req.ID); problem != "" {
		resp.Diagnostics.AddError("Invalid import id", "Import a log bucket by its name. "+problem)
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("bucket"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}

// read fills m with what the bucket holds; found is false when the bucket
// does not exist. A policy, trail list or key prefix missing from m (after
// import) is recovered from the bucket policy.
func (r *logBucketResource) read(ctx context.Context, m *logBucketModel, diags *diag.Diagnostics) (found bool, err error) {
	name, client := m.Bucket.ValueString(), r.clients.S3("")
	in := func() *string { return aws.String(name) }
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: in()}); err != nil {
		if awserr.BucketNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("reading bucket %q: %w", name, err)
	}
	m.ID = types.StringValue(name)
	m.ARN = types.StringValue(r.bucketARN(name))
	if m.ForceDestroy.IsNull() {
		m.ForceDestroy = types.BoolValue(false)
	}

	loc, err := client.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: in()})
	if err != nil {
		return true, fmt.Errorf("reading the location of bucket %q: %w", name, err)
	}
	m.Region = types.StringValue(awsclient.LocationRegion(loc.LocationConstraint))

	cfg, err := readBucketConfig(ctx, client, name)
	if err != nil {
		return true, err
	}
	r.readPolicy(ctx, cfg.Policy, m, diags)

	pab := cfg.PublicAccessBlock
	if pab == nil {
		pab = &s3types.PublicAccessBlockConfiguration{}
	}
	m.BlockPublicACLs = types.BoolValue(aws.ToBool(pab.BlockPublicAcls))
	m.BlockPublicPolicy = types.BoolValue(aws.ToBool(pab.BlockPublicPolicy))
	m.IgnorePublicACLs = types.BoolValue(aws.ToBool(pab.IgnorePublicAcls))
	m.RestrictPublicBuckets = types.BoolValue(aws.ToBool(pab.RestrictPublicBuckets))
	m.ObjectOwnership = nullIfEmpty(cfg.ObjectOwnership)
	m.SSEAlgorithm, m.KMSKeyARN = nullIfEmpty(cfg.SSEAlgorithm), nullIfEmpty(cfg.KMSKeyID)
	m.BucketKeyEnabled = types.BoolValue(cfg.BucketKeyEnabled)
	m.Versioning = types.BoolValue(cfg.Versioning == string(s3types.BucketVersioningStatusEnabled))

	m.ObjectLock = types.ObjectNull(objectLockType.AttrTypes)
	lock, err := client.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: in()})
	switch {
	case err == nil && lock.ObjectLockConfiguration != nil && lock.ObjectLockConfiguration.ObjectLockEnabled == s3types.ObjectLockEnabledEnabled:
		// Enabled without a default retention reads as mode and days null:
		// the plan then shows the configured ones to write.
		l := objectLockModel{Mode: types.StringNull(), Days: types.Int64Null()}
		if rule := lock.ObjectLockConfiguration.Rule; rule != nil && rule.DefaultRetention != nil {
			d := rule.DefaultRetention
			l.Mode = types.StringValue(string(d.Mode))
			switch {
			case d.Days != nil:
				l.Days = types.Int64Value(int64(*d.Days))
			case d.Years != nil:
				l.Days = types.Int64Value(int64(*d.Years) * 365)
			}
		}
		v, d := types.ObjectValueFrom(ctx, objectLockType.AttrTypes, l)
		diags.Append(d...)
		m.ObjectLock = v
	case err != nil && !awserr.NotConfigured(err):
		return true, fmt.Errorf("reading the object lock configuration of bucket %q: %w", name, err)
	}

	m.RetentionDays, m.NoncurrentVersionRetentionDays = types.Int64Value(0), types.Int64Value(0)
	for _, rule := range cfg.LifecycleRules {
		if aws.ToString(rule.ID) != lifecycleRuleID || rule.Status != s3types.ExpirationStatusEnabled {
			continue
		}
		if rule.Expiration != nil && rule.Expiration.Days != nil {
			m.RetentionDays = types.Int64Value(int64(*rule.Expiration.Days))
		}
		if rule.NoncurrentVersionExpiration != nil && rule.NoncurrentVersionExpiration.NoncurrentDays != nil {
			m.NoncurrentVersionRetentionDays = types.Int64Value(int64(*rule.NoncurrentVersionExpiration.NoncurrentDays))
		}
	}
	m.AccessLogBucket, m.AccessLogPrefix = nullIfEmpty(cfg.AccessLogBucket), nullIfEmpty(cfg.AccessLogPrefix)

	tags := map[string]string{}
	tg, err := client.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: in()})
	switch {
	case err == nil:
		for _, t := range tg.TagSet {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	case !awserr.NotConfigured(err):
		return true, fmt.Errorf("reading the tags of bucket %q: %w", name, err)
	}
	v, d := types.MapValueFrom(ctx, types.StringType, tags)
	diags.Append(d...)
	m.Tags = v
	return true, nil
}

// readPolicy sets m.Policy to the policy the resource would write when the
// bucket's (actual, empty for none) is equivalent (so formatting by S3
// shows no change), else to the bucket's own. After import, it first
// recovers the policy inputs.
func (r *logBucketResource) readPolicy(ctx context.Context, actual string, m *logBucketModel, diags *diag.Diagnostics) {
	if m.TrailNames.IsNull() && m.SourceTrailARNs.IsNull() && actual != "" {
		r.recoverPolicyInputs(ctx, actual, m, diags)
	}
	m.Policy = types.StringNull()
	if actual != "" {
		m.Policy = types.StringValue(actual)
	}
	opts, known := r.policyOptions(ctx, m, diags)
	if !known || len(opts.TrailARNs) == 0 {
		return
	}
	expected, err := bucketpolicy.Build(opts)
	if err != nil {
		// Inputs that cannot build a policy were recovered from a
		// foreign one: keep the bucket's, and the plan shows the change.
		tflog.Debug(ctx, "no expected bucket policy to compare with", map[string]any{"error": err.Error()})
		return
	}
	if same, err := bucketpolicy.Equivalent(actual, expected); err == nil && same {
		m.Policy = types.StringValue(expected)
	}
}

// recoverPolicyInputs fills trail_names, source_trail_arns, s3_key_prefix
// and organization_id from a policy the resource wrote. A trail of the
// provider's account and region is taken as a trail name; any other as an
// ARN. A policy of another shape leaves them empty, and the next plan then
// asks to write the resource's own.
func (r *logBucketResource) recoverPolicyInputs(ctx context.Context, policy string, m *logBucketModel, diags *diag.Diagnostics) {
	opts, err := bucketpolicy.Parse(policy)
	if err != nil || opts.Bucket != m.Bucket.ValueString() {
		tflog.Debug(ctx, "bucket policy not recognised", map[string]any{"error": fmt.Sprint(err)})
		return
	}
	var names, arns []string
	for _, a := range opts.TrailARNs {
		n, ok := strings.CutPrefix(a, bucketpolicy.TrailARN(r.clients.Partition, r.clients.Region, r.clients.AccountID, ""))
		if ok && trailNameProblem(n) == "" {
			names = append(names, n)
		} else {
			arns = append(arns, a)
		}
	}
	set := func(ss []string) types.Set {
		if len(ss) == 0 {
			return types.SetNull(types.StringType)
		}
		v, d := types.SetValueFrom(ctx, types.StringType, ss)
		diags.Append(d...)
		return v
	}
	m.TrailNames, m.SourceTrailARNs = set(names), set(arns)
	m.S3KeyPrefix, m.OrganizationID = types.StringNull(), types.StringNull()
	if opts.KeyPrefix != "" {
		m.S3KeyPrefix = types.StringValue(opts.KeyPrefix)
	}
	if opts.OrganizationID != "" {
		m.OrganizationID = types.StringValue(opts.OrganizationID)
	}
}

// uniqueSuffix is 26 characters like hashicorp/aws's generated names: a
// timestamp to the 1/10,000 second, then random hex against collisions.
func uniqueSuffix() (string, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	ts := strings.ReplaceAll(time.Now().UTC().Format("20060102150405.0000"), ".", "")
	return ts + hex.EncodeToString(b), nil
}
