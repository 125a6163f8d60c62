# The gate: `terraform plan` fails when the trail, its bucket or the
# OpsWorks CM calls of the last 30 days break a rule of severity high or
# above, and the error lists the findings.
data "opsaudit_compliance" "gate" {
  trail    = "opsworks-cm-audit"
  lookback = "30d"

  # Who may delete servers and backups, and export engine attributes.
  allowed_principals = [
    "arn:aws:iam::123456789012:role/OpsWorksAdmin",
    "arn:aws:iam::123456789012:user/alice",
  ]
  allowed_source_cidrs = ["198.51.100.0/24", "192.0.2.0/24"]

  # This account delivers no trail logs to CloudWatch Logs.
  disabled_rules = ["trail_cloudwatch_logs"]

  # A rule of your own, in CEL over each event.
  rule {
    id          = "delete_outside_change_window"
    title       = "Server deleted outside the Saturday change window"
    severity    = "high"
    condition   = "event.event_name == \"DeleteServer\" && event.error_code == \"\" && event.event_time.getDayOfWeek() != 6"
    remediation = "Delete servers only in the Saturday change window, through the change pipeline."
  }

  lifecycle {
    postcondition {
      condition     = self.compliant
      error_message = self.message
    }
  }
}

# The event rules over two years of the trail's log files in S3, beyond
# LookupEvents' 90 days: no OpsWorks CM change after its end of life
# (medium, hence fail_on) and no root call. A log file that cannot be read
# makes the status unknown, never pass.
data "opsaudit_compliance" "two_years" {
  trail       = "opsworks-cm-audit"
  events_from = "archive"
  lookback    = "730d"
  rules       = ["event_after_end_of_life", "event_root_user_call"]
  fail_on     = "medium"
  max_events  = 100000

  lifecycle {
    postcondition {
      condition     = self.compliant
      error_message = self.message
    }
  }
}

# Sigma rules for CloudTrail, one file each under sigma/, over every
# service's calls: event_source = "*" reads all management events, so the
# window is shorter and max_events higher. The built-in event rules judge
# every service's calls here too (a root call to any service is a finding).
data "opsaudit_compliance" "every_service" {
  trail        = "opsworks-cm-audit"
  lookback     = "1d"
  event_source = "*"
  max_events   = 100000
  sigma_rules  = [for f in fileset(path.module, "sigma/*.yml") : file("${path.module}/${f}")]

  lifecycle {
    postcondition {
      condition     = self.compliant
      error_message = self.message
    }
  }
}

# The same evaluation as a warning only: a `check` block reports a failed
# assertion and lets the plan and apply go on.
check "opsworks_cm_compliance" {
  data "opsaudit_compliance" "advisory" {
    trail    = "opsworks-cm-audit"
    lookback = "7d"
    fail_on  = "medium"
  }

  assert {
    condition     = data.opsaudit_compliance.advisory.status != "fail"
    error_message = data.opsaudit_compliance.advisory.message
  }
}

# For GitHub code scanning, in CI:
#   terraform output -raw compliance_sarif > opsaudit.sarif
# then upload opsaudit.sarif with github/codeql-action/upload-sarif.
output "compliance_sarif" {
  value = data.opsaudit_compliance.gate.report_sarif
}

# For CI test reports.
output "compliance_junit" {
  value = data.opsaudit_compliance.gate.report_junit
}

output "findings_by_severity" {
  value = data.opsaudit_compliance.gate.summary.by_severity
}
