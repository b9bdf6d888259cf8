//! Runs a chain under the example's rotating-authority consensus: two nodes on 127.0.0.1,
//! one holding three of the five authority keys, the other two, so the chain advances only
//! while both take their turns. Prints who sealed each block.
//!
//! `cargo run -p wes-custom-consensus`

use std::time::Duration;

use wes_core::{Ledger, SecretKey};
use wes_node::{LaunchOptions, launch};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let keys = wes_custom_consensus::pool();
    let reward = SecretKey::dev("treasury").public_key();
    let a = wes_custom_consensus::open(&dir.path().join("a"), &keys[..3], reward, 300)?;
    let b = wes_custom_consensus::open(&dir.path().join("b"), &keys[3..], reward, 300)?;
    let listen = vec!["/ip4/127.0.0.1/tcp/0".parse()?];
    let a = launch(
        a,
        LaunchOptions {
            listen: listen.clone(),
            produce: true,
            ..Default::default()
        },
    )
    .await?;
    let boot = a
        .network
        .as_ref()
        .map(|n| n.listen_addrs())
        .unwrap_or_default();
    let b = launch(
        b,
        LaunchOptions {
            listen,
            bootnodes: boot,
            produce: true,
            ..Default::default()
        },
    )
    .await?;
    while b.node.status().height < 12 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ledger = b.node.ledger();
    for h in 1..=12 {
        let hash = ledger.hash_at(h)?.expect("on the best chain");
        let header = ledger.header(&hash)?.expect("stored");
        let who = keys.iter().position(|k| k.public_key() == header.producer);
        println!(
            "block {h:>2} sealed by authority-{}",
            who.map_or("?".into(), |i| i.to_string())
        );
    }
    a.stop().await;
    b.stop().await;
    Ok(())
}
