#!/usr/bin/env bash
# Drives `kars audit` the way an operator and an outside verifier would, and checks exit codes.
set -euo pipefail
kars=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() {  # expect_rc CODE cmd...
  local want=$1; shift
  set +e; "$@" >"$work/out" 2>"$work/err"; local rc=$?; set -e
  [ "$rc" -eq "$want" ] || { cat "$work/out" "$work/err" >&2; fail "'$*' exited $rc, want $want"; }
}

expect_rc 0 "$kars" audit keygen --name kars.test/cli --out log
[ "$(stat -c %a log.key)" = 600 ] || fail "private key mode is $(stat -c %a log.key)"
grep -q '^kars.test/cli+[0-9a-f]\{8\}+' log.pub || fail "public key format"
expect_rc 2 "$kars" audit keygen --name kars.test/cli --out log   # never overwrites
expect_rc 0 "$kars" audit keygen --name someone.else --out other
expect_rc 0 "$kars" audit keygen --name witness.test --out witness --witness
# A witness key is a C2SP cosignature/v1 vkey: algorithm byte 0x04 after the key hash.
python3 -c 'import base64,sys; k=open("witness.pub").read().strip().split("+", 2)[2]; sys.exit(base64.b64decode(k)[0] != 4)' \
  || fail "witness key type"

for i in $(seq 0 9); do
  echo "{\"principal\":{\"agent\":\"a$i\"},\"subsystem\":\"policy\",\"action\":\"model.call\",\"effect\":\"allow\",\"rule_id\":\"r$i\"}"
done > records.jsonl
expect_rc 0 "$kars" audit append logdir --key log.key - < records.jsonl
[ "$(tail -n1 out)" = 9 ] || fail "append printed $(tail -n1 out)"
expect_rc 0 "$kars" audit show logdir --from 3 --limit 2 --json
[ "$(wc -l < out)" = 2 ] || fail "show --limit"
grep -q '"sequence":"3"' out || fail "show --from"
grep -q '"rule_id":"r4"' out || fail "show content"

expect_rc 0 "$kars" audit checkpoint logdir
cp out cp10
head -n1 cp10 | grep -qx 'kars.test/cli' || fail "origin line"
sed -n 2p cp10 | grep -qx '10' || fail "size line"
grep -q $'^\xe2\x80\x94 kars.test/cli ' cp10 || fail "signature line"

expect_rc 0 "$kars" audit prove logdir 6 --record-out rec6 --checkpoint-out cp
cp out proof6
expect_rc 0 "$kars" audit verify-proof --key log.pub cp proof6 rec6
expect_rc 1 "$kars" audit verify-proof --key other.pub cp proof6 rec6   # wrong key
"$kars" audit show logdir --from 5 --limit 1 >/dev/null
expect_rc 0 "$kars" audit prove logdir 5 --record-out rec5
expect_rc 1 "$kars" audit verify-proof --key log.pub cp proof6 rec5     # another record
printf 'kars-audit-inclusion-proof/v1\nindex x\n' > badproof
expect_rc 1 "$kars" audit verify-proof --key log.pub cp badproof rec6   # malformed proof
expect_rc 2 "$kars" audit verify-proof --key log.pub cp missing rec6    # unreadable file
expect_rc 2 "$kars" audit verify-proof --key cp cp proof6 rec6          # not a key

# The standard encodings: a bare RFC 6962 audit path and a C2SP tlog-proof (which embeds the
# checkpoint), both accepted by verify-proof.
expect_rc 0 "$kars" audit prove logdir 6 --format rfc6962
cp out path6
[ "$(stat -c %s path6)" = 128 ] || fail "audit path for 6 of 10 is 4 hashes, got $(stat -c %s path6) bytes"
expect_rc 0 "$kars" audit verify-proof --key log.pub cp path6 rec6
expect_rc 1 "$kars" audit verify-proof --key log.pub cp path6 rec5
expect_rc 0 "$kars" audit prove logdir 6 --format tlog-proof
cp out tlog6
head -n1 tlog6 | grep -qx 'c2sp.org/tlog-proof@v1' || fail "tlog-proof header"
sed -n 2p tlog6 | grep -qx 'index 6' || fail "tlog-proof index"
expect_rc 0 "$kars" audit verify-proof --key log.pub tlog6 rec6
expect_rc 1 "$kars" audit verify-proof --key log.pub tlog6 rec5
expect_rc 1 "$kars" audit verify-proof --key other.pub tlog6 rec6
expect_rc 2 "$kars" audit verify-proof --key log.pub cp tlog6 rec6       # tlog-proof + checkpoint
expect_rc 2 "$kars" audit prove logdir 6 --format yaml

# Grow the log, then prove the old checkpoint is a prefix of the new one.
expect_rc 0 "$kars" audit append logdir --key log.key '{"action":"tool.invoke","effect":"deny"}'
expect_rc 0 "$kars" audit checkpoint logdir
cp out cp11
expect_rc 0 "$kars" audit consistency logdir 10 11
cp out cproof
expect_rc 0 "$kars" audit verify-consistency --key log.pub cp10 cp11 cproof
expect_rc 1 "$kars" audit verify-consistency --key log.pub cp11 cp10 cproof
expect_rc 0 "$kars" audit consistency logdir 10 11 --format rfc6962
cp out cpath
expect_rc 0 "$kars" audit verify-consistency --key log.pub cp10 cp11 cpath
expect_rc 2 "$kars" audit consistency logdir 10 11 --format tlog-proof

