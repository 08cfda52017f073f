#!/usr/bin/env bash
# Compares a shared library against the committed ABI baseline with abidiff. Additions pass;
# any incompatible change (removed or changed function, changed type layout) fails.
# Usage: check_abi.sh BASELINE.abi LIB PUBLIC_HEADERS_DIR
set -uo pipefail
baseline=$1 lib=$2 headers=$3
[ -f "$baseline" ] || { echo "check_abi: no baseline $baseline; run 'make abi-update'" >&2; exit 1; }
report=$(abidiff --no-added-syms --headers-dir2 "$headers" "$baseline" "$lib" 2>&1)
rc=$?
# abidiff's exit status is a bit field: 1 error, 2 usage error, 4 ABI change, 8 incompatible change.
if (( rc & 1 || rc & 2 )); then
  echo "check_abi: abidiff could not compare $lib with $baseline:" >&2; echo "$report" >&2; exit 1
fi
if (( rc & 8 )); then
  echo "check_abi: $lib breaks the ABI recorded in $baseline:" >&2; echo "$report" >&2
  echo "check_abi: if the break is deliberate (a new major version), run 'make abi-update'" >&2
  exit 1
fi
if (( rc & 4 )); then
  echo "check_abi: compatible changes against $baseline:"; echo "$report"
fi
echo "check_abi: $lib is ABI-compatible with $baseline"
