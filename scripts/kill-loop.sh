#!/usr/bin/env bash
# The crash harness of #17: kills a devnet node with SIGKILL under load, again and again, and
# checks that its height never goes back, that every transfer it acknowledged as included is
# still included in the same block, and that it answers again within 2 s of each restart.
# Usage: scripts/kill-loop.sh [kills, default 100]   (CI runs the same test with 5 kills)
# Repeat a failing run with WES_KILL_LOOP_SEED=<the seed it printed>.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/ensure.sh

ensure_cargo
ensure_debian_packages "${WES_DEBIAN_PACKAGES[@]}"

WES_KILL_LOOP="${1:-100}" WES_KILL_LOOP_MAX_RESTART_MS="${WES_KILL_LOOP_MAX_RESTART_MS:-2000}" \
    exec cargo test -p wes-reference-chain --test kill_loop -- --nocapture
