#!/bin/bash
# fjord-local end to end with the real binaries: the default single combined
# node starts (formatted on first start), status names it the active
# controller, the CLI creates a topic and produces/consumes, stop is prompt
# and clean, and a restart serves the same data.
set -euo pipefail
BIN="$TEST_SRCDIR/$TEST_WORKSPACE"
LOCAL="$BIN/deploy/local/fjord-local"
DIR="$TEST_TMPDIR/local"
FJORD="$BIN/client/cli/fjord"
# Away from 9092 and from other runs of this test (ports in use are skipped).
BASE=$((20000 + (RANDOM % 400) * 20))
trap '"$LOCAL" stop --dir "$DIR" >/dev/null 2>&1 || true; cp -r "$DIR/logs" "${TEST_UNDECLARED_OUTPUTS_DIR:-$TEST_TMPDIR}/" 2>/dev/null || true' EXIT
fail() { echo "FAIL: $*"; tail -20 "$DIR"/logs/*.log || true; exit 1; }

timeout 120 "$LOCAL" start --dir "$DIR" --bin "$BIN" --port-base "$BASE" > "$TEST_TMPDIR/start.out" 2>&1 || { cat "$TEST_TMPDIR/start.out"; fail "start"; }
cat "$TEST_TMPDIR/start.out"
grep -q "1 combined broker+controller node" "$TEST_TMPDIR/start.out" || fail "not one combined node"
status="$(timeout 60 "$LOCAL" status --dir "$DIR")"
echo "$status" | grep -qE '^node-1 +running +[0-9]+ +broker,controller' || fail "status: node-1 not running"
# status reads each node's /metrics; on a loaded machine one scrape can time
# out, so ask again (bounded) before calling it a failure.
for _ in $(seq 1 10); do
  echo "$status" | grep -q "active controller: node-1" && break
  sleep 2
  status="$(timeout 60 "$LOCAL" status --dir "$DIR")"
done
echo "$status" | grep -q "active controller: node-1" || { echo "$status"; fail "status: no active controller"; }
export FJORD_BOOTSTRAP_SERVERS="$("$LOCAL" bootstrap --dir "$DIR")"
export FJORD_BOOTSTRAP_CONTROLLERS="$("$LOCAL" controllers --dir "$DIR")"
# Every CLI call is bounded: a hang fails here with its name, not at Bazel's timeout.
timeout 60 "$FJORD" topic create smoke -p 2 -r 1 || fail "topic create"
seq 1 20 | timeout 60 "$FJORD" produce smoke -X acks=all || fail "produce"
got="$(timeout 60 "$FJORD" consume smoke --from-beginning -n 20 | sort -n | tr '\n' ' ')"
[ "$got" = "$(seq 1 20 | tr '\n' ' ')" ] || fail "consumed '$got'"

start=$SECONDS
timeout 60 "$LOCAL" stop --dir "$DIR" || fail "stop"
took=$((SECONDS - start))
echo "stop took ${took}s"
[ "$took" -le 10 ] || fail "stop took ${took}s"
grep -q "node 1 stopped" "$DIR/logs/node-1.log" || fail "no clean stop in the log"
grep -q "ignored SIGTERM" "$DIR/logs/node-1.log" && fail "needed SIGKILL"

timeout 120 "$LOCAL" start --dir "$DIR" --bin "$BIN" > "$TEST_TMPDIR/restart.out" 2>&1 || { cat "$TEST_TMPDIR/restart.out"; fail "restart"; }
got="$(timeout 60 "$FJORD" consume smoke --from-beginning -n 20 | sort -n | tr '\n' ' ')"
[ "$got" = "$(seq 1 20 | tr '\n' ' ')" ] || fail "after restart consumed '$got'"
timeout 60 "$LOCAL" stop --dir "$DIR" || fail "second stop"
echo PASS
