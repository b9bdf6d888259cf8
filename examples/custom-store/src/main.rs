//! `wes-custom-store`: a chain whose ledger lives in a user-written log file and whose
//! resources live in a user-written directory store. Produces a few blocks into
//! `./custom-store-data/`; run it again and it continues from there.

use anyhow::Result;

fn main() -> Result<()> {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or("custom-store-data".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let (before, after) = wes_custom_store::demo::run(&dir, 3)?;
    println!("chain in {}: height {before} → {after}", dir.display());
    println!(
        "bob holds {} (run again: the chain continues from the log)",
        wes_custom_store::demo::balance_of_bob(&dir)?
    );
    let (id, bytes) = wes_custom_store::demo::registered_file(&dir)?;
    println!(
        "registered file {id}: {:?}",
        String::from_utf8_lossy(&bytes)
    );
    Ok(())
}
