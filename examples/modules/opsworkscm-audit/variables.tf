variable "name" {
  description = "Name of the trail; the log bucket is \"<name>-logs-<account id>\"."
  type        = string
  default     = "opsworkscm-audit"
}

variable "regions" {
  description = "Regions whose events are judged; null means the provider's regions."
  type        = list(string)
  default     = null
}

variable "retention_days" {
  description = "Days log files are kept, and the retention the gate requires."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "KMS key ARN for the bucket and the trail's log files; null uses SSE-S3 for the bucket and no trail key."
  type        = string
  default     = null
}

variable "lookback" {
  description = "How far back events are judged, such as \"7d\" (at most 90 days)."
  type        = string
  default     = "7d"
}

variable "allowed_principals" {
  description = "ARN patterns (with *) of the principals allowed to delete servers and backups and export engine attributes."
  type        = list(string)
  default     = []
}

variable "allowed_source_cidrs" {
  description = "CIDR blocks OpsWorks CM calls may come from; empty disables the check."
  type        = list(string)
  default     = []
}

variable "fail_on" {
  description = "Lowest severity that makes the gate fail: critical, high, medium, low or info."
  type        = string
  default     = "high"
}

variable "enforce" {
  description = "Fail the plan when the gate does not pass."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Let terraform destroy remove the bucket with its log files."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the bucket and the trail."
  type        = map(string)
  default     = {}
}

variable "archive_trail" {
  description = "Name or ARN of an existing trail whose S3 archive is read and validated, such as the account's management-events; null reads none."
  type        = string
  default     = null
}

variable "archive_start_time" {
  description = "Oldest event time read from the archive, RFC 3339; with archive_end_time, a fixed window instead of archive_lookback."
  type        = string
  default     = null
}

variable "archive_end_time" {
  description = "Newest event time read from the archive, RFC 3339; null means now."
  type        = string
  default     = null
}

variable "archive_lookback" {
  description = "How far back the archive is read when neither archive_start_time nor archive_end_time is set, such as \"730d\"."
  type        = string
  default     = "30d"
}

variable "archive_engine" {
  description = "How the archive is read: s3, the direct scan of its log files, or athena, through the Athena table named in archive_athena (for an organization's archive)."
  type        = string
  default     = "s3"

  validation {
    condition     = contains(["s3", "athena"], var.archive_engine)
    error_message = "archive_engine is s3 or athena."
  }
}

variable "archive_athena" {
  description = "With archive_engine = \"athena\": the opsaudit_athena_table over archive_trail's bucket (database, table), and the workgroup, results location and timeout of the queries."
  type = object({
    database        = string
    table           = string
    workgroup       = optional(string)
    output_location = optional(string)
    timeout         = optional(string)
  })
  default = null
}

variable "integrity_lookback" {
  description = "How far back archive_trail's digests and log files are validated, such as \"7d\": each hour of each region is one digest to read."
  type        = string
  default     = "7d"
}

variable "enforce_integrity" {
  description = "Fail the plan when a digest or log file of archive_trail is invalid or cannot be validated."
  type        = bool
  default     = true
}
