#!/usr/bin/env bash
# --run_under wrapper for --config=tsan: preloads the Abseil mutex shim
# (see absl_mutex_tsan_shim.cc) and runs the test.
set -euo pipefail
self_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
shim=""
for candidate in \
    "${RUNFILES_DIR:-/nonexistent}/fjord/tools/tsan/libabsl_mutex_tsan_shim.so" \
    "${BASH_SOURCE[0]}.runfiles/fjord/tools/tsan/libabsl_mutex_tsan_shim.so" \
    "$self_dir/libabsl_mutex_tsan_shim.so"; do
  if [ -f "$candidate" ]; then shim="$candidate"; break; fi
done
if [ -z "$shim" ]; then
  echo "run_with_shim.sh: libabsl_mutex_tsan_shim.so not found" >&2
  exit 1
fi
export LD_PRELOAD="$shim${LD_PRELOAD:+:$LD_PRELOAD}"
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}suppressions=$(dirname "$shim")/suppressions.txt"
exec "$@"
