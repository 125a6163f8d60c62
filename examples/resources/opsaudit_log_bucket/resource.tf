# Every control is on by default: public access block, BucketOwnerEnforced,
# SSE-S3, versioning, 365-day retention, TLS-only, aws:SourceArn scoping.
resource "opsaudit_log_bucket" "audit" {
  bucket      = "example-opsaudit-logs"
  trail_names = ["opsaudit"]
}

# An organization trail's bucket with SSE-KMS, object lock and access logs.
resource "opsaudit_log_bucket" "organization" {
  bucket_prefix   = "org-audit-"
  trail_names     = ["organization"]
  s3_key_prefix   = "cloudtrail"
  organization_id = "o-a1b2c3d4e5"
  kms_key_arn     = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

  retention_days                    = 2555
  noncurrent_version_retention_days = 30

  object_lock = {
    mode = "GOVERNANCE"
    days = 365
  }

  access_log_bucket = "example-s3-access-logs"
  access_log_prefix = "org-audit/"

  tags = {
    team = "security"
  }
}
