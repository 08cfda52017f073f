#!/usr/bin/env bash
# `kars policy` as a user runs it: real process, real files, exit codes and messages checked.
set -uo pipefail
kars=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
data=$2
failures=0
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# Pattern "^$" means "empty"; any other pattern must match some line.
matches() {
  if [ "$1" = '^$' ]; then [ ! -s "$2" ]; else grep -qE -- "$1" "$2"; fi
}

# expect EXIT_CODE STDOUT_PATTERN STDERR_PATTERN -- ARGS...
expect() {
  local want=$1 out_pat=$2 err_pat=$3
  shift 4
  "$kars" "$@" >"$out" 2>"$err"
  local rc=$?
  if [ "$rc" -ne "$want" ] || ! matches "$out_pat" "$out" || ! matches "$err_pat" "$err"; then
    echo "FAIL: kars $* → exit $rc (want $want)" >&2
    echo "  stdout: $(head -c 600 "$out")" >&2
    echo "  stderr: $(head -c 600 "$err")" >&2
    failures=$((failures + 1))
  fi
}

cd "$data/policy"
expect 0 '^ok: 1 file\(s\), policy digest [0-9a-f]{64}$' '^$' -- policy check agents.yaml
expect 1 '^$' 'broken-unknown-field.yaml:11:9: E_UNKNOWN_FIELD: unknown field .argz. in ToolMatch' -- policy check broken-unknown-field.yaml
expect 0 '^ok' "^shadowed.yaml:7:7: W_SHADOWED: rule 'allow-search' .*deny rule 'no-tools-at-all' \(shadowed.yaml:8:7\)" -- policy check shadowed.yaml
expect 0 '^ok' "^never-matches.yaml:7:7: W_NEVER_MATCHES: rule 'contradictory'" -- policy check never-matches.yaml
expect 0 '^ok' "^never-matches.yaml:14:7: W_NEVER_MATCHES: rule 'ip-as-host'" -- policy check never-matches.yaml
expect 1 '^$' "E_DUPLICATE: a document named 'team-a-agents'" -- policy check agents.yaml agents.yaml
expect 2 '^$' 'cannot read missing.yaml' -- policy check missing.yaml
expect 2 '^$' 'usage' -- policy check
expect 0 '"effect":"allow".*"rules":\["tools-read-only"\]' '^$' -- policy eval agents.yaml --request requests/search.json
expect 0 '"effect":"deny","reason":"rule.deny"' "rule 'tools-fs-read-outside-tmp'" -- policy eval agents.yaml --request requests/read-etc.json --explain
expect 0 '"effect":"approve","reason":"approval.required","rules":\["tools-shell-needs-approval"\],"ticket":"[0-9a-f]{32}"' '^$' -- policy eval agents.yaml --request requests/shell.json
expect 0 '"effect":"deny","reason":"default.deny"' '^$' -- policy eval agents.yaml --request requests/metadata.json
expect 0 '"effect":"deny","reason":"egress.internal_address"' '^$' -- policy eval agents.yaml --request requests/rebinding.json
expect 1 '"effect":"deny","reason":"request.invalid"' "principal.agent" -- policy eval agents.yaml --request requests/missing-agent.json
expect 2 '^$' 'required' -- policy eval agents.yaml
"$kars" policy eval agents.yaml --request - <requests/search.json >"$out" 2>"$err"
if [ $? -ne 0 ] || ! grep -q '"effect":"allow"' "$out"; then echo "FAIL: eval from stdin" >&2; failures=$((failures + 1)); fi
expect 0 '^19 passed, 0 failed$' '^$' -- policy test agents.yaml --cases agents.cases.yaml
expect 1 'FAIL shell is not simply allowed .*expected allow, got approve' '^$' -- policy test agents.yaml --cases failing.cases.yaml
expect 1 '^$' 'E_UNKNOWN_FIELD' -- policy test broken-unknown-field.yaml --cases agents.cases.yaml
expect 0 '^ok' '^$' -- policy check agents.yaml --blocklist blocklist.txt

expect 0 '"action":"redact".*"redacted":"Contact \[REDACTED:pii\] about' '^$' -- policy scan safety/floors.yaml --text safety/pii.txt --annotations safety/annotations.json
expect 1 '"action":"deny","reason":"safety.deny".*"detector":"aws_access_key"' '^$' -- policy scan safety/floors.yaml --text safety/secret.txt --annotations safety/annotations.json
if grep -q AKIA "$out"; then echo "FAIL: a scan result echoed the secret" >&2; failures=$((failures + 1)); fi
expect 1 '"reason":"safety.annotation_missing"' '^$' -- policy scan safety/floors.yaml --text safety/pii.txt
# Floors applied by the decision to the content a request carries.
expect 0 '"effect":"deny","reason":"safety.deny".*"safety":\{"action":"deny"' '^$' -- policy eval safety/floors.yaml safety/tools.yaml --request requests/tool-with-secret.json
if grep -q AKIA "$out"; then echo "FAIL: a decision echoed the secret" >&2; failures=$((failures + 1)); fi
expect 0 '"effect":"audit","reason":"safety.redact".*"redacted":"mail \[REDACTED:pii\]"' '^$' -- policy eval safety/floors.yaml safety/tools.yaml --request requests/tool-with-email.json
expect 0 '"effect":"deny","reason":"safety.annotation_missing"' '^$' -- policy eval safety/floors.yaml safety/tools.yaml --request requests/tool-unannotated.json

[ "$failures" -eq 0 ] || { echo "$failures CLI check(s) failed" >&2; exit 1; }
echo "all CLI checks passed"
