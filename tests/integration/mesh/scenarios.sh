#!/usr/bin/env bash
# Mesh integration scenarios over a real kars-relay process on an OS-chosen loopback port.
# Usage: scenarios.sh RELAY_BIN KARS_CLI TCP_TAP SCENARIO
source "$(dirname "$0")/lib.sh"
scenario=$4

case "$scenario" in
first_contact)
  start_relay relay 127.0.0.1:0
  mesh bob recv --relay "$RELAY_ADDR" >/dev/null  # bob registers and publishes his bundle
  mesh alice send --relay "$RELAY_ADDR" --to bob --message "hello bob"
  mesh bob recv --relay "$RELAY_ADDR" --count 1 --timeout-ms 5000 >"$WORK/bob.txt"
  [ "$(cat "$WORK/bob.txt")" = "message alice hello bob" ] || fail "bob got: $(cat "$WORK/bob.txt")"
  mesh bob send --relay "$RELAY_ADDR" --to alice --message "hello alice"
  mesh alice recv --relay "$RELAY_ADDR" --count 1 --timeout-ms 5000 >"$WORK/alice.txt"
  [ "$(cat "$WORK/alice.txt")" = "message bob hello alice" ] || fail "alice got: $(cat "$WORK/alice.txt")"
  a=$(mesh alice safety-number --peer bob) b=$(mesh bob safety-number --peer alice)
  [ "$a" = "$b" ] && [ ${#a} -eq 60 ] || fail "safety numbers differ: $a vs $b"
  # An unknown recipient is refused clearly.
  if mesh alice send --relay "$RELAY_ADDR" --to nobody --message x 2>"$WORK/err.txt"; then
    fail "send to unknown recipient succeeded"
  fi
  grep -q "KARS_E_NOT_FOUND" "$WORK/err.txt" || fail "unknown recipient: $(cat "$WORK/err.txt")"
  ;;

three_agents)
  start_relay relay 127.0.0.1:0
  for a in a b c; do mesh $a recv --relay "$RELAY_ADDR" >/dev/null; done
  mesh a send --relay "$RELAY_ADDR" --to b --message "a to b"
  mesh a send --relay "$RELAY_ADDR" --to c --message "a to c"
  mesh b send --relay "$RELAY_ADDR" --to c --message "b to c"
  mesh c send --relay "$RELAY_ADDR" --to a --message "c to a"
  mesh b recv --relay "$RELAY_ADDR" --count 1 --timeout-ms 5000 >"$WORK/b.txt"
  mesh c recv --relay "$RELAY_ADDR" --count 2 --timeout-ms 5000 >"$WORK/c.txt"
  mesh a recv --relay "$RELAY_ADDR" --count 1 --timeout-ms 5000 >"$WORK/a.txt"
  [ "$(messages "$WORK/b.txt")" = "a to b" ] || fail "b: $(cat "$WORK/b.txt")"
  [ "$(messages "$WORK/c.txt" | sort | tr '\n' ,)" = "a to c,b to c," ] || fail "c: $(cat "$WORK/c.txt")"
  [ "$(messages "$WORK/a.txt")" = "c to a" ] || fail "a: $(cat "$WORK/a.txt")"
  ;;

offline_then_back)
  start_relay relay 127.0.0.1:0
  mesh bob recv --relay "$RELAY_ADDR" >/dev/null
  seq 1 200 | mesh alice send --relay "$RELAY_ADDR" --to bob --lines >"$WORK/sent.txt"
  [ "$(tail -n1 "$WORK/sent.txt")" = "sent 200" ] || fail "sender: $(tail -n1 "$WORK/sent.txt")"
  mesh bob recv --relay "$RELAY_ADDR" --count 200 --timeout-ms 20000 >"$WORK/bob.txt"
  [ "$(messages "$WORK/bob.txt")" = "$(seq 1 200)" ] || fail "bob did not get 1..200 in order"
  # Nothing is left over: a second receive is empty.
  mesh bob recv --relay "$RELAY_ADDR" --timeout-ms 500 >"$WORK/again.txt" || true
  [ ! -s "$WORK/again.txt" ] || fail "redelivered: $(head -3 "$WORK/again.txt")"
  ;;

