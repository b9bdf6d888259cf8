//! Builds the guest SDK (`guest/wes-contract`) and the example contracts (`guest/contracts`) to
//! WASM, for integration tests: `mod guest;` then `guest::contract("token")`.
//!
//! The guest code targets Debian's Rust 1.63 (`/usr/bin/rustc` with the `wasm32-unknown-unknown`
//! standard library from `libstd-rust-dev-wasm32`), not the workspace toolchain. Overrides:
//!
//! - `WES_GUEST_RUSTC`: the compiler (default `/usr/bin/rustc`);
//! - `WES_GUEST_LINKER`: the wasm linker (`rust-lld` or `wasm-ld`). By default rustc's own
//!   `rust-lld` is used when it exists (on Debian a link to `lld-14`); otherwise the first of
//!   `wasm-ld-14`, `wasm-ld` on `PATH`, or the `rust-lld` shipped with the toolchain running
//!   the tests. A linker other than rustc's own gets `--no-fatal-warnings`: newer `lld`s warn
//!   about the metadata member of 1.63's rlibs, and rustc makes warnings fatal.
//!
//! Everything is built once per test process, in a fresh directory, and kept in memory.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The example contracts and their entry points.
pub const CONTRACTS: &[(&str, &[&str])] = &[
    ("token", &["init", "mint", "transfer", "supply"]),
    ("escrow", &["open", "release", "refund"]),
    (
        "stock",
        &["init", "authorize", "add", "take", "put_back", "level"],
    ),
    ("order_flow", &["place"]),
    (
        "saga",
        &[
            "init",
            "authorize",
            "begin",
            "advance",
            "fail",
            "timeout",
            "compensate",
            "status",
        ],
    ),
    (
        "fulfilment",
        &["init", "authorize", "ship", "unship", "charge"],
    ),
];

/// Guest stack size in bytes (2 pages; the memory starts with the stack).
pub const STACK_BYTES: u32 = 128 * 1024;
/// Largest memory the modules declare, in bytes (16 pages, the host's default limit).
pub const MAX_MEMORY_BYTES: u32 = 16 * 64 * 1024;

/// Flags for both the SDK and the contracts.
const COMMON_FLAGS: &[&str] = &[
    "--edition=2021",
    "--target=wasm32-unknown-unknown",
    "-Ctarget-cpu=mvp",
    "-Copt-level=z",
    "-Cpanic=abort",
    "-Ccodegen-units=1",
    "-Cdebuginfo=0",
];

const PACKAGES: &str = "install Debian's Rust 1.63 and its wasm32 standard library: \
    `apt-get install rustc libstd-rust-dev-wasm32` (and `lld-14` for the linker), \
    or point WES_GUEST_RUSTC at a rustc with the wasm32-unknown-unknown target";

/// The module of contract `name` (see [`CONTRACTS`]). Panics if the build failed.
pub fn contract(name: &str) -> Vec<u8> {
    match built() {
        Ok(modules) => match modules.get(name) {
            Some(code) => code.clone(),
            None => panic!("no guest contract named `{name}`"),
        },
        Err(e) => panic!("building the guest contracts failed: {e}"),
    }
}

fn built() -> &'static Result<HashMap<String, Vec<u8>>, String> {
    static BUILT: OnceLock<Result<HashMap<String, Vec<u8>>, String>> = OnceLock::new();
    BUILT.get_or_init(build_all)
}

/// The `guest` directory of this crate.
fn guest_dir() -> PathBuf {
    Path::new(".").join("guest")
}

/// A new, empty directory for this build.
fn fresh_dir() -> Result<PathBuf, String> {
    let base = option_env!("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = base.join(format!("wes-guest-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    Ok(dir)
}

fn build_all() -> Result<HashMap<String, Vec<u8>>, String> {
    let rustc = PathBuf::from(
        std::env::var_os("WES_GUEST_RUSTC").unwrap_or_else(|| "/usr/bin/rustc".into()),
    );
    let sysroot = check_toolchain(&rustc)?;
    let linker = linker_flags(&sysroot)?;
    let dir = fresh_dir()?;
    let result = build_in(&rustc, &linker, &dir);
    // Everything is in memory now (or failed, with the compiler's output in the error).
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Checks that `rustc` runs and has the wasm32 standard library; returns its sysroot.
fn check_toolchain(rustc: &Path) -> Result<PathBuf, String> {
    let out = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}; {PACKAGES}", rustc.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} --print sysroot failed; {PACKAGES}",
            rustc.display()
        ));
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let std_dir = sysroot.join("lib/rustlib/wasm32-unknown-unknown/lib");
    let has_core = std::fs::read_dir(&std_dir)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("libcore-"))
        })
        .unwrap_or(false);
    if !has_core {
        return Err(format!(
            "{} has no wasm32-unknown-unknown standard library (no libcore in {}); {PACKAGES}",
            rustc.display(),
            std_dir.display()
        ));
    }
    Ok(sysroot)
}