# A witness co-signs the first checkpoint, then the next only with a consistency proof.
expect_rc 2 "$kars" audit cosign --key other.key --log-key log.pub --state witness.state cp10  # not a witness key
expect_rc 0 "$kars" audit cosign --key witness.key --log-key log.pub --state witness.state cp10
cp out cp10-cosigned
expect_rc 2 "$kars" audit cosign --key witness.key --log-key log.pub --state witness.state cp11 missing
expect_rc 1 "$kars" audit cosign --key witness.key --log-key log.pub --state witness.state cp11
expect_rc 0 "$kars" audit cosign --key witness.key --log-key log.pub --state witness.state cp11 cproof
grep -c $'^\xe2\x80\x94 ' out | grep -qx 2 || fail "cosigned note should carry two signatures"
cp out cp11-cosigned
expect_rc 0 "$kars" audit verify-cosignature --witness-key witness.pub cp11-cosigned
grep -q 'valid: co-signed' out || fail "verify-cosignature: $(cat out)"
expect_rc 1 "$kars" audit verify-cosignature --witness-key witness.pub cp11             # none
sed '2s/11/12/' cp11-cosigned > cp11-altered
expect_rc 1 "$kars" audit verify-cosignature --witness-key witness.pub cp11-altered     # altered
expect_rc 2 "$kars" audit verify-cosignature --witness-key log.pub cp11-cosigned        # not a witness key
expect_rc 0 "$kars" audit verify-consistency --key log.pub cp10-cosigned cp11-cosigned cproof
expect_rc 0 "$kars" audit verify logdir --key log.pub
grep -q 'valid: 11 records' out || fail "verify summary: $(cat out)"
expect_rc 1 "$kars" audit verify logdir --key other.pub
# A checkpoint kept from earlier agrees; one from a forked log with the same key does not.
expect_rc 0 "$kars" audit verify logdir --key log.pub --checkpoint cp10
expect_rc 0 "$kars" audit append forkdir --key log.key - < <(sed 's/"r3"/"forged"/' records.jsonl)
expect_rc 0 "$kars" audit checkpoint forkdir
cp out forkcp10
expect_rc 0 "$kars" audit verify forkdir --key log.pub
expect_rc 1 "$kars" audit verify logdir --key log.pub --checkpoint forkcp10
grep -q 'forked' err || fail "fork not named: $(cat err)"
expect_rc 2 "$kars" audit verify logdir --key log.pub --checkpoint missing
expect_rc 2 "$kars" audit verify . --key log.pub           # not a log
expect_rc 2 "$kars" audit verify logdir                    # usage
expect_rc 2 "$kars" audit show nowhere
expect_rc 2 "$kars" audit prove logdir 99
expect_rc 2 "$kars" audit frobnicate

# Retention: a log of many small segments drops its oldest, and what remains still verifies
# against checkpoints signed before the drop and still proves.
for i in $(seq 0 199); do
  echo "{\"principal\":{\"agent\":\"a$i\"},\"action\":\"model.call\",\"reason_code\":\"$(printf 'x%.0s' $(seq 1 200))\"}"
done > many.jsonl
expect_rc 0 "$kars" audit append bigdir --key log.key --segment-size 4096 - < many.jsonl
expect_rc 0 "$kars" audit checkpoint bigdir
cp out bigcp
expect_rc 0 "$kars" audit prove bigdir 190 --record-out rec190 --checkpoint-out cp200 --format tlog-proof
cp out tlog190
expect_rc 0 "$kars" audit retain bigdir --key log.key --before 150
first=$(sed -n 's/^kept records from \([0-9]*\).*/\1/p' out)
[ -n "$first" ] && [ "$first" -gt 100 ] && [ "$first" -le 150 ] || fail "retain: $(cat out)"
[ ! -e bigdir/segment-00000000000000000000.kseg ] || fail "the first segment is still there"
expect_rc 0 "$kars" audit verify bigdir --key log.pub --checkpoint bigcp
grep -q 'dropped by retention' out || fail "verify after retention: $(cat out)"
expect_rc 0 "$kars" audit verify-proof --key log.pub tlog190 rec190   # an old proof still holds
expect_rc 0 "$kars" audit prove bigdir 190 --size 200 --format rfc6962
cp out path190
expect_rc 0 "$kars" audit verify-proof --key log.pub cp200 path190 rec190
expect_rc 2 "$kars" audit prove bigdir 3 --size 200                   # dropped
grep -q 'retention' err || fail "dropped record not named: $(cat err)"
expect_rc 2 "$kars" audit retain bigdir --key log.key --before 999
expect_rc 2 "$kars" audit retain bigdir --before 10

# Change one byte of record 4 on disk: verify names index 4.
seg=logdir/segment-00000000000000000000.kseg
python3 - "$seg" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
i = b.find(b'\x42\x02r4') + 2  # rule_id (field 8) of record 4
b[i] ^= 1
open(p, 'wb').write(bytes(b))
PY
expect_rc 1 "$kars" audit verify logdir --key log.pub
grep -q 'INVALID at index 4' err || fail "first bad index: $(cat err)"
echo "cli audit: all checks passed"