relay_sigkill)
  start_relay relay 127.0.0.1:0
  port=${RELAY_ADDR##*:}
  mesh bob recv --relay "$RELAY_ADDR" >/dev/null
  n=400
  seq 1 $n | mesh alice send --relay "$RELAY_ADDR" --to bob --lines >"$WORK/sent.txt" 2>"$WORK/send.err" &
  sender=$!
  PIDS+=("$sender")
  mesh bob recv --relay "$RELAY_ADDR" --count $n --timeout-ms 60000 >"$WORK/bob.txt" 2>"$WORK/recv.err" &
  receiver=$!
  PIDS+=("$receiver")
  wait_for_line "$WORK/sent.txt" "^sent 100$" 30
  kill -9 "$RELAY_PID"
  wait "$RELAY_PID" 2>/dev/null || true
  acked_before=$(tail -n1 "$WORK/sent.txt")
  [ "$acked_before" != "sent $n" ] || fail "the relay was killed after the sender finished"
  sleep 0.3
  start_relay relay "127.0.0.1:$port"  # same data dir, same port
  wait "$sender" || fail "sender failed after restart: $(cat "$WORK/send.err")"
  wait "$receiver" || fail "receiver failed: $(tail -3 "$WORK/recv.err"); got $(messages "$WORK/bob.txt" | wc -l)"
  [ "$(messages "$WORK/bob.txt")" = "$(seq 1 $n)" ] ||
    fail "not exactly once in order (killed after '$acked_before'): $(messages "$WORK/bob.txt" | sort -n | uniq -d | head -3) dup; $(messages "$WORK/bob.txt" | wc -l) lines"
  ;;

replay_and_tamper)
  start_relay relay 127.0.0.1:0
  db="$WORK/relay/relay.db"
  mesh bob recv --relay "$RELAY_ADDR" >/dev/null
  mesh alice send --relay "$RELAY_ADDR" --to bob --message "setup"
  mesh bob recv --relay "$RELAY_ADDR" --count 1 --timeout-ms 5000 >/dev/null
  mesh bob send --relay "$RELAY_ADDR" --to alice --message "setup reply"
  mesh alice recv --relay "$RELAY_ADDR" --count 1 --timeout-ms 5000 >/dev/null
  mesh alice send --relay "$RELAY_ADDR" --to bob --message "first"
  mesh alice send --relay "$RELAY_ADDR" --to bob --message "second"
  # A malicious relay keeps copies of what it carried...
  sqlite3 -cmd ".timeout 5000" "$db" "CREATE TABLE captured AS SELECT * FROM messages"
  [ "$(sqlite3 -cmd ".timeout 5000" "$db" "SELECT count(*) FROM captured")" = 2 ] || fail "capture"
  mesh bob recv --relay "$RELAY_ADDR" --count 2 --timeout-ms 5000 >"$WORK/bob1.txt"
  [ "$(messages "$WORK/bob1.txt" | tr '\n' ,)" = "first,second," ] || fail "bob1: $(cat "$WORK/bob1.txt")"
  # ...replays them, and flips a bit in one under a fresh message id.
  sqlite3 -cmd ".timeout 5000" "$db" "
    INSERT INTO messages (recipient, sender, message_id, type, ciphertext, expires_at)
      SELECT recipient, sender, message_id, type, ciphertext, expires_at FROM captured ORDER BY seq;
    INSERT INTO messages (recipient, sender, message_id, type, ciphertext, expires_at)
      SELECT recipient, sender, randomblob(16), type,
             substr(ciphertext, 1, 40) ||
               (CASE WHEN substr(ciphertext, 41, 1) = x'00' THEN x'01' ELSE x'00' END) ||
               substr(ciphertext, 42),
             expires_at FROM captured ORDER BY seq LIMIT 1;"
  mesh bob recv --relay "$RELAY_ADDR" --timeout-ms 1500 >"$WORK/bob2.txt" || true
  [ "$(grep -c '^duplicate alice$' "$WORK/bob2.txt")" = 2 ] || fail "replays: $(cat "$WORK/bob2.txt")"
  grep -q '^rejected alice KARS_E_' "$WORK/bob2.txt" || fail "tamper: $(cat "$WORK/bob2.txt")"
  ! grep -q '^message' "$WORK/bob2.txt" || fail "a replay or forgery was delivered"
  # The session still works both ways.
  mesh alice send --relay "$RELAY_ADDR" --to bob --message "after attack"
  mesh bob recv --relay "$RELAY_ADDR" --count 1 --timeout-ms 5000 >"$WORK/bob3.txt"
  [ "$(messages "$WORK/bob3.txt")" = "after attack" ] || fail "bob3: $(cat "$WORK/bob3.txt")"
  mesh bob send --relay "$RELAY_ADDR" --to alice --message "still here"
  mesh alice recv --relay "$RELAY_ADDR" --count 1 --timeout-ms 5000 >"$WORK/alice.txt"
  [ "$(messages "$WORK/alice.txt")" = "still here" ] || fail "alice: $(cat "$WORK/alice.txt")"
  ;;

