# A bucket and its trail in one run: no depends_on is needed, the trail's
# create waits for the new bucket policy to propagate.
resource "opsaudit_log_bucket" "audit" {
  bucket      = "example-opsworks-cm-audit-logs"
  trail_names = ["opsworks-cm-audit"]
}

# Multi-region, global service events, log file validation and logging are
# on by default.
resource "opsaudit_trail" "audit" {
  name           = "opsworks-cm-audit"
  s3_bucket_name = opsaudit_log_bucket.audit.bucket

  # Record write calls only, and leave out the noisy KMS events.
  management_events                = "WriteOnly"
  exclude_management_event_sources = ["kms.amazonaws.com"]

  insight_types = ["ApiCallRateInsight"]

  tags = {
    purpose = "opsworks-cm-audit"
  }

  timeouts {
    create = "10m"
  }
}
