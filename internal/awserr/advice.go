package awserr

import (
	"errors"
	"strings"

	"github.com/aws/smithy-go"
)

// advice says what to do about each AWS error code the provider meets. An
// entry may hold {action}: the IAM action of the call that failed.
var advice = map[string]string{
	// Credentials and permissions, any service.
	"AccessDenied":          accessDenied,
	"AccessDeniedException": accessDenied,
	"UnrecognizedClientException": "AWS does not recognise the credentials in this region: check the access key, " +
		"profile or role, and that the region is enabled for the account (an opt-in region answers this until it is " +
		"enabled).",
	"InvalidClientTokenId": "AWS does not know this access key: check access_key, the profile's " +
		"aws_access_key_id, or AWS_ACCESS_KEY_ID, and that the key is still active.",
	"SignatureDoesNotMatch": "The secret key does not belong to the access key: check secret_key, the profile's " +
		"aws_secret_access_key, or AWS_SECRET_ACCESS_KEY.",
	"ExpiredToken":          expiredToken,
	"ExpiredTokenException": expiredToken,

	// Transient answers that outlasted the SDK's retries.
	"ThrottlingException": throttled,
	"Throttling":          throttled,
	"SlowDown":            throttled,
	"ServiceUnavailableException": "AWS kept answering that the service is unavailable after the SDK's retries: run " +
		"again later, or raise the provider's max_retries.",
	"InternalError": "AWS kept failing with an internal error after the SDK's retries: run again later, or raise the " +
		"provider's max_retries.",

	// CloudTrail.
	"TrailNotFoundException": "No trail has this name or ARN where it was looked for: check the name or ARN; a name " +
		"is looked up in the provider's region, where multi-region trails of other home regions show too.",
	"CloudTrailARNInvalidException": "Give a trail name or a trail ARN (arn:<partition>:cloudtrail:<region>:<account>:trail/<name>).",
	"InvalidTrailNameException":     "Give a trail name or a trail ARN (arn:<partition>:cloudtrail:<region>:<account>:trail/<name>).",
	"InsufficientS3BucketPolicyException": "The bucket policy must let cloudtrail.amazonaws.com call s3:GetBucketAcl " +
		"on the bucket and s3:PutObject on <bucket>/[<prefix>/]AWSLogs/<account>/* with s3:x-amz-acl = " +
		"bucket-owner-full-control, with aws:SourceArn equal to the trail ARN (opsaudit_log_bucket writes this policy). " +
		"A policy written moments ago may still be propagating: the provider retried until the timeout, so fix the " +
		"policy or raise the timeout.",
	"InsufficientEncryptionPolicyException": "The KMS key policy must let cloudtrail.amazonaws.com use the key " +
		"(kms:GenerateDataKey*, kms:DescribeKey) for this trail.",
	"InsufficientSnsTopicPolicyException": "The SNS topic policy must let cloudtrail.amazonaws.com call sns:Publish.",
	"S3BucketDoesNotExistException": "The trail's bucket does not exist: create it first, or reference the " +
		"opsaudit_log_bucket resource's bucket attribute so Terraform creates it before the trail.",
	"TrailAlreadyExistsException": "A trail of this name already exists in this region, or a multi-region trail of " +
		"that name in another: import it (terraform import) or choose another name.",
	"InvalidParameterCombinationException": "AWS refused the combination of settings; a multi-region trail, for " +
		"one, must include global service events.",
	"OrganizationsNotInUseException": "An organization trail needs AWS Organizations: set is_organization_trail = false.",
	"NotOrganizationMasterAccountException": "Only the organization's management account or a delegated " +
		"administrator can create or change an organization trail.",
	"InvalidEventSelectorsException": "AWS refused the event selectors: a trail can leave out only " +
		"kms.amazonaws.com and rdsdata.amazonaws.com from its management events.",
	"InvalidLookupAttributesException": "LookupEvents takes one lookup attribute per call; this is a bug in the " +
		"provider, please report it.",

	// S3.
	"NoSuchBucket": "The bucket does not exist, or not where it was looked for: check the name; a bucket just " +
		"created may take a moment to show.",
	"BucketAlreadyExists": "Bucket names are global across all AWS accounts and this one is taken: choose another " +
		"bucket name, or use bucket_prefix.",
	"BucketAlreadyOwnedByYou": "The bucket already exists in this account: import it " +
		"(terraform import opsaudit_log_bucket.<name> <bucket>) instead of creating it.",
	"BucketNotEmpty": "The bucket still holds objects: to delete it with its logs, set force_destroy = true and " +
		"apply before destroying, or empty it yourself.",
	"OperationAborted": "Another operation on the bucket kept conflicting with this one: run the apply again.",
	"NoSuchKey": "The object is gone: it was deleted, or expired by a lifecycle rule, after it was listed; run " +
		"again to read what the bucket holds now.",
	"PermanentRedirect":            otherRegion,
	"AuthorizationHeaderMalformed": otherRegion,
	"MalformedPolicy":              "S3 refused the bucket policy: check trail_names, source_trail_arns and s3_key_prefix.",
	"InvalidBucketName": "The name breaks the S3 bucket naming rules: 3 to 63 lower-case letters, digits, dots " +
		"and hyphens, starting and ending with a letter or digit.",

	// Athena.
	"TooManyRequestsException": throttled,
	"InternalServerException": "Athena kept failing with an internal error after the SDK's retries: run again later, " +
		"or raise the provider's max_retries.",
	"InvalidRequestException": "Athena refused the request as its message says: the output location must be an " +
		"s3:// URL of an existing bucket in the workgroup's region (or the workgroup must set one), the workgroup " +
		"must exist and be enabled, and a statement must be one Athena can parse.",
	"MetadataException": "The Glue Data Catalog does not have the database or table: create it (opsaudit_athena_table " +
		"does), or check the names and the region.",

	// KMS keys, as CloudTrail and S3 report them.
	"KmsKeyNotFoundException":      kmsKey,
	"KmsKeyDisabledException":      kmsKey,
	"KmsException":                 kmsKey,
	"KMS.NotFoundException":        kmsKey,
	"KMS.DisabledException":        kmsKey,
	"KMS.KMSInvalidStateException": kmsKey,
}

