#!/usr/bin/env bash
# Runs a local WES development chain with sensible defaults: the ledger on sled in
# ./wes-devnet-data (reused on the next run), proof of work on an easy target, funded dev
# keys (alice, bob, miner), a transfer in every block. Ctrl-C stops it.
# Options are passed on: scripts/devnet.sh --blocks 10 --block-time-ms 500 --data-dir DIR
# The reference node with JSON-RPC and networking (wes-node, issue #8) will replace it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/ensure.sh

ensure_cargo
ensure_debian_packages "${WES_DEBIAN_PACKAGES[@]}"

cargo run --release -p wes-devnet -- "$@"
