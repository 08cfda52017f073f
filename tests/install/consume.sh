#!/usr/bin/env bash
# Installs the build into a staging prefix, then builds and runs examples/c-consumer against it
# via pkg-config and via find_package(kars), shared and static.
# Usage: consume.sh BUILD_DIR SOURCE_DIR C_COMPILER [SANITIZE_FLAGS]
set -euo pipefail
build=$1 source=$2 cc=$3 sanitize=${4:-}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cmake --install "$build" --prefix "$stage/prefix" >/dev/null
pc=$(find "$stage/prefix" -name kars.pc | head -n 1)
[ -n "$pc" ] || { echo "consume: install put no kars.pc under the prefix" >&2; exit 1; }
libdir=$(dirname "$(dirname "$pc")")
flags=()
[ -n "$sanitize" ] && flags=(-fsanitize="$sanitize")

# 1. pkg-config
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046
"$cc" "${flags[@]}" -Wall -Wextra -Werror "$source/examples/c-consumer/main.c" \
  $(pkg-config --cflags --libs kars) -Wl,-rpath,"$libdir" -o "$stage/c-consumer-pc"
echo "--- pkg-config build:"
"$stage/c-consumer-pc"
ldd "$stage/c-consumer-pc" | grep "$libdir/libkars.so.0" >/dev/null \
  || { echo "consume: pkg-config build did not link the staged libkars.so.0" >&2; exit 1; }

# 2. pkg-config --static: libkars.a and everything it needs
# shellcheck disable=SC2046
"$cc" "${flags[@]}" -Wall -Wextra -Werror "$source/examples/c-consumer/main.c" \
  -Wl,-Bstatic -lkars -Wl,-Bdynamic $(pkg-config --cflags kars) \
  $(pkg-config --static --libs-only-L --libs-only-other kars) \
  $(pkg-config --static --libs kars | tr ' ' '\n' | grep -v '^-lkars$' | tr '\n' ' ') -o "$stage/c-consumer-pc-static"
echo "--- pkg-config --static build:"
"$stage/c-consumer-pc-static"
if ldd "$stage/c-consumer-pc-static" | grep libkars >/dev/null; then
  echo "consume: the pkg-config static consumer still needs libkars.so" >&2; exit 1
fi

# 3. find_package(kars), shared and static
cmake -S "$source/examples/c-consumer" -B "$stage/cmake-build" -G Ninja \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$stage/prefix" \
  -DCMAKE_C_FLAGS="${flags[*]}" -DCMAKE_EXE_LINKER_FLAGS="${flags[*]}" \
  -DCMAKE_BUILD_RPATH="$libdir" >/dev/null
cmake --build "$stage/cmake-build" >/dev/null
echo "--- find_package build (shared):"
"$stage/cmake-build/c-consumer"
echo "--- find_package build (static):"
"$stage/cmake-build/c-consumer-static"
if ldd "$stage/cmake-build/c-consumer-static" | grep libkars >/dev/null; then
  echo "consume: the static consumer still needs libkars.so" >&2; exit 1
fi
echo "consume: OK"
