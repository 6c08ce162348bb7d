#!/usr/bin/env bash
# Installs every Debian package Fjord's build, tests, benchmarks and local
# cluster need. Idempotent: packages already present are skipped.
# Usage: tools/setup.sh        (uses sudo when not root)
set -euo pipefail

PACKAGES=(
  # Build toolchain
  bazel-bootstrap bazel-rules-java g++ pkg-config clang-format git ca-certificates
  # Protobuf and gRPC
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  # Libraries
  libabsl-dev librocksdb-dev libspdlog-dev libfmt-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev libisal-dev
  zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev libcli11-dev nlohmann-json3-dev
  libyaml-cpp-dev
  # Golden tests against a real Kafka client library, cluster tooling
  python3 python3-kafka python3-snappy python3-lz4 python3-zstandard procps curl
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "setup: done"