const (
	accessDenied = "The caller lacks the IAM permission {action}: grant it in the caller's identity policy, and " +
		"check that no service control policy, permissions boundary or resource policy (bucket or key policy) " +
		"denies it."
	expiredToken = "The session token has expired: renew the credentials (a new SSO login or assumed-role session) " +
		"and run again."
	throttled = "AWS kept throttling the calls after the SDK's retries: raise the provider's max_retries, lower " +
		"lookup_requests_per_second, or look for other callers of the same API in this account and region."
	otherRegion = "The bucket is in another region than the client that called it: read it through a client " +
		"of the bucket's region."
	kmsKey = "The KMS key must exist, be enabled, be in the same region as the trail or bucket, and its key policy " +
		"must let the caller and the service use it."
)

// Advice is what to do about err, "" when its AWS error code has no entry
// (or it carries none).
func Advice(err error) string {
	a := advice[Code(err)]
	if !strings.Contains(a, "{action}") {
		return a
	}
	action := "for this call"
	if act := iamAction(err); act != "" {
		action = act
	}
	return strings.ReplaceAll(a, "{action}", action)
}

// Explain is err's message followed by what to do about it, for a
// diagnostic or a report.
func Explain(err error) string {
	if a := Advice(err); a != "" {
		return err.Error() + ". " + a
	}
	return err.Error()
}

// iamAction names the IAM action that allows the failed call, "" when err
// does not say which call failed.
func iamAction(err error) string {
	var op *smithy.OperationError
	if !errors.As(err, &op) {
		return ""
	}
	service := strings.ToLower(strings.ReplaceAll(op.Service(), " ", ""))
	if service == "s3" {
		if a, ok := s3Actions[op.Operation()]; ok {
			return a
		}
	}
	return service + ":" + op.Operation()
}

// s3Actions are the S3 operations the provider calls whose IAM action is not
// named after them. The SDK does not carry IAM action names, so they are
// written out from the S3 service authorization reference.
var s3Actions = map[string]string{
	"HeadBucket":                      "s3:ListBucket",
	"ListObjectsV2":                   "s3:ListBucket",
	"HeadObject":                      "s3:GetObject",
	"ListObjectVersions":              "s3:ListBucketVersions",
	"DeleteObjects":                   "s3:DeleteObjectVersion",
	"GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
	"PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
	"DeleteBucketLifecycle":           "s3:PutLifecycleConfiguration",
	"GetBucketEncryption":             "s3:GetEncryptionConfiguration",
	"PutBucketEncryption":             "s3:PutEncryptionConfiguration",
	"DeleteBucketEncryption":          "s3:PutEncryptionConfiguration",
	"GetPublicAccessBlock":            "s3:GetBucketPublicAccessBlock",
	"PutPublicAccessBlock":            "s3:PutBucketPublicAccessBlock",
	"DeletePublicAccessBlock":         "s3:PutBucketPublicAccessBlock",
	"GetObjectLockConfiguration":      "s3:GetBucketObjectLockConfiguration",
	"PutObjectLockConfiguration":      "s3:PutBucketObjectLockConfiguration",
	"DeleteBucketTagging":             "s3:PutBucketTagging",
	"DeleteBucketOwnershipControls":   "s3:PutBucketOwnershipControls",
}
