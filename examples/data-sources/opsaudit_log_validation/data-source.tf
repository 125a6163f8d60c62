# The plan fails when a digest or log file of the last 30 days, in any
# region the trail logs, was changed, moved or deleted, or cannot be
# validated; the error names each file as `aws cloudtrail validate-logs`
# would.
data "opsaudit_log_validation" "trail" {
  trail    = "arn:aws:cloudtrail:us-east-1:123456789012:trail/opsworks-cm-audit"
  lookback = "30d"

  lifecycle {
    postcondition {
      condition = self.valid
      error_message = join("\n", concat(
        ["Log file validation: ${self.status} (${self.digests_invalid} digest and ${self.logs_invalid} log files invalid)."],
        [for p in self.problems : p.message],
        self.reasons,
      ))
    }
  }
}

# A member account's files of an organization trail, over a fixed window,
# with every file's verdict in report_json.
data "opsaudit_log_validation" "member" {
  trail      = "arn:aws:cloudtrail:us-east-1:111111111111:trail/organization-trail"
  account_id = "222222222222"
  start_time = "2025-01-01T00:00:00Z"
  end_time   = "2025-02-01T00:00:00Z"
  regions    = ["us-east-1", "eu-west-1"]
  verbose    = true
}

output "gaps" {
  value = [for g in data.opsaudit_log_validation.trail.gaps : "${g.region}: ${g.start} to ${g.end}"]
}

output "member_report" {
  value = data.opsaudit_log_validation.member.report_json
}
