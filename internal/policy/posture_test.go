package policy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// goodTrail and goodBucket pass every posture rule; each test case breaks
// or bends one thing.
func goodTrail() *Trail {
	return &Trail{
		Name:                       "opsaudit",
		ARN:                        "arn:aws:cloudtrail:us-east-1:111122223333:trail/opsaudit",
		HomeRegion:                 "us-east-1",
		IsMultiRegion:              true,
		IsLogging:                  true,
		IncludeGlobalServiceEvents: true,
		LogFileValidationEnabled:   true,
		KMSKeyID:                   "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		CloudWatchLogsLogGroupARN:  "arn:aws:logs:us-east-1:111122223333:log-group:opsaudit:*",
		CloudWatchLogsRoleARN:      "arn:aws:iam::111122223333:role/opsaudit-cloudtrail-logs",
		S3BucketName:               "opsaudit-trail-logs",
		EventSelectors:             []EventSelector{{ReadWriteType: "All", IncludeManagementEvents: true}},
		LatestDeliveryTime:         time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
	}
}

func goodBucket(t testing.TB) *Bucket {
	return &Bucket{
		Name: "opsaudit-trail-logs",
		PublicAccessBlock: PublicAccessBlock{
			Configured: true, BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true,
		},
		Policy:                    readTestdata(t, "bucket_policy_hardened.json"),
		ACLGrants:                 []Grant{{GranteeType: "CanonicalUser", GranteeID: "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be", Permission: "FULL_CONTROL"}},
		EncryptionAlgorithm:       "aws:kms",
		EncryptionKMSKeyID:        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		VersioningStatus:          "Enabled",
		LogExpirationDays:         400,
		AccessLoggingTargetBucket: "opsaudit-access-logs",
		ObjectOwnership:           "BucketOwnerEnforced",
	}
}

func TestGoodPosturePasses(t *testing.T) {
	res := mustNew(t, Config{}).Evaluate(Input{Trail: goodTrail(), Bucket: goodBucket(t), LogIntegrity: intactLogs()})
	if res.Status != StatusPass || len(res.Findings) != 0 || len(res.Reasons) != 0 {
		t.Fatalf("want pass, got %s findings=%v reasons=%v", res.Status, res.Findings, res.Reasons)
	}
}

