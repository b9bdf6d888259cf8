//! The allow-list chain in a temporary directory: a payment to bob is refused, the
//! governance key allows bob, the payment goes through.
//!
//! `cargo run -p wes-app-rule`

use wes_app_rule::{coin_of, governance, land, memo, open, transfer};
use wes_core::{Lock, SecretKey};

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let node = open(dir.path())?;
    let (alice, bob) = (SecretKey::dev("alice"), SecretKey::dev("bob"));
    let bob_lock = Lock::key(bob.public_key());
    let bob_address = bob_lock.address();
    let coin = coin_of(&node, &alice).expect("alice is funded");
    match land(
        &node,
        transfer(&alice, coin, &bob_address, bob_lock.clone(), 1_000),
    ) {
        Err(e) => println!("before:  {e}"),
        Ok(()) => anyhow::bail!("bob is not on the list yet"),
    }
    let gov = governance();
    land(
        &node,
        memo(
            &gov,
            coin_of(&node, &gov).expect("funded"),
            &format!("allow {bob_address}"),
        ),
    )?;
    println!("governance allowed {bob_address}");
    land(&node, transfer(&alice, coin, &bob_address, bob_lock, 1_000))?;
    println!(
        "after:   alice paid bob 1000 (height {})",
        node.status().height
    );
    Ok(())
}
