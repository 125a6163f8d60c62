# One module, two accounts: the same OpsWorks CM audit in production and in
# staging, each through a provider that assumes the account's audit role.

terraform {
  required_version = ">= 1.8"
  required_providers {
    opsaudit = {
      source = "opsaudit/opsaudit"
    }
  }
}

variable "sandbox_endpoint" {
  description = "URL of an opsaudit-sandbox to run against instead of AWS."
  type        = string
  default     = null
}

provider "opsaudit" {
  alias  = "production"
  region = "us-east-1"
  assume_role {
    role_arn     = "arn:aws:iam::111111111111:role/opsworkscm-audit"
    session_name = "terraform-audit"
  }

  access_key        = var.sandbox_endpoint == null ? null : "test"
  secret_key        = var.sandbox_endpoint == null ? null : "test"
  s3_use_path_style = var.sandbox_endpoint != null
  endpoints {
    cloudtrail = var.sandbox_endpoint
    s3         = var.sandbox_endpoint
    sts        = var.sandbox_endpoint
    athena     = var.sandbox_endpoint
  }
}

provider "opsaudit" {
  alias  = "staging"
  region = "eu-west-1"
  assume_role {
    role_arn     = "arn:aws:iam::222222222222:role/opsworkscm-audit"
    session_name = "terraform-audit"
  }

  access_key        = var.sandbox_endpoint == null ? null : "test"
  secret_key        = var.sandbox_endpoint == null ? null : "test"
  s3_use_path_style = var.sandbox_endpoint != null
  endpoints {
    cloudtrail = var.sandbox_endpoint
    s3         = var.sandbox_endpoint
    sts        = var.sandbox_endpoint
    athena     = var.sandbox_endpoint
  }
}

module "audit_production" {
  source    = "../modules/opsworkscm-audit"
  providers = { opsaudit = opsaudit.production }

  name               = "opsworkscm-audit"
  allowed_principals = ["arn:aws:iam::111111111111:role/opsworks-cm-admin"]
  enforce            = false
  # Keep the audit logs on destroy, except in the sandbox.
  force_destroy = var.sandbox_endpoint != null
}

module "audit_staging" {
  source    = "../modules/opsworkscm-audit"
  providers = { opsaudit = opsaudit.staging }

  name           = "opsworkscm-audit"
  retention_days = 90
  fail_on        = "critical"
  enforce        = false
  force_destroy  = var.sandbox_endpoint != null
}

output "trails" {
  value = {
    production = module.audit_production.trail_arn
    staging    = module.audit_staging.trail_arn
  }
}

output "compliance" {
  value = {
    production = module.audit_production.compliance_status
    staging    = module.audit_staging.compliance_status
  }
}
