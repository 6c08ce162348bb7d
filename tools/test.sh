#!/usr/bin/env bash
# Sets up the machine (tools/setup.sh) and runs Fjord's whole test suite:
# every non-manual Bazel test target under //... . Ends with one line
# "N passed, N failed" counting test targets. Extra arguments go to Bazel,
# e.g. tools/test.sh --config=asan or tools/test.sh //storage/...
set -uo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh || exit 1

targets=()
flags=()
for arg in "$@"; do
  case "$arg" in
    //*|:*) targets+=("$arg") ;;
    *) flags+=("$arg") ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(//...)

log=$(mktemp -t fjord-test.XXXXXX)
trap 'rm -f "$log"' EXIT

bazel test --keep_going --test_summary=short "${flags[@]}" -- "${targets[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Bazel's short summary prints one line per test target:
#   //storage:log_test    PASSED in 1.2s      (or "(cached) PASSED")
#   //raft:sim_test       FAILED in 3 out of 3 in 9.1s / TIMEOUT / NO STATUS / FAILED TO BUILD
passed=$(grep -E '^//[^ ]+ +(\(cached\) )?PASSED' "$log" | wc -l)
failed=$(grep -E '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|FLAKY|INCOMPLETE)' "$log" | wc -l)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # The build broke before any test could report: count that as a failure.
  failed=1
fi
echo "${passed} passed, ${failed} failed"
exit "$status"
