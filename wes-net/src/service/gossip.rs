//! Gossip: blocks and transactions from the chain's topics are decoded (within the size
//! limit), a block's header checked on the loop, and both queued for import. Gossipsub
//! relays a message only once the import says it is valid (`validate_messages`); garbage
//! and invalid messages are rejected and their sender charged.

use libp2p::PeerId;
use libp2p::gossipsub::{self, MessageAcceptance, MessageId};
use wes_core::{Block, SignedTransaction, codec};

use super::Service;
use super::import::{Job, Origin};
use crate::backend::{Imported, Rejection};
use crate::peers::Offence;

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
            let block: Block = match codec::decode_with_limit(&message.data, max) {
                Ok(b) => b,
                Err(e) => return self.reject_gossip(from, &id, Offence::Malformed, &e.to_string()),
            };
            if let Err(e) = self.backend.check_header(&block.header) {
                return self.reject_gossip(from, &id, Offence::InvalidBlock, &e.message);
            }
            let job = Job::Block {
                block,
                from,
                origin: Origin::Gossip(id.clone()),
            };
            if !self.import_tx.push(job, message.data.len()) {
                self.report(&id, &from, MessageAcceptance::Ignore);
            }
        } else if message.topic == self.topics.transactions {
            let tx: SignedTransaction = match codec::decode_with_limit(&message.data, max) {
                Ok(t) => t,
                Err(e) => return self.reject_gossip(from, &id, Offence::Malformed, &e.to_string()),
            };
            let job = Job::Tx {
                tx,
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

    /// A gossiped transaction's import is done.
    pub(super) fn on_tx_imported(
        &mut self,
        from: PeerId,
        id: &MessageId,
        result: Result<bool, Rejection>,
    ) {
        match result {
            Ok(true) => self.report(id, &from, MessageAcceptance::Accept),
            Ok(false) => self.report(id, &from, MessageAcceptance::Ignore),
            // The backend says `Input` only for what is invalid on every chain.
            Err(e) if e.fault == wes_core::Fault::Input => {
                self.reject_gossip(from, id, Offence::InvalidTransaction, &e.message)
            }
            // Refused against our chain: not relayed, not charged (an honest peer may be
            // ahead of us or on another branch).
            Err(e) => {
                tracing::debug!(peer = %from, "transaction refused: {}", e.message);
                self.report(id, &from, MessageAcceptance::Ignore)
            }
        }
    }

    /// Publishes bytes the node produced on the blocks or the transactions topic.
    pub(super) fn publish(&mut self, blocks: bool, data: Vec<u8>) {
        let topic = if blocks {
            &self.topics.blocks
        } else {
            &self.topics.transactions
        };
        if let Err(e) = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(topic.clone(), data)
        {
            tracing::debug!("publish: {e}");
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
