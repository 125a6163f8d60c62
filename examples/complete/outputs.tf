output "account_id" {
  value = data.opsaudit_caller_identity.current.account_id
}

output "trail_arn" {
  value = opsaudit_trail.audit.arn
}

output "bucket" {
  value = opsaudit_log_bucket.audit.bucket
}

output "events_summary" {
  description = "Events per action over the lookback window, readable."
  value = format("%d OpsWorks CM events in %s (%s)%s\n%s\n",
    data.opsaudit_events.recent.total_count,
    join(", ", data.opsaudit_events.recent.regions_queried),
    var.lookback,
    data.opsaudit_events.recent.truncated ? ", truncated" : "",
    join("\n", [for name, n in data.opsaudit_events.recent.counts_by_event_name : format("  %-30s %5d", name, n)]),
  )
}

output "events_total" {
  description = "OpsWorks CM events over the lookback window."
  value       = data.opsaudit_events.recent.total_count
}

output "compliance_status" {
  value = data.opsaudit_compliance.gate.status
}

output "compliance_finding_count" {
  value = length(data.opsaudit_compliance.gate.findings)
}

output "compliance_report" {
  description = "Findings, readable."
  value = format("status: %s, %d findings\n%s\n",
    data.opsaudit_compliance.gate.status,
    length(data.opsaudit_compliance.gate.findings),
    join("\n", [for f in data.opsaudit_compliance.gate.findings :
      format("  %-8s %-38s %s", f.severity, f.rule_id, f.message)
    ]),
  )
}

output "compliance_sarif" {
  description = "SARIF 2.1.0 for code scanning: terraform output -raw compliance_sarif > opsaudit.sarif"
  value       = data.opsaudit_compliance.gate.report_sarif
}

output "compliance_junit" {
  description = "JUnit XML for CI test reports: terraform output -raw compliance_junit > opsaudit.xml"
  value       = data.opsaudit_compliance.gate.report_junit
}

locals {
  history    = data.opsaudit_archive_events.history
  after      = data.opsaudit_archive_events.after_end_of_life
  root       = data.opsaudit_archive_events.root_calls
  validation = data.opsaudit_log_validation.archive

  # Column widths of the table of calls after the end of life.
  name_width = max(10, [for e in local.after.events : length(e.event_name)]...)
  user_width = max(4, [for e in local.after.events : length(e.username)]...)
}

output "archive_summary" {
  description = "The OpsWorks CM calls of its years of use per action, readable."
  value = format("trail %s, %s to %s: %d OpsWorks CM calls in %d log files (%.1f MB) of %d regions\n  %-30s %6s\n%s\n",
    var.archive_trail,
    substr(local.history.start_time, 0, 10),
    substr(local.history.end_time, 0, 10),
    local.history.total_count,
    local.history.files_scanned,
    local.history.bytes_scanned / 1e6,
    length(local.history.regions_read),
    "event name", "calls",
    join("\n", [for name, n in local.history.counts_by_event_name : format("  %-30s %6d", name, n)]),
  )
}

output "archive_counts" {
  description = "The OpsWorks CM calls of its years of use, per action."
  value       = local.history.counts_by_event_name
}

output "archive_total" {
  description = "The OpsWorks CM calls of its years of use."
  value       = local.history.total_count
}

output "archive_bucket" {
  description = "The archive trail's bucket."
  value       = local.history.bucket
}

output "after_end_of_life_report" {
  description = "OpsWorks CM calls after its end of life, oldest first, readable."
  value = format("%d OpsWorks CM call%s after its end of life on %s\n  %-20s  %-14s  %-${local.name_width}s  %-${local.user_width}s  %s\n%s\n",
    local.after.total_count, local.after.total_count == 1 ? "" : "s",
    local.end_of_life,
    "time", "region", "event name", "user", "error",
    join("\n", [for e in reverse(local.after.events) :
      format("  %-20s  %-14s  %-${local.name_width}s  %-${local.user_width}s  %s", e.event_time, e.region, e.event_name, e.username, coalesce(e.error_code, "-"))
    ]),
  )
}

output "after_end_of_life_count" {
  description = "OpsWorks CM calls after its end of life."
  value       = local.after.total_count
}

output "root_calls_report" {
  description = "OpsWorks CM calls by the root user in its years of use, readable, each with its log file."
  value = format("%d OpsWorks CM call%s by the root user, %s to %s\n%s\n",
    local.root.total_count, local.root.total_count == 1 ? "" : "s",
    substr(local.root.start_time, 0, 10), substr(local.root.end_time, 0, 10),
    join("\n", [for e in local.root.events :
      format("  %-20s  %-14s  %s\n  in %s", e.event_time, e.region, e.event_name, e.log_file)
    ]),
  )
}

output "root_call_count" {
  description = "OpsWorks CM calls by the root user."
  value       = local.root.total_count
}

output "integrity_report" {
  description = "Log file validation of the archive trail, per region, with the invalid files."
  value = format("%s: %d/%d digest files and %d/%d log files valid, %s to %s\n  %-14s  %8s  %9s  %8s\n%s\n%s",
    local.validation.status,
    local.validation.digests_valid, local.validation.digests_valid + local.validation.digests_invalid,
    local.validation.logs_valid, local.validation.logs_valid + local.validation.logs_invalid,
    coalesce(local.validation.results_start, "-"),
    coalesce(local.validation.results_end, "-"),
    "region", "digests", "log files", "invalid",
    join("\n", [for r in jsondecode(local.validation.report_json).regions :
      format("  %-14s  %8d  %9d  %8d", r.region, r.digests_valid + r.digests_invalid, r.logs_valid + r.logs_invalid, r.digests_invalid + r.logs_invalid)
    ]),
    join("", [for p in local.validation.problems : format("  INVALID %s %s (%s)\n", p.kind, p.s3_key, p.reason)]),
  )
}

output "integrity_status" {
  description = "pass, fail or unknown."
  value       = local.validation.status
}

output "integrity_invalid_files" {
  description = "Keys of the invalid digest and log files, one a line."
  value       = join("\n", [for p in local.validation.problems : p.s3_key])
}

output "athena_summary" {
  description = "The history's counts through Athena beside the direct scan's, readable; null without Athena."
  value = one([for k, d in data.opsaudit_archive_events.history_athena : format("%d OpsWorks CM calls through Athena (%d quer%s, %.1f MB scanned)\n  %-30s %9s %9s\n%s\n",
    d.total_count, length(d.athena_query_execution_ids), length(d.athena_query_execution_ids) == 1 ? "y" : "ies", d.bytes_scanned / 1e6,
    "event name", "direct", "athena",
    join("\n", [for name in sort(distinct(concat(keys(local.history.counts_by_event_name), keys(d.counts_by_event_name)))) :
      format("  %-30s %9d %9d", name, lookup(local.history.counts_by_event_name, name, 0), lookup(d.counts_by_event_name, name, 0))
    ]),
  )])
}

output "athena_counts_match" {
  description = "Whether Athena's counts equal the direct scan's; null without Athena."
  value       = one([for d in data.opsaudit_archive_events.history_athena : d.total_count == local.history.total_count && d.counts_by_event_name == local.history.counts_by_event_name])
}
