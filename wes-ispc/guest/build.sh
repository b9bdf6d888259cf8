#!/bin/sh
# Builds the wes-contract SDK and the example contracts to WASM modules the WES host accepts.
#
#   wes-ispc/guest/build.sh OUT_DIR [CONTRACT.rs ...]
#
# writes OUT_DIR/libwes_contract.rlib and OUT_DIR/<contract>.wasm for every CONTRACT.rs given,
# by default every wes-ispc/guest/contracts/<contract>.rs. (`wes contract build` runs this,
# then checks the module and writes its ABI.)
#
# Needs Debian's Rust 1.63 and its wasm32 standard library:
#   apt-get install rustc libstd-rust-dev-wasm32 lld-14
# Environment:
#   WES_GUEST_RUSTC   the compiler (default /usr/bin/rustc)
#   WES_GUEST_LINKER  the wasm linker; by default rustc's rust-lld (Debian: a link to lld-14),
#                     else wasm-ld-14 or wasm-ld on PATH, else the rust-lld of the rustup
#                     toolchain (`rustc --print sysroot` on PATH). A linker other than rustc's
#                     own gets --no-fatal-warnings (newer lld warns about 1.63's rlib metadata).
# Same flags as wes-ispc/tests/guest/mod.rs.
set -eu

if [ $# -lt 1 ]; then
    echo "usage: $0 OUT_DIR [CONTRACT.rs ...]" >&2
    exit 2
fi
OUT=$1
shift
HERE=$(cd "$(dirname "$0")" && pwd)
RUSTC=${WES_GUEST_RUSTC:-/usr/bin/rustc}
PACKAGES="install Debian's Rust 1.63 and its wasm32 standard library: apt-get install rustc libstd-rust-dev-wasm32 lld-14 (or set WES_GUEST_RUSTC)"

die() {
    echo "build.sh: $*" >&2
    exit 1
}

# The compiler and its wasm32 standard library.
SYSROOT=$("$RUSTC" --print sysroot 2>/dev/null) || die "cannot run $RUSTC; $PACKAGES"
ls "$SYSROOT"/lib/rustlib/wasm32-unknown-unknown/lib/libcore-*.rlib >/dev/null 2>&1 ||
    die "$RUSTC has no wasm32-unknown-unknown standard library; $PACKAGES"

# rust-lld in <sysroot>/lib/rustlib/*/bin, if any.
sysroot_lld() {
    for f in "$1"/lib/rustlib/*/bin/rust-lld; do
        if [ -e "$f" ]; then
            echo "$f"
            return 0
        fi
    done
    return 1
}

# The linker.
LINKER=""
if [ -n "${WES_GUEST_LINKER:-}" ]; then
    LINKER=$WES_GUEST_LINKER
elif sysroot_lld "$SYSROOT" >/dev/null || { p=$(command -v rust-lld) && [ -e "$p" ]; }; then
    LINKER=""
elif p=$(command -v wasm-ld-14) || p=$(command -v wasm-ld); then
    LINKER=$p
elif s=$(rustc --print sysroot 2>/dev/null) && p=$(sysroot_lld "$s"); then
    LINKER=$p
else
    die "no wasm linker (rust-lld, wasm-ld or WES_GUEST_LINKER); $PACKAGES"
fi

COMMON="--edition=2021 --target=wasm32-unknown-unknown -Ctarget-cpu=mvp -Copt-level=z -Cpanic=abort -Ccodegen-units=1 -Cdebuginfo=0"
# The memory starts with a 128 KiB stack and declares a maximum of 16 pages (1 MiB), the host's
# default limit; rustc exports it as `memory`.
LINK="-Clto -Cstrip=symbols -Clink-arg=-zstack-size=131072 -Clink-arg=--max-memory=1048576"
if [ -n "$LINKER" ]; then
    LINK="$LINK -Clinker=$LINKER -Clink-arg=--no-fatal-warnings"
fi

mkdir -p "$OUT"
# shellcheck disable=SC2086 # the flag lists are meant to split
"$RUSTC" $COMMON --crate-type=rlib --crate-name=wes_contract \
    "$HERE/wes-contract/src/lib.rs" -o "$OUT/libwes_contract.rlib"

if [ $# -eq 0 ]; then
    set -- "$HERE"/contracts/*.rs
fi
for src in "$@"; do
    name=$(basename "$src" .rs)
    # shellcheck disable=SC2086
    "$RUSTC" $COMMON $LINK --crate-type=cdylib --crate-name="$name" \
        --extern=wes_contract="$OUT/libwes_contract.rlib" -L"$OUT" \
        "$src" -o "$OUT/$name.wasm"
    echo "$OUT/$name.wasm: $(wc -c <"$OUT/$name.wasm") bytes"
done
