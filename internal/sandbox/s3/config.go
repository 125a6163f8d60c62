package s3

import (
	"net/http"
	"strings"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// The bucket configurations below are both the XML S3 accepts and the XML
// it answers; field order is AWS's.

type publicAccessBlock struct {
	BlockPublicAcls       bool
	IgnorePublicAcls      bool
	BlockPublicPolicy     bool
	RestrictPublicBuckets bool
}

type encryptionConfig struct {
	Rules []encryptionRule `xml:"Rule"`
}

type encryptionRule struct {
	ApplyServerSideEncryptionByDefault *sseDefault
	BucketKeyEnabled                   bool
}

type sseDefault struct {
	SSEAlgorithm   string
	KMSMasterKeyID string `xml:",omitempty" json:",omitempty"`
}

func defaultEncryption() *encryptionConfig {
	return &encryptionConfig{Rules: []encryptionRule{{ApplyServerSideEncryptionByDefault: &sseDefault{SSEAlgorithm: "AES256"}}}}
}

// defaultSSE is the encryption a new object gets from its bucket.
func defaultSSE(b *bucket) string {
	if b.Encryption != nil && len(b.Encryption.Rules) > 0 && b.Encryption.Rules[0].ApplyServerSideEncryptionByDefault != nil {
		return b.Encryption.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm
	}
	return "AES256"
}

var sseAlgorithms = map[string]bool{"AES256": true, "aws:kms": true, "aws:kms:dsse": true}

func putBucketEncryption(s *Service, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	var cfg encryptionConfig
	if serr := parseS3XML(req.Body, "ServerSideEncryptionConfiguration", &cfg); serr != nil {
		return nil, serr
	}
	if len(cfg.Rules) != 1 || cfg.Rules[0].ApplyServerSideEncryptionByDefault == nil {
		return nil, errMalformedXML()
	}
	def := cfg.Rules[0].ApplyServerSideEncryptionByDefault
	if !sseAlgorithms[def.SSEAlgorithm] {
		return nil, errMalformedXML()
	}
	if def.KMSMasterKeyID != "" && !strings.HasPrefix(def.SSEAlgorithm, "aws:kms") {
		return nil, errInvalidArgument("a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse")
	}
	b.Encryption = &cfg
	return map[string]any{"ServerSideEncryptionConfiguration": cfg}, nil
}

type versioningConfig struct {
	Status    string `xml:",omitempty" json:",omitempty"`
	MfaDelete string `xml:",omitempty" json:",omitempty"`
}

func putBucketVersioning(s *Service, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	var cfg versioningConfig
	if serr := parseS3XML(req.Body, "VersioningConfiguration", &cfg); serr != nil {
		return nil, serr
	}
	if cfg.Status != "Enabled" && cfg.Status != "Suspended" {
		return nil, errMalformedXML()
	}
	switch cfg.MfaDelete {
	case "", "Disabled":
	case "Enabled":
		if r.Header.Get("X-Amz-Mfa") == "" {
			return nil, &s3Error{status: http.StatusBadRequest, code: "InvalidRequest", message: "MFA Authentication must be used for this request"}
		}
	default:
		return nil, errMalformedXML()
	}
	if cfg.Status == "Suspended" && b.ObjectLock != nil {
		return nil, &s3Error{status: http.StatusConflict, code: "InvalidBucketState",
			message: "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed."}
	}
	if cfg.MfaDelete == "" && b.Versioning != nil {
		cfg.MfaDelete = b.Versioning.MfaDelete
	}
	b.Versioning = &cfg
	return map[string]any{"VersioningConfiguration": cfg}, nil
}

type lifecycleConfig struct {
	Rules []lifecycleRule `xml:"Rule"`
	// MinimumObjectSize is the x-amz-transition-default-minimum-object-size
	// the configuration was put with; it travels as a header.
	MinimumObjectSize string `xml:"-" json:",omitempty"`
}

const defaultMinimumObjectSize = "all_storage_classes_128K"

func (c *lifecycleConfig) minimumObjectSize() string {
	if c.MinimumObjectSize == "" {
		return defaultMinimumObjectSize
	}
	return c.MinimumObjectSize
}

type lifecycleRule struct {
	Expiration                     *lcExpiration `xml:",omitempty" json:",omitempty"`
	ID                             string
	Prefix                         *string                  `xml:",omitempty" json:",omitempty"`
	Filter                         *lcFilter                `xml:",omitempty" json:",omitempty"`
	Status                         string                   `xml:"Status"`
	Transitions                    []lcTransition           `xml:"Transition,omitempty" json:",omitempty"`
	NoncurrentVersionTransitions   []lcNoncurrentTransition `xml:"NoncurrentVersionTransition,omitempty" json:",omitempty"`
	NoncurrentVersionExpiration    *lcNoncurrentExpiration  `xml:",omitempty" json:",omitempty"`
	AbortIncompleteMultipartUpload *lcAbort                 `xml:",omitempty" json:",omitempty"`
}

type lcExpiration struct {
	Date                      string `xml:",omitempty" json:",omitempty"`
	Days                      *int   `xml:",omitempty" json:",omitempty"`
	ExpiredObjectDeleteMarker *bool  `xml:",omitempty" json:",omitempty"`
}

type lcFilter struct {
	Prefix                *string `xml:",omitempty" json:",omitempty"`
	Tag                   *s3Tag  `xml:",omitempty" json:",omitempty"`
	ObjectSizeGreaterThan *int64  `xml:",omitempty" json:",omitempty"`
	ObjectSizeLessThan    *int64  `xml:",omitempty" json:",omitempty"`
	And                   *lcAnd  `xml:",omitempty" json:",omitempty"`
}

type lcAnd struct {
	Prefix                *string `xml:",omitempty" json:",omitempty"`
	Tags                  []s3Tag `xml:"Tag,omitempty" json:",omitempty"`
	ObjectSizeGreaterThan *int64  `xml:",omitempty" json:",omitempty"`
	ObjectSizeLessThan    *int64  `xml:",omitempty" json:",omitempty"`
}

type lcTransition struct {
	Date         string `xml:",omitempty" json:",omitempty"`
	Days         *int   `xml:",omitempty" json:",omitempty"`
	StorageClass string
}

type lcNoncurrentTransition struct {
	NoncurrentDays          *int
	StorageClass            string
	NewerNoncurrentVersions *int `xml:",omitempty" json:",omitempty"`
}

type lcNoncurrentExpiration struct {
	NoncurrentDays          *int
	NewerNoncurrentVersions *int `xml:",omitempty" json:",omitempty"`
}

type lcAbort struct {
	DaysAfterInitiation *int
}

var transitionStorageClasses = map[string]bool{
	"GLACIER": true, "STANDARD_IA": true, "ONEZONE_IA": true, "INTELLIGENT_TIERING": true,
	"DEEP_ARCHIVE": true, "GLACIER_IR": true,
}

// minTransitionDays are the storage classes S3 refuses to transition to
// before an object is 30 days old.
var minTransitionDays = map[string]int{"STANDARD_IA": 30, "ONEZONE_IA": 30}

const maxLifecycleRules = 1000

func putBucketLifecycle(s *Service, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	var cfg lifecycleConfig
	if serr := parseS3XML(req.Body, "LifecycleConfiguration", &cfg); serr != nil {
		return nil, serr
	}
	if len(cfg.Rules) == 0 || len(cfg.Rules) > maxLifecycleRules {
		return nil, errMalformedXML()
	}
	switch size := r.Header.Get("X-Amz-Transition-Default-Minimum-Object-Size"); size {
	case "", "all_storage_classes_128K", "varies_by_storage_class":
		cfg.MinimumObjectSize = size
	default:
		return nil, errInvalidArgument("Invalid x-amz-transition-default-minimum-object-size: %s", size)
	}
	ids := map[string]bool{}
	for i := range cfg.Rules {
		rule := &cfg.Rules[i]
		if rule.ID == "" {
			// AWS names unnamed rules itself.
			rule.ID = awsapi.RandomString(48, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
		}
		if len(rule.ID) > 255 {
			return nil, errInvalidArgument("ID length should not exceed allowed limit of 255")
		}
		if ids[rule.ID] {
			return nil, errInvalidArgument("Rule ID must be unique. Found same ID for more than one rule")
		}
		ids[rule.ID] = true
		if serr := validateLifecycleRule(rule); serr != nil {
			return nil, serr
		}
	}
	b.Lifecycle = &cfg
	return map[string]any{"LifecycleConfiguration": cfg}, nil
}

func validateLifecycleRule(rule *lifecycleRule) *s3Error {
	if rule.Status != "Enabled" && rule.Status != "Disabled" {
		return errMalformedXML()
	}
	if (rule.Prefix == nil) == (rule.Filter == nil) {
		return errMalformedXML()
	}
	hasTags := false
	if f := rule.Filter; f != nil {
		set := 0
		for _, present := range []bool{f.Prefix != nil, f.Tag != nil, f.ObjectSizeGreaterThan != nil, f.ObjectSizeLessThan != nil, f.And != nil} {
			if present {
				set++
			}
		}
		if set > 1 {
			return errMalformedXML()
		}
		hasTags = f.Tag != nil || (f.And != nil && len(f.And.Tags) > 0)
	}
	if rule.Expiration == nil && len(rule.Transitions) == 0 && len(rule.NoncurrentVersionTransitions) == 0 &&
		rule.NoncurrentVersionExpiration == nil && rule.AbortIncompleteMultipartUpload == nil {
		return &s3Error{status: http.StatusBadRequest, code: "InvalidRequest", message: "At least one action needs to be specified in a rule"}
	}
	if e := rule.Expiration; e != nil {
		set := 0
		for _, present := range []bool{e.Date != "", e.Days != nil, e.ExpiredObjectDeleteMarker != nil} {
			if present {
				set++
			}
		}
		if set != 1 {
			return errMalformedXML()
		}
		if e.Days != nil && *e.Days <= 0 {
			return errInvalidArgument("'Days' for Expiration action must be a positive integer")
		}
		if serr := validateLifecycleDate(e.Date); serr != nil {
			return serr
		}
		if e.ExpiredObjectDeleteMarker != nil && hasTags {
			return errInvalidArgument("ExpiredObjectDeleteMarker cannot be specified with tags.")
		}
	}
	for _, t := range rule.Transitions {
		if (t.Date == "") == (t.Days == nil) || !transitionStorageClasses[t.StorageClass] {
			return errMalformedXML()
		}
		if t.Days != nil && *t.Days < minTransitionDays[t.StorageClass] {
			return errInvalidArgument("'Days' in Transition action must be greater than or equal to 30 for storageClass '%s'", t.StorageClass)
		}
		if t.Days != nil && *t.Days < 0 {
			return errInvalidArgument("'Days' in Transition action must be nonnegative")
		}
		if serr := validateLifecycleDate(t.Date); serr != nil {
			return serr
		}
	}
	for _, t := range rule.NoncurrentVersionTransitions {
		if t.NoncurrentDays == nil || !transitionStorageClasses[t.StorageClass] {
			return errMalformedXML()
		}
		if *t.NoncurrentDays < minTransitionDays[t.StorageClass] {
			return errInvalidArgument("'NoncurrentDays' in NoncurrentVersionTransition action must be greater than or equal to 30 for storageClass '%s'", t.StorageClass)
		}
	}
	if e := rule.NoncurrentVersionExpiration; e != nil && (e.NoncurrentDays == nil || *e.NoncurrentDays <= 0) {
		return errInvalidArgument("'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
	}
	if a := rule.AbortIncompleteMultipartUpload; a != nil {
		if a.DaysAfterInitiation == nil || *a.DaysAfterInitiation <= 0 {
			return errInvalidArgument("'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
		}
		if hasTags {
			return &s3Error{status: http.StatusBadRequest, code: "InvalidRequest", message: "AbortIncompleteMultipartUpload cannot be specified with Tags."}
		}
	}
	return nil
}

// validateLifecycleDate accepts an empty date or an ISO 8601 midnight UTC.
func validateLifecycleDate(date string) *s3Error {
	if date == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, date)
	if err != nil {
		return errInvalidArgument("'Date' must be in ISO 8601 format")
	}
	if t.UTC() != t.UTC().Truncate(24*time.Hour) {
		return errInvalidArgument("'Date' must be at midnight GMT")
	}
	return nil
}

type ownershipControls struct {
	Rules []ownershipRule `xml:"Rule"`
}

type ownershipRule struct {
	ObjectOwnership string
}

func validOwnership(v string) bool {
	return v == "BucketOwnerEnforced" || v == "BucketOwnerPreferred" || v == "ObjectWriter"
}

type loggingStatus struct {
	LoggingEnabled *loggingEnabled `xml:",omitempty"`
}

type loggingEnabled struct {
	TargetBucket          string
	TargetPrefix          string
	TargetGrants          *loggingGrants   `xml:",omitempty" json:",omitempty"`
	TargetObjectKeyFormat *targetKeyFormat `xml:",omitempty" json:",omitempty"`
}

// loggingGrants wraps the grant list so that an absent list writes no
// empty TargetGrants element (encoding/xml writes the parent of an
// "a>b,omitempty" path even when the list is empty).
type loggingGrants struct {
	Grants []loggingGrant `xml:"Grant"`
}

type loggingGrant struct {
	Grantee struct {
		Type         string `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
		ID           string `xml:",omitempty" json:",omitempty"`
		URI          string `xml:",omitempty" json:",omitempty"`
		EmailAddress string `xml:",omitempty" json:",omitempty"`
	}
	Permission string
}

type targetKeyFormat struct {
	SimplePrefix      *struct{}          `xml:",omitempty" json:",omitempty"`
	PartitionedPrefix *partitionedPrefix `xml:",omitempty" json:",omitempty"`
}

type partitionedPrefix struct {
	PartitionDateSource string `xml:",omitempty" json:",omitempty"`
}

func putBucketLogging(s *Service, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	var cfg loggingStatus
	if serr := parseS3XML(req.Body, "BucketLoggingStatus", &cfg); serr != nil {
		return nil, serr
	}
	params := map[string]any{"BucketLoggingStatus": cfg}
	le := cfg.LoggingEnabled
	if le == nil {
		b.Logging = nil
		return params, nil
	}
	invalidTarget := func(msg string) *s3Error {
		return &s3Error{status: http.StatusBadRequest, code: "InvalidTargetBucketForLogging", message: msg}
	}
	target := s.buckets[le.TargetBucket]
	switch {
	case le.TargetBucket == "":
		return params, errMalformedXML()
	case target == nil:
		return params, invalidTarget("The target bucket for logging does not exist")
	case target.Account != b.Account:
		return params, invalidTarget("The owner for the bucket to be logged and the target bucket must be the same.")
	case target.Region != b.Region:
		return params, &s3Error{status: http.StatusForbidden, code: "CrossLocationLoggingProhibitted",
			message: "Cross S3 location logging not allowed. Buckets in one geographic location cannot log information to a bucket in another location."}
	case le.TargetGrants != nil && len(le.TargetGrants.Grants) > 0 && target.Ownership != nil && target.Ownership.Rules[0].ObjectOwnership == "BucketOwnerEnforced":
		return params, invalidTarget("Target grants are not allowed when the target bucket uses the bucket owner enforced setting for Object Ownership.")
	}
	if f := le.TargetObjectKeyFormat; f != nil {
		if (f.SimplePrefix != nil) == (f.PartitionedPrefix != nil) {
			return params, errMalformedXML()
		}
		if p := f.PartitionedPrefix; p != nil && p.PartitionDateSource != "EventTime" && p.PartitionDateSource != "DeliveryTime" {
			return params, errMalformedXML()
		}
	}
	b.Logging = le
	return params, nil
}

type s3Tag struct {
	Key   string
	Value string
}

type tagging struct {
	TagSet []s3Tag `xml:"TagSet>Tag"`
}

const maxBucketTags = 50

func putBucketTagging(s *Service, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	var cfg tagging
	if serr := parseS3XML(req.Body, "Tagging", &cfg); serr != nil {
		return nil, serr
	}
	params := map[string]any{"Tagging": cfg}
	invalidTag := func(msg string) *s3Error {
		return &s3Error{status: http.StatusBadRequest, code: "InvalidTag", message: msg}
	}
	if len(cfg.TagSet) > maxBucketTags {
		return params, invalidTag("Bucket tag count cannot be greater than 50")
	}
	seen := map[string]bool{}
	for _, t := range cfg.TagSet {
		switch {
		case len(t.Key) == 0 || len(t.Key) > 128:
			return params, invalidTag("The TagKey you have provided is invalid")
		case len(t.Value) > 256:
			return params, invalidTag("The TagValue you have provided is invalid")
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return params, invalidTag("System tags cannot be added/updated by requester")
		case seen[t.Key]:
			return params, invalidTag("Cannot provide multiple Tags with the same key")
		}
		seen[t.Key] = true
	}
	b.Tags = cfg.TagSet
	return params, nil
}

type objectLockConfig struct {
	ObjectLockEnabled string          `xml:",omitempty" json:",omitempty"`
	Rule              *objectLockRule `xml:",omitempty" json:",omitempty"`
}

type objectLockRule struct {
	DefaultRetention *defaultRetention `xml:",omitempty" json:",omitempty"`
}

type defaultRetention struct {
	Mode  string
	Days  *int `xml:",omitempty" json:",omitempty"`
	Years *int `xml:",omitempty" json:",omitempty"`
}

func putObjectLockConfiguration(s *Service, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	var cfg objectLockConfig
	if serr := parseS3XML(req.Body, "ObjectLockConfiguration", &cfg); serr != nil {
		return nil, serr
	}
	params := map[string]any{"ObjectLockConfiguration": cfg}
	if cfg.ObjectLockEnabled != "Enabled" {
		return params, errMalformedXML()
	}
	if cfg.Rule != nil {
		d := cfg.Rule.DefaultRetention
		if d == nil || (d.Mode != "GOVERNANCE" && d.Mode != "COMPLIANCE") || (d.Days == nil) == (d.Years == nil) {
			return params, errMalformedXML()
		}
		for _, n := range []*int{d.Days, d.Years} {
			if n != nil && *n <= 0 {
				return params, errInvalidArgument("Default retention period must be a positive integer value.")
			}
		}
	}
	if b.ObjectLock == nil && b.versioningStatus() != "Enabled" {
		return params, &s3Error{status: http.StatusConflict, code: "InvalidBucketState",
			message: "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration"}
	}
	b.ObjectLock = &cfg
	return params, nil
}
