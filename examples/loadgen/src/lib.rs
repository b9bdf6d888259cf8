//! A load generator for WES-rs chains, driven through the nodes' JSON-RPC like any client.
//!
//! 1. **Fund**: one transaction from the funding key pays a coin to each of `senders` fresh
//!    keys; the run waits until it is included.
//! 2. **Send**: each sender sends `transfers / senders` transfers in sequence, each spending
//!    the change of the one before (still pending: the mempool admits chains), so no sender
//!    waits for a block. Senders run in parallel, each at `rate / senders` per second (or as
//!    fast as the node answers), spread over the given nodes round-robin.
//! 3. **Watch**: the first node's best chain is followed as it grows and reorganises; each
//!    transfer counts where the best chain holds it at the end, and its submit-to-inclusion
//!    and submit-to-k-confirmations latency is measured to when that block (and the k-th
//!    from it) was first seen.
//!
//! The [`Report`] gives submitted/s, included/s, latency percentiles and what was lost.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use wes_core::{
    ChainId, Input, Lock, OutPoint, Output, SecretKey, TokenId, Transaction, TxId, ValidityWindow,
};
use wes_node::rpc::RpcToken;
use wes_node::{Client, ClientError};

mod watch;
use watch::{BlockSource, ChainWatch};

/// What to run.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// JSON-RPC URLs of the nodes to send to (round-robin by sender); blocks are watched on
    /// the first.
    pub nodes: Vec<String>,
    /// The key that funds the senders (it must hold enough native tokens).
    pub funder: SecretKey,
    /// How many sender keys.
    pub senders: usize,
    /// How many transfers in all.
    pub transfers: usize,
    /// Target transfers per second over all senders; `None`: as fast as the nodes answer.
    pub rate: Option<f64>,
    /// Fee per transfer, in native units.
    pub fee: u128,
    /// Transfers a sender puts in one request (`wes_sendRawTransactions`; 1: one
    /// `wes_sendRawTransaction` each).
    pub batch: usize,
    /// Latency is also measured to this many confirmations.
    pub confirmations: u64,
    /// How long to wait for the last transfers after sending ends.
    pub settle_timeout: Duration,
    /// The nodes' operator tokens (`rpc.token` in their data directories), presented so
    /// the nodes' per-client rate limits do not apply: none, one for every node, or one per
    /// node in the order of [`nodes`](Self::nodes). Without them a flat-out run from one
    /// address is throttled like any client (see [`Report::first_refusal`]).
    pub tokens: Vec<RpcToken>,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// No node to send to, no sender, or no transfer.
    #[error("nothing to do: {0}")]
    Options(&'static str),
    /// A node could not be reached or refused a request.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The funding transaction was not included in time.
    #[error("the funding transaction {0} was not included within {1:?}")]
    FundingTimeout(TxId, Duration),
    /// A node answered something unexpected.
    #[error("unexpected answer from {method}: {answer}")]
    Answer {
        /// The method.
        method: &'static str,
        /// What came back.
        answer: String,
    },
}

/// Latency percentiles, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    fn of(mut samples: Vec<Duration>) -> Percentiles {
        if samples.is_empty() {
            return Percentiles::default();
        }
        samples.sort();
        let at =
            |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3;
        Percentiles {
            p50: at(0.50),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// What a run measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Transfers the nodes accepted.
    pub submitted: usize,
    /// Transfers the nodes refused.
    pub refused: usize,
    /// Why the first refused transfer was refused (a node's rate limit, a full pool…).
    pub first_refusal: Option<String>,
    /// Accepted transfers included in a block of the best chain.
    pub included: usize,
    /// Accepted transfers never included.
    pub lost: usize,
    /// Submission rate (accepted transfers over the sending time).
    pub submitted_per_second: f64,
    /// Inclusion rate (included transfers over the time from the first submission to the
    /// last inclusion).
    pub included_per_second: f64,
    /// Submit-to-inclusion latency.
    pub inclusion_ms: Percentiles,
    /// Submit-to-k-confirmations latency.
    pub confirmed_ms: Percentiles,
    /// Blocks of the best chain that hold the transfers.
    pub blocks: u64,
    /// Blocks the watched node replaced during the run (read in its best chain, then left
    /// by a reorganisation): their transfers count where the best chain holds them now.
    pub replaced_blocks: u64,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "submitted {} (refused {}), included {}, lost {}, in {} blocks ({} replaced by reorganisations)",
            self.submitted,
            self.refused,
            self.included,
            self.lost,
            self.blocks,
            self.replaced_blocks
        )?;
        if let Some(why) = &self.first_refusal {
            writeln!(f, "first refusal: {why}")?;
        }
        writeln!(
            f,
            "submitted/s {:.0}, included/s {:.0}",
            self.submitted_per_second, self.included_per_second
        )?;
        let p = |x: &Percentiles| {
            format!(
                "p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
                x.p50, x.p99, x.max
            )
        };
        writeln!(f, "submit → inclusion: {}", p(&self.inclusion_ms))?;
        write!(f, "submit → confirmations: {}", p(&self.confirmed_ms))
    }
}

