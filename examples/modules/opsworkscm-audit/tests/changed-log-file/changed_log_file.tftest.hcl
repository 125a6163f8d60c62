# Run with -test-directory=tests/changed-log-file against an opsaudit-sandbox
# in which one log file of the pre-existing trail's last week was changed,
# its key given as -var changed_key=...: the provider's Go tests do both.
# A plain `terraform test` runs only tests/.

provider "opsaudit" {
  region            = "us-east-1"
  s3_use_path_style = true
}

variables {
  name          = "module-test"
  archive_trail = "management-events"
  enforce       = false
}

run "validation_names_the_changed_file" {
  command = plan
  variables {
    enforce_integrity = false
  }

  assert {
    condition     = output.log_validation_status == "fail"
    error_message = "a changed log file fails the validation"
  }
  assert {
    condition     = [for p in output.log_validation_problems : p.s3_key] == [var.changed_key]
    error_message = "the changed log file, and it alone, is named"
  }
  assert {
    condition     = one(output.log_validation_problems).reason == "hash_mismatch"
    error_message = "the changed log file's hash no longer matches its digest"
  }
}

run "enforced_integrity_fails_the_plan" {
  command         = plan
  expect_failures = [data.opsaudit_log_validation.this]
}