identity_change)
  start_relay relay 127.0.0.1:0 --allow-reregister
  mesh alice recv --relay "$RELAY_ADDR" >/dev/null
  mesh bob send --relay "$RELAY_ADDR" --to alice --message "old bob"
  mesh alice recv --relay "$RELAY_ADDR" --count 1 --timeout-ms 5000 >/dev/null
  old=$(mesh alice safety-number --peer bob)
  rm -rf "$WORK/agents/bob"  # bob reinstalls: new identity, same name
  mesh bob send --relay "$RELAY_ADDR" --to alice --message "new bob"
  mesh alice recv --relay "$RELAY_ADDR" --timeout-ms 1500 >"$WORK/a1.txt" || true
  [ "$(cat "$WORK/a1.txt")" = "identity-changed bob" ] || fail "a1: $(cat "$WORK/a1.txt")"
  if mesh alice send --relay "$RELAY_ADDR" --to bob --message "to blocked" 2>"$WORK/err.txt"; then
    fail "send to a blocked peer succeeded"
  fi
  grep -q KARS_E_DENIED "$WORK/err.txt" || fail "blocked send: $(cat "$WORK/err.txt")"
  pending=$(mesh alice safety-number --peer bob --pending)
  [ "$pending" != "$old" ] || fail "pending safety number equals the old one"
  [ "$pending" = "$(mesh bob safety-number --peer alice)" ] || fail "new bob's safety number differs"
  mesh alice approve --peer bob
  mesh alice recv --relay "$RELAY_ADDR" --count 1 --timeout-ms 5000 >"$WORK/a2.txt"
  [ "$(cat "$WORK/a2.txt")" = "message bob new bob" ] || fail "a2: $(cat "$WORK/a2.txt")"
  [ "$(mesh alice safety-number --peer bob)" = "$pending" ] || fail "approved key is not the pending one"
  mesh alice send --relay "$RELAY_ADDR" --to bob --message "welcome back"
  mesh bob recv --relay "$RELAY_ADDR" --count 1 --timeout-ms 5000 >"$WORK/b.txt"
  [ "$(messages "$WORK/b.txt")" = "welcome back" ] || fail "b: $(cat "$WORK/b.txt")"
  ;;

limits)
  start_relay relay 127.0.0.1:0 --max-message-bytes 2000 --max-mailbox-messages 5
  mesh bob recv --relay "$RELAY_ADDR" >/dev/null
  if mesh alice send --relay "$RELAY_ADDR" --to bob --message "$(head -c 3000 /dev/zero | tr '\0' x)" 2>"$WORK/e1.txt"; then
    fail "oversize message accepted"
  fi
  grep -q "exceeds the relay's limit" "$WORK/e1.txt" || fail "oversize: $(cat "$WORK/e1.txt")"
  seq 1 5 | mesh alice send --relay "$RELAY_ADDR" --to bob --lines >/dev/null
  if mesh alice send --relay "$RELAY_ADDR" --to bob --message six 2>"$WORK/e2.txt"; then
    fail "full mailbox accepted a message"
  fi
  grep -q "KARS_E_EXHAUSTED" "$WORK/e2.txt" && grep -q "is full" "$WORK/e2.txt" || fail "full: $(cat "$WORK/e2.txt")"
  mesh bob recv --relay "$RELAY_ADDR" --count 5 --timeout-ms 5000 >"$WORK/b.txt"
  [ "$(messages "$WORK/b.txt")" = "$(seq 1 5)" ] || fail "b: $(cat "$WORK/b.txt")"
  ;;

