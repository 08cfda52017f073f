#!/usr/bin/env bash
# Writes a log with kars (make_log, C ABI only), then verifies its keys, checkpoints,
# cosignatures and proofs with independent Go implementations. `go run` fetches the pinned
# modules (verifier/go.sum) through the Go module proxy when they are not cached yet.
set -euo pipefail
make_log=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v go >/dev/null || { echo "interop: FAIL: the go toolchain is not on PATH" >&2; exit 1; }
"$make_log" "$work/out"
cd "$here/verifier"
GOFLAGS=-mod=readonly go run . "$work/out"