/// `rust-lld` in `<sysroot>/lib/rustlib/<host>/bin`, if any.
fn sysroot_lld(sysroot: &Path) -> Option<PathBuf> {
    std::fs::read_dir(sysroot.join("lib/rustlib"))
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin/rust-lld"))
        .find(|p| p.exists())
}

/// `name` on `PATH`, if it exists (following links).
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.exists())
}

/// The linker flags: none when rustc's own `rust-lld` works, else a fallback linker.
fn linker_flags(sysroot: &Path) -> Result<Vec<String>, String> {
    let fallback = |linker: PathBuf| {
        vec![
            format!("-Clinker={}", linker.display()),
            "-Clink-arg=--no-fatal-warnings".to_string(),
        ]
    };
    if let Some(linker) = std::env::var_os("WES_GUEST_LINKER") {
        return Ok(fallback(linker.into()));
    }
    // What rustc 1.63 runs by default: `rust-lld` from its sysroot, else from PATH.
    if sysroot_lld(sysroot).is_some() || on_path("rust-lld").is_some() {
        return Ok(Vec::new());
    }
    if let Some(linker) = on_path("wasm-ld-14").or_else(|| on_path("wasm-ld")) {
        return Ok(fallback(linker));
    }
    // The toolchain running these tests (`$CARGO` is `<toolchain>/bin/cargo`).
    let cargo_sysroot = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .and_then(|c| Some(c.parent()?.parent()?.to_path_buf()));
    if let Some(linker) = cargo_sysroot.as_deref().and_then(sysroot_lld) {
        return Ok(fallback(linker));
    }
    Err(format!(
        "no wasm linker: rust-lld (Debian package `lld-14`), wasm-ld or WES_GUEST_LINKER; \
         {PACKAGES}"
    ))
}

/// Runs `rustc` with `args`; the compiler's output on failure.
fn run(rustc: &Path, args: &[String]) -> Result<(), String> {
    let out = Command::new(rustc)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}; {PACKAGES}", rustc.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} {}\n{}{}",
            rustc.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn build_in(
    rustc: &Path,
    linker: &[String],
    dir: &Path,
) -> Result<HashMap<String, Vec<u8>>, String> {
    let guest = guest_dir();
    let common = COMMON_FLAGS.iter().map(|s| s.to_string());

    // The SDK, as an rlib.
    let sdk = dir.join("libwes_contract.rlib");
    let mut args: Vec<String> = common.clone().collect();
    args.extend([
        "--crate-type=rlib".to_string(),
        "--crate-name=wes_contract".to_string(),
        guest.join("wes-contract/src/lib.rs").display().to_string(),
        "-o".to_string(),
        sdk.display().to_string(),
    ]);
    run(rustc, &args)?;

    // Each contract, as a cdylib linked against it.
    let mut modules = HashMap::new();
    for (name, _) in CONTRACTS {
        let out = dir.join(format!("{name}.wasm"));
        let mut args: Vec<String> = common.clone().collect();
        args.extend([
            "--crate-type=cdylib".to_string(),
            format!("--crate-name={name}"),
            "-Clto".to_string(),
            "-Cstrip=symbols".to_string(),
            format!("-Clink-arg=-zstack-size={STACK_BYTES}"),
            format!("-Clink-arg=--max-memory={MAX_MEMORY_BYTES}"),
        ]);
        args.extend(linker.iter().cloned());
        args.extend([
            format!("--extern=wes_contract={}", sdk.display()),
            format!("-L{}", dir.display()),
            guest
                .join(format!("contracts/{name}.rs"))
                .display()
                .to_string(),
            "-o".to_string(),
            out.display().to_string(),
        ]);
        run(rustc, &args)?;
        let code = std::fs::read(&out).map_err(|e| format!("reading {}: {e}", out.display()))?;
        modules.insert(name.to_string(), code);
    }
    Ok(modules)
}
