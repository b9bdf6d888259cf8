//! Candidate blocks, when the consensus routes candidates ([`NetConfig::candidates`]): a
//! block this node mines is gossiped and also sent to the peer elected as its height's
//! aggregator; a node receiving one imports it and answers with its best tip, and a producer
//! whose block lost to a tip with more work syncs from the aggregator.
//!
//! [`NetConfig::candidates`]: super::NetConfig::candidates

use libp2p::PeerId;
use libp2p::request_response::ResponseChannel;
use wes_core::{Block, BlockHash, BlockHeader, CandidateRouter};

use super::Service;
use super::import::{Job, Origin};
use super::requests::Pending;
use crate::peers::Offence;
use crate::protocol::{Request, Response};

impl Service {
    /// Gossips a block this node mined, and sends it to its height's aggregator.
    pub(super) fn announce(&mut self, block: Block, compact: Vec<u8>) {
        if self.announced.len() >= super::ANNOUNCED_KEPT {
            self.announced.pop_front();
        }
        self.announced.push_back((block.hash(), block.clone()));
        if let Err(e) = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(self.topics.blocks.clone(), compact)
        {
            tracing::debug!("publish block: {e}");
        }
        // Candidate collection, when the consensus routes candidates: the peer it elects
        // (for PoW + XOR, the one closest to the height's key) gets the block directly.
        // Peers that never exchanged a status (other chains) do not count. If we are the
        // one elected, or it is absent, gossip and the fork-choice rule alone decide, which
        // is the rule the aggregator applies too.
        let Some(router) = self.config.candidates.clone() else {
            return;
        };
        let known = self.statuses.keys().copied();
        if let Some(aggregator) = elect(&*router, &block.header, known, self.handle.peer_id) {
            self.send_request(aggregator, &Request::Candidate(block), Pending::Candidate);
        }
    }

    /// A peer sent us a candidate (`size` bytes on the wire): its header is checked on the
    /// loop, then it is imported, and answered once imported.
    pub(super) fn on_candidate(
        &mut self,
        peer: PeerId,
        block: Block,
        channel: ResponseChannel<Vec<u8>>,
        size: usize,
    ) {
        self.candidates_received += 1;
        if let Err(e) = self.backend.check_header(&block.header) {
            return self.penalise(peer, Offence::InvalidBlock, &e.message);
        }
        let header = block.header.clone();
        let job = Job::Block {
            block,
            from: peer,
            origin: Origin::Candidate(channel),
        };
        if self.import_tx.push(job, size) {
            self.handle.set_heard_block(&header);
        }
    }

    /// A candidate's import is done: its producer learns our best tip.
    pub(super) fn on_candidate_imported(&mut self, channel: ResponseChannel<Vec<u8>>) {
        let best = self.our_status().best;
        self.respond(channel, &Response::Candidate { best });
    }

    /// The aggregator answered our candidate with its best tip.
    pub(super) fn on_candidate_answer(&mut self, peer: PeerId, best: BlockHash) {
        let ours = self.our_status();
        let ahead = self.statuses.get(&peer).is_some_and(|s| s.work > ours.work);
        if best != ours.best && ahead {
            // The aggregator prefers another block and has more work: get it.
            self.start_sync(peer);
        }
    }
}

/// The peer `router` elects to collect candidates for `header`'s height, among the `known`
/// peers and this node (`me`), all sorted so that every node with the same peer set chooses
/// the same; `None` if it elects nobody, or this node.
fn elect(
    router: &dyn CandidateRouter,
    header: &BlockHeader,
    known: impl Iterator<Item = PeerId>,
    me: PeerId,
) -> Option<PeerId> {
    let mut ids: Vec<PeerId> = known.collect();
    ids.push(me);
    ids.sort();
    let bytes: Vec<Vec<u8>> = ids.iter().map(|p| p.to_bytes()).collect();
    if let Some(i) = router.aggregator(header, &bytes)
        && i < ids.len()
        && ids[i] != me
    {
        return Some(ids[i]);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing;

    /// Elects the peer at the height's index, or a fixed index.
    struct ByHeight(Option<usize>);

    impl CandidateRouter for ByHeight {
        fn aggregator(&self, header: &BlockHeader, peers: &[Vec<u8>]) -> Option<usize> {
            assert!(peers.windows(2).all(|w| w[0] != w[1]), "no duplicates");
            Some(self.0.unwrap_or(header.height as usize % peers.len()))
        }
    }

    #[test]
    fn every_node_of_a_peer_set_elects_the_same_aggregator() {
        let nodes: Vec<PeerId> = (0..4).map(|_| PeerId::random()).collect();
        for height in 0..8 {
            let header = testing::block(BlockHash::default(), height, 0).header;
            let elected: Vec<Option<PeerId>> = nodes
                .iter()
                .map(|me| {
                    let others = nodes.iter().copied().filter(|p| p != me);
                    elect(&ByHeight(None), &header, others, *me)
                })
                .collect();
            // The one elected sends to nobody; all the others send to it.
            let chosen = elected.iter().flatten().next().copied().unwrap();
            for (me, e) in nodes.iter().zip(&elected) {
                assert_eq!(*e, (*me != chosen).then_some(chosen), "height {height}");
            }
        }
    }

    #[test]
    fn an_index_out_of_range_elects_nobody() {
        let header = testing::block(BlockHash::default(), 1, 0).header;
        let me = PeerId::random();
        let other = PeerId::random();
        let elect_at = |i| elect(&ByHeight(Some(i)), &header, [other].into_iter(), me);
        assert_eq!(elect_at(2), None);
        let mut sorted = [me, other];
        sorted.sort();
        assert_eq!(elect_at(0), (sorted[0] == other).then_some(other));
        assert_eq!(elect_at(1), (sorted[1] == other).then_some(other));
    }
}
