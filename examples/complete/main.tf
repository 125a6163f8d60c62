# The whole OpsWorks CM audit set-up: the log bucket, the multi-region trail
# that writes to it, the events CloudTrail recorded, and the compliance gate.
#
# Against the sandbox: make demo, or set TF_VAR_sandbox_endpoint to the URL
# opsaudit-sandbox printed. Against AWS: leave sandbox_endpoint unset and use
# your usual AWS credentials.

terraform {
  required_version = ">= 1.8"
  required_providers {
    opsaudit = {
      source = "opsaudit/opsaudit"
    }
  }
}

provider "opsaudit" {
  region = var.region

  # Only for the sandbox; null leaves each to the AWS SDK's usual chain.
  access_key                 = var.sandbox_endpoint == null ? null : "test"
  secret_key                 = var.sandbox_endpoint == null ? null : "test"
  s3_use_path_style          = var.sandbox_endpoint != null
  lookup_requests_per_second = var.sandbox_endpoint == null ? null : 10

  endpoints {
    cloudtrail = var.sandbox_endpoint
    s3         = var.sandbox_endpoint
    sts        = var.sandbox_endpoint
    athena     = var.sandbox_endpoint
  }
}

data "opsaudit_caller_identity" "current" {}

locals {
  bucket = "${var.name}-logs-${data.opsaudit_caller_identity.current.account_id}"
}

resource "opsaudit_log_bucket" "audit" {
  bucket         = local.bucket
  trail_names    = [var.name]
  retention_days = var.retention_days
  force_destroy  = true
  tags           = { purpose = "opsworks-cm-audit" }
}

# No depends_on: the trail waits for the bucket policy to propagate.
resource "opsaudit_trail" "audit" {
  name           = var.name
  s3_bucket_name = opsaudit_log_bucket.audit.bucket
  tags           = { purpose = "opsworks-cm-audit" }
}

data "opsaudit_events" "recent" {
  lookback = var.lookback
}

data "opsaudit_compliance" "gate" {
  trail              = opsaudit_trail.audit.arn
  lookback           = var.lookback
  allowed_principals = var.allowed_principals
  min_retention_days = var.retention_days

  lifecycle {
    postcondition {
      condition     = !var.enforce_compliance || self.compliant
      error_message = "OpsWorks CM audit is not compliant (${self.status}):\n${join("\n", [for f in self.findings : "  ${f.severity} ${f.rule_id}: ${f.message}"])}"
    }
  }
}
