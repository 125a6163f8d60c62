# Runs against an opsaudit-sandbox named by the environment the sandbox
# prints: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
# (make test starts a sandbox of its own and sets them).

provider "opsaudit" {
  region                     = "us-east-1"
  s3_use_path_style          = true
  lookup_requests_per_second = 20
}

variables {
  name          = "module-test"
  lookback      = "90d"
  enforce       = false
  force_destroy = true
}

run "plan_creates_the_audit_setup" {
  command = plan

  assert {
    condition     = opsaudit_log_bucket.this.bucket == "module-test-logs-123456789012"
    error_message = "the bucket is named after the trail and the account"
  }
  assert {
    condition     = opsaudit_trail.this.name == "module-test" && opsaudit_trail.this.is_multi_region_trail
    error_message = "the trail is multi-region"
  }
  assert {
    condition     = opsaudit_trail.this.enable_log_file_validation && opsaudit_trail.this.enable_logging
    error_message = "the trail validates log files and logs"
  }
  assert {
    condition     = opsaudit_log_bucket.this.retention_days == 365 && opsaudit_log_bucket.this.versioning
    error_message = "the bucket keeps versions and a year of logs"
  }
}

run "seeded_history_fails_the_gate" {
  assert {
    condition     = data.opsaudit_compliance.this.status == "fail" && !data.opsaudit_compliance.this.compliant
    error_message = "the seeded history must fail the gate"
  }
  assert {
    condition     = contains([for f in data.opsaudit_compliance.this.findings : f.rule_id], "event_root_user_call")
    error_message = "the root user's OpsWorks CM call must be a finding"
  }
  assert {
    condition     = output.archive_counts == null && output.log_validation_status == null
    error_message = "without archive_trail, no archive is read"
  }
  assert {
    condition     = output.trail_arn == "arn:aws:cloudtrail:us-east-1:123456789012:trail/module-test"
    error_message = "the trail ARN is predictable"
  }
}

run "enforced_gate_fails_the_plan" {
  command = plan
  variables {
    enforce = true
  }
  expect_failures = [data.opsaudit_compliance.this]
}

run "existing_trail_archive_and_integrity" {
  command = plan
  variables {
    archive_trail      = "management-events"
    archive_start_time = "2022-05-01T00:00:00Z"
    archive_end_time   = "2024-05-05T23:59:59Z"
  }

  assert {
    condition     = output.archive_counts["CreateServer"] == 7 && output.archive_counts["DeleteServer"] == 8
    error_message = "the archive's two years hold the seven servers' creation and deletion"
  }
  assert {
    condition     = output.archive_total == sum(values(output.archive_counts))
    error_message = "the total is the sum of the counts"
  }
  assert {
    condition     = output.log_validation_status == "pass" && length(output.log_validation_problems) == 0
    error_message = "the existing trail's log files are intact"
  }
}

run "athena_table" {
  module {
    source = "./tests/athena"
  }
}

run "existing_trail_archive_through_athena" {
  command = plan
  variables {
    archive_trail      = "management-events"
    archive_start_time = "2022-05-01T00:00:00Z"
    archive_end_time   = "2024-05-05T23:59:59Z"
    archive_engine     = "athena"
    archive_athena = {
      database        = run.athena_table.database
      table           = run.athena_table.table
      output_location = run.athena_table.output_location
    }
  }

  assert {
    condition     = output.archive_counts == run.existing_trail_archive_and_integrity.archive_counts
    error_message = "Athena counts the same calls as the direct scan, action by action"
  }
  assert {
    condition     = output.archive_total == run.existing_trail_archive_and_integrity.archive_total
    error_message = "Athena's total is the direct scan's"
  }
}
