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
