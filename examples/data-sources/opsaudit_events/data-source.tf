# Every OpsWorks CM call of the last 30 days, in every region of the
# provider. The plan fails when the root user made any of them.
data "opsaudit_events" "recent" {
  lookback = "30d"

  lifecycle {
    postcondition {
      condition = length([for e in self.events : e if e.user_identity_type == "Root"]) == 0
      error_message = format("The root user called OpsWorks CM: %s.", join(", ", [
        for e in self.events : "${e.event_name} in ${e.region} at ${e.event_time}" if e.user_identity_type == "Root"
      ]))
    }
  }
}

# Filters combine: failed deletions by two users, from one network.
data "opsaudit_events" "denied_deletes" {
  lookback        = "90d"
  event_names     = ["DeleteServer", "DeleteBackup"]
  usernames       = ["alice", "bob"]
  error_codes     = ["AccessDenied"]
  source_ip_cidrs = ["203.0.113.0/24"]
}

output "calls_by_action" {
  value = data.opsaudit_events.recent.counts_by_event_name
}

output "denied_deletes" {
  value = [for e in data.opsaudit_events.denied_deletes.events : "${e.username}: ${e.event_name} ${join(", ", [for r in e.resources : r.name])}"]
}
