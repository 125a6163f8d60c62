# A reusable OpsWorks CM audit: log bucket, trail and compliance gate for the
# account of the opsaudit provider it is given.

terraform {
  required_version = ">= 1.8"
  required_providers {
    opsaudit = {
      source = "opsaudit/opsaudit"
    }
  }
}

data "opsaudit_caller_identity" "current" {}

resource "opsaudit_log_bucket" "this" {
  bucket         = "${var.name}-logs-${data.opsaudit_caller_identity.current.account_id}"
  trail_names    = [var.name]
  kms_key_arn    = var.kms_key_arn
  retention_days = var.retention_days
  force_destroy  = var.force_destroy
  tags           = var.tags
}

resource "opsaudit_trail" "this" {
  name           = var.name
  s3_bucket_name = opsaudit_log_bucket.this.bucket
  kms_key_id     = var.kms_key_arn
  tags           = var.tags
}

data "opsaudit_compliance" "this" {
  trail                = opsaudit_trail.this.arn
  regions              = var.regions
  lookback             = var.lookback
  allowed_principals   = var.allowed_principals
  allowed_source_cidrs = var.allowed_source_cidrs
  min_retention_days   = var.retention_days
  fail_on              = var.fail_on

  lifecycle {
    postcondition {
      condition     = !var.enforce || self.compliant
      error_message = "OpsWorks CM audit of account ${data.opsaudit_caller_identity.current.account_id} is not compliant (${self.status}):\n${join("\n", [for f in self.findings : "  ${f.severity} ${f.rule_id}: ${f.message}"])}"
    }
  }
}

locals {
  # A fixed window when either end is given, the lookback otherwise.
  archive_fixed = var.archive_start_time != null || var.archive_end_time != null
}

# The archive's OpsWorks CM calls over the window, as counts alone. Only an
# existing trail is read: the years of OpsWorks CM use are in its bucket,
# and naming it (rather than this module's trail) lets the plan read it.
data "opsaudit_archive_events" "this" {
  count = var.archive_trail == null ? 0 : 1

  trail      = var.archive_trail
  regions    = var.regions
  start_time = var.archive_start_time
  end_time   = var.archive_end_time
  lookback   = local.archive_fixed ? null : var.archive_lookback
  max_events = 0

  engine = var.archive_engine
  dynamic "athena" {
    for_each = var.archive_athena == null ? [] : [var.archive_athena]
    content {
      database        = athena.value.database
      table           = athena.value.table
      workgroup       = athena.value.workgroup
      output_location = athena.value.output_location
      timeout         = athena.value.timeout
    }
  }
}

# The same trail's digests and log files, as `aws cloudtrail validate-logs`
# checks them. The module's own trail is validated by the gate's
# trail_log_integrity rule.
data "opsaudit_log_validation" "this" {
  count = var.archive_trail == null ? 0 : 1

  trail    = var.archive_trail
  lookback = var.integrity_lookback

  lifecycle {
    postcondition {
      condition = !var.enforce_integrity || self.valid
      error_message = join("\n", concat(
        ["Log file validation of trail ${var.archive_trail}: ${self.status}."],
        [for p in self.problems : p.message],
        self.reasons,
      ))
    }
  }
}
