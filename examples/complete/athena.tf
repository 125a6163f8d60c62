# The same history through Amazon Athena, which reads the archive inside
# AWS: for an organization's archive, too large to read file by file from
# the machine that runs Terraform. Left out while athena_output_location is
# null; both engines give the same counts.

locals {
  athena = var.athena_output_location == null ? {} : { archive = var.athena_output_location }
}

resource "opsaudit_athena_table" "archive" {
  for_each = local.athena

  database = var.athena_database
  # A table name takes lower-case letters, digits and underscores; the
  # trail may be given by name or ARN.
  name            = "cloudtrail_${replace(lower(reverse(split("/", var.archive_trail))[0]), "/[^a-z0-9_]/", "_")}"
  trail           = var.archive_trail
  account_ids     = [data.opsaudit_caller_identity.current.account_id]
  regions         = data.opsaudit_caller_identity.current.regions
  start_date      = substr(var.archive_start_time, 0, 10)
  output_location = each.value
}

data "opsaudit_archive_events" "history_athena" {
  for_each = local.athena

  trail      = var.archive_trail
  start_time = var.archive_start_time
  end_time   = local.end_of_use
  max_events = 0

  engine = "athena"
  athena {
    database        = opsaudit_athena_table.archive[each.key].database
    table           = opsaudit_athena_table.archive[each.key].name
    output_location = each.value
  }
}
