//! `wes contract new` and `wes contract build`: a contract from scaffold to a checked module
//! with its ABI.
//!
//! Rust contracts compile with Debian's Rust 1.63 and its wasm32 standard library (the rustup
//! toolchain has no wasm32 target here): `wes-ispc/guest/build.sh` holds the flags and finds
//! the linker. AssemblyScript contracts compile with `sdk/assemblyscript/build.mjs`. This module
//! runs the one the source needs, then checks the module with the node's own deploy-time
//! validator and writes the ABI the module carries beside it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use wes_core::Executor;
use wes_ispc::abi::ContractAbi;
use wes_ispc::{WasmExecutor, WasmLimits};

/// The WES-rs source tree this binary was built from: where the SDK and `build.sh` are.
pub fn default_sdk_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The scaffold's files: path (under the project directory) and template.
const TEMPLATE: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../templates/contract/Cargo.toml"),
    ),
    (
        "src/{{name}}.rs",
        include_str!("../templates/contract/contract.rs"),
    ),
    (
        "tests/{{name}}.rs",
        include_str!("../templates/contract/test.rs"),
    ),
];

/// Writes a new contract project `dir/name`: the contract (a counter with an owner, declared
/// with `contract!`), its unit test, a `Cargo.toml` whose dependencies point at the SDK in
/// `sdk_root`, and WES-rs's `Cargo.lock` (the versions the SDK is tested with). Returns the
/// files written.
///
/// # Errors
/// `name` is not a lowercase Rust identifier, the directory exists, or a write fails.
pub fn scaffold(name: &str, dir: &Path, sdk_root: &Path) -> Result<Vec<PathBuf>> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    ensure!(
        valid,
        "{name:?}: a contract's name is a lowercase Rust identifier (letters, digits, `_`)"
    );
    let project = dir.join(name);
    ensure!(!project.exists(), "{} exists already", project.display());
    let sdk = sdk_root
        .canonicalize()
        .with_context(|| format!("the SDK at {}", sdk_root.display()))?;
    let mut written = Vec::new();
    for (path, template) in TEMPLATE {
        let path = project.join(path.replace("{{name}}", name));
        let text = template
            .replace("{{name}}", name)
            .replace("{{sdk}}", &sdk.display().to_string());
        std::fs::create_dir_all(path.parent().expect("a file under the project"))?;
        std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
        written.push(path);
    }
    let lock = project.join("Cargo.lock");
    std::fs::copy(sdk.join("Cargo.lock"), &lock).with_context(|| {
        format!(
            "copy {} to {}",
            sdk.join("Cargo.lock").display(),
            lock.display()
        )
    })?;
    written.push(lock);
    Ok(written)
}

/// A built contract.
#[derive(Debug)]
pub struct Built {
    /// The module.
    pub wasm: PathBuf,
    /// Its size, in bytes.
    pub bytes: usize,
    /// The ABI written beside it (`<name>.abi.json`), if the module carries one.
    pub abi: Option<(PathBuf, ContractAbi)>,
}

/// Compiles the contract `source` to `out_dir/<name>.wasm`, checks it with the deploy-time
/// validator under `limits`, and writes the ABI it carries to `out_dir/<name>.abi.json`.
///
/// A Rust source (`.rs`, one file) is compiled by the SDK's `build.sh` (Debian's rustc 1.63:
/// `-Copt-level=z`, LTO, `panic=abort`, symbols stripped); an AssemblyScript source (`.ts`) by
/// `sdk/assemblyscript/build.mjs` (Node.js, the SDK's npm packages installed), which embeds
/// the ABI declared beside it (`<name>.abi.json`).
///
/// # Errors
/// The compiler is missing or fails, or the node would refuse the module (the validator's
/// reason: floats, an import that is not HostABI, an ABI that does not match the exports...).
pub fn build(source: &Path, out_dir: &Path, sdk_root: &Path, limits: WasmLimits) -> Result<Built> {
    let name = source
        .file_stem()
        .and_then(|s| s.to_str())
        .with_context(|| format!("{}: no file name", source.display()))?;
    let mut command = match source.extension().and_then(|e| e.to_str()) {
        Some("rs") => {
            let mut c = Command::new("sh");
            c.arg(sdk_root.join("wes-ispc/guest/build.sh"))
                .arg(out_dir)
                .arg(source);
            c
        }
        Some("ts") => {
            let mut c = Command::new("node");
            c.arg(sdk_root.join("sdk/assemblyscript/build.mjs"))
                .arg(source)
                .arg(out_dir);
            c
        }
        _ => bail!(
            "{}: a contract is a Rust (.rs) or AssemblyScript (.ts) source",
            source.display()
        ),
    };
    let output = command
        .output()
        .with_context(|| format!("run the compiler for {}", source.display()))?;
    if !output.status.success() {
        bail!(
            "building {} failed:\n{}{}",
            source.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let wasm = out_dir.join(format!("{name}.wasm"));
    let code = std::fs::read(&wasm).with_context(|| format!("read {}", wasm.display()))?;
    WasmExecutor::new(limits)
        .validate(&code)
        .with_context(|| format!("a node would refuse {}", wasm.display()))?;
    let abi = match ContractAbi::from_module(&code)? {
        Some(abi) => {
            let path = out_dir.join(format!("{name}.abi.json"));
            std::fs::write(&path, serde_json::to_string_pretty(&abi)?)
                .with_context(|| format!("write {}", path.display()))?;
            Some((path, abi))
        }
        None => None,
    };
    Ok(Built {
        wasm,
        bytes: code.len(),
        abi,
    })
}
