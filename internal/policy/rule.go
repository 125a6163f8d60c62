package policy

import (
	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sigma"
)

// References ties a rule to the checks users already know. CIS items are
// numbered as in CIS AWS Foundations Benchmark v3.0.0; an empty list means
// the tool has no equivalent check.
type References struct {
	SecurityHub []string `json:"security_hub,omitempty"`
	CIS         []string `json:"cis,omitempty"`
	Checkov     []string `json:"checkov,omitempty"`
	Prowler     []string `json:"prowler,omitempty"`
	// ATTACK are MITRE ATT&CK technique, group or software ids (T1078.004).
	ATTACK []string `json:"attack,omitempty"`
	// URLs are documents about the rule, as a Sigma rule's references.
	URLs []string `json:"urls,omitempty"`
}

// all flattens the check ids for tags and report fields; URLs are not ids.
func (r References) all() []string {
	out := make([]string, 0, len(r.SecurityHub)+len(r.CIS)+len(r.Checkov)+len(r.Prowler)+len(r.ATTACK))
	out = append(out, r.SecurityHub...)
	out = append(out, r.CIS...)
	out = append(out, r.Checkov...)
	out = append(out, r.Prowler...)
	return append(out, r.ATTACK...)
}

// Rule is one check of the catalog, or a user rule. Exactly one of the
// unexported check functions is set, matching Target.
type Rule struct {
	ID          string
	Title       string
	Description string
	Severity    Severity
	Target      Target
	References  References
	Remediation string
	// Tags are a Sigma rule's tags (attack.persistence, attack.t1078.004).
	Tags []string
	// User is true for CEL and Sigma rules from the configuration.
	User bool

	trail  func(s *settings, t *Trail) ([]string, error)
	bucket func(s *settings, b *Bucket) ([]string, error)
	// files judges the trail's files one by one: a finding per file.
	files func(li *LogIntegrity) []InvalidFile
	// eventNames restricts match to these OpsWorks CM actions; empty means
	// every call. Other services have actions of the same names whose
	// parameters mean something else (Transfer Family's CreateServer,
	// DynamoDB's DeleteBackup), so only OpsWorks CM events are matched.
	eventNames []string
	match      func(s *settings, v *eventView) (string, bool, error)
	// aggregate sees all events of the audited source at once, for rules
	// that count rather than look at one call.
	aggregate func(s *settings, evs []*events.Event) []eventHit
	cel       *celProgram
	sigma     *sigma.Rule
}

// eventHit is one event an aggregate rule reports.
type eventHit struct {
	event   *events.Event
	message string
}

// RuleTrailLogIntegrity is the rule that judges Input.LogIntegrity: the
// provider validates the trail's log files only when it runs.
const RuleTrailLogIntegrity = "trail_log_integrity"

// Catalog returns the built-in rules in catalog order.
func Catalog() []Rule {
	out := make([]Rule, len(catalog))
	copy(out, catalog)
	return out
}

