#!/bin/bash
# fjord-broker as a process: starts from a properties file, serves /metrics,
# keeps running without a reachable controller, and exits 0 on SIGTERM.
set -euo pipefail
BIN="$1"
DIR="${TEST_TMPDIR}/smoke"
mkdir -p "$DIR"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
METRICS_PORT=$(free_port)
CONTROLLER_PORT=$(free_port)
cat > "$DIR/server.properties" <<PROPS
node.id=1
cluster.id=smoke
listeners=PLAINTEXT://127.0.0.1:0
log.dirs=$DIR/data
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
metrics.listen=127.0.0.1:$METRICS_PORT
PROPS
"$BIN" --config "$DIR/server.properties" --set broker.heartbeat.interval.ms=100 \
  --log-file "$DIR/broker.log" &
PID=$!
trap 'kill -9 $PID 2>/dev/null || true' EXIT
python3 - "$METRICS_PORT" <<'PY'
import sys, time, urllib.request
deadline = time.time() + 30
while True:
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=2).read().decode()
        break
    except Exception as e:
        if time.time() > deadline:
            sys.exit(f"/metrics did not answer within 30 s: {e}")
        time.sleep(0.05)
for name in ["fjord_broker_records_in_total", "fjord_broker_under_replicated_partitions",
             "fjord_broker_request_latency_seconds"]:
    if name not in body:
        sys.exit(f"{name} missing from /metrics")
PY
kill -TERM $PID
for _ in $(seq 1 300); do
  kill -0 $PID 2>/dev/null || break
  sleep 0.1
done
if kill -0 $PID 2>/dev/null; then echo "fjord-broker ignored SIGTERM for 30 s"; exit 1; fi
wait $PID
echo "exit status $?"
grep -q "broker 1 stopped" "$DIR/broker.log" || { echo "no clean stop in the log"; cat "$DIR/broker.log"; exit 1; }
