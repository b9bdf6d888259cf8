//! A contract in the second language, AssemblyScript (`sdk/assemblyscript`): the token example
//! built with `wes contract build` (its ABI embedded, checked as a node checks at deploy),
//! deployed on a devnet and called with typed arguments through the node, whose admission
//! verifies each call by replay. Its ABI is the Rust token's, so the same typed calls serve
//! both. Floats stay out of contracts: an AssemblyScript module that uses them is refused.
//!
//! Needs Node.js and `sdk/assemblyscript`'s npm packages (`scripts/test.sh` installs them).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::{Value, json};

fn sdk() -> PathBuf {
    PathBuf::from(".").join("../../sdk/assemblyscript")
}

/// `wes contract build SOURCE --out OUT`: the tool's output.
fn build(source: &Path, out: &Path) -> std::process::Output {
    assert!(
        sdk().join("node_modules/assemblyscript").exists(),
        "the AssemblyScript SDK's packages are not installed: npm ci in sdk/assemblyscript \
         (scripts/test.sh does)"
    );
    Command::new(BIN)
        .args(["contract", "build"])
        .arg(source)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn the_assemblyscript_token_is_built_deployed_and_called_through_the_node() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let built = build(&sdk().join("examples/token.ts"), &out);
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let built: Value = serde_json::from_slice(&built.stdout).unwrap();
    assert_eq!(
        built["entries"],
        json!(["init", "mint", "transfer", "supply"])
    );

    let node = devnet(&tmp.path().join("chain"), false);
    let resource = deploy_contract(&node, &out.join("token.wasm"));
    let abi = cli_json(&node, &["contract", "abi", "--resource", &resource]);
    assert_eq!(abi["name"], "token_as");

    // Each call is executed by the node, signed by the CLI, and admitted only once the node has
    // verified it by replay; `confirmed` waits until it is in a block.
    let call = |from: &str, args: &[&str]| {
        let mut all = vec!["contract", "call", "--resource", &resource, "--from", from];
        all.extend_from_slice(args);
        let out = cli_json(&node, &all);
        confirmed(&node, out["txid"].as_str().unwrap(), 1);
        out
    };
    let tag = "07".repeat(32);
    let tag_arg = format!("tag={tag}");
    call("alice", &["--entry", "init"]);
    let minted = call(
        "alice",
        &[
            "--entry",
            "mint",
            "--arg",
            &tag_arg,
            "--arg",
            "amount=500",
            "--arg",
            "to=bob",
        ],
    );
    let event = &minted["result"]["events"][0];
    assert_eq!(event["topic"], "Mint", "{minted}");
    assert_eq!(event["fields"]["amount"], "500", "{minted}");
    assert_eq!(event["fields"]["tag"], tag.as_str(), "{minted}");

    // The tokens are bob's outputs: `Issued { contract, tag }`, named by its encoding.
    let balance = cli_json(&node, &["balance", "bob"]);
    let issued = balance
        .as_object()
        .unwrap()
        .iter()
        .find(|(token, _)| token.ends_with(&tag))
        .map(|(_, amount)| amount.clone());
    assert_eq!(issued, Some(json!("500")), "{balance}");

    let supply = cli_json(
        &node,
        &[
            "contract",
            "call",
            "--resource",
            &resource,
            "--from",
            "alice",
            "--entry",
            "supply",
            "--arg",
            &tag_arg,
        ],
    );
    assert_eq!(supply["result"]["returns"], "500", "{supply}");

    // A declared error reaches the caller with its code and name.
    let refused = try_cli(
        &node,
        &[
            "contract",
            "call",
            "--resource",
            &resource,
            "--from",
            "bob",
            "--entry",
            "mint",
            "--arg",
            &tag_arg,
            "--arg",
            "amount=1",
            "--arg",
            "to=bob",
        ],
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("#3 NotOwner: only the owner may do this"),
        "{stderr}"
    );
}

#[test]
fn an_assemblyscript_contract_with_floats_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("halve.ts");
    std::fs::write(
        &source,
        "@external(\"wes\", \"set_return\")\n\
         declare function set_return(ptr: usize, len: usize): void;\n\
         export function halve(): void {\n\
           const out = new Uint8Array(8);\n\
           store<f64>(out.dataStart, <f64>out.length / 3.0);\n\
           set_return(out.dataStart, 8);\n\
         }\n",
    )
    .unwrap();
    let built = build(&source, &tmp.path().join("out"));
    assert!(!built.status.success());
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(stderr.contains("a node would refuse"), "{stderr}");
    assert!(stderr.to_lowercase().contains("float"), "{stderr}");
}
