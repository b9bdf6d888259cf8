# Shared by the scripts in scripts/: install what the project needs on a fresh machine.
# Sourced, not run.

# ensure_debian_packages PKG...: installs the Debian packages that are missing (needs root or
# sudo; runs apt-get update once, only when something must be installed).
ensure_debian_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# ensure_cargo: a Rust toolchain must be on PATH.
ensure_cargo() {
    if ! command -v cargo >/dev/null 2>&1; then
        [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
    fi
    command -v cargo >/dev/null 2>&1 || {
        echo "error: cargo not found; install Rust $(grep -m1 rust-version Cargo.toml | cut -d'"' -f2) or newer (https://rustup.rs)" >&2
        exit 1
    }
}

# Debian packages the workspace's build needs: protoc, for candle-onnx's ONNX protobuf types.
WES_DEBIAN_PACKAGES=(protobuf-compiler)

# And those the tests need besides: the example contracts are built from Rust source with
# Debian's Rust 1.63 (the rustup toolchain has no wasm32 target here), its wasm32 standard
# library, and lld to link them; the order-chain example's warehouse runs on PostgreSQL.
WES_TEST_PACKAGES=(rustc libstd-rust-dev-wasm32 lld-14 postgresql)

# And the explorer's browser test: Debian's Chromium, driven by playwright-core (no browser
# can be downloaded here).
WES_BROWSER_PACKAGES=(chromium)

# ensure_node: Node.js 20 or newer and npm (the TypeScript SDK's tests); installs Debian's
# when missing.
ensure_node() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        ensure_debian_packages nodejs npm
    fi
    local major
    major=$(node -p 'process.versions.node.split(".")[0]')
    [ "$major" -ge 20 ] || {
        echo "error: Node.js $major found; the TypeScript SDK needs 20 or newer" >&2
        exit 1
    }
}

# ensure_npm_packages DIR: installs DIR's npm packages exactly as its package-lock.json says
# (`npm ci`), again only when the lock changed since the last install.
ensure_npm_packages() {
    local dir=$1 stamp want
    stamp="$dir/node_modules/.wes-lock-sha256"
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "==> npm ci in $dir"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
        echo "$want" >"$stamp"
    fi
}
