# The history: what the account's existing trail recorded of OpsWorks CM in
# its S3 archive, years back, where LookupEvents (90 days) no longer
# reaches, and whether those log files are still the ones CloudTrail wrote.

locals {
  # OpsWorks CM's last day: Chef Automate, the engine that lasted longer,
  # reached its end of life on 5 May 2024.
  end_of_life       = "2024-05-05"
  after_end_of_life = timeadd("${local.end_of_life}T00:00:00Z", "24h")
  # The last second of the years of use: the end of the history windows.
  end_of_use = timeadd(local.after_end_of_life, "-1s")
}

# The OpsWorks CM calls of its years of use, as counts alone (max_events = 0
# keeps the events out of the state).
data "opsaudit_archive_events" "history" {
  trail      = var.archive_trail
  start_time = var.archive_start_time
  end_time   = local.end_of_use
  max_events = 0
}

# The calls made after the end of life, each with the log file it is in:
# in an account that no longer uses OpsWorks CM, each one is worth a look.
data "opsaudit_archive_events" "after_end_of_life" {
  trail      = var.archive_trail
  start_time = local.after_end_of_life
}

# The calls the root user made in those years (after them, every call is
# in after_end_of_life, with its user).
data "opsaudit_archive_events" "root_calls" {
  trail      = var.archive_trail
  start_time = var.archive_start_time
  end_time   = local.end_of_use
  usernames  = ["root"]
}

# The archive trail's digests and log files of the last integrity_lookback,
# checked as `aws cloudtrail validate-logs` checks them, in every region at
# once. With enforce_integrity, a changed, moved or deleted file fails the
# plan, naming the file.
data "opsaudit_log_validation" "archive" {
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
