# A trail managed elsewhere, read by name (or by arn).
data "opsaudit_trail" "org" {
  name = "organization-trail"
}

check "trail_posture" {
  assert {
    condition     = data.opsaudit_trail.org.status.is_logging && data.opsaudit_trail.org.is_multi_region_trail
    error_message = "The organization trail must be logging in every region."
  }

  assert {
    condition     = data.opsaudit_trail.org.enable_log_file_validation
    error_message = "Log file validation is off on ${data.opsaudit_trail.org.arn}."
  }
}
