//! `wes-order-chain`: runs the order-processing app chain once (orders as one atomic call,
//! then as sagas) and prints what happened.

use anyhow::Result;

fn main() -> Result<()> {
    let dir = tempfile_dir()?;
    let contracts = dir.join("contracts");
    println!("building the contracts (wes-ispc/guest/build.sh)…");
    wes_order_chain::build_contracts(&contracts)?;
    let s = wes_order_chain::run(&dir.join("chain"), &contracts)?;
    println!(
        "order 1: shipped, tracking {} — shop paid {}, stock left {}",
        s.tracking, s.paid, s.stock_left
    );
    println!("order 2: refused ({}) — nothing landed", s.refused);
    println!(
        "shipper: {} committed, {} aborted; chain at height {}",
        s.shipments.0, s.shipments.1, s.height
    );
    println!("the same orders as sagas: three steps, one block each…");
    let s = wes_order_chain::saga::run(&dir.join("saga-chain"), &contracts)?;
    println!(
        "order 1: {:?} in {} blocks; order 2: {:?} ({}); stock left {}",
        s.paid.0, s.paid.1, s.declined.0, s.declined.1, s.stock_left
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("wes-order-chain-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
