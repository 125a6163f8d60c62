#!/usr/bin/env bash
# Prints `terraform providers schema -json` for a locally built provider,
# installed through a dev_overrides CLI configuration in a temporary
# directory: no registry, no `terraform init`. The schema is keyed by the
# short name "opsaudit", which tfplugindocs looks up (it knows only short
# names and hashicorp/ addresses).
set -euo pipefail
provider_bin=$(realpath "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/cli.tfrc" <<CFG
provider_installation {
  dev_overrides {
    "opsaudit/opsaudit" = "$(dirname "$provider_bin")"
  }
  direct {}
}
CFG
cat >"$tmp/main.tf" <<'TF'
terraform {
  required_providers {
    opsaudit = { source = "opsaudit/opsaudit" }
  }
}
TF
cd "$tmp"
TF_CLI_CONFIG_FILE="$tmp/cli.tfrc" CHECKPOINT_DISABLE=1 terraform providers schema -json 2>/dev/null |
  sed 's#"registry.terraform.io/opsaudit/opsaudit":#"opsaudit":#' 
