#!/usr/bin/env bash
# Runs a local chain with sensible defaults. Until the reference chain (wes-node, issue #8)
# lands, this runs the quickstart example: a dev genesis, a signed transfer and block 1,
# built and checked with wes-core.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/ensure.sh

ensure_cargo
ensure_debian_packages "${WES_DEBIAN_PACKAGES[@]}"

cargo run --release -p wes-quickstart -- "$@"
