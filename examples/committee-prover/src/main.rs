//! Starts a committee of three attestors on 127.0.0.1, a chain in a temporary directory whose
//! calls need two of their signatures, deploys a `calc` program and calls it.
//!
//! `cargo run -p wes-committee-prover -- "s + x * 2"`

use std::sync::Arc;

use wes_committee_prover::attestor::Attestor;
use wes_committee_prover::{call, committee, open};
use wes_core::SecretKey;
use wes_custom_executor::deploy;
use wes_custom_executor::executor::CalcVerifier;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let program = std::env::args().nth(1).unwrap_or("s + x * 2".into());
    let keys: Vec<SecretKey> = ["ana", "bo", "cy"]
        .iter()
        .map(|n| SecretKey::dev(n))
        .collect();
    let attestors = keys
        .iter()
        .map(|k| Attestor::start(k.clone(), Arc::new(CalcVerifier)))
        .collect::<Result<Vec<_>, _>>()?;
    let urls: Vec<String> = attestors.iter().map(|a| a.url().to_owned()).collect();
    println!("attestors: {}", urls.join(", "));
    let dir = tempfile::tempdir()?;
    let node = open(dir.path(), &committee(&keys, 2)?, Some(urls), 1_000)?;
    let id = deploy(&node, &program)?;
    println!("deployed `{program}` as {id}");
    for x in [1, 2, 3] {
        let result = call(&node, id, x).await?;
        println!(
            "apply({x}) = {result}   (height {}, attested by 2 of 3)",
            node.status().height
        );
    }
    Ok(())
}
