//! `wes-devnet`: run a local WES development chain.

use std::path::PathBuf;

use clap::Parser;
use wes_devnet::{DevnetConfig, run};

/// Run a local WES development chain: sled ledger in a data directory, proof of work on an
/// easy target, funded dev keys, a transfer in every block.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Where the chain's data lives (created if missing; reused to continue the chain).
    #[arg(long, default_value = "wes-devnet-data")]
    data_dir: PathBuf,
    /// Stop after mining this many blocks (default: run until Ctrl-C).
    #[arg(long)]
    blocks: Option<u64>,
    /// Milliseconds between blocks.
    #[arg(long, default_value_t = 2_000)]
    block_time_ms: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let summary = run(&DevnetConfig {
        data_dir: args.data_dir,
        blocks: args.blocks,
        block_time_ms: args.block_time_ms,
        verbose: true,
    })?;
    println!(
        "\nstopped at height {} ({} blocks mined by this run)",
        summary.height, summary.mined
    );
    Ok(())
}
