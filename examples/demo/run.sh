#!/usr/bin/env bash
# make demo: the most complete end-to-end example the tree has. Today that is a C host linking
# an installed libkars through its stable C ABI; it grows with each subsystem that lands.
# Usage: examples/demo/run.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "demo: installing libkars into a staging prefix and linking a C host against it"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
pc=$(find "$work/prefix" -name kars.pc | head -n 1)
libdir=$(dirname "$(dirname "$pc")")
PKG_CONFIG_PATH="$libdir/pkgconfig" cc "$root/examples/c-consumer/main.c" \
  $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs kars) -Wl,-rpath,"$libdir" \
  -o "$work/host"
"$work/host"
echo "demo: OK (a C program loaded libkars.so.0, checked its version and read an error object)"
