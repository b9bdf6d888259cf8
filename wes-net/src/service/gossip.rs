//! Gossip: blocks and batches of transactions from the chain's topics are decoded (within
//! the size limit), a block's header checked on the loop, and both queued for import.
//! Gossipsub relays a block only once the import says it is valid (`validate_messages`);
//! transactions are relayed in this node's own batches (`relay`); garbage and invalid
//! messages are rejected and their sender charged.
//!
//! Blocks come compactly ([`crate::compact`]): the import worker rebuilds one from the pool,
//! the transactions it lacks are asked of the peer that relayed it (which imported the block
//! before relaying it), and the block is then imported and relayed as a whole one would be.

use libp2p::PeerId;
use libp2p::gossipsub::{self, MessageAcceptance, MessageId};
use wes_core::{SignedTransaction, codec};

use super::Service;
use super::import::Job;
use super::requests::Pending;
use crate::backend::{Imported, Rejection};
use crate::compact::{CompactBlock, PartialBlock};
use crate::peers::Offence;
use crate::protocol::Request;

impl Service {
    pub(super) fn on_gossip(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message {
            propagation_source: from,
            message_id: id,
            message,
        } = event
        else {
            return;
        };
        let max = self.config.limits.max_gossip_bytes;
        if message.topic == self.topics.blocks {
            let compact: CompactBlock = match codec::decode_with_limit(&message.data, max) {
                Ok(b) => b,
                Err(e) => return self.reject_gossip(from, &id, Offence::Malformed, &e.to_string()),
            };
            if let Err(e) = self.backend.check_header(&compact.header) {
                return self.reject_gossip(from, &id, Offence::InvalidBlock, &e.message);
            }
            self.gossip.compact_blocks += 1;
            let header = compact.header.clone();
            let job = Job::Compact {
                compact,
                from,
                id: id.clone(),
            };
            if self.import_tx.push(job, message.data.len()) {
                self.handle.set_heard_block(&header);
            } else {
                self.report(&id, &from, MessageAcceptance::Ignore);
            }
        } else if message.topic == self.topics.transactions {
            let txs: Vec<SignedTransaction> = match codec::decode_with_limit(&message.data, max) {
                Ok(t) => t,
                Err(e) => return self.reject_gossip(from, &id, Offence::Malformed, &e.to_string()),
            };
            if txs.is_empty() {
                return self.report(&id, &from, MessageAcceptance::Ignore);
            }
            self.gossip.tx_batches += 1;
            self.gossip.transactions += txs.len() as u64;
            let job = Job::Txs {
                txs,
                from,
                id: id.clone(),
            };
            if !self.import_tx.push(job, message.data.len()) {
                self.report(&id, &from, MessageAcceptance::Ignore);
            }
        } else {
            self.report(&id, &from, MessageAcceptance::Ignore);
        }
    }

    /// Tells gossipsub whether to relay message `id`.
    pub(super) fn report(&mut self, id: &MessageId, from: &PeerId, acceptance: MessageAcceptance) {
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(id, from, acceptance);
    }

    fn reject_gossip(&mut self, from: PeerId, id: &MessageId, offence: Offence, why: &str) {
        self.report(id, &from, MessageAcceptance::Reject);
        self.penalise(from, offence, why);
    }

    /// A gossiped block's import is done: relayed if it is on a chain, and an orphan
    /// starts a sync from its sender (who is ahead of us).
    pub(super) fn on_gossip_block_imported(
        &mut self,
        from: PeerId,
        id: &MessageId,
        result: &Result<Imported, Rejection>,
    ) {
        self.report(id, &from, block_acceptance(result));
        if let Ok(Imported::Orphan { .. }) = result {
            self.start_sync(from);
        }
    }

    /// A compact block from `from` lacks the transactions at `asked`: they are asked of
    /// `from`, and the gossip message waits for the answer (ignored if it cannot come).
    pub(super) fn request_missing(
        &mut self,
        partial: Box<PartialBlock>,
        asked: Vec<u32>,
        from: PeerId,
        id: MessageId,
    ) {
        if !self.swarm.is_connected(&from) {
            return self.report(&id, &from, MessageAcceptance::Ignore);
        }
        self.gossip.fetches += 1;
        self.gossip.fetched_transactions += asked.len() as u64;
        let request = Request::BlockTransactions {
            block: partial.hash(),
            indexes: asked.clone(),
        };
        let pending = Pending::BlockTransactions { partial, asked, id };
        self.send_request(from, &request, pending);
    }

    /// The transactions a peer sent for a compact block (`size` bytes) go to the worker.
    pub(super) fn on_block_transactions(
        &mut self,
        from: PeerId,
        (partial, asked, id): (Box<PartialBlock>, Vec<u32>, MessageId),
        txs: Vec<SignedTransaction>,
        size: usize,
    ) {
        let job = Job::Fill {
            partial,
            asked,
            txs,
            from,
            id: id.clone(),
        };
        if !self.import_tx.push(job, size) {
            self.report(&id, &from, MessageAcceptance::Ignore);
        }
    }
}

/// Whether a gossiped block is relayed, given its import: blocks on a chain are; orphans and
/// duplicates are not, nor is what this node cannot check; invalid ones are rejected.
fn block_acceptance(result: &Result<Imported, Rejection>) -> MessageAcceptance {
    let invalid = matches!(result, Err(e) if e.fault == wes_core::Fault::Input);
    match result {
        Ok(Imported::NewTip { .. } | Imported::SideBranch) => MessageAcceptance::Accept,
        Ok(Imported::Orphan { .. } | Imported::Duplicate) => MessageAcceptance::Ignore,
        Err(_) if invalid => MessageAcceptance::Reject,
        Err(_) => MessageAcceptance::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wes_core::BlockHash;

    #[test]
    fn only_blocks_on_a_chain_are_relayed_and_only_invalid_ones_rejected() {
        let tip = BlockHash::default();
        let accepted = [
            Ok(Imported::NewTip { tip, height: 3 }),
            Ok(Imported::SideBranch),
        ];
        for r in &accepted {
            assert!(
                matches!(block_acceptance(r), MessageAcceptance::Accept),
                "{r:?}"
            );
        }
        let ignored = [
            Ok(Imported::Orphan {
                missing_parent: tip,
            }),
            Ok(Imported::Duplicate),
            // Refused by this node's state (e.g. a disk error): not the sender's fault.
            Err(Rejection::local("disk full")),
        ];
        for r in &ignored {
            assert!(
                matches!(block_acceptance(r), MessageAcceptance::Ignore),
                "{r:?}"
            );
        }
        let invalid = Err(Rejection::invalid("bad proof of work"));
        assert!(matches!(
            block_acceptance(&invalid),
            MessageAcceptance::Reject
        ));
    }
}
