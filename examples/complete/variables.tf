variable "name" {
  description = "Name of the trail; the log bucket is named after it and the account id."
  type        = string
  default     = "opsworkscm-audit"
}

variable "region" {
  description = "Home region of the trail and the bucket."
  type        = string
  default     = "us-east-1"
}

variable "retention_days" {
  description = "Days log files are kept."
  type        = number
  default     = 365
}

variable "lookback" {
  description = "How far back events are read and judged, such as \"30d\" (at most 90 days)."
  type        = string
  default     = "30d"
}

variable "allowed_principals" {
  description = "ARN patterns of the principals allowed to delete servers and backups and export engine attributes."
  type        = list(string)
  default     = ["arn:aws:iam::*:role/opsworks-cm-admin"]
}

variable "enforce_compliance" {
  description = "Fail the plan when a rule at or above the gate's severity fails."
  type        = bool
  default     = false
}

variable "sandbox_endpoint" {
  description = "URL of an opsaudit-sandbox to run against instead of AWS."
  type        = string
  default     = null
}

variable "archive_trail" {
  description = "Name or ARN of the existing trail whose S3 archive is read and validated (the AWS console names an account's first trail management-events)."
  type        = string
  default     = "management-events"
}

variable "archive_start_time" {
  description = "Oldest event time read from the archive, RFC 3339: by default two years before OpsWorks CM's end of life."
  type        = string
  default     = "2022-05-01T00:00:00Z"
}

variable "integrity_lookback" {
  description = "How far back the archive trail's digests and log files are validated, such as \"7d\"."
  type        = string
  default     = "7d"
}

variable "enforce_integrity" {
  description = "Fail the plan when a digest or log file of the archive trail is invalid."
  type        = bool
  default     = false
}

variable "athena_output_location" {
  description = "Where Athena writes query results, s3://bucket/prefix/: set, the archive's history is also read through Athena; null leaves Athena out."
  type        = string
  default     = null
}

variable "athena_database" {
  description = "Athena (Glue) database of the archive's table, made if it does not exist."
  type        = string
  default     = "opsaudit"
}