rate_limit_and_config)
  printf 'rate-limit = 5   # sends per second per client, burst 10\nttl-seconds = 3600\n' >"$WORK/relay.conf"
  start_relay relay 127.0.0.1:0 --config "$WORK/relay.conf"
  mesh bob recv --relay "$RELAY_ADDR" >/dev/null
  if seq 1 40 | mesh alice send --relay "$RELAY_ADDR" --to bob --lines >"$WORK/sent.txt" 2>"$WORK/err.txt"; then
    fail "40 immediate sends passed a limit of 5/s"
  fi
  grep -q "KARS_E_EXHAUSTED" "$WORK/err.txt" && grep -q "rate limit" "$WORK/err.txt" || fail "rate: $(cat "$WORK/err.txt")"
  accepted=$(wc -l <"$WORK/sent.txt")
  [ "$accepted" -ge 5 ] && [ "$accepted" -le 12 ] || fail "$accepted sends accepted"
  # Nothing accepted is lost; nothing refused is stored.
  mesh bob recv --relay "$RELAY_ADDR" --count "$accepted" --timeout-ms 5000 >"$WORK/b.txt"
  [ "$(messages "$WORK/b.txt")" = "$(seq 1 "$accepted")" ] || fail "b: $(cat "$WORK/b.txt")"
  mesh bob recv --relay "$RELAY_ADDR" --timeout-ms 300 >"$WORK/b2.txt" || true
  [ ! -s "$WORK/b2.txt" ] || fail "a refused message was stored: $(cat "$WORK/b2.txt")"
  # An unknown option in the config file stops the relay with a clear message.
  echo "no-such-option = 1" >"$WORK/bad.conf"
  if "$RELAY_BIN" --data-dir "$WORK/x" --config "$WORK/bad.conf" 2>"$WORK/bad.err"; then fail "bad config accepted"; fi
  grep -q "unknown option no-such-option" "$WORK/bad.err" || fail "bad config: $(cat "$WORK/bad.err")"
  ;;

expiry_notice)
  start_relay relay 127.0.0.1:0 --ttl-seconds 1
  mesh bob recv --relay "$RELAY_ADDR" >/dev/null
  mesh alice send --relay "$RELAY_ADDR" --to bob --message "never collected"
  sleep 2.5
  mesh alice recv --relay "$RELAY_ADDR" --timeout-ms 1500 >"$WORK/a.txt" || true
  [ "$(cat "$WORK/a.txt")" = "expired bob" ] || fail "alice: $(cat "$WORK/a.txt")"
  mesh bob recv --relay "$RELAY_ADDR" --timeout-ms 500 >"$WORK/b.txt" || true
  [ ! -s "$WORK/b.txt" ] || fail "expired message delivered: $(cat "$WORK/b.txt")"
  ;;

