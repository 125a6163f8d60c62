# A log bucket is imported by its name.
terraform import opsaudit_log_bucket.audit example-opsaudit-logs
