#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine, installing what the tests need first.
# Usage: scripts/test.sh [extra cargo test arguments]
# The last line it prints is the total: "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/ensure.sh

ensure_cargo
ensure_debian_packages "${WES_DEBIAN_PACKAGES[@]}" "${WES_TEST_PACKAGES[@]}"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --all-targets "$@" 2>&1 | tee "$log" || status=$?
# Doc tests (examples in the API docs) are not part of --all-targets.
if [ "$status" -eq 0 ]; then
    cargo test --workspace --doc "$@" 2>&1 | tee -a "$log" || status=$?
fi
awk '/^test result:/ { passed += $4; failed += $6 }
     END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
