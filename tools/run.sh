#!/usr/bin/env bash
# Sets up the machine and builds Fjord's binaries, optimized.
# (When the local cluster lands, this starts it.)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
bazel build --config=opt //...
echo
echo "Fjord is built. Binaries are under bazel-bin/."
