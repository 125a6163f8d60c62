#!/usr/bin/env bash
# make demo: the whole setup of examples/complete against a sandbox on a free
# loopback port. Everything it writes goes to a temporary directory, which is
# removed, with the sandbox stopped, on success, failure or Ctrl-C.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bin="$repo/bin"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/opsaudit-demo.XXXXXX")
sandbox_pid=""

cleanup() {
  status=$?
  if [ -n "$sandbox_pid" ] && kill -0 "$sandbox_pid" 2>/dev/null; then
    kill -TERM "$sandbox_pid" 2>/dev/null || true
    wait "$sandbox_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted" >&2; exit 130' INT TERM

step() { printf '\n==> %s\n' "$*"; }

command -v terraform >/dev/null || { echo "demo: terraform 1.8 or later must be on PATH" >&2; exit 1; }

step "Building the provider and the sandbox"
(cd "$repo" && go build -o "$bin/terraform-provider-opsaudit" . && go build -o "$bin/opsaudit-sandbox" ./cmd/opsaudit-sandbox)

step "Starting the sandbox (CloudTrail + S3 + STS with a seeded OpsWorks CM history)"
"$bin/opsaudit-sandbox" -addr 127.0.0.1:0 -ready-file "$tmp/endpoint" >"$tmp/sandbox.log" 2>&1 &
sandbox_pid=$!
for _ in $(seq 1 100); do
  [ -s "$tmp/endpoint" ] && break
  kill -0 "$sandbox_pid" 2>/dev/null || { cat "$tmp/sandbox.log" >&2; echo "demo: the sandbox did not start" >&2; exit 1; }
  sleep 0.1
done
[ -s "$tmp/endpoint" ] || { echo "demo: the sandbox did not report its endpoint" >&2; exit 1; }
endpoint=$(cat "$tmp/endpoint")
echo "sandbox at $endpoint"

cat >"$tmp/cli.tfrc" <<CFG
provider_installation {
  dev_overrides {
    "opsaudit/opsaudit" = "$bin"
  }
  direct {}
}
CFG
mkdir "$tmp/work"
cp "$repo"/examples/complete/*.tf "$tmp/work/"
cd "$tmp/work"

export TF_CLI_CONFIG_FILE="$tmp/cli.tfrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
export TF_VAR_sandbox_endpoint="$endpoint"
tf() { terraform "$@" -no-color 2> >(grep -v -e 'Provider development overrides' -e 'dev_overrides' -e '^ - opsaudit/opsaudit' -e 'The behavior may therefore not match' -e 'applying changes may cause the state' -e 'incompatible with published releases' >&2); }

step "terraform apply examples/complete"
if ! tf apply -auto-approve -input=false >"$tmp/apply.txt"; then
  cat "$tmp/apply.txt"
  echo "demo: apply failed" >&2
  exit 1
fi
grep -E '^(Plan:|Apply complete|opsaudit_[a-z_.]+: Creation complete)' "$tmp/apply.txt"

step "Events recorded by CloudTrail"
terraform output -raw events_summary

step "Compliance findings"
terraform output -raw compliance_report

step "A second plan is empty"
set +e
tf plan -detailed-exitcode -input=false >"$tmp/plan.txt"
plan_status=$?
set -e
case "$plan_status" in
  0) ;;
  2) cat "$tmp/plan.txt"; echo "demo: the second plan is not empty" >&2; exit 1 ;;
  *) cat "$tmp/plan.txt"; echo "demo: the second plan failed or was interrupted" >&2; exit 1 ;;
esac
grep -E '^No changes' "$tmp/plan.txt"

step "terraform destroy"
if ! tf destroy -auto-approve -input=false >"$tmp/destroy.txt"; then
  cat "$tmp/destroy.txt"
  echo "demo: destroy failed" >&2
  exit 1
fi
grep -E '^Destroy complete' "$tmp/destroy.txt"

step "Done: the sandbox stops and the temporary directory is removed"