func TestPostureRules(t *testing.T) {
	mgmt := FieldSelector{Field: "eventCategory", Equals: []string{"Management"}}
	tests := []struct {
		name     string
		rule     string
		trail    func(*Trail)
		bucket   func(*Bucket)
		minDays  int
		source   string
		contains string // empty: no finding expected
	}{
		{name: "single region", rule: "trail_multi_region_management_events", trail: func(t *Trail) { t.IsMultiRegion = false }, contains: "single-region"},
		{name: "write only", rule: "trail_multi_region_management_events", trail: func(t *Trail) { t.EventSelectors[0].ReadWriteType = "WriteOnly" }, contains: "does not record read management events"},
		{name: "no management events", rule: "trail_multi_region_management_events", trail: func(t *Trail) { t.EventSelectors[0].IncludeManagementEvents = false }, contains: "read and write management events"},
		{name: "read and write split over two selectors", rule: "trail_multi_region_management_events", trail: func(t *Trail) {
			t.EventSelectors = []EventSelector{{ReadWriteType: "ReadOnly", IncludeManagementEvents: true}, {ReadWriteType: "WriteOnly", IncludeManagementEvents: true}}
		}},
		{name: "default selectors", rule: "trail_multi_region_management_events", trail: func(t *Trail) { t.EventSelectors = nil }},
		{name: "advanced selector for all management events", rule: "trail_multi_region_management_events", trail: func(t *Trail) {
			t.EventSelectors = nil
			t.AdvancedEventSelectors = []AdvancedEventSelector{{Name: "mgmt", FieldSelectors: []FieldSelector{mgmt}}}
		}},
		{name: "advanced selector narrowed to some event names", rule: "trail_multi_region_management_events", trail: func(t *Trail) {
			t.EventSelectors = nil
			t.AdvancedEventSelectors = []AdvancedEventSelector{{FieldSelectors: []FieldSelector{mgmt, {Field: "eventName", Equals: []string{"DeleteServer"}}}}}
		}, contains: "read and write"},

		{name: "logging stopped", rule: "trail_logging_enabled", trail: func(t *Trail) { t.IsLogging = false }, contains: "not logging"},
		{name: "logging on", rule: "trail_logging_enabled", trail: func(t *Trail) { t.IsMultiRegion = false }},

		{name: "validation off", rule: "trail_log_file_validation", trail: func(t *Trail) { t.LogFileValidationEnabled = false }, contains: "validation disabled"},
		{name: "validation on", rule: "trail_log_file_validation", trail: func(t *Trail) { t.KMSKeyID = "" }},

		{name: "no kms key", rule: "trail_kms_encryption", trail: func(t *Trail) { t.KMSKeyID = "" }, contains: "not encrypted with a KMS key"},
		{name: "kms alias", rule: "trail_kms_encryption", trail: func(t *Trail) { t.KMSKeyID = "alias/opsaudit" }},

		{name: "cloudwatch role missing", rule: "trail_cloudwatch_logs", trail: func(t *Trail) { t.CloudWatchLogsRoleARN = "" }, contains: "CloudWatch Logs"},
		{name: "cloudwatch configured", rule: "trail_cloudwatch_logs", trail: func(t *Trail) { t.LogFileValidationEnabled = false }},

		{name: "basic exclusion", rule: "trail_source_not_excluded", trail: func(t *Trail) {
			t.EventSelectors[0].ExcludeManagementEventSources = []string{"kms.amazonaws.com", "opsworks-cm.amazonaws.com"}
		}, contains: "exclude read and write management events of opsworks-cm.amazonaws.com"},
		{name: "basic exclusion of other sources", rule: "trail_source_not_excluded", trail: func(t *Trail) {
			t.EventSelectors[0].ExcludeManagementEventSources = []string{"kms.amazonaws.com", "rdsdata.amazonaws.com"}
		}},
		{name: "advanced NotEquals the source", rule: "trail_source_not_excluded", trail: func(t *Trail) {
			t.EventSelectors = nil
			t.AdvancedEventSelectors = []AdvancedEventSelector{{FieldSelectors: []FieldSelector{mgmt, {Field: "eventSource", NotEquals: []string{"opsworks-cm.amazonaws.com"}}}}}
		}, contains: "read and write"},
		{name: "advanced Equals other sources", rule: "trail_source_not_excluded", trail: func(t *Trail) {
			t.EventSelectors = nil
			t.AdvancedEventSelectors = []AdvancedEventSelector{{FieldSelectors: []FieldSelector{mgmt, {Field: "eventSource", Equals: []string{"ec2.amazonaws.com"}}}}}
		}, contains: "read and write"},
		{name: "advanced write-only selector excluding the source, read selector keeps it", rule: "trail_source_not_excluded", trail: func(t *Trail) {
			t.EventSelectors = nil
			t.AdvancedEventSelectors = []AdvancedEventSelector{
				{FieldSelectors: []FieldSelector{mgmt, {Field: "readOnly", Equals: []string{"true"}}}},
				{FieldSelectors: []FieldSelector{mgmt, {Field: "readOnly", Equals: []string{"false"}}, {Field: "eventSource", NotStartsWith: []string{"opsworks"}}}},
			}
		}, contains: "exclude write management events"},
		{name: "advanced NotEquals kms only", rule: "trail_source_not_excluded", trail: func(t *Trail) {
			t.EventSelectors = nil
			t.AdvancedEventSelectors = []AdvancedEventSelector{{FieldSelectors: []FieldSelector{mgmt, {Field: "eventSource", NotEquals: []string{"kms.amazonaws.com"}}}}}
		}},

		{name: "every source, default selectors", rule: "trail_multi_region_management_events", source: "*", trail: func(t *Trail) { t.EventSelectors = nil }},
		{name: "every source, write only", rule: "trail_multi_region_management_events", source: "*", trail: func(t *Trail) { t.EventSelectors[0].ReadWriteType = "WriteOnly" },
			contains: "does not record read management events of every event source"},
		{name: "every source, basic exclusion of kms", rule: "trail_source_not_excluded", source: "*", trail: func(t *Trail) {
			t.EventSelectors[0].ExcludeManagementEventSources = []string{"kms.amazonaws.com"}
		}, contains: "exclude read and write management events of some event sources"},
		{name: "every source, advanced NotEquals kms", rule: "trail_source_not_excluded", source: "*", trail: func(t *Trail) {
			t.EventSelectors = nil
			t.AdvancedEventSelectors = []AdvancedEventSelector{{FieldSelectors: []FieldSelector{mgmt, {Field: "eventSource", NotEquals: []string{"kms.amazonaws.com"}}}}}
		}, contains: "exclude read and write management events of some event sources"},
		{name: "every source, advanced selector for all management events", rule: "trail_source_not_excluded", source: "*", trail: func(t *Trail) {
			t.EventSelectors = nil
			t.AdvancedEventSelectors = []AdvancedEventSelector{{FieldSelectors: []FieldSelector{mgmt}}}
		}},

		{name: "delivery error", rule: "trail_no_delivery_error", trail: func(t *Trail) { t.LatestDeliveryError = "AccessDenied" }, contains: "latest S3 delivery error: AccessDenied"},
		{name: "cloudwatch delivery error", rule: "trail_no_delivery_error", trail: func(t *Trail) {
			t.LatestCloudWatchLogsDeliveryError = "CloudWatch Logs role cannot be assumed"
		}, contains: "CloudWatch Logs delivery error"},
		{name: "no delivery error", rule: "trail_no_delivery_error", trail: func(t *Trail) { t.IsLogging = false }},

		{name: "no public access block", rule: "bucket_not_public", bucket: func(b *Bucket) { b.PublicAccessBlock = PublicAccessBlock{} }, contains: "no public access block"},
		{name: "one block flag off", rule: "bucket_not_public", bucket: func(b *Bucket) { b.PublicAccessBlock.RestrictPublicBuckets = false }, contains: "RestrictPublicBuckets off"},
		{name: "public ACL grant", rule: "bucket_not_public", bucket: func(b *Bucket) {
			b.ACLGrants = append(b.ACLGrants, Grant{GranteeType: "Group", GranteeURI: "http://acs.amazonaws.com/groups/global/AllUsers", Permission: "READ"})
		}, contains: "grants READ to AllUsers"},
		{name: "public policy", rule: "bucket_not_public", bucket: func(b *Bucket) { b.Policy = readTestdata(t, "bucket_policy_public.json") }, contains: "PublicRead allows s3:GetObject to everyone"},
		{name: "principal * with condition", rule: "bucket_not_public", bucket: func(b *Bucket) {
			b.Policy = `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}}]}`
		}},
		{name: "log delivery group grant", rule: "bucket_not_public", bucket: func(b *Bucket) {
			b.ACLGrants = append(b.ACLGrants, Grant{GranteeType: "Group", GranteeURI: "http://acs.amazonaws.com/groups/s3/LogDelivery", Permission: "WRITE"})
		}},

		{name: "access logging off", rule: "bucket_access_logging", bucket: func(b *Bucket) { b.AccessLoggingTargetBucket = "" }, contains: "access logging off"},
		{name: "access logging on", rule: "bucket_access_logging", bucket: func(b *Bucket) { b.AccessLoggingTargetPrefix = "" }},

		{name: "no policy", rule: "bucket_tls_only", bucket: func(b *Bucket) { b.Policy = "" }, contains: "aws:SecureTransport"},
		{name: "deny only for GetObject", rule: "bucket_tls_only", bucket: func(b *Bucket) {
			b.Policy = strings.Replace(b.Policy, `"Action": "s3:*"`, `"Action": "s3:GetObject"`, 1)
		}, contains: "aws:SecureTransport"},
		{name: "deny with unquoted false in BoolIfExists", rule: "bucket_tls_only", bucket: func(b *Bucket) {
			b.Policy = `{"Statement":[{"Effect":"Deny","Principal":{"AWS":["*"]},"Action":["s3:*"],"Resource":"*","Condition":{"BoolIfExists":{"aws:SecureTransport":false}}}]}`
		}},

		{name: "SSE-S3", rule: "bucket_default_encryption", bucket: func(b *Bucket) { b.EncryptionAlgorithm = "AES256" }, contains: "AES256, not a KMS key"},
		{name: "no encryption", rule: "bucket_default_encryption", bucket: func(b *Bucket) { b.EncryptionAlgorithm = "" }, contains: "no default encryption"},
		{name: "DSSE-KMS", rule: "bucket_default_encryption", bucket: func(b *Bucket) { b.EncryptionAlgorithm = "aws:kms:dsse" }},

		{name: "versioning suspended", rule: "bucket_versioning", bucket: func(b *Bucket) { b.VersioningStatus = "Suspended" }, contains: "Suspended"},
		{name: "versioning never enabled", rule: "bucket_versioning", bucket: func(b *Bucket) { b.VersioningStatus = "" }, contains: "never enabled"},
		{name: "versioning enabled", rule: "bucket_versioning", bucket: func(b *Bucket) { b.LogExpirationDays = 0 }},

		{name: "expires too early", rule: "bucket_retention", bucket: func(b *Bucket) { b.LogExpirationDays = 90 }, contains: "after 90 days, less than the minimum of 365"},
		{name: "expires at minimum", rule: "bucket_retention", bucket: func(b *Bucket) { b.LogExpirationDays = 365 }},
		{name: "never expires", rule: "bucket_retention", bucket: func(b *Bucket) { b.LogExpirationDays = 0 }},
		{name: "configured minimum", rule: "bucket_retention", minDays: 2555, contains: "less than the minimum of 2555"},

		{name: "ownership preferred", rule: "bucket_ownership_enforced", bucket: func(b *Bucket) { b.ObjectOwnership = "BucketOwnerPreferred" }, contains: "BucketOwnerPreferred"},
		{name: "ownership not set", rule: "bucket_ownership_enforced", bucket: func(b *Bucket) { b.ObjectOwnership = "" }, contains: "not set"},
		{name: "ownership enforced", rule: "bucket_ownership_enforced", bucket: func(b *Bucket) { b.VersioningStatus = "" }},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.rule+"/"+tt.name, func(t *testing.T) {
			covered[tt.rule] = true
			trail, bucket := goodTrail(), goodBucket(t)
			if tt.trail != nil {
				tt.trail(trail)
			}
			if tt.bucket != nil {
				tt.bucket(bucket)
			}
			res := mustNew(t, Config{Rules: []string{tt.rule}, MinRetentionDays: tt.minDays, EventSource: tt.source}).Evaluate(Input{Trail: trail, Bucket: bucket})
			if len(res.Errors) > 0 {
				t.Fatalf("rule errors: %v", res.Errors)
			}
			if tt.contains == "" {
				if len(res.Findings) != 0 {
					t.Fatalf("want no finding, got %+v", res.Findings)
				}
				return
			}
			if len(res.Findings) != 1 {
				t.Fatalf("want one finding, got %+v", res.Findings)
			}
			f := res.Findings[0]
			if f.RuleID != tt.rule || !strings.Contains(f.Message, tt.contains) {
				t.Errorf("finding %+v: want rule %s with message containing %q", f, tt.rule, tt.contains)
			}
			if f.Resource == "" || f.Region != "us-east-1" || f.Remediation == "" || f.EventID != "" {
				t.Errorf("finding fields: %+v", f)
			}
		})
	}
	for _, r := range catalog {
		// The files rule has its own test.
		if r.Target != TargetEvent && r.files == nil && !covered[r.ID] {
			t.Errorf("posture rule %s has no test case", r.ID)
		}
	}
}

