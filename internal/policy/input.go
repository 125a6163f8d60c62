package policy

import (
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// Input is everything one evaluation looks at. The provider fills it from
// DescribeTrails/GetTrailStatus/GetEventSelectors, the S3 bucket getters and
// the event lookup; this package never calls AWS itself.
type Input struct {
	// Trail is the audited trail; nil when it was not read. Trail rules then
	// make the result unknown rather than pass.
	Trail *Trail
	// Bucket is the trail's log bucket; nil when it was not read.
	Bucket *Bucket
	// LogIntegrity is what validating the trail's digest and log files
	// over the evaluation's window found; nil when they were not
	// validated, which leaves trail_log_integrity unevaluated.
	LogIntegrity *LogIntegrity
	// Events are the recorded calls. They may include other event sources:
	// built-in event rules only look at the configured one.
	Events []events.Event
	// Incomplete lists why the input is partial (a region failed, the event
	// lookup was truncated, the trail or bucket could not be read...). Any
	// entry makes a would-be pass unknown.
	Incomplete []string
}

// Trail is a CloudTrail trail's configuration and status.
type Trail struct {
	Name                       string
	ARN                        string
	HomeRegion                 string
	IsMultiRegion              bool
	IsLogging                  bool
	IncludeGlobalServiceEvents bool
	LogFileValidationEnabled   bool
	KMSKeyID                   string
	CloudWatchLogsLogGroupARN  string
	CloudWatchLogsRoleARN      string
	S3BucketName               string
	// EventSelectors and AdvancedEventSelectors are as GetEventSelectors
	// returns them; a trail uses one kind or the other. Both empty means
	// CloudTrail's default: all management events, read and write.
	EventSelectors         []EventSelector
	AdvancedEventSelectors []AdvancedEventSelector
	// LatestDeliveryError is GetTrailStatus's latest S3 delivery error;
	// LatestDeliveryTime the latest successful delivery (zero if none).
	LatestDeliveryError string
	LatestDeliveryTime  time.Time
	// LatestCloudWatchLogsDeliveryError is the last CloudWatch Logs error.
	LatestCloudWatchLogsDeliveryError string
}

// LogIntegrity is what validating a trail's log files found, as `aws
// cloudtrail validate-logs` checks them: each digest file's signature and
// place, and each listed log file's hash.
type LogIntegrity struct {
	// InvalidFiles are every digest and log file that failed validation.
	InvalidFiles []InvalidFile
	// Unknown says why files could not all be validated (a region that
	// could not be read, digests missing where the trail delivered them);
	// empty when every region was validated.
	Unknown []string
}

// InvalidFile is a digest or log file that failed validation.
type InvalidFile struct {
	Region string
	// Key is the file's S3 key, the finding's resource.
	Key string
	// Message is validate-logs' line for the file.
	Message string
}

// EventSelector is a basic event selector.
type EventSelector struct {
	// ReadWriteType is All, ReadOnly or WriteOnly.
	ReadWriteType                 string
	IncludeManagementEvents       bool
	ExcludeManagementEventSources []string
}

// AdvancedEventSelector is an advanced event selector: an event is
// captured when every field selector holds.
type AdvancedEventSelector struct {
	Name           string
	FieldSelectors []FieldSelector
}

// FieldSelector is one condition of an advanced event selector.
type FieldSelector struct {
	// Field is e.g. eventCategory, readOnly, eventSource, eventName.
	Field         string
	Equals        []string
	NotEquals     []string
	StartsWith    []string
	NotStartsWith []string
	EndsWith      []string
	NotEndsWith   []string
}

// Bucket is the log bucket's configuration.
type Bucket struct {
	Name              string
	PublicAccessBlock PublicAccessBlock
	// Policy is the bucket policy JSON; empty when the bucket has none.
	Policy    string
	ACLGrants []Grant
	// EncryptionAlgorithm is the default encryption SSEAlgorithm (AES256,
	// aws:kms, aws:kms:dsse); empty when none is configured.
	EncryptionAlgorithm string
	EncryptionKMSKeyID  string
	// VersioningStatus is Enabled, Suspended or empty (never enabled).
	VersioningStatus string
	// LogExpirationDays is the lifecycle expiration, in days, that applies
	// to the trail's log objects; 0 means they never expire.
	LogExpirationDays int
	// AccessLoggingTargetBucket is the server access logging target; empty
	// when access logging is off.
	AccessLoggingTargetBucket string
	AccessLoggingTargetPrefix string
	// ObjectOwnership is the ownership controls rule (BucketOwnerEnforced,
	// BucketOwnerPreferred, ObjectWriter); empty when none is set.
	ObjectOwnership string
}

// PublicAccessBlock is the bucket-level S3 Block Public Access setting.
type PublicAccessBlock struct {
	// Configured is false when the bucket has no public access block at all
	// (GetPublicAccessBlock answers NoSuchPublicAccessBlockConfiguration).
	Configured            bool
	BlockPublicAcls       bool
	IgnorePublicAcls      bool
	BlockPublicPolicy     bool
	RestrictPublicBuckets bool
}

// Grant is one ACL grant.
type Grant struct {
	// GranteeType is CanonicalUser, Group or AmazonCustomerByEmail.
	GranteeType string
	GranteeID   string
	GranteeURI  string
	// Permission is FULL_CONTROL, READ, WRITE, READ_ACP or WRITE_ACP.
	Permission string
}
