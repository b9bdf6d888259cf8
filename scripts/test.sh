#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine, installing what the tests need first.
# Usage: scripts/test.sh [extra cargo test arguments]
# The last line it prints is the total: "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/ensure.sh
. scripts/lib/postgres.sh

ensure_cargo
ensure_debian_packages "${WES_DEBIAN_PACKAGES[@]}" "${WES_TEST_PACKAGES[@]}"

log=$(mktemp)
trap 'stop_postgres; rm -f "$log"' EXIT
# The order-chain example's warehouse tests run against a real PostgreSQL on loopback.
start_postgres
# The AssemblyScript contract SDK: its example token is built by the reference chain's tests.
ensure_node
ensure_npm_packages sdk/assemblyscript
status=0
cargo test --workspace --all-targets "$@" 2>&1 | tee "$log" || status=$?
# Doc tests (examples in the API docs) are not part of --all-targets.
if [ "$status" -eq 0 ]; then
    cargo test --workspace --doc "$@" 2>&1 | tee -a "$log" || status=$?
fi
# The devnet's binary, built as `scripts/devnet.sh` builds it: the test build unifies the
# crates' test features (wes-core/testing…) into every crate, so the binary `cargo run`
# builds differs from the one the tests used. Building it here makes scripts/devnet.sh
# after scripts/test.sh start at once instead of rebuilding the workspace's crates.
if [ "$status" -eq 0 ]; then
    cargo build -p wes-reference-chain --bin wes-node 2>&1 | tail -n 1 || status=$?
fi
# The TypeScript SDK: against the Rust fixtures, against that node binary, and the explorer
# in Chromium.
if [ "$status" -eq 0 ]; then
    ensure_debian_packages "${WES_BROWSER_PACKAGES[@]}"
    ensure_node
    ensure_npm_packages sdk/ts
    target=$(cargo metadata --format-version 1 --no-deps |
        node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).target_directory))')
    (cd sdk/ts && WES_NODE_BIN="$target/debug/wes-node" npm test --silent) 2>&1 |
        tee -a "$log" || status=$?
fi
awk '/^test result:/ { passed += $4; failed += $6 }
     /^# pass / { passed += $3 }
     /^# fail / { failed += $3 }
     END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