/// Each sender's coin: where it is and how much it holds.
type Coin = (OutPoint, u128);

/// A transfer of 1 to `to` from `coin`, the rest but `fee` back to `key`.
fn transfer(
    chain: ChainId,
    key: &SecretKey,
    coin: Coin,
    to: &Lock,
    fee: u128,
) -> (Transaction, Coin) {
    let change = coin.1 - 1 - fee;
    let tx = Transaction {
        version: Transaction::VERSION,
        chain_id: chain,
        inputs: vec![Input::spend(coin.0)],
        outputs: vec![
            Output::asset(to.clone(), TokenId::Native, 1),
            Output::asset(Lock::key(key.public_key()), TokenId::Native, change),
        ],
        validity: ValidityWindow::ALWAYS,
        execution: None,
    };
    let next = (tx.outpoint(1), change);
    (tx, next)
}

/// Runs the load described by `options` and reports what it measured.
///
/// # Errors
/// [`LoadError`]: bad options, an unreachable node, funding that is not included.
pub async fn run(options: &LoadOptions) -> Result<Report, LoadError> {
    if options.nodes.is_empty() {
        return Err(LoadError::Options("no node"));
    }
    if options.senders == 0 || options.transfers == 0 {
        return Err(LoadError::Options("no sender or no transfer"));
    }
    if options.tokens.len() > 1 && options.tokens.len() != options.nodes.len() {
        return Err(LoadError::Options(
            "one token for all nodes, or one per node",
        ));
    }
    let clients: Vec<Client> = options
        .nodes
        .iter()
        .enumerate()
        .map(
            |(i, url)| match options.tokens.get(i).or(options.tokens.first()) {
                Some(token) => Client::with_token(url, token),
                None => Client::new(url),
            },
        )
        .collect::<Result<_, _>>()?;
    let watcher = &clients[0];
    let chain = watcher.chain_id().await?;

    // 1. Fund the senders in one transaction.
    let per_sender = options.transfers.div_ceil(options.senders) as u128;
    let budget = per_sender * (1 + options.fee) + 1;
    let senders: Vec<SecretKey> = (0..options.senders)
        .map(|_| SecretKey::generate())
        .collect();
    let outputs = senders
        .iter()
        .map(|k| Output::asset(Lock::key(k.public_key()), TokenId::Native, budget))
        .collect();
    let funding = watcher
        .pay(
            &options.funder,
            outputs,
            options.fee * (options.senders as u128 / 2 + 1),
            TokenId::Native,
        )
        .await?;
    // The funding may be in the tip already: watch from the block below it.
    let mut watch = ChainWatch::new(watcher.tip().await?.saturating_sub(1));
    let deadline = Instant::now() + options.settle_timeout;
    loop {
        watch.follow(watcher).await?;
        if watch.height_of(&funding).is_some() {
            break;
        }
        if Instant::now() > deadline {
            return Err(LoadError::FundingTimeout(funding, options.settle_timeout));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // 2. Send: one task per sender, each chaining its own change.
    let per = per_sender as usize;
    let submitted: Arc<Mutex<HashMap<TxId, Instant>>> = Arc::default();
    let refused = Arc::new(AtomicUsize::new(0));
    let first_refusal: Arc<std::sync::OnceLock<String>> = Arc::default();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, key) in senders.iter().enumerate() {
        let client = clients[i % clients.len()].clone();
        let key = key.clone();
        let to = Lock::key(senders[(i + 1) % senders.len()].public_key());
        let count = options.transfers.saturating_sub(i * per).min(per);
        let interval = options
            .rate
            .map(|r| Duration::from_secs_f64(options.senders as f64 / r.max(1e-9)));
        let (submitted, refused) = (submitted.clone(), refused.clone());
        let first_refusal = first_refusal.clone();
        let fee = options.fee;
        let mut coin: Coin = (
            OutPoint {
                tx: funding,
                index: i as u32,
            },
            budget,
        );
        let batch = options.batch.max(1);
        tasks.spawn(async move {
            let mut next_at = Instant::now();
            let mut left = count;
            while left > 0 {
                let n = left.min(batch);
                left -= n;
                if let Some(every) = interval {
                    tokio::time::sleep_until(next_at.into()).await;
                    next_at += every * n as u32;
                }
                // `n` transfers, each spending the change of the one before.
                let mut signed = Vec::with_capacity(n);
                for _ in 0..n {
                    let (tx, next) = transfer(chain, &key, coin, &to, fee);
                    signed.push(tx.sign(&[&key]));
                    coin = next;
                }
                let sent_at = Instant::now();
                let results = if n == 1 {
                    vec![client.send(&signed[0]).await.map_err(|e| e.to_string())]
                } else {
                    match client.send_many(&signed).await {
                        Ok(results) => results,
                        Err(e) => vec![Err(e.to_string()); n],
                    }
                };
                let mut sent = submitted.lock().await;
                let mut broken = false;
                for result in results {
                    match result {
                        Ok(id) => {
                            sent.insert(id, sent_at);
                        }
                        Err(e) => {
                            let _ = first_refusal.set(e);
                            refused.fetch_add(1, Ordering::Relaxed);
                            broken = true;
                        }
                    }
                }
                // This sender's chain is broken: stop it rather than send orphans.
                if broken {
                    break;
                }
            }
            Instant::now()
        });
    }

    // 3. Follow the best chain while sending, then until every transfer has its
    //    confirmations (or the timeout passes). A transfer is included while a block of the
    //    best chain holds it: reorganisations move transfers between blocks, or back to the
    //    pools.
    let k = options.confirmations.max(1);
    let mut sending_time = None;
    let mut deadline = None;
    let mut last_send = started;
    loop {
        while let Some(joined) = tasks.try_join_next() {
            if let Ok(finished) = joined {
                last_send = last_send.max(finished);
            }
        }
        if sending_time.is_none() && tasks.is_empty() {
            sending_time = Some(last_send - started);
            deadline = Some(Instant::now() + options.settle_timeout);
        }
        watch.follow(watcher).await?;
        if sending_time.is_some() {
            let sent = submitted.lock().await;
            let heights: Option<Vec<u64>> = sent.keys().map(|id| watch.height_of(id)).collect();
            let deepest = heights.and_then(|h| h.into_iter().max());
            if let (Some(deepest), Some(tip)) = (deepest, watch.tip())
                && tip + 1 >= deepest + k
            {
                break;
            }
        }
        if deadline.is_some_and(|d| Instant::now() > d) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent = submitted.lock().await;
    // Submit to inclusion: until the block that holds the transfer in the best chain was
    // seen; to k confirmations: until the k-th block from it was.
    let mut inclusion = Vec::new();
    let mut confirmed = Vec::new();
    let mut last_inclusion = started;
    let mut included: HashMap<TxId, u64> = HashMap::new();
    for (id, at) in sent.iter() {
        let Some(h) = watch.height_of(id) else {
            continue;
        };
        included.insert(*id, h);
        if let Some(seen) = watch.seen_at(h) {
            inclusion.push(seen.saturating_duration_since(*at));
            last_inclusion = last_inclusion.max(seen);
        }
        if let Some(seen) = watch.seen_at(h + k - 1) {
            confirmed.push(seen.saturating_duration_since(*at));
        }
    }
    let blocks: BTreeSet<u64> = included.values().copied().collect();
    let submitted_n = sent.len();
    let sending = sending_time.unwrap_or_else(|| started.elapsed());
    Ok(Report {
        submitted: submitted_n,
        refused: refused.load(Ordering::Relaxed),
        first_refusal: first_refusal.get().cloned(),
        included: included.len(),
        lost: submitted_n - included.len(),
        submitted_per_second: submitted_n as f64 / sending.as_secs_f64().max(1e-9),
        included_per_second: included.len() as f64
            / (last_inclusion - started).as_secs_f64().max(1e-9),
        inclusion_ms: Percentiles::of(inclusion),
        confirmed_ms: Percentiles::of(confirmed),
        blocks: blocks.len() as u64,
        replaced_blocks: watch.replaced(),
    })
}