no_plaintext_anywhere)
  start_relay relay 127.0.0.1:0
  start_tap "$RELAY_ADDR"
  mesh bob recv --relay "$TAP_ADDR" >/dev/null
  for i in 1 2 3; do mesh alice send --relay "$TAP_ADDR" --to bob --message "CANARY-alice-$i-plaintext"; done
  mesh bob send --relay "$TAP_ADDR" --to alice --message "CANARY-bob-reply-plaintext"
  mesh bob recv --relay "$TAP_ADDR" --count 3 --timeout-ms 5000 >"$WORK/b.txt"
  mesh alice recv --relay "$TAP_ADDR" --count 1 --timeout-ms 5000 >"$WORK/a.txt"
  [ "$(messages "$WORK/b.txt" | wc -l)" = 3 ] && [ "$(messages "$WORK/a.txt" | wc -l)" = 1 ] || fail "delivery"
  # Messages an agent has decrypted but not yet handed over sit in its inbox on disk.
  mesh alice send --relay "$TAP_ADDR" --to bob --message "CANARY-alice-queued-plaintext"
  mesh bob recv --relay "$TAP_ADDR" --leave-queued --timeout-ms 5000 >"$WORK/bq.txt"
  grep -q "^queued alice" "$WORK/bq.txt" || fail "nothing queued: $(cat "$WORK/bq.txt")"
  kill -TERM "$RELAY_PID"; wait "$RELAY_PID" || true
  # The scan itself must work: routing data the relay legitimately sees is found...
  grep -aq "bob" "$WORK/capture.bin" || fail "capture is empty or unreadable"
  cat "$WORK/relay/"* | grep -aq "alice" || fail "relay data unreadable"
  cat "$WORK/agents/bob/"* | grep -aq "alice" || fail "agent data unreadable"
  # ...and no plaintext is, in the capture, any relay data file, or any file of the agents (their
  # inboxes, resend copies and outboxes are sealed at rest).
  for f in "$WORK/capture.bin" "$WORK/relay/"* "$WORK/agents/"*/*; do
    if grep -aq "CANARY" "$f" || grep -aq "plaintext" "$f"; then fail "plaintext found in $f"; fi
  done
  ;;

groups)
  start_relay relay 127.0.0.1:0
  db="$WORK/relay/relay.db"
  for a in alice bob carol; do mesh $a recv --relay "$RELAY_ADDR" >/dev/null; done
  mesh alice group-create --relay "$RELAY_ADDR" --group team --members bob,carol
  # Members apply the update and hand out their own sender keys when they receive.
  for a in bob carol alice bob carol; do mesh $a recv --relay "$RELAY_ADDR" --timeout-ms 300 >/dev/null || true; done
  mesh alice group-send --relay "$RELAY_ADDR" --group team --message "hello team"
  [ "$(sqlite3 -cmd ".timeout 5000" "$db" "SELECT count(DISTINCT ciphertext), count(*) FROM messages WHERE type = 4")" = "1|2" ] ||
    fail "a group message is not one ciphertext stored for two members"
  mesh bob recv --relay "$RELAY_ADDR" --count 1 --timeout-ms 5000 >"$WORK/b1.txt"
  mesh carol recv --relay "$RELAY_ADDR" --count 1 --timeout-ms 5000 >"$WORK/c1.txt"
  grep -qx "group-message team alice hello team" "$WORK/b1.txt" || fail "bob: $(cat "$WORK/b1.txt")"
  grep -qx "group-message team alice hello team" "$WORK/c1.txt" || fail "carol: $(cat "$WORK/c1.txt")"
  mesh carol group-send --relay "$RELAY_ADDR" --group team --message "carol speaking"
  mesh bob recv --relay "$RELAY_ADDR" --count 1 --timeout-ms 5000 >"$WORK/b2.txt"
  grep -qx "group-message team carol carol speaking" "$WORK/b2.txt" || fail "bob2: $(cat "$WORK/b2.txt")"
  # Removal: bob rotates on receiving it; carol is told she is out.
  mesh alice group-remove --relay "$RELAY_ADDR" --group team --member carol
  for a in bob alice carol; do mesh $a recv --relay "$RELAY_ADDR" --timeout-ms 300 >/dev/null || true; done
  mesh alice group-send --relay "$RELAY_ADDR" --group team --message "after removal"
  mesh bob group-send --relay "$RELAY_ADDR" --group team --message "bob after removal"
  [ "$(sqlite3 -cmd ".timeout 5000" "$db" "SELECT count(*) FROM messages WHERE recipient = 'carol' AND type = 4")" = 0 ] ||
    fail "the relay stored a group message for a removed member"
  # A relay that hands carol the later ciphertexts anyway: she cannot read them.
  sqlite3 -cmd ".timeout 5000" "$db" "
    INSERT INTO messages (recipient, sender, message_id, type, ciphertext, expires_at, group_id)
      SELECT 'carol', sender, message_id, type, ciphertext, expires_at, group_id FROM messages
      WHERE type = 4 AND recipient IN ('bob', 'alice');"
  mesh carol recv --relay "$RELAY_ADDR" --timeout-ms 1500 >"$WORK/c2.txt" || true
  ! grep -q "^group-message" "$WORK/c2.txt" || fail "removed member read: $(cat "$WORK/c2.txt")"
  mesh bob recv --relay "$RELAY_ADDR" --count 1 --timeout-ms 5000 >"$WORK/b3.txt"
  mesh alice recv --relay "$RELAY_ADDR" --count 1 --timeout-ms 5000 >"$WORK/a3.txt"
  grep -qx "group-message team alice after removal" "$WORK/b3.txt" || fail "bob3: $(cat "$WORK/b3.txt")"
  grep -qx "group-message team bob bob after removal" "$WORK/a3.txt" || fail "alice3: $(cat "$WORK/a3.txt")"
  ;;

restored_from_backup)
  # Bob's directory is restored from an older copy while alice's sessions moved on: bob reports
  # what he cannot decrypt, handshakes afresh, alice resends, and nothing sent is lost.
  start_relay relay 127.0.0.1:0
  A=(--relay "$RELAY_ADDR")
  mesh bob recv "${A[@]}" >/dev/null
  mesh alice send "${A[@]}" --to bob --message "x1"
  mesh bob recv "${A[@]}" --count 1 --timeout-ms 5000 >/dev/null
  mesh bob send "${A[@]}" --to alice --message "y1"
  mesh alice recv "${A[@]}" --count 1 --timeout-ms 5000 >/dev/null
  cp -a "$WORK/agents/bob" "$WORK/bob.backup"
  mesh alice send "${A[@]}" --to bob --message "x2"
  mesh bob recv "${A[@]}" --count 1 --timeout-ms 5000 >/dev/null
  mesh bob send "${A[@]}" --to alice --message "y2"
  mesh alice recv "${A[@]}" --count 1 --timeout-ms 5000 >/dev/null
  rm -rf "$WORK/agents/bob"
  cp -a "$WORK/bob.backup" "$WORK/agents/bob"
  for i in 1 2 3; do mesh alice send "${A[@]}" --to bob --message "after-restore-$i"; done
  mesh bob recv "${A[@]}" --timeout-ms 1000 >"$WORK/b1.txt"
  grep -q "^rejected alice .*re-handshaking" "$WORK/b1.txt" || fail "no re-handshake: $(cat "$WORK/b1.txt")"
  mesh alice recv "${A[@]}" --timeout-ms 1000 >"$WORK/a1.txt"
  mesh bob recv "${A[@]}" --timeout-ms 2000 >"$WORK/b2.txt"
  for i in 1 2 3; do
    grep -qx "message alice after-restore-$i" "$WORK/b1.txt" "$WORK/b2.txt" ||
      fail "after-restore-$i lost: $(cat "$WORK/b1.txt" "$WORK/b2.txt")"
  done
  # And the new session carries both ways.
  mesh bob send "${A[@]}" --to alice --message "bob is back"
  mesh alice recv "${A[@]}" --count 1 --timeout-ms 5000 >"$WORK/a2.txt"
  grep -qx "message bob bob is back" "$WORK/a2.txt" || fail "alice: $(cat "$WORK/a2.txt")"
  ;;

mutual_tls)
  # A relay requiring client certificates; agents pass --relay-ca/--relay-cert/--relay-key.
  make_certs
  P=$WORK/pki
  start_relay relay 127.0.0.1:0 --tls-cert "$P/server.pem" --tls-key "$P/server.key" \
    --tls-client-ca "$P/ca.pem"
  T=(--relay "$RELAY_ADDR" --relay-ca "$P/ca.pem" --relay-cert "$P/client.pem"
     --relay-key "$P/client.key")
  mesh bob recv "${T[@]}" >/dev/null
  mesh alice send "${T[@]}" --to bob --message "over mtls"
  # Without a client certificate, or with one from another CA: refused, naming relay and TLS.
  if mesh bob recv --relay "$RELAY_ADDR" --relay-ca "$P/ca.pem" 2>"$WORK/err1.txt"; then
    fail "connected without a client certificate"
  fi
  grep -q "KARS_E_UNAVAILABLE" "$WORK/err1.txt" && grep -q "relay $RELAY_ADDR unreachable over TLS" \
    "$WORK/err1.txt" || fail "no client certificate: $(cat "$WORK/err1.txt")"
  if mesh bob recv --relay "$RELAY_ADDR" --relay-ca "$P/ca.pem" --relay-cert "$P/rogue.pem" \
    --relay-key "$P/rogue.key" 2>"$WORK/err2.txt"; then
    fail "connected with a certificate from another CA"
  fi
  grep -q "KARS_E_UNAVAILABLE" "$WORK/err2.txt" || fail "rogue: $(cat "$WORK/err2.txt")"
  # Mismatched certificate and key, an unreadable file: refused before connecting.
  if mesh bob recv --relay "$RELAY_ADDR" --relay-ca "$P/ca.pem" --relay-cert "$P/client.pem" \
    --relay-key "$P/rogue.key" 2>"$WORK/err3.txt"; then
    fail "accepted a key of another certificate"
  fi
  grep -q "does not belong" "$WORK/err3.txt" || fail "mismatch: $(cat "$WORK/err3.txt")"
  ! grep -q "PRIVATE KEY" "$WORK/err3.txt" || fail "key material in an error"
  if mesh bob recv "${T[@]}" --relay-ca "$P/missing.pem" 2>"$WORK/err4.txt"; then
    fail "accepted a missing CA file"
  fi
  grep -q "cannot read --relay-ca" "$WORK/err4.txt" || fail "missing: $(cat "$WORK/err4.txt")"
  # The message waited at the relay through all of it.
  mesh bob recv "${T[@]}" --count 1 --timeout-ms 5000 >"$WORK/bob.txt"
  [ "$(messages "$WORK/bob.txt")" = "over mtls" ] || fail "bob got: $(cat "$WORK/bob.txt")"
  ;;

*)
  fail "unknown scenario $scenario"
  ;;
esac
echo "ok: $scenario"
