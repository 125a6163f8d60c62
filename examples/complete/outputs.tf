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

output "compliance_status" {
  value = data.opsaudit_compliance.gate.status
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

output "sarif" {
  description = "SARIF 2.1.0 for code scanning: terraform output -raw sarif > opsaudit.sarif"
  value       = data.opsaudit_compliance.gate.report_sarif
}
