# What the Athena engine needs besides the archive, for the module's tests:
# the table over the pre-existing trail's bucket, and a place for the query
# results (any bucket Athena may write to: here the trail's own, under a
# prefix of its own).

terraform {
  required_providers {
    opsaudit = {
      source = "opsaudit/opsaudit"
    }
  }
}

data "opsaudit_caller_identity" "current" {}

data "opsaudit_trail" "archive" {
  name = "management-events"
}

locals {
  results = "s3://${data.opsaudit_trail.archive.s3_bucket_name}/athena-results/"
}

resource "opsaudit_athena_table" "archive" {
  database        = "module_test"
  name            = "management_events"
  trail           = data.opsaudit_trail.archive.arn
  account_ids     = [data.opsaudit_caller_identity.current.account_id]
  regions         = data.opsaudit_caller_identity.current.regions
  start_date      = "2022-05-01"
  output_location = local.results
}

output "database" {
  value = opsaudit_athena_table.archive.database
}

output "table" {
  value = opsaudit_athena_table.archive.name
}

output "output_location" {
  value = local.results
}
