//! `wes-loadgen`: load a running chain through its JSON-RPC and report throughput and
//! latency. See the crate's README.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use wes_core::SecretKey;
use wes_loadgen::{LoadOptions, run};
use wes_node::rpc::RpcToken;

/// Funds N keys, sends signed transfers through JSON-RPC, and reports submitted/s,
/// included/s and latency percentiles.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// JSON-RPC URLs of the nodes, comma-separated (senders are spread over them; blocks
    /// are watched on the first).
    #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:8645")]
    nodes: Vec<String>,
    /// The dev key (`SecretKey::dev(name)`) that funds the senders: the devnet funds
    /// `alice` and `bob`.
    #[arg(long, default_value = "alice")]
    funder: String,
    /// Sender keys.
    #[arg(long, default_value_t = 50)]
    senders: usize,
    /// Transfers in all.
    #[arg(long, default_value_t = 10_000)]
    transfers: usize,
    /// Target transfers per second (0: as fast as the nodes answer).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Fee per transfer.
    #[arg(long, default_value_t = 1_000)]
    fee: u128,
    /// Transfers per request and sender (1: one `wes_sendRawTransaction` each; more: one
    /// `wes_sendRawTransactions` whose signatures the node verifies together).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Also measure latency to this many confirmations.
    #[arg(long, default_value_t = 3)]
    confirmations: u64,
    /// Seconds to wait for inclusions after sending ends.
    #[arg(long, default_value_t = 60)]
    settle_secs: u64,
    /// The nodes' RPC token files (`<data-dir>/rpc.token`), comma-separated: one for all
    /// nodes or one per node. An operator's token is exempt from the nodes' per-client rate
    /// limit, which a flat-out run from one address exceeds.
    #[arg(long, value_delimiter = ',')]
    rpc_token_file: Vec<PathBuf>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let tokens = cli
        .rpc_token_file
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("read the RPC token {}", path.display()))?;
            RpcToken::from_hex(&text)
                .with_context(|| format!("the RPC token file {}", path.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let options = LoadOptions {
        nodes: cli.nodes,
        funder: SecretKey::dev(&cli.funder),
        senders: cli.senders,
        transfers: cli.transfers,
        rate: (cli.rate > 0.0).then_some(cli.rate),
        fee: cli.fee,
        batch: cli.batch,
        confirmations: cli.confirmations,
        settle_timeout: Duration::from_secs(cli.settle_secs),
        tokens,
    };
    let report = run(&options).await.context("load run")?;
    println!("{report}");
    anyhow::ensure!(
        report.lost == 0,
        "{} transfers were never included",
        report.lost
    );
    Ok(())
}