func TestUnreadableBucketPolicyIsUnknown(t *testing.T) {
	b := goodBucket(t)
	b.Policy = `{"Statement": [`
	res := mustNew(t, Config{Rules: []string{"bucket_tls_only", "bucket_not_public"}}).Evaluate(Input{Trail: goodTrail(), Bucket: b})
	if res.Status != StatusUnknown || len(res.Errors) != 2 {
		t.Fatalf("want unknown with two rule errors, got %s %+v", res.Status, res.Errors)
	}
}

// trail_log_integrity makes one finding per invalid file, named by its S3
// key, and cannot pass when files could not all be validated.
func TestLogIntegrity(t *testing.T) {
	e := mustNew(t, Config{Rules: []string{RuleTrailLogIntegrity}})
	if res := e.Evaluate(Input{Trail: goodTrail(), LogIntegrity: intactLogs()}); res.Status != StatusPass || len(res.Findings) != 0 {
		t.Fatalf("intact: %s %+v %v", res.Status, res.Findings, res.Reasons)
	}

	li := intactLogs()
	li.InvalidFiles = []InvalidFile{
		{Region: "eu-west-1", Key: "AWSLogs/111122223333/CloudTrail/eu-west-1/2025/06/02/a.json.gz",
			Message: "Log file s3://logs/AWSLogs/111122223333/CloudTrail/eu-west-1/2025/06/02/a.json.gz INVALID: hash value doesn't match"},
		{Region: "us-east-1", Key: "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/06/03/d.json.gz",
			Message: "Digest file s3://logs/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/06/03/d.json.gz INVALID: not found"},
	}
	res := e.Evaluate(Input{Trail: goodTrail(), LogIntegrity: li})
	if res.Status != StatusFail || len(res.Findings) != 2 || res.Summary.ByRule[RuleTrailLogIntegrity] != 2 {
		t.Fatalf("two invalid files: %s %+v", res.Status, res.Findings)
	}
	for _, f := range res.Findings {
		var file InvalidFile
		for _, inv := range li.InvalidFiles {
			if inv.Key == f.Resource {
				file = inv
			}
		}
		if file.Key == "" || f.Region != file.Region || f.Message != file.Message || f.Severity != SeverityHigh || f.Remediation == "" || f.EventID != "" {
			t.Errorf("finding %+v for %+v", f, file)
		}
	}

	// A failure found on part of the files is still a failure; without
	// one, files not validated make the result unknown.
	li.Unknown = []string{"region ap-southeast-2: AccessDenied"}
	if res := e.Evaluate(Input{Trail: goodTrail(), LogIntegrity: li}); res.Status != StatusFail {
		t.Fatalf("invalid files and a region not validated: %s", res.Status)
	}
	li.InvalidFiles = nil
	res = e.Evaluate(Input{Trail: goodTrail(), LogIntegrity: li})
	if res.Status != StatusUnknown || !slices.Contains(res.Reasons, "log files not all validated: region ap-southeast-2: AccessDenied") {
		t.Fatalf("a region not validated: %s %v", res.Status, res.Reasons)
	}

	// Disabled, the rule needs no validation.
	off := mustNew(t, Config{Rules: []string{"trail_logging_enabled", RuleTrailLogIntegrity}, DisabledRules: []string{RuleTrailLogIntegrity}})
	if off.Runs(RuleTrailLogIntegrity) || !off.Runs("trail_logging_enabled") {
		t.Fatal("Runs does not follow rules and disabled_rules")
	}
	if res := off.Evaluate(Input{Trail: goodTrail()}); res.Status != StatusPass {
		t.Fatalf("disabled and not validated: %s %v", res.Status, res.Reasons)
	}
}

// Files not validated are a property of the validation, not of a rule: each
// reason is given once however many files rules run.
func TestLogIntegrityReasonOncePerValidation(t *testing.T) {
	e := mustNew(t, Config{Rules: []string{RuleTrailLogIntegrity}})
	i := slices.IndexFunc(e.rules, func(ro RuleOutcome) bool { return ro.Rule.ID == RuleTrailLogIntegrity })
	second := e.rules[i]
	second.Rule.ID = "trail_log_integrity_again"
	e.rules = append(e.rules, second)
	li := intactLogs()
	li.Unknown = []string{"region ap-southeast-2: AccessDenied"}
	res := e.Evaluate(Input{Trail: goodTrail(), LogIntegrity: li})
	var n int
	for _, r := range res.Reasons {
		if r == "log files not all validated: region ap-southeast-2: AccessDenied" {
			n++
		}
	}
	if res.Status != StatusUnknown || n != 1 {
		t.Fatalf("two files rules: status %s, reasons %q", res.Status, res.Reasons)
	}
}
