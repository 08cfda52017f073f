#!/usr/bin/env bash
# make demo: a governed agent session end to end. Starts a real relay on a loopback port the OS
# picks, runs the demo host (policy, broker, audit, mesh through the C ABI), then checks the audit
# log offline with the kars CLI: full verification, an inclusion proof for one decision, and a
# tampered copy that must be caught.
# Usage: examples/demo/run.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
kars="$build/hosts/cli/kars"
relay_bin="$build/hosts/relay/kars-relay"
host="$build/examples/demo/agent_session"
for bin in "$kars" "$relay_bin" "$host"; do
  [ -x "$bin" ] || { echo "demo: $bin is missing; build with KARS_BUILD_HOSTS=ON and KARS_BUILD_MESH=ON" >&2; exit 2; }
done
work=$(mktemp -d)
relay_pid=
cleanup() { [ -n "$relay_pid" ] && kill "$relay_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# The relay prints "listening on HOST:PORT" once it is ready.
mkfifo "$work/relay.out"
"$relay_bin" --data-dir "$work/relay" --listen 127.0.0.1:0 >"$work/relay.out" 2>"$work/relay.err" &
relay_pid=$!
read -r -t 20 line <"$work/relay.out" || { echo "demo: relay did not start:" >&2; cat "$work/relay.err" >&2; exit 1; }
relay=${line#listening on }
echo "demo: relay listening on $relay (stores ciphertext only)"

"$kars" audit keygen --name demo.kars.dev/audit --out "$work/audit" >/dev/null
# The model key: only the broker reads this file; the agent never holds it.
echo "sk-demo-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" >"$work/model.key"
chmod 600 "$work/model.key"
sed "s|@SECRET_FILE@|$work/model.key|" "$here/broker.yaml.in" >"$work/broker.yaml"

"$host" "$work" "$relay" "$here/policy.yaml" "$work/broker.yaml" "$work/audit.key" "$work/model.key"
if grep -rqF "$(cat "$work/model.key")" "$work/audit" "$work/relay" 2>/dev/null; then
  echo "demo: the model key appears in the audit log or the relay's files" >&2; exit 1
fi

echo
echo "6. offline verification with the public key only"
"$kars" audit verify "$work/audit" --key "$work/audit.pub"
"$kars" audit prove "$work/audit" 2 --record-out "$work/r2.bin" --checkpoint-out "$work/cp.txt" >"$work/proof.txt"
"$kars" audit verify-proof --key "$work/audit.pub" "$work/cp.txt" "$work/proof.txt" "$work/r2.bin"
"$kars" audit show "$work/audit" --from 2 --limit 1 --json

echo
echo "7. tampering is caught: change one byte of a copy of the log"
cp -r "$work/audit" "$work/tampered"
segment=$(find "$work/tampered" -type f -name 'segment-*.kseg' | sort | head -n 1)
python3 - "$segment" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, 'rb').read())
needle = b'tool.invoke'
at = data.find(needle)
data[at] ^= 0x01  # 't' -> 'u'
open(path, 'wb').write(data)
PY
if "$kars" audit verify "$work/tampered" --key "$work/audit.pub"; then
  echo "demo: a tampered log verified" >&2; exit 1
fi
echo
echo "demo: OK (policy decided every call, the broker kept the key from the agent and caught its exfiltration, the mesh delivered an end-to-end encrypted message, and the audit log verified offline and caught tampering)"
