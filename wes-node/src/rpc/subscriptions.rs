//! The node's implementation of the `wes_*` subscriptions ([`super::api::WesPubSubApi`]):
//! each is a task that listens to the node's feed ([`crate::feed::NodeFeed`]) and sends
//! what concerns its subscriber, until the subscriber leaves or the node stops.
//!
//! A subscriber that reads too slowly does not slow the node: a new-heads subscription that
//! falls more than [`crate::feed::MOVES_KEPT`] moves behind is closed with an error (the
//! client subscribes again and reads the chain from where it was); a transaction's status
//! is read afresh instead.

use std::sync::Arc;

use jsonrpsee::PendingSubscriptionSink;
use jsonrpsee::core::{SubscriptionResult, async_trait};
use jsonrpsee::server::SubscriptionSink;
use serde::Serialize;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use wes_core::TxId;

use super::api::WesPubSubApiServer;
use super::json::parse;
use super::logs::log_match;
use super::types::{Head, Log, LogFilter, TxStatus, Watched};
use crate::events::{LogMatch, logs_of_block};
use crate::ledger::ChainLedger;
use crate::node::Node;
use crate::tip::TipMoved;

/// The `wes_*` subscriptions over one node.
pub struct WesPubSub<L: ChainLedger> {
    node: Arc<Node<L>>,
}

impl<L: ChainLedger> WesPubSub<L> {
    /// The subscriptions over `node`.
    pub fn new(node: Arc<Node<L>>) -> Self {
        WesPubSub { node }
    }
}

/// Sends `item`; `false` once the subscriber is gone.
async fn send<T: Serialize>(sink: &SubscriptionSink, item: &T) -> Result<bool, String> {
    let raw = serde_json::value::to_raw_value(item).map_err(|e| e.to_string())?;
    Ok(sink.send(raw).await.is_ok())
}

/// The heads a move of the best chain makes, parent first.
pub(super) fn heads(moved: &TipMoved) -> Vec<Head> {
    moved
        .applied
        .iter()
        .enumerate()
        .map(|(i, b)| Head {
            hash: b.hash().to_string(),
            height: b.header.height,
            parent: b.header.parent.to_string(),
            time_ms: b.header.time_ms,
            transactions: b.transactions.len(),
            reverted: if i == 0 {
                moved
                    .reverted
                    .iter()
                    .map(|r| r.hash().to_string())
                    .collect()
            } else {
                Vec::new()
            },
        })
        .collect()
}

/// Where `id` is now; `dropped` says it was seen leaving the pool.
pub(super) fn status_of<L: ChainLedger>(node: &Node<L>, id: &TxId, dropped: bool) -> TxStatus {
    let mut status = TxStatus {
        txid: id.to_string(),
        status: if dropped {
            Watched::Dropped
        } else {
            Watched::Unknown
        },
        block: None,
        height: None,
        confirmations: 0,
        finalized: false,
    };
    if node.mempool().contains(id) {
        status.status = Watched::Pending;
    } else if let Some((block, height)) = node.index().transaction(id) {
        status.status = Watched::Included;
        status.block = Some(block.to_string());
        status.height = Some(height);
        let chain = node.status();
        status.confirmations = chain.confirmations(height);
        status.finalized = chain.is_final(height);
    }
    status
}

#[async_trait]
impl<L: ChainLedger> WesPubSubApiServer for WesPubSub<L> {
    async fn subscribe_new_heads(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        let moves = self.node.feed().moves();
        let sink = pending.accept().await?;
        follow_moves(&sink, moves, |moved| heads(&moved)).await
    }

    async fn subscribe_transaction(
        &self,
        pending: PendingSubscriptionSink,
        txid: String,
    ) -> SubscriptionResult {
        let id: TxId = match parse("txid", &txid) {
            Ok(id) => id,
            Err(e) => {
                pending.reject(e).await;
                return Ok(());
            }
        };
        let mut moves = self.node.feed().moves();
        let mut admissions = self.node.feed().admissions();
        let sink = pending.accept().await?;
        let mut dropped = false;
        let mut last: Option<TxStatus> = None;
        loop {
            let node = self.node.clone();
            let now = tokio::task::spawn_blocking(move || status_of(&node, &id, dropped))
                .await
                .map_err(|e| e.to_string())?;
            if matches!(now.status, Watched::Pending | Watched::Included) {
                // Back in the pool or on the chain: leaving again is news again.
                dropped = false;
            }
            if last.as_ref() != Some(&now) {
                if !send(&sink, &now).await? {
                    return Ok(());
                }
                last = Some(now);
            }
            // Admissions matter only while it is not pooled or included.
            let waiting = matches!(
                last.as_ref().map(|s| s.status),
                Some(Watched::Unknown | Watched::Dropped)
            );
            tokio::select! {
                _ = sink.closed() => return Ok(()),
                moved = moves.recv() => match moved {
                    Ok(moved) => {
                        if moved.dropped.contains(&id) {
                            dropped = true;
                        }
                    }
                    // Read afresh.
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return Ok(()),
                },
                admitted = admissions.recv(), if waiting => match admitted {
                    Ok(a) if a != id => continue,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return Ok(()),
                },
            }
        }
    }

    async fn subscribe_logs(
        &self,
        pending: PendingSubscriptionSink,
        filter: LogFilter,
    ) -> SubscriptionResult {
        let matching = match log_match(&filter) {
            Ok(m) => Arc::new(m),
            Err(e) => {
                pending.reject(e).await;
                return Ok(());
            }
        };
        let moves = self.node.feed().moves();
        let sink = pending.accept().await?;
        follow_moves(&sink, moves, move |moved| logs_of_move(&moved, &matching)).await
    }
}

/// Sends what `items` makes of every move of the best chain (on a blocking thread: it may
/// decode blocks), until the subscriber leaves or the node stops. A subscriber that falls
/// too far behind is closed with an error, to subscribe again.
async fn follow_moves<T, F>(
    sink: &SubscriptionSink,
    mut moves: broadcast::Receiver<Arc<TipMoved>>,
    items: F,
) -> SubscriptionResult
where
    T: Serialize + Send + 'static,
    F: Fn(Arc<TipMoved>) -> Vec<T> + Clone + Send + 'static,
{
    loop {
        tokio::select! {
            _ = sink.closed() => return Ok(()),
            moved = moves.recv() => match moved {
                Ok(moved) => {
                    let items = items.clone();
                    let batch = tokio::task::spawn_blocking(move || items(moved))
                        .await
                        .map_err(|e| e.to_string())?;
                    for item in &batch {
                        if !send(sink, item).await? {
                            return Ok(());
                        }
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    return Err(format!(
                        "the subscriber fell {n} chain moves behind; subscribe again"
                    )
                    .into());
                }
                Err(RecvError::Closed) => return Ok(()),
            },
        }
    }
}

/// The logs a move of the best chain removes (those of reverted blocks, tip first) and adds
/// (those of applied blocks, parent first), that match.
pub(super) fn logs_of_move(moved: &TipMoved, matching: &LogMatch) -> Vec<Log> {
    let reverted = moved.reverted.iter().map(|b| (b, true));
    let applied = moved.applied.iter().map(|b| (b, false));
    reverted
        .chain(applied)
        .flat_map(|(block, removed)| {
            logs_of_block(block)
                .into_iter()
                .filter(|e| matching.matches(&e.log.contract, &e.log.topic))
                .map(move |e| Log::new(&e, removed))
        })
        .collect()
}
