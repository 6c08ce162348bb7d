#!/bin/bash
# The other half of byte compatibility: kafka-python decodes batches built by
# RecordBatchBuilder and checks every record. Args: writer binary, verifier.
set -euo pipefail
out="${TEST_TMPDIR:-$(mktemp -d)}/batches"
mkdir -p "$out"
"$1" "$out"
/usr/bin/python3 "$2" "$out"
