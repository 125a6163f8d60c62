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
# verdict WORD TEXT: the step's outcome, aligned for reading at a glance.
verdict() { printf 'verdict: %-7s%s\n' "$1" "$2"; }
fail() { echo "demo: $*" >&2; exit 1; }

command -v terraform >/dev/null || fail "terraform 1.8 or later must be on PATH"
command -v aws >/dev/null || fail "the AWS CLI (aws) must be on PATH: the demo changes a log file with it"

step "Building the provider and the sandbox"
(cd "$repo" && go build -o "$bin/terraform-provider-opsaudit" . && go build -o "$bin/opsaudit-sandbox" ./cmd/opsaudit-sandbox)

started=$SECONDS
step "Starting the sandbox (CloudTrail, S3 and STS; recent OpsWorks CM calls and a trail with years of them in S3)"
"$bin/opsaudit-sandbox" -addr 127.0.0.1:0 -ready-file "$tmp/endpoint" >"$tmp/sandbox.log" 2>&1 &
sandbox_pid=$!
for _ in $(seq 1 100); do
  [ -s "$tmp/endpoint" ] && break
  kill -0 "$sandbox_pid" 2>/dev/null || { cat "$tmp/sandbox.log" >&2; fail "the sandbox did not start"; }
  sleep 0.1
done
[ -s "$tmp/endpoint" ] || fail "the sandbox did not report its endpoint"
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
# tf_to FILE ARGS...: terraform ARGS with its output in FILE, shown if it fails.
tf_to() {
  local file=$1
  shift
  tf "$@" >"$file" || { cat "$file"; fail "terraform $1 failed"; }
}
out() { terraform output -raw "$1"; }

# The AWS CLI against the sandbox with its key pair, whatever profile the
# environment names.
awscli() {
  env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null aws --endpoint-url "$endpoint" --region us-east-1 "$@"
}

# recent_log_key prints the key of a log file delivered a few days ago,
# well inside the window the validation reads.
recent_log_key() {
  local account prefix key
  account=$(out account_id)
  for days in 3 4 2 5; do
    for region in us-east-1 eu-west-1 eu-central-1; do
      prefix="AWSLogs/$account/CloudTrail/$region/$(date -u -d "-$days days" +%Y/%m/%d)/"
      key=$(awscli s3api list-objects-v2 --bucket "$1" --prefix "$prefix" --max-keys 1 --no-paginate --query 'Contents[0].Key' --output text)
      if [ -n "$key" ] && [ "$key" != None ]; then
        echo "$key"
        return
      fi
    done
  done
}

# Athena writes query results to S3: a bucket of its own in the sandbox.
awscli s3 mb s3://opsaudit-athena-results >/dev/null
export TF_VAR_athena_output_location=s3://opsaudit-athena-results/

step "terraform apply examples/complete"
tf_to "$tmp/apply.txt" apply -auto-approve -input=false
grep -E '^(Plan:|Apply complete|opsaudit_[a-z_.]+(\["[a-z]+"\])?: Creation complete)' "$tmp/apply.txt"
for created in opsaudit_log_bucket.audit opsaudit_trail.audit 'opsaudit_athena_table.archive["archive"]'; do
  grep -qF "$created: Creation complete" "$tmp/apply.txt" || fail "the apply did not create $created"
done
verdict ok "the bucket, the trail and the Athena table, created in one apply"

step "Events recorded by CloudTrail (LookupEvents, the last 30 days)"
out events_summary
verdict ok "$(out events_total) OpsWorks CM events read from every region"

step "Compliance findings"
out compliance_report
status=$(out compliance_status)
[ "$status" = fail ] || fail "the seeded history should fail the gate, got $status"
verdict fail "$(out compliance_finding_count) findings, as the seeded history should give"

step "The archive: two years of OpsWorks CM in the trail's S3 log files"
out archive_summary
echo
out root_calls_report
echo
out after_end_of_life_report
after=$(out after_end_of_life_count) root=$(out root_call_count)
[ "$after" -gt 0 ] && [ "$root" -gt 0 ] || fail "the archive should hold calls after end of life and a root call, got $after and $root"
verdict review "$(out archive_total) calls in its years of use, $root by the root user; $after after its end of life"

step "Log file integrity: the archive trail's digests and log files of the last 7 days"
out integrity_report
status=$(out integrity_status)
[ "$status" = pass ] || fail "the archive should validate, got $status"
verdict pass "every digest and log file is the one CloudTrail wrote"

step "The same history through Athena (engine = \"athena\", an opsaudit_athena_table over the trail's bucket)"
out athena_summary
[ "$(out athena_counts_match)" = true ] || fail "Athena's counts differ from the direct scan's"
verdict same "$(out archive_total) calls: Athena's counts equal the direct scan's, action by action"

step "A second plan of the resources changes nothing"
# The apply has just read every data source; the plan checks the resources
# (and what they depend on) for drift and perpetual diffs, without reading
# the archive again.
set +e
tf plan -detailed-exitcode -input=false -target=opsaudit_log_bucket.audit -target=opsaudit_trail.audit \
  -target=opsaudit_athena_table.archive >"$tmp/plan.txt"
plan_status=$?
set -e
case "$plan_status" in
  0) ;;
  2) cat "$tmp/plan.txt"; fail "the second plan is not empty" ;;
  *) cat "$tmp/plan.txt"; fail "the second plan failed or was interrupted" ;;
esac
grep -E '^No changes' "$tmp/plan.txt"
verdict ok "no drift, no perpetual diff"

step "Changing one log file through S3 (aws s3 cp)"
bucket=$(out archive_bucket)
key=$(recent_log_key "$bucket")
[ -n "$key" ] || fail "no log file of the last days found in s3://$bucket"
awscli s3 cp "s3://$bucket/$key" "$tmp/original.json.gz" >/dev/null
gzip -dc "$tmp/original.json.gz" >"$tmp/original.json"
# The first record's source address, as someone covering their tracks would.
sed -E 's/"sourceIPAddress":"[^"]*"/"sourceIPAddress":"203.0.113.66"/' "$tmp/original.json" >"$tmp/changed.json"
! cmp -s "$tmp/original.json" "$tmp/changed.json" || fail "the change left $key as it was"
gzip -c "$tmp/changed.json" >"$tmp/changed.json.gz"
awscli s3 cp "$tmp/changed.json.gz" "s3://$bucket/$key" >/dev/null
echo "s3://$bucket/$key"
echo "  sourceIPAddress $(grep -oE '"sourceIPAddress":"[^"]*"' "$tmp/original.json" | head -n 1 | cut -d'"' -f4) -> 203.0.113.66 in its first record"
verdict done "same key, new content: only the signed digests can tell"

step "Log file integrity again (terraform apply -refresh-only)"
tf_to "$tmp/refresh.txt" apply -refresh-only -auto-approve -input=false -target=data.opsaudit_log_validation.archive
out integrity_report
status=$(out integrity_status) invalid=$(out integrity_invalid_files)
[ "$status" = fail ] && [ "$invalid" = "$key" ] || fail "validation should fail naming $key alone, got $status and: $invalid"
verdict fail "as it should: the changed file is named, and no other"

step "terraform destroy"
tf_to "$tmp/destroy.txt" destroy -auto-approve -input=false -refresh=false
grep -E '^Destroy complete' "$tmp/destroy.txt"
verdict ok "nothing left behind"

step "Done in $((SECONDS - started))s after the build: the sandbox stops and the temporary directory is removed"
