//! Transactions travel in batches. What the node admits — from its clients
//! ([`NetworkHandle::publish_transactions`]) or from peers — waits in an outbox that is
//! gossiped as one message when it is full or every [`NetConfig::tx_batch_interval`], so a
//! thousand transfers cost a few messages, and the receivers verify their signatures
//! together ([`ChainBackend::import_transactions`]).
//!
//! A node relays only what it admitted: a batch from a peer whose every transaction was new
//! and admitted is forwarded as it came; from any other (one mixing new, known and refused
//! transactions) only the admitted join the outbox. (Gossip message ids are the hash of the
//! bytes, so the same batch published again would be dropped as a duplicate.) A batch
//! holding a transaction invalid on every chain is rejected and its sender charged.
//!
//! [`NetworkHandle::publish_transactions`]: super::NetworkHandle::publish_transactions
//! [`NetConfig::tx_batch_interval`]: super::NetConfig::tx_batch_interval
//! [`ChainBackend::import_transactions`]: crate::ChainBackend::import_transactions

use libp2p::PeerId;
use libp2p::gossipsub::{MessageAcceptance, MessageId};
use wes_core::{Fault, SignedTransaction, codec};

use super::Service;
use crate::backend::Rejection;
use crate::peers::Offence;

/// Transactions waiting to be gossiped, bounded by count and by encoded bytes.
#[derive(Debug)]
pub(super) struct Outbox {
    txs: Vec<SignedTransaction>,
    bytes: usize,
    max_txs: usize,
    max_bytes: usize,
}

/// The bytes a batch's encoding adds to its transactions' (the length prefix).
const BATCH_OVERHEAD: usize = 16;

impl Outbox {
    /// An outbox of batches of at most `max_txs` transactions (at least one) and
    /// `max_bytes` encoded bytes.
    pub(super) fn new(max_txs: usize, max_bytes: usize) -> Self {
        Outbox {
            txs: Vec::new(),
            bytes: BATCH_OVERHEAD,
            max_txs: max_txs.max(1),
            max_bytes,
        }
    }

    /// Adds `tx`; returns the batch to send first if `tx` would not fit in it. A
    /// transaction larger than a whole batch is dropped (no peer would take the message).
    pub(super) fn push(&mut self, tx: SignedTransaction) -> Option<Vec<SignedTransaction>> {
        let size = codec::encoded_len(&tx);
        if size + BATCH_OVERHEAD > self.max_bytes {
            tracing::debug!(size, "transaction too large to gossip");
            return None;
        }
        let full = (self.txs.len() >= self.max_txs || self.bytes + size > self.max_bytes)
            .then(|| self.take());
        self.txs.push(tx);
        self.bytes += size;
        full
    }

    /// The waiting batch, if any, leaving the outbox empty.
    pub(super) fn take(&mut self) -> Vec<SignedTransaction> {
        self.bytes = BATCH_OVERHEAD;
        std::mem::take(&mut self.txs)
    }
}

impl Service {
    /// Queues transactions this node admitted for gossip.
    pub(super) fn relay(&mut self, txs: impl IntoIterator<Item = SignedTransaction>) {
        for tx in txs {
            if let Some(batch) = self.outbox.push(tx) {
                self.publish_batch(&batch);
            }
        }
    }

    /// Gossips what waits in the outbox.
    pub(super) fn flush_relay(&mut self) {
        let batch = self.outbox.take();
        if !batch.is_empty() {
            self.publish_batch(&batch);
        }
    }

    fn publish_batch(&mut self, batch: &[SignedTransaction]) {
        let data = codec::encode(&batch);
        let topic = self.topics.transactions.clone();
        if let Err(e) = self.swarm.behaviour_mut().gossipsub.publish(topic, data) {
            tracing::debug!(count = batch.len(), "publish transactions: {e}");
        }
    }

    /// A gossiped batch's import is done: a transaction invalid on every chain rejects the
    /// message and charges its sender; a batch all admitted is forwarded as it came; from
    /// any other, what was admitted is relayed in this node's own batches.
    pub(super) fn on_txs_imported(
        &mut self,
        from: PeerId,
        id: &MessageId,
        txs: Vec<SignedTransaction>,
        results: Vec<Result<bool, Rejection>>,
    ) {
        // The backend says `Input` only for what is invalid on every chain. A refusal
        // against our chain is nobody's fault: an honest peer may know another tip.
        let invalid = results
            .iter()
            .find_map(|r| r.as_ref().err().filter(|e| e.fault == Fault::Input));
        match invalid {
            Some(e) => {
                let message = e.message.clone();
                self.report(id, &from, MessageAcceptance::Reject);
                self.penalise(from, Offence::InvalidTransaction, &message);
            }
            None if results.iter().all(|r| matches!(r, Ok(true))) => {
                return self.report(id, &from, MessageAcceptance::Accept);
            }
            None => self.report(id, &from, MessageAcceptance::Ignore),
        }
        let admitted = txs
            .into_iter()
            .zip(&results)
            .filter(|(_, r)| matches!(r, Ok(true)))
            .map(|(tx, _)| tx);
        self.relay(admitted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::{Strategy, ValueTree};

    fn txs(n: usize) -> Vec<SignedTransaction> {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        (0..n)
            .map(|_| {
                wes_core::testing::signed_transaction()
                    .new_tree(&mut runner)
                    .unwrap()
                    .current()
            })
            .collect()
    }

    #[test]
    fn batches_are_bounded_by_count_and_by_encoded_bytes() {
        let all = txs(10);
        let mut by_count = Outbox::new(3, usize::MAX);
        let mut sent = Vec::new();
        for tx in all.clone() {
            sent.extend(by_count.push(tx));
        }
        sent.push(by_count.take());
        assert_eq!(sent.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 3, 1]);
        assert_eq!(sent.concat(), all, "every transaction once, in order");
        assert!(by_count.take().is_empty());

        // Bytes: every batch's encoding stays within the limit.
        let max = 2 * codec::encoded_len(&all) / all.len() + BATCH_OVERHEAD;
        let mut by_bytes = Outbox::new(usize::MAX, max);
        let mut sent = Vec::new();
        for tx in all.clone() {
            sent.extend(by_bytes.push(tx));
        }
        sent.push(by_bytes.take());
        assert!(sent.len() > 2, "{} batches", sent.len());
        for batch in sent.iter().filter(|b| !b.is_empty()) {
            assert!(
                codec::encoded_len(batch) <= max,
                "{} > {max}",
                codec::encoded_len(batch)
            );
        }
        assert_eq!(sent.concat(), all);
    }

    #[test]
    fn a_transaction_larger_than_a_batch_is_dropped() {
        let mut tx = txs(1).remove(0);
        tx.witness.proof = vec![0; 1_000];
        let mut outbox = Outbox::new(10, 500);
        assert!(outbox.push(tx).is_none());
        assert!(outbox.take().is_empty());
    }
}