var catalog = []Rule{
	{
		ID:          "trail_multi_region_management_events",
		Title:       "Trail is multi-region and records read and write management events of the audited service",
		Description: "A single-region trail misses calls made in other regions, and a trail that records only read or only write management events misses half of the audited service's activity.",
		Severity:    SeverityHigh,
		Target:      TargetTrail,
		References: References{
			SecurityHub: []string{"CloudTrail.1"},
			CIS:         []string{"CIS 3.1"},
			Checkov:     []string{"CKV_AWS_67"},
			Prowler:     []string{"cloudtrail_multi_region_enabled", "cloudtrail_multi_region_enabled_logging_management_events"},
		},
		Remediation: "Set is_multi_region_trail = true and record management events with read_write_type = \"All\" (or no selectors at all, which is CloudTrail's default).",
		trail:       checkTrailMultiRegion,
	},
	{
		ID:          "trail_logging_enabled",
		Title:       "Trail is logging",
		Description: "A trail whose logging is stopped records nothing. New trails start with logging off.",
		Severity:    SeverityHigh,
		Target:      TargetTrail,
		References:  References{SecurityHub: []string{"CloudTrail.3"}},
		Remediation: "Start logging on the trail (enable_logging = true, or aws cloudtrail start-logging).",
		trail:       checkTrailLogging,
	},
	{
		ID:          "trail_log_file_validation",
		Title:       "Trail log file validation is enabled",
		Description: "Without digest files, changes to or deletions of delivered log files cannot be detected.",
		Severity:    SeverityLow,
		Target:      TargetTrail,
		References: References{
			SecurityHub: []string{"CloudTrail.4"},
			CIS:         []string{"CIS 3.2"},
			Checkov:     []string{"CKV_AWS_36"},
			Prowler:     []string{"cloudtrail_log_file_validation_enabled"},
		},
		Remediation: "Set enable_log_file_validation = true on the trail.",
		trail:       checkTrailValidation,
	},
	{
		ID:    RuleTrailLogIntegrity,
		Title: "Trail log files and digests are intact",
		Description: "Validates the trail's files over the evaluation's window as `aws cloudtrail validate-logs` does: " +
			"every digest file is where CloudTrail wrote it and verifies with CloudTrail's public key, and every log " +
			"file a digest lists is there with the hash CloudTrail recorded. One finding per invalid file. Security Hub " +
			"CloudTrail.4 and CIS 3.2 only check that validation is on; this checks what it protects. A region that " +
			"cannot be validated makes the result unknown.",
		Severity: SeverityHigh,
		Target:   TargetTrail,
		References: References{
			SecurityHub: []string{"CloudTrail.4"},
			CIS:         []string{"CIS 3.2"},
		},
		Remediation: "Find who changed, moved or deleted the file (S3 server access logs, the bucket's S3 data events), " +
			"restore it from an earlier object version or a replica, and protect the bucket against it (S3 Object " +
			"Lock, a bucket policy denying s3:PutObject and s3:DeleteObject to all but CloudTrail).",
		files: checkLogIntegrity,
	},
	{
		ID:          "trail_kms_encryption",
		Title:       "Trail log files are encrypted with a KMS key",
		Description: "SSE-KMS adds a key policy between the log files and anyone who can read the bucket.",
		Severity:    SeverityMedium,
		Target:      TargetTrail,
		References: References{
			SecurityHub: []string{"CloudTrail.2"},
			CIS:         []string{"CIS 3.5"},
			Checkov:     []string{"CKV_AWS_35"},
			Prowler:     []string{"cloudtrail_kms_encryption_enabled"},
		},
		Remediation: "Set kms_key_id on the trail to a customer managed KMS key whose policy lets CloudTrail encrypt.",
		trail:       checkTrailKMS,
	},
	{
		ID:          "trail_cloudwatch_logs",
		Title:       "Trail delivers to CloudWatch Logs",
		Description: "CloudWatch Logs delivery allows metric filters and alarms on calls as they happen.",
		Severity:    SeverityLow,
		Target:      TargetTrail,
		References: References{
			SecurityHub: []string{"CloudTrail.5"},
			Checkov:     []string{"CKV2_AWS_10"},
			Prowler:     []string{"cloudtrail_cloudwatch_logging_enabled"},
		},
		Remediation: "Set cloud_watch_logs_group_arn and cloud_watch_logs_role_arn on the trail.",
		trail:       checkTrailCloudWatch,
	},
	{
		ID:          "trail_source_not_excluded",
		Title:       "Trail selectors do not exclude the audited service",
		Description: "Basic selectors can exclude management event sources and advanced selectors can filter on eventSource; either can silently drop the audited service's calls.",
		Severity:    SeverityHigh,
		Target:      TargetTrail,
		Remediation: "Remove the audited event source from exclude_management_event_sources, or widen the advanced event selector's eventSource condition.",
		trail:       checkTrailSourceNotExcluded,
	},
	{
		ID:          "trail_no_delivery_error",
		Title:       "Trail has no current delivery error",
		Description: "A delivery error means log files are not reaching the bucket (or CloudWatch Logs), typically after a bucket policy or KMS key policy change.",
		Severity:    SeverityHigh,
		Target:      TargetTrail,
		Remediation: "Fix the bucket policy, KMS key policy or CloudWatch Logs role named in the error, then check GetTrailStatus again.",
		trail:       checkTrailDeliveryError,
	},
	{
		ID:          "bucket_not_public",
		Title:       "Log bucket is not publicly accessible",
		Description: "All four Block Public Access settings must be on, and neither the ACL nor the bucket policy may grant access to everyone without a condition.",
		Severity:    SeverityCritical,
		Target:      TargetBucket,
		References: References{
			SecurityHub: []string{"CloudTrail.6", "S3.8"},
			Checkov:     []string{"CKV2_AWS_6"},
			Prowler:     []string{"cloudtrail_logs_s3_bucket_is_not_publicly_accessible"},
		},
		Remediation: "Turn on block_public_acls, ignore_public_acls, block_public_policy and restrict_public_buckets; remove AllUsers/AuthenticatedUsers grants and Allow statements for Principal \"*\" without a condition.",
		bucket:      checkBucketNotPublic,
	},
	{
		ID:          "bucket_access_logging",
		Title:       "Log bucket has server access logging",
		Description: "Access logs show who read or deleted log files.",
		Severity:    SeverityLow,
		Target:      TargetBucket,
		References: References{
			SecurityHub: []string{"CloudTrail.7", "S3.9"},
			CIS:         []string{"CIS 3.4"},
			Checkov:     []string{"CKV_AWS_18"},
			Prowler:     []string{"cloudtrail_logs_s3_bucket_access_logging_enabled"},
		},
		Remediation: "Enable server access logging on the log bucket to a separate bucket.",
		bucket:      checkBucketAccessLogging,
	},
	{
		ID:          "bucket_tls_only",
		Title:       "Log bucket policy denies requests without TLS",
		Description: "A Deny statement for all principals with condition aws:SecureTransport = false rejects plain HTTP access.",
		Severity:    SeverityMedium,
		Target:      TargetBucket,
		References: References{
			SecurityHub: []string{"S3.5"},
			Prowler:     []string{"s3_bucket_secure_transport_policy"},
		},
		Remediation: "Add a bucket policy statement: Effect Deny, Principal \"*\", Action \"s3:*\", Condition Bool aws:SecureTransport \"false\".",
		bucket:      checkBucketTLSOnly,
	},
	{
		ID:          "bucket_default_encryption",
		Title:       "Log bucket default encryption uses KMS",
		Description: "Objects written without a trail KMS key are still encrypted with a key whose use is logged and controlled.",
		Severity:    SeverityMedium,
		Target:      TargetBucket,
		References: References{
			SecurityHub: []string{"S3.17"},
			Checkov:     []string{"CKV_AWS_145"},
			Prowler:     []string{"s3_bucket_kms_encryption"},
		},
		Remediation: "Configure default encryption with sse_algorithm = \"aws:kms\" and a customer managed key.",
		bucket:      checkBucketEncryption,
	},
	{
		ID:          "bucket_versioning",
		Title:       "Log bucket versioning is enabled",
		Description: "Versioning keeps overwritten or deleted log files recoverable.",
		Severity:    SeverityLow,
		Target:      TargetBucket,
		References: References{
			SecurityHub: []string{"S3.14"},
			Checkov:     []string{"CKV_AWS_21"},
			Prowler:     []string{"s3_bucket_object_versioning"},
		},
		Remediation: "Set versioning to Enabled on the log bucket.",
		bucket:      checkBucketVersioning,
	},
	{
		ID:          "bucket_retention",
		Title:       "Log files are retained for at least the minimum retention",
		Description: "A lifecycle expiration shorter than the required retention deletes audit evidence too early.",
		Severity:    SeverityMedium,
		Target:      TargetBucket,
		Remediation: "Raise the lifecycle expiration of the log objects to at least min_retention_days, or remove it.",
		bucket:      checkBucketRetention,
	},
	{
		ID:          "bucket_ownership_enforced",
		Title:       "Log bucket enforces bucket owner ownership (ACLs disabled)",
		Description: "With BucketOwnerEnforced, ACLs are disabled and the bucket owner owns every log file.",
		Severity:    SeverityMedium,
		Target:      TargetBucket,
		References: References{
			SecurityHub: []string{"S3.12"},
			Checkov:     []string{"CKV2_AWS_65"},
			Prowler:     []string{"s3_bucket_acl_prohibited"},
		},
		Remediation: "Set the bucket's object ownership to BucketOwnerEnforced.",
		bucket:      checkBucketOwnership,
	},
	{
		ID:          "event_root_user_call",
		Title:       "Call made by the root user",
		Description: "The account root user should not be used for day-to-day operations on the audited service.",
		Severity:    SeverityCritical,
		Target:      TargetEvent,
		Remediation: "Use an IAM role for the work; secure the root user with MFA and remove its access keys.",
		match:       matchRootCall,
	},
	{
		ID:          "event_delete_by_unallowed_principal",
		Title:       "Server or backup deleted by a principal outside allowed_principals",
		Description: "DeleteServer and DeleteBackup destroy the configuration management server or its only recovery point.",
		Severity:    SeverityCritical,
		Target:      TargetEvent,
		Remediation: "Confirm the deletion was intended; restrict opsworks-cm:DeleteServer/DeleteBackup to the allowed principals, or add the principal to allowed_principals.",
		eventNames:  []string{"DeleteServer", "DeleteBackup"},
		match:       matchUnallowedPrincipal,
	},
	{
		ID:          "event_credential_reset",
		Title:       "Server engine credentials were reset",
		Description: "UpdateServerEngineAttributes resets engine credentials such as the Chef Automate pivotal key.",
		Severity:    SeverityHigh,
		Target:      TargetEvent,
		Remediation: "Confirm the reset was intended and that the new credentials are stored safely; otherwise rotate them again and investigate the caller.",
		eventNames:  []string{"UpdateServerEngineAttributes"},
		match:       matchCredentialReset,
	},
	{
		ID:          "event_export_by_unallowed_principal",
		Title:       "Engine attributes exported by a principal outside allowed_principals",
		Description: "ExportServerEngineAttribute returns the node enrolment user data, which lets a machine join the server.",
		Severity:    SeverityHigh,
		Target:      TargetEvent,
		Remediation: "Restrict opsworks-cm:ExportServerEngineAttribute to the allowed principals, or add the principal to allowed_principals.",
		eventNames:  []string{"ExportServerEngineAttribute"},
		match:       matchUnallowedPrincipal,
	},
	{
		ID:          "event_restore_new_key_pair",
		Title:       "Server restored with a new EC2 key pair",
		Description: "RestoreServer with KeyPair gives SSH access to the restored instance to whoever holds that key.",
		Severity:    SeverityHigh,
		Target:      TargetEvent,
		Remediation: "Confirm who holds the key pair; restore without a key pair unless SSH access is required.",
		eventNames:  []string{"RestoreServer"},
		match:       matchRestoreKeyPair,
	},
	{
		ID:          "event_mutating_without_mfa",
		Title:       "Mutating call by a human identity without MFA",
		Description: "A human identity is an IAM user or the root user called directly (not through an AWS service). Assumed-role sessions are not judged: CloudTrail's MFA flag on them reflects how the role was assumed, which federated humans and automation cannot be told apart by.",
		Severity:    SeverityHigh,
		Target:      TargetEvent,
		Remediation: "Require MFA (aws:MultiFactorAuthPresent) for mutating calls, or move people to roles assumed through SSO.",
		match:       matchMutatingWithoutMFA,
	},
	{
		ID:          "event_source_ip_not_allowed",
		Title:       "Call from outside allowed_source_cidrs",
		Description: "Only applies when allowed_source_cidrs is set. Calls AWS services make on the caller's behalf (source such as opsworks-cm.amazonaws.com or AWS Internal) are not judged.",
		Severity:    SeverityHigh,
		Target:      TargetEvent,
		Remediation: "Investigate the caller; enforce aws:SourceIp or VPC endpoint conditions in IAM policies.",
		match:       matchSourceIP,
	},
	{
		ID:          "event_create_server_exposed",
		Title:       "Server created without security groups or with a public IP address",
		Description: "Without SecurityGroupIds OpsWorks CM creates a group open to the internet; AssociatePublicIpAddress exposes the server.",
		Severity:    SeverityMedium,
		Target:      TargetEvent,
		Remediation: "Create servers with explicit SecurityGroupIds and AssociatePublicIpAddress = false.",
		eventNames:  []string{"CreateServer"},
		match:       matchCreateServerExposed,
	},
	{
		ID:          "event_backups_disabled",
		Title:       "Automated backups disabled",
		Description: "UpdateServer with DisableAutomatedBackup leaves the server without recovery points.",
		Severity:    SeverityMedium,
		Target:      TargetEvent,
		Remediation: "Re-enable automated backups with UpdateServer DisableAutomatedBackup = false.",
		eventNames:  []string{"UpdateServer"},
		match:       matchBackupsDisabled,
	},
	{
		ID:          "event_access_denied_burst",
		Title:       "Repeated AccessDenied/Unauthorized errors by one principal",
		Description: "Many denied calls by one principal suggest permission probing or a broken automation.",
		Severity:    SeverityMedium,
		Target:      TargetEvent,
		Remediation: "Investigate the principal's activity; fix or revoke its credentials.",
		aggregate:   aggregateAccessDenied,
	},
	{
		ID:          "event_after_end_of_life",
		Title:       "Mutating call after the service's end of life",
		Description: "OpsWorks CM reached end of life on 2024-05-05 (Puppet Enterprise 2024-03-31, Chef Automate 2024-05-05); any later change is unexpected. Applies only to events of opsworks-cm.amazonaws.com.",
		Severity:    SeverityMedium,
		Target:      TargetEvent,
		Remediation: "Find the automation or person still calling the retired service and remove it.",
		match:       matchAfterEndOfLife,
	},
}
