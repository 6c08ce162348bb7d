#!/usr/bin/env bash
# Sets up the machine, builds Fjord optimized and starts a local cluster
# (one combined broker+controller node on loopback; see
# deploy/local/README.md). Extra arguments go to `fjord-local start`, e.g.
# tools/run.sh --multi (3 controllers + 3 brokers).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
bazel build --config=opt //broker:fjord-broker //controller/server:fjord-controller //client/cli:fjord
deploy/local/fjord-local start "$@"
bootstrap="$(deploy/local/fjord-local bootstrap)"
controllers="$(deploy/local/fjord-local controllers)"
cat <<NEXT

Try it (the fjord CLI is bazel-bin/client/cli/fjord):
  export FJORD_BOOTSTRAP_SERVERS=$bootstrap FJORD_BOOTSTRAP_CONTROLLERS=$controllers
  alias fjord=\$PWD/bazel-bin/client/cli/fjord
  fjord topic create demo -p 3 -r 1
  seq 1 5 | fjord produce demo
  fjord consume demo --from-beginning -n 5
  fjord topic describe demo
  fjord cluster info
  fjord perf produce --topic demo --num-records 100000 --record-size 1024 --throughput -1
  deploy/local/fjord-local status
  deploy/local/fjord-local stop
NEXT
