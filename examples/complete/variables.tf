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
