# Shared helpers for the mesh integration scenarios. Every process a scenario starts is recorded
# by pid and stopped on exit, whatever happens.
set -euo pipefail
RELAY_BIN=$1 KARS=$2 TAP_BIN=$3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kars-mesh-it.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# wait_for_line FILE PATTERN [SECONDS]
wait_for_line() {
  local file=$1 pattern=$2 secs=${3:-10} i
  for ((i = 0; i < secs * 20; i++)); do
    grep -q -- "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "timed out waiting for '$pattern' in $file: $(cat "$file" 2>/dev/null)"
}

# start_relay NAME LISTEN [FLAGS...]: sets RELAY_PID and RELAY_ADDR.
start_relay() {
  local name=$1 listen=$2; shift 2
  : >"$WORK/$name.out"
  "$RELAY_BIN" --listen "$listen" --data-dir "$WORK/$name" "$@" >"$WORK/$name.out" 2>>"$WORK/$name.err" &
  RELAY_PID=$!
  PIDS+=("$RELAY_PID")
  wait_for_line "$WORK/$name.out" "^listening on "
  RELAY_ADDR=$(sed -n 's/^listening on //p' "$WORK/$name.out")
}

# start_tap TARGET: sets TAP_ADDR; the capture goes to $WORK/capture.bin.
start_tap() {
  "$TAP_BIN" "$1" "$WORK/capture.bin" >"$WORK/tap.out" &
  PIDS+=("$!")
  wait_for_line "$WORK/tap.out" "^listening on "
  TAP_ADDR=$(sed -n 's/^listening on //p' "$WORK/tap.out")
}

# mesh AGENT CMD ARGS...: runs `kars-mesh CMD` as agent AGENT (its store is $WORK/agents/AGENT).
mesh() {
  local agent=$1 cmd=$2; shift 2
  mkdir -p "$WORK/agents"
  "$KARS" "$cmd" --dir "$WORK/agents/$agent" --name "$agent" "$@"
}

# messages FILE: the bodies of "message" lines.
messages() { sed -n 's/^message [^ ]* //p' "$1"; }

# make_certs: test PKI in $WORK/pki made by the openssl CLI (as test_certificates.h does): ca,
# rogue-ca, server (127.0.0.1/localhost, from ca), client (from ca), rogue (from rogue-ca).
make_certs() {
  local d=$WORK/pki name ca
  mkdir -p "$d"
  for ca in ca rogue-ca; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
      -subj "/CN=kars-test-$ca" -keyout "$d/$ca.key" -out "$d/$ca.pem" 2>/dev/null
  done
  leaf() {
    name=$1 ca=$2
    printf '%b' "$3" >"$d/$name.ext"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$name" \
      -keyout "$d/$name.key" -out "$d/$name.csr" 2>/dev/null
    openssl x509 -req -days 1 -in "$d/$name.csr" -CA "$d/$ca.pem" -CAkey "$d/$ca.key" \
      -CAcreateserial -extfile "$d/$name.ext" -out "$d/$name.pem" 2>/dev/null
  }
  leaf server ca 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'
  leaf client ca 'extendedKeyUsage=clientAuth\n'
  leaf rogue rogue-ca 'extendedKeyUsage=clientAuth\n'
}
