//! `wes-custom-store`: a chain whose ledger lives in a user-written backend (an append-only
//! log file). Mines a few transfer blocks into `./custom-store-data/ledger.log`; run it
//! again and it continues from the log.

use anyhow::Result;
use wes_custom_store::LogStore;

fn main() -> Result<()> {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or("custom-store-data".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("ledger.log");
    let (before, after) = wes_custom_store::demo::run(LogStore::open(&path)?, 3)?;
    println!("ledger in {}: height {before} → {after}", path.display());
    println!(
        "bob holds {} (run again: the chain continues from the log)",
        wes_custom_store::demo::balance_of_bob(LogStore::open(&path)?)?
    );
    Ok(())
}
