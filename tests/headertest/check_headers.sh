#!/usr/bin/env bash
# Compiles every public header alone, as C99 and as C++, with -Wall -Wextra -pedantic -Werror.
# Usage: check_headers.sh CC CXX INCLUDE_DIR
set -euo pipefail
cc=$1 cxx=$2 include_dir=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0 count=0
for header in "$include_dir"/kars/*.h; do
  name=kars/$(basename "$header")
  printf '#include <%s>\n#include <%s>\nint kars_headertest_anchor;\n' "$name" "$name" >"$tmp/t.c"
  cp "$tmp/t.c" "$tmp/t.cc"
  if ! "$cc" -std=c99 -Wall -Wextra -pedantic -Werror -I"$include_dir" -c "$tmp/t.c" -o "$tmp/t.o"; then
    echo "headertest: $name does not compile alone as C99" >&2; status=1
  fi
  if ! "$cxx" -std=c++20 -Wall -Wextra -pedantic -Werror -I"$include_dir" -c "$tmp/t.cc" -o "$tmp/t.o"; then
    echo "headertest: $name does not compile alone as C++" >&2; status=1
  fi
  count=$((count + 1))
done
[ "$count" -gt 0 ] || { echo "headertest: no headers under $include_dir/kars" >&2; exit 1; }
[ "$status" -eq 0 ] && echo "headertest: $count headers compile alone as C99 and C++"
exit "$status"
