output "trail_arn" {
  description = "ARN of the trail."
  value       = opsaudit_trail.this.arn
}

output "bucket" {
  description = "Name of the log bucket."
  value       = opsaudit_log_bucket.this.bucket
}

output "compliance_status" {
  description = "pass, fail or unknown."
  value       = data.opsaudit_compliance.this.status
}

output "compliant" {
  description = "Whether the gate passed."
  value       = data.opsaudit_compliance.this.compliant
}

output "findings" {
  description = "The gate's findings."
  value       = data.opsaudit_compliance.this.findings
}

output "report_sarif" {
  description = "SARIF 2.1.0 report for code scanning."
  value       = data.opsaudit_compliance.this.report_sarif
}

output "archive_counts" {
  description = "OpsWorks CM calls in archive_trail's archive over the window, per action; null without archive_trail."
  value       = one(data.opsaudit_archive_events.this[*].counts_by_event_name)
}

output "archive_total" {
  description = "OpsWorks CM calls in archive_trail's archive over the window; null without archive_trail."
  value       = one(data.opsaudit_archive_events.this[*].total_count)
}

output "log_validation_status" {
  description = "Log file validation of archive_trail: pass, fail or unknown; null without archive_trail."
  value       = one(data.opsaudit_log_validation.this[*].status)
}

output "log_validation_problems" {
  description = "archive_trail's invalid digest and log files, each with validate-logs' message; null without archive_trail."
  value       = one(data.opsaudit_log_validation.this[*].problems)
}
