//! A new contract from scaffold to call, as the README shows: `wes contract new`, its unit
//! tests with `cargo test`, `wes contract build` (compiled with Debian's rustc 1.63, checked
//! as a node checks at deploy, ABI written), then deployed on a devnet and called with typed
//! arguments, the result decoded with the ABI the module carries.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

/// Runs `wes-node` without a node (the commands that need none); returns stdout.
fn offline(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "wes-node {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_new_contract_is_tested_built_deployed_and_called() {
    let tmp = tempfile::tempdir().unwrap();
    let projects = tmp.path().join("projects");
    std::fs::create_dir_all(&projects).unwrap();
    let files = offline(&[
        "contract",
        "new",
        "hello",
        "--dir",
        projects.to_str().unwrap(),
    ]);
    assert_eq!(files.lines().count(), 4, "{files}");
    let project = projects.join("hello");
    // A second scaffold of the same name does not overwrite the first.
    let again = Command::new(BIN)
        .args([
            "contract",
            "new",
            "hello",
            "--dir",
            projects.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    // Its unit tests run natively, against the off-chain host, with `cargo test`. They share
    // this build's target directory, so the SDK's crates compile once.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("target"));
    let tested = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["test", "-q", "--offline", "--manifest-path"])
        .arg(project.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(
        tested.status.success(),
        "cargo test of the scaffold failed:\n{}\n{}",
        String::from_utf8_lossy(&tested.stdout),
        String::from_utf8_lossy(&tested.stderr)
    );
    assert!(String::from_utf8_lossy(&tested.stdout).contains("1 passed"));

    // Built to WASM, checked, its ABI written.
    let out = tmp.path().join("out");
    let source = project.join("src/hello.rs");
    let built: Value = serde_json::from_str(&offline(&[
        "contract",
        "build",
        source.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(
        built["entries"],
        serde_json::json!(["init", "increment", "count"])
    );
    let abi: Value =
        serde_json::from_slice(&std::fs::read(out.join("hello.abi.json")).unwrap()).unwrap();
    assert_eq!(abi["name"], "hello");
    assert_eq!(abi["entries"][1]["args"][0]["type"], "u64");

    // A module the node would refuse is refused at build: a float.
    std::fs::write(
        project.join("src/float.rs"),
        "#![no_std]\nuse wes_contract::*;\ncontract! {\n    /// Halves.\n    \
         pub fn half(x: u32) -> u32 { (x as f32 / 2.0) as u32 }\n}\n",
    )
    .unwrap();
    let refused = Command::new(BIN)
        .args(["contract", "build"])
        .arg(project.join("src/float.rs"))
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("a node would refuse"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // Deployed on a devnet and called with typed arguments.
    let node = devnet(&tmp.path().join("chain"), false);
    let resource = deploy_contract(&node, &out.join("hello.wasm"));
    let resource = resource.as_str();
    let call = |args: &[&str]| {
        let mut all = vec![
            "contract",
            "call",
            "--resource",
            resource,
            "--from",
            "alice",
        ];
        all.extend_from_slice(args);
        let out = cli_json(&node, &all);
        confirmed(&node, out["txid"].as_str().unwrap(), 1);
        out
    };
    call(&["--entry", "init"]);
    let incremented = call(&["--entry", "increment", "--arg", "by=5"]);
    assert_eq!(incremented["result"]["returns"], "5", "{incremented}");
    let event = &incremented["result"]["events"][0];
    assert_eq!(event["topic"], "Incremented");
    assert_eq!(
        event["fields"],
        serde_json::json!({"by": "5", "count": "5"})
    );

    // A bad typed argument is refused before anything is signed.
    let bad = try_cli(
        &node,
        &[
            "contract",
            "call",
            "--resource",
            resource,
            "--from",
            "alice",
            "--entry",
            "increment",
            "--arg",
            "by=-1",
        ],
    );
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("not an unsigned integer"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
