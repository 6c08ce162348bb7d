#!/usr/bin/env bash
# Fails when clang-format (Google base, 100 columns: .clang-format) would change
# any of Fjord's C++ sources. Fix with: tools/check_format.sh --fix
set -uo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.h' '*.cc' | grep -v '^third_party/')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "clang-format: $f needs formatting (tools/check_format.sh --fix)"
    bad=1
  fi
done
[ "$bad" -eq 0 ] && echo "clang-format: ${#files[@]} files clean"
exit "$bad"
