//! Block sync from one peer at a time: statuses are exchanged on connect and every tick; a
//! peer with more work is asked for headers after our locator (and the cursor), the headers
//! are checked off the loop, their unknown bodies fetched in batches and queued for import
//! in order, then the next headers, until the peer has none. The state machine (epochs,
//! cursor, queue, backoff) is [`state`]; this module sends the requests and reacts to the
//! answers.

use std::time::Instant;

use libp2p::PeerId;
use wes_core::{Block, BlockHash, BlockHeader, codec};

use super::Service;
use super::event_loop::Feedback;
use super::import::{Job, Origin};
use super::requests::Pending;
use crate::peers::Offence;
use crate::protocol::{Request, Status};

mod headers;
mod state;

pub(super) use headers::HeadersChecked;
pub(super) use state::SyncState;

use state::{Bodies, Next, is_answer};

impl Service {
    /// A peer's status: a peer of another genesis is charged, one with more work synced from.
    pub(super) fn on_status(&mut self, peer: PeerId, status: Status) {
        if status.genesis != self.config.genesis {
            return self.penalise(peer, Offence::WrongChain, "another genesis");
        }
        if self.statuses.insert(peer, status).is_none() {
            self.handle.set_chain_peers(self.statuses.keys().copied());
        }
        if status.work > self.work_to_beat() {
            self.start_sync(peer);
        }
    }

    /// The work a peer's chain must exceed to be synced from: ours, and at least the
    /// chain's minimum ([`NetConfig::min_chain_work`](super::NetConfig::min_chain_work)).
    fn work_to_beat(&self) -> u128 {
        let ours = self.our_status().work;
        ours.max(self.config.min_chain_work.saturating_sub(1))
    }

    /// Asks every connected peer for its status.
    pub(super) fn refresh_statuses(&mut self) {
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        let status = self.our_status();
        for peer in peers {
            self.send_request(peer, &Request::Status(status), Pending::Status);
        }
    }

    pub(super) fn start_sync(&mut self, peer: PeerId) {
        // One sync at a time; a stalled one is abandoned after a minute.
        if self.sync.start(peer, Instant::now()).is_none() {
            return;
        }
        if let Some(status) = self.statuses.get(&peer) {
            self.sync.set_claim(status.work);
        }
        tracing::debug!(%peer, "syncing");
        self.request_headers(peer);
    }

    fn request_headers(&mut self, peer: PeerId) {
        let Some(epoch) = self.sync.epoch() else {
            return;
        };
        let locator = self.sync.locator(self.backend.locator());
        let request = Request::Headers {
            locator,
            max: self.config.limits.max_headers,
        };
        self.send_request(peer, &request, Pending::Headers(epoch));
    }

    pub(super) fn on_headers(&mut self, peer: PeerId, headers: Vec<BlockHeader>) {
        let Some(epoch) = self.sync.epoch().filter(|_| self.sync.syncing_from(&peer)) else {
            return;
        };
        if headers.len() > self.config.limits.max_headers as usize {
            self.sync.stop();
            return self.penalise(peer, Offence::BadSyncResponse, "too many headers");
        }
        if headers.is_empty() {
            return self.finish_sync(peer);
        }
        // Checking up to 512 headers against the chain reads the node's state: off the loop.
        let backend = self.backend.clone();
        let feedback = self.feedback_tx.clone();
        let cursor = self.sync.cursor();
        tokio::task::spawn_blocking(move || {
            let result = headers::check_headers(&*backend, &headers, cursor);
            let _ = feedback.blocking_send(Feedback::Headers {
                peer,
                epoch,
                result,
            });
        });
    }

