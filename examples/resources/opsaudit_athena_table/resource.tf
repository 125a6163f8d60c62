# The organization trail's whole archive as one table: every member
# account and region it writes, from the day it started logging. The
# organization's folder is read from the trail's bucket. Queries through it
# read only the accounts, regions and days they name.
resource "opsaudit_athena_table" "org" {
  database = "audit"
  name     = "cloudtrail_org"
  trail    = "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-audit"

  account_ids = ["111122223333", "444455556666", "777788889999"]
  regions     = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1"]
  start_date  = "2022-05-01"

  # Where Athena writes the DDL statements' results; not needed when the
  # workgroup sets an output location.
  output_location = "s3://example-athena-results/opsaudit/"
}

# A single account's trail named by its bucket and key prefix instead.
resource "opsaudit_athena_table" "account" {
  database        = "audit"
  name            = "cloudtrail_prod"
  bucket          = "example-opsworks-cm-audit-logs"
  s3_key_prefix   = "cloudtrail"
  account_ids     = ["123456789012"]
  regions         = ["us-east-1", "eu-west-1"]
  start_date      = "2024-01-01"
  workgroup       = "audit"
  output_location = "s3://example-athena-results/opsaudit/"
}

output "ddl" {
  value = opsaudit_athena_table.org.ddl
}
