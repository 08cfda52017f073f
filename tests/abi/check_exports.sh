#!/usr/bin/env bash
# Fails unless every symbol a shared library defines in its dynamic table matches PATTERN
# (an extended regex), and unless it has no DT_NEEDED entry matching FORBIDDEN_NEEDED.
# Usage: check_exports.sh LIB PATTERN [FORBIDDEN_NEEDED]
set -euo pipefail
lib=$1 pattern=$2 forbidden=${3:-}
[ -f "$lib" ] || { echo "check_exports: $lib does not exist" >&2; exit 1; }
symbols=$(nm -D --defined-only --format=posix "$lib" | awk '{print $1}')
[ -n "$symbols" ] || { echo "check_exports: $lib exports nothing" >&2; exit 1; }
leaked=$(grep -Ev "$pattern" <<<"$symbols" || true)
if [ -n "$leaked" ]; then
  echo "check_exports: $lib leaks $(wc -l <<<"$leaked") symbols outside '$pattern', e.g.:" >&2
  head -n 10 <<<"$leaked" >&2
  exit 1
fi
if [ -n "$forbidden" ]; then
  needed=$(readelf -d "$lib" | awk '/NEEDED/ {print $NF}' | tr -d '[]')
  if grep -Eq "$forbidden" <<<"$needed"; then
    echo "check_exports: $lib depends on $(grep -E "$forbidden" <<<"$needed" | tr '\n' ' ')" >&2
    exit 1
  fi
fi
echo "check_exports: $lib exports $(wc -l <<<"$symbols") symbols, all matching '$pattern'"