    pub(super) fn on_headers_checked(&mut self, peer: PeerId, epoch: u64, result: HeadersChecked) {
        if !self.sync.is_current(&peer, epoch) {
            return;
        }
        match result {
            Err((offence, why)) => {
                self.sync.stop();
                self.penalise(peer, offence, &why);
            }
            Ok(checked) => {
                // Each batch must move on: a peer answering the same headers again would
                // hold the sync slot forever. (Not charged: a peer that reorganised meanwhile
                // answers from our locator again, honestly.)
                let now = Instant::now();
                if !self.sync.advance(
                    checked.unknown,
                    checked.cursor,
                    checked.height,
                    checked.work,
                    now,
                ) {
                    return self.abandon_sync(peer);
                }
                // Headers first: bodies only once the headers show more work than ours.
                match self.sync.next_after_headers(self.work_to_beat()) {
                    Next::Bodies => self.request_bodies(peer),
                    Next::Headers => self.request_headers(peer),
                    Next::GiveUp => self.abandon_sync(peer),
                }
            }
        }
    }

    /// The peer has no headers after ours: done. A peer that claimed more work and gave
    /// nothing is not synced from again for a while.
    /// A peer whose headers end with less work than its status claimed lied to hold the
    /// sync: charged.
    fn finish_sync(&mut self, peer: PeerId) {
        if let Some((claimed, shown)) = self.sync.finish(peer, Instant::now()) {
            return self.penalise(
                peer,
                Offence::BadSyncResponse,
                &format!("claimed work {claimed}, its headers carry {shown}"),
            );
        }
        tracing::debug!(%peer, "in sync");
    }

    /// Ends the running sync with `peer` without progress: not synced from for a while.
    pub(super) fn abandon_sync(&mut self, peer: PeerId) {
        self.sync.abandon(peer, Instant::now());
    }

    /// Abandons the running sync if it made no progress for a minute.
    pub(super) fn abandon_stalled_sync(&mut self) {
        if let Some(peer) = self.sync.stalled(Instant::now()) {
            self.abandon_sync(peer);
        }
    }

    fn request_bodies(&mut self, peer: PeerId) {
        let max = self.config.limits.max_blocks;
        match self.sync.next_bodies(max, Instant::now()) {
            Bodies::NoSync => {}
            // The batch of headers is done: ask for more until the peer has none.
            Bodies::BatchDone => self.request_headers(peer),
            Bodies::Fetch(epoch, hashes) => self.send_request(
                peer,
                &Request::Blocks {
                    hashes: hashes.clone(),
                },
                Pending::Blocks(epoch, hashes),
            ),
        }
    }

    pub(super) fn on_blocks(&mut self, peer: PeerId, asked: Vec<BlockHash>, blocks: Vec<Block>) {
        if !self.sync.syncing_from(&peer) {
            return;
        }
        if !is_answer(&asked, &blocks) {
            self.sync.stop();
            return self.penalise(peer, Offence::BadSyncResponse, "blocks other than asked");
        }
        let n = blocks.len();
        // The answer must be the front of what is still to fetch (one request in flight).
        let Some(epoch) = self.sync.take_front(&asked[..n]) else {
            self.sync.stop();
            return;
        };
        for (i, block) in blocks.into_iter().enumerate() {
            let size = codec::encoded_len(&block);
            let job = Job::Block {
                block,
                from: peer,
                origin: Origin::Sync {
                    epoch,
                    last: i + 1 == n,
                },
            };
            if !self.import_tx.push(job, size) {
                // The import queue is full: give up this round, the next tick resumes.
                self.sync.stop();
                return;
            }
        }
    }

    /// A synced block's import is done: the last of a batch asks for the next bodies; a
    /// failed one ends the sync.
    pub(super) fn on_sync_block_imported(
        &mut self,
        from: PeerId,
        epoch: u64,
        last: bool,
        ok: bool,
    ) {
        if !self.sync.is_current(&from, epoch) {
            return;
        }
        // Imports are progress: a slow one is not a stalled sync.
        self.sync.progress(Instant::now());
        if !ok {
            // Invalid: charged already (`on_imported`). Not checkable now: try later, from
            // anyone.
            self.abandon_sync(from);
        } else if last {
            self.request_bodies(from);
        }
    }
}
