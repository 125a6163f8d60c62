# The OpsWorks CM calls made after its end of life (Chef Automate, the
# engine that lasted longer, on 5 May 2024), read from the trail's log
# files in S3: LookupEvents no longer reaches that far back. The plan fails
# when there is any, naming each call and the log file it is in.
data "opsaudit_archive_events" "after_end_of_life" {
  trail      = "management-events"
  start_time = "2024-05-05T00:00:01Z"

  lifecycle {
    postcondition {
      condition = self.total_count == 0
      error_message = format("%d OpsWorks CM calls after its end of life: %s.", self.total_count, join(", ", [
        for e in self.events : "${e.event_name} by ${e.username} in ${e.region} at ${e.event_time} (${e.log_file})"
      ]))
    }
  }
}

# Two years of history as counts alone, which keep the state small: every
# call is counted, none is kept in events.
data "opsaudit_archive_events" "two_years" {
  trail      = "management-events"
  lookback   = "730d"
  max_events = 0
}

# A bucket read directly (here the sandbox's), every account and region
# folder in it, failed deletions only, going on past a file that cannot be
# read. A copy made with `aws s3 sync s3://<bucket> <dir>` is read the same
# way with `directory = "<dir>"` instead of `bucket`; an organization
# trail's bucket takes `organization_id` too.
data "opsaudit_archive_events" "denied_deletes" {
  bucket        = "aws-cloudtrail-logs-123456789012-300548ce"
  account_ids   = ["*"]
  regions       = ["*"]
  lookback      = "365d"
  event_names   = ["DeleteServer", "DeleteBackup"]
  error_codes   = ["AccessDenied"]
  on_file_error = "warn"
}

output "calls_by_region" {
  value = data.opsaudit_archive_events.two_years.counts_by_region
}

output "denied_deletes_by_account" {
  value = data.opsaudit_archive_events.denied_deletes.counts_by_account
}

# The same question asked of Amazon Athena, for an organization's archive
# too large to read file by file: a table over the trail's bucket, then
# engine = "athena" with the location, window and filters unchanged. The
# partitions bound what Athena scans (and bills) to the accounts, regions
# and days named; bytes_scanned reports it.
resource "opsaudit_athena_table" "archive" {
  database        = "audit"
  name            = "cloudtrail"
  trail           = "management-events"
  account_ids     = ["123456789012"]
  regions         = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"]
  start_date      = "2022-05-01"
  output_location = "s3://athena-results/opsaudit/"
}

data "opsaudit_archive_events" "deletes_2023" {
  trail       = "management-events"
  regions     = ["us-east-1", "eu-west-1"]
  start_time  = "2023-01-01T00:00:00Z"
  end_time    = "2023-12-31T23:59:59Z"
  event_names = ["DeleteServer", "DeleteBackup"]
  max_events  = 10

  engine = "athena"
  athena {
    database        = opsaudit_athena_table.archive.database
    table           = opsaudit_athena_table.archive.name
    output_location = "s3://athena-results/opsaudit/"
    timeout         = "10m"
  }
}

output "deletes_2023" {
  value = {
    by_region     = data.opsaudit_archive_events.deletes_2023.counts_by_region
    bytes_scanned = data.opsaudit_archive_events.deletes_2023.bytes_scanned
  }
}
