package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/bucketpolicy"
)

var _ function.Function = (*cloudTrailBucketPolicyFunction)(nil)

// NewCloudTrailBucketPolicyFunction returns the policy document
// opsaudit_log_bucket writes, for buckets managed with hashicorp/aws.
func NewCloudTrailBucketPolicyFunction() function.Function { return &cloudTrailBucketPolicyFunction{} }

type cloudTrailBucketPolicyFunction struct{}

// Keys of the options argument.
const (
	optionKeyPrefix      = "s3_key_prefix"
	optionOrganizationID = "organization_id"
)

func (f *cloudTrailBucketPolicyFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "cloudtrail_bucket_policy"
}

func (f *cloudTrailBucketPolicyFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "The S3 bucket policy a CloudTrail log bucket needs, scoped with aws:SourceArn",
		MarkdownDescription: "Returns the JSON bucket policy `opsaudit_log_bucket` writes, for a bucket managed with " +
			"hashicorp/aws (`aws_s3_bucket_policy`): CloudTrail may read the bucket ACL (`" + bucketpolicy.SidACLCheck +
			"`) and write log files under `[<s3_key_prefix>/]AWSLogs/<account_id>/*` with " +
			"`s3:x-amz-acl = bucket-owner-full-control` (`" + bucketpolicy.SidWrite + "`), both only for the given trails " +
			"(`aws:SourceArn`), and any request without TLS is denied (`" + bucketpolicy.SidDenyInsecureTransport + "`). " +
			"The S3 ARNs take the trails' partition.",
		Parameters: []function.Parameter{
			function.StringParameter{Name: "bucket", MarkdownDescription: "Name of the bucket."},
			function.StringParameter{Name: "account_id", MarkdownDescription: "12-digit id of the account whose trails " +
				"write to the bucket: log files arrive under `AWSLogs/<account_id>/`."},
			function.ListParameter{Name: "trail_arns", ElementType: types.StringType, MarkdownDescription: "ARNs of the " +
				"trails allowed to write, `arn:<partition>:cloudtrail:<region>:<account>:trail/<name>`. They are " +
				"predictable, so the policy can be written before the trails exist."},
			function.MapParameter{Name: "options", ElementType: types.StringType, AllowNullValue: true,
				MarkdownDescription: "Optional settings, `{}` or `null` for none: `" + optionKeyPrefix + "` (the trails' " +
					"key prefix, without slashes at either end) and `" + optionOrganizationID + "` (an organization " +
					"trail's organization id: also allows `AWSLogs/<organization_id>/*`)."},
		},
		Return: function.StringReturn{},
	}
}

func (f *cloudTrailBucketPolicyFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var (
		o       bucketpolicy.Options
		options map[string]*string
	)
	resp.Error = req.Arguments.Get(ctx, &o.Bucket, &o.AccountID, &o.TrailARNs, &options)
	if resp.Error != nil {
		return
	}
	for k, v := range options {
		if v == nil {
			continue
		}
		switch k {
		case optionKeyPrefix:
			o.KeyPrefix = *v
		case optionOrganizationID:
			o.OrganizationID = *v
		default:
			known := []string{optionKeyPrefix, optionOrganizationID}
			slices.Sort(known)
			resp.Error = function.NewArgumentFuncError(3, fmt.Sprintf("unknown option %q; the options are %s", k,
				strings.Join(known, ", ")))
			return
		}
	}
	doc, err := bucketpolicy.Build(o)
	if err != nil {
		resp.Error = function.NewFuncError(fmt.Sprintf("building the bucket policy: %s", err))
		return
	}
	resp.Error = resp.Result.Set(ctx, doc)
}
