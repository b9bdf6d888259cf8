//! `wes-order-warehouse`: the order chain's shipping service, its inventory and payments in
//! PostgreSQL, answering the connector protocol over HTTP.
//!
//! ```text
//! wes-order-warehouse --db postgresql://wes@127.0.0.1/wes --listen 127.0.0.1:7070 \
//!     --trust <node public key, hex> --stock 7=10
//! ```
//! It prints `listening on URL` once it answers; give that URL to the node's connector.

use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use wes_ispc::protocol::parse_key;
use wes_ispc::service::{Auth, serve};
use wes_order_chain::warehouse;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "The order chain's warehouse: a connector service on PostgreSQL"
)]
struct Args {
    /// The PostgreSQL database (its tables are created when missing).
    #[arg(long, env = "WES_WAREHOUSE_DB")]
    db: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7070")]
    listen: String,
    /// The path below which the protocol is served.
    #[arg(long, default_value = "/shipping")]
    base: String,
    /// A node's public key (hex) whose signed requests are accepted; repeat for several.
    #[arg(long = "trust", value_name = "KEY")]
    trusted: Vec<String>,
    /// Accept unsigned requests from anyone (development on loopback only).
    #[arg(long, conflicts_with = "trusted")]
    open: bool,
    /// Sets an item's stock on hand before serving: ITEM=QTY; repeat for several.
    #[arg(long, value_name = "ITEM=QTY")]
    stock: Vec<String>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let auth = if args.open {
        Auth::open()
    } else {
        anyhow::ensure!(
            !args.trusted.is_empty(),
            "name the nodes to trust with --trust KEY (or --open for development)"
        );
        let keys = args
            .trusted
            .iter()
            .map(|k| parse_key(k).with_context(|| format!("--trust {k}: not a public key")))
            .collect::<Result<Vec<_>>>()?;
        Auth::nodes(keys)
    };
    let service = warehouse::service(&args.db).context("connecting to the database")?;
    for s in &args.stock {
        let (item, qty) = s
            .split_once('=')
            .and_then(|(i, q)| Some((i.parse().ok()?, q.parse().ok()?)))
            .with_context(|| format!("--stock {s}: expected ITEM=QTY"))?;
        service.store().stock(item, qty)?;
    }
    let server = serve(Arc::new(service), auth, &args.listen, &args.base)?;
    println!("listening on {}", server.url());
    // Serve until killed.
    loop {
        std::thread::park();
    }
}
