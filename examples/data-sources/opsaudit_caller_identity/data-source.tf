data "opsaudit_caller_identity" "current" {}

output "audited_account" {
  value = data.opsaudit_caller_identity.current.account_id
}
