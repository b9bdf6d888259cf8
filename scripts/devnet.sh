#!/usr/bin/env bash
# Runs a local WES development chain with sensible defaults: the reference node `wes-node`
# (examples/reference-chain) with its ledger, resources and keys in ./wes-devnet-data (reused
# on the next run), proof of work on an easy target, funded dev keys (alice, bob, miner) and
# JSON-RPC on 127.0.0.1:8645, and the explorer at http://127.0.0.1:8645/explorer/ (built from
# sdk/ts with npm; without Node.js the chain runs without it). Ctrl-C stops it cleanly.
# Options are passed on: scripts/devnet.sh --data-dir DIR --listen 127.0.0.1:9000 --block-time-ms 500
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/ensure.sh

ensure_cargo
ensure_debian_packages "${WES_DEBIAN_PACKAGES[@]}"

# The explorer: the TypeScript SDK's page, bundled (a second or two once packages are in).
explorer=()
if (ensure_node && ensure_npm_packages sdk/ts && cd sdk/ts && npm run --silent build:explorer) >&2; then
    explorer=(--explorer-dir sdk/ts/explorer/dist)
else
    echo "(the explorer could not be built; the chain runs without it)" >&2
fi

# The dev profile (dependencies optimised), so the build is shared with scripts/test.sh.
exec cargo run -p wes-reference-chain -- devnet "${explorer[@]}" "$@"
