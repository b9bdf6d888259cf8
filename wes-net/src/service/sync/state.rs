//! The sync's state machine, without the network: the peer synced from and the sync's
//! epoch, the hashes whose headers were checked and whose bodies are still to fetch, the
//! cursor the next headers continue after, and the peers not synced from for a while. Time
//! is passed in, so every rule is tested without a network.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use libp2p::PeerId;
use wes_core::{Block, BlockHash};

/// A sync without progress for this long is stalled: another may replace it, and the tick
/// abandons it.
const STALL: Duration = Duration::from_secs(60);

/// Hashes in a headers request's locator, at most.
const MAX_LOCATOR: usize = 64;

/// Headers checked but not yet worth their bodies (their branch has no more work than ours
/// yet) a sync keeps, at most: a branch that needs more to overtake ours is given up.
pub(super) const MAX_PENDING: usize = 8_192;

struct SyncJob {
    peer: PeerId,
    /// Tells this sync's requests and imports from those of an abandoned one.
    epoch: u64,
    /// Hashes whose headers were checked and whose bodies are still to fetch.
    queue: VecDeque<BlockHash>,
    /// The last header received: the next headers request continues after it, so a branch
    /// longer than one batch is followed even while it has less work than ours.
    cursor: Option<BlockHash>,
    /// The cursor's height: every batch of headers must end above it.
    cursor_height: Option<u64>,
    /// Bodies asked for so far.
    fetched: usize,
    /// The work the peer claimed in its status.
    claimed: Option<u128>,
    /// The cumulative work of the peer's branch up to the cursor, as its headers show it
    /// (`None` when the node cannot tell: the claim is trusted).
    work: Option<u128>,
    /// Whether the headers showed more work than ours: bodies are fetched only then.
    fetching: bool,
    /// When it started or last made progress.
    started: Instant,
}

/// One sync at a time, from one peer.
pub(in crate::service) struct SyncState {
    job: Option<SyncJob>,
    /// Syncs started so far (the last one's epoch).
    epochs: u64,
    /// Peers a sync gave nothing new from, not synced from again before the instant.
    backoff: HashMap<PeerId, Instant>,
    /// How long such a peer is not synced from.
    backoff_for: Duration,
}

/// What a checked batch of headers leads to.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// The branch has more work than ours (or its work cannot be told): fetch bodies.
    Bodies,
    /// Not yet: more headers first, no body fetched or stored.
    Headers,
    /// Too many headers without more work than ours: give the sync up.
    GiveUp,
}

/// What to ask the sync's peer for next.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Bodies {
    /// Nothing: no sync is running.
    NoSync,
    /// The batch of headers is done: more headers.
    BatchDone,
    /// These bodies, for the sync of this epoch.
    Fetch(u64, Vec<BlockHash>),
}

impl SyncState {
    /// No sync yet; a peer that gives nothing is not synced from for `backoff_for`.
    pub(in crate::service) fn new(backoff_for: Duration) -> Self {
        SyncState {
            job: None,
            epochs: 0,
            backoff: HashMap::new(),
            backoff_for,
        }
    }

    /// The peer synced from.
    pub(in crate::service) fn peer(&self) -> Option<PeerId> {
        self.job.as_ref().map(|s| s.peer)
    }

    /// Whether a sync from `peer` runs.
    pub(in crate::service) fn syncing_from(&self, peer: &PeerId) -> bool {
        self.job.as_ref().is_some_and(|s| s.peer == *peer)
    }

    /// Whether `epoch` is the running sync's, with `peer`.
    pub(in crate::service) fn is_current(&self, peer: &PeerId, epoch: u64) -> bool {
        self.job
            .as_ref()
            .is_some_and(|s| s.peer == *peer && s.epoch == epoch)
    }

    /// The running sync's epoch.
    pub(super) fn epoch(&self) -> Option<u64> {
        self.job.as_ref().map(|s| s.epoch)
    }

    /// Starts a sync from `peer` and returns its epoch, unless the peer is backed off or
    /// another sync runs: one sync at a time; a stalled one is replaced.
    pub(super) fn start(&mut self, peer: PeerId, now: Instant) -> Option<u64> {
        if self.backoff.get(&peer).is_some_and(|until| *until > now) {
            return None;
        }
        if let Some(s) = &self.job
            && now.saturating_duration_since(s.started) < STALL
        {
            return None;
        }
        self.epochs += 1;
        self.job = Some(SyncJob {
            peer,
            epoch: self.epochs,
            queue: VecDeque::new(),
            cursor: None,
            cursor_height: None,
            fetched: 0,
            claimed: None,
            work: None,
            fetching: false,
            started: now,
        });
        Some(self.epochs)
    }

    /// Records the work the sync's peer claimed in its status.
    pub(super) fn set_claim(&mut self, work: u128) {
        if let Some(s) = &mut self.job {
            s.claimed = Some(work);
        }
    }

    /// The cursor and the work of the peer's branch at it, for checking the next batch.
    pub(super) fn cursor(&self) -> Option<(BlockHash, Option<u128>)> {
        let s = self.job.as_ref()?;
        Some((s.cursor?, s.work))
    }

    /// After a batch: fetch bodies only once the headers show more work than `ours`
    /// (headers first: a peer claiming more work than it has makes the node fetch and store
    /// nothing); keep asking for headers until then, up to [`MAX_PENDING`] waiting.
    pub(super) fn next_after_headers(&mut self, ours: u128) -> Next {
        let Some(s) = &mut self.job else {
            return Next::GiveUp;
        };
        if s.fetching || s.work.is_none_or(|w| w > ours) {
            s.fetching = true;
            Next::Bodies
        } else if s.queue.len() > MAX_PENDING {
            Next::GiveUp
        } else {
            Next::Headers
        }
    }

    /// The locator of the next headers request: the cursor first, then `chain`'s locator.
    pub(super) fn locator(&self, chain: Vec<BlockHash>) -> Vec<BlockHash> {
        let cursor = self.job.as_ref().and_then(|s| s.cursor);
        let mut locator: Vec<BlockHash> = cursor.into_iter().collect();
        locator.extend(chain);
        locator.truncate(MAX_LOCATOR);
        locator
    }

    /// A batch of headers was checked: `unknown` are to fetch, the last is `cursor` at
    /// `height`. `false`, and nothing changes, if the batch does not end above the previous
    /// cursor (or no sync runs).
    /// `work` is the cumulative work at the cursor, if known. The unknown hashes join those
    /// still to fetch (several batches wait while their branch has no more work than ours).
    pub(super) fn advance(
        &mut self,
        unknown: VecDeque<BlockHash>,
        cursor: BlockHash,
        height: u64,
        work: Option<u128>,
        now: Instant,
    ) -> bool {
        let Some(s) = &mut self.job else { return false };
        if s.cursor_height.is_some_and(|c| height <= c) {
            return false;
        }
        s.fetched += unknown.len();
        s.queue.extend(unknown);
        s.cursor = Some(cursor);
        s.cursor_height = Some(height);
        s.work = work;
        s.started = now;
        true
    }

    /// The next bodies to ask for, `max` at most.
    pub(super) fn next_bodies(&mut self, max: usize, now: Instant) -> Bodies {
        let Some(s) = &mut self.job else {
            return Bodies::NoSync;
        };
        if s.queue.is_empty() {
            return Bodies::BatchDone;
        }
        s.started = now;
        Bodies::Fetch(s.epoch, s.queue.iter().take(max).copied().collect())
    }

    /// Takes `received` off the front of what is still to fetch and returns the epoch, or
    /// `None` (nothing taken) if they are not its front.
    pub(super) fn take_front(&mut self, received: &[BlockHash]) -> Option<u64> {
        let s = self.job.as_mut()?;
        let n = received.len();
        if !s.queue.iter().take(n).eq(received.iter()) {
            return None;
        }
        s.queue.drain(..n);
        Some(s.epoch)
    }

    /// The sync made progress (a block imported): it is not stalled.
    pub(super) fn progress(&mut self, now: Instant) {
        if let Some(s) = &mut self.job {
            s.started = now;
        }
    }

    /// Ends the running sync: its peer had no headers after ours. A peer that claimed more
    /// work and gave nothing new, or whose headers end with less work than it claimed, is
    /// backed off. One whose branch, as it claimed, simply no longer beats ours (we caught
    /// up meanwhile: a race of producers on both sides of a healed partition) is not: it may
    /// pull ahead at its next block. Returns `(claimed, shown)` when the headers end with
    /// less work than the peer claimed: its status lied.
    pub(super) fn finish(&mut self, peer: PeerId, now: Instant) -> Option<(u128, u128)> {
        let s = self.job.take()?;
        let lie = match (s.claimed, s.work) {
            (Some(claimed), Some(shown)) if shown < claimed => Some((claimed, shown)),
            _ => None,
        };
        if s.fetched == 0 || lie.is_some() {
            self.back_off(peer, now);
        }
        lie
    }

    /// Ends the running sync with `peer` without progress; `peer` is backed off.
    pub(super) fn abandon(&mut self, peer: PeerId, now: Instant) {
        if self.syncing_from(&peer) {
            self.job = None;
            self.back_off(peer, now);
        }
    }

    /// Ends the running sync (the peer misbehaved, or the node cannot take more).
    pub(super) fn stop(&mut self) {
        self.job = None;
    }

    /// Ends the sync with `peer` if one runs (the peer left).
    pub(in crate::service) fn forget(&mut self, peer: &PeerId) {
        if self.syncing_from(peer) {
            self.job = None;
        }
    }

    /// The peer of a sync without progress for too long.
    pub(super) fn stalled(&self, now: Instant) -> Option<PeerId> {
        self.job
            .as_ref()
            .filter(|s| now.saturating_duration_since(s.started) > STALL)
            .map(|s| s.peer)
    }

    /// Forgets the backoffs that are over.
    pub(in crate::service) fn expire_backoff(&mut self, now: Instant) {
        self.backoff.retain(|_, until| *until > now);
    }

    fn back_off(&mut self, peer: PeerId, now: Instant) {
        self.backoff.insert(peer, now + self.backoff_for);
    }
}

/// Whether `blocks` answer a request for `asked`: a non-empty prefix of it, in order.
pub(super) fn is_answer(asked: &[BlockHash], blocks: &[Block]) -> bool {
    !blocks.is_empty()
        && blocks.len() <= asked.len()
        && blocks.iter().zip(asked).all(|(b, h)| b.hash() == *h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::{self, hash};

    const BACKOFF: Duration = Duration::from_secs(10);

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn one_sync_at_a_time_each_with_its_epoch() {
        let t0 = Instant::now();
        let (a, b) = (PeerId::random(), PeerId::random());
        let mut s = SyncState::new(BACKOFF);
        let e1 = s.start(a, t0).expect("idle: starts");
        assert!(s.is_current(&a, e1) && s.syncing_from(&a));
        assert_eq!(s.start(b, t0 + secs(59)), None, "a running sync is kept");
        assert_eq!(s.stalled(t0 + secs(59)), None);
        assert_eq!(s.stalled(t0 + secs(61)), Some(a));
        let e2 = s
            .start(b, t0 + secs(61))
            .expect("a stalled one is replaced");
        assert!(e2 > e1);
        assert!(!s.syncing_from(&a) && !s.is_current(&a, e1));
        assert!(!s.is_current(&b, e1), "answers to the old epoch are stale");
        assert!(s.is_current(&b, e2));
        // Replaced, not abandoned: the stalled peer is not backed off.
        s.stop();
        assert!(s.start(a, t0 + secs(62)).is_some());
    }

    #[test]
    fn progress_postpones_the_stall() {
        let t0 = Instant::now();
        let a = PeerId::random();
        let mut s = SyncState::new(BACKOFF);
        s.start(a, t0).unwrap();
        s.progress(t0 + secs(50));
        assert_eq!(s.stalled(t0 + secs(100)), None);
        assert!(s.advance([hash(1)].into(), hash(1), 1, None, t0 + secs(100)));
        let _ = s.next_bodies(8, t0 + secs(150));
        assert_eq!(s.stalled(t0 + secs(200)), None);
        assert_eq!(s.stalled(t0 + secs(211)), Some(a));
    }

    #[test]
    fn a_peer_that_gave_nothing_is_backed_off() {
        let t0 = Instant::now();
        let (a, b) = (PeerId::random(), PeerId::random());
        let mut s = SyncState::new(BACKOFF);
        s.start(a, t0).unwrap();
        s.finish(a, t0);
        assert_eq!(s.peer(), None);
        assert_eq!(s.start(a, t0 + secs(9)), None, "backed off");
        // A peer that gave blocks is not.
        s.start(b, t0).unwrap();
        assert!(s.advance([hash(1), hash(2)].into(), hash(2), 2, None, t0));
        s.finish(b, t0);
        let e = s.start(b, t0).expect("b gave blocks");
        // Abandoning backs off, but only the peer synced from.
        s.abandon(a, t0);
        assert!(s.is_current(&b, e));
        s.abandon(b, t0);
        assert_eq!(s.peer(), None);
        assert_eq!(s.start(b, t0 + secs(9)), None);
        s.expire_backoff(t0 + secs(9));
        assert_eq!(s.backoff.len(), 2);
        s.expire_backoff(t0 + BACKOFF);
        assert!(s.backoff.is_empty());
        assert!(s.start(a, t0 + BACKOFF).is_some());
    }

    #[test]
    fn the_cursor_leads_the_locator_and_must_move_on() {
        let t0 = Instant::now();
        let a = PeerId::random();
        let mut s = SyncState::new(BACKOFF);
        s.start(a, t0).unwrap();
        let chain: Vec<BlockHash> = (0..70).map(hash).collect();
        assert_eq!(s.locator(chain.clone()), chain[..64]);
        assert!(s.advance([hash(101)].into(), hash(101), 12, None, t0));
        let locator = s.locator(chain.clone());
        assert_eq!((locator.len(), locator[0]), (64, hash(101)));
        assert_eq!(locator[1..], chain[..63]);
        // The same batch again (or one ending lower) is no progress, and changes nothing.
        assert!(!s.advance([hash(100)].into(), hash(100), 12, None, t0));
        assert_eq!(s.locator(Vec::new()), [hash(101)]);
        assert_eq!(s.next_bodies(8, t0), Bodies::Fetch(1, vec![hash(101)]));
        assert!(s.advance(VecDeque::new(), hash(102), 13, None, t0));
        assert_eq!(s.locator(Vec::new()), [hash(102)]);
    }

    #[test]
    fn bodies_wait_until_the_headers_show_more_work_than_ours() {
        let t0 = Instant::now();
        let a = PeerId::random();
        let mut s = SyncState::new(BACKOFF);
        let e = s.start(a, t0).unwrap();
        s.set_claim(100);
        assert!(s.advance([hash(1), hash(2)].into(), hash(2), 2, Some(9), t0));
        assert_eq!(
            s.next_after_headers(10),
            Next::Headers,
            "less work than ours"
        );
        assert_eq!(s.cursor(), Some((hash(2), Some(9))));
        assert!(s.advance([hash(3)].into(), hash(3), 3, Some(11), t0));
        assert_eq!(s.next_after_headers(10), Next::Bodies);
        assert_eq!(
            s.next_bodies(8, t0),
            Bodies::Fetch(e, vec![hash(1), hash(2), hash(3)]),
            "every waiting body, in order"
        );
        // Once fetching, a later batch is fetched whatever our work became meanwhile.
        assert_eq!(s.take_front(&[hash(1), hash(2), hash(3)]), Some(e));
        assert!(s.advance([hash(4)].into(), hash(4), 4, Some(12), t0));
        assert_eq!(s.next_after_headers(50), Next::Bodies);
        // A node that cannot tell work trusts the claim.
        let b = PeerId::random();
        s.stop();
        s.start(b, t0).unwrap();
        assert!(s.advance([hash(7)].into(), hash(7), 1, None, t0));
        assert_eq!(s.next_after_headers(10), Next::Bodies);
    }

    #[test]
    fn headers_ending_below_the_claim_are_a_lie_and_nothing_is_fetched() {
        let t0 = Instant::now();
        let (liar, honest) = (PeerId::random(), PeerId::random());
        let mut s = SyncState::new(BACKOFF);
        s.start(liar, t0).unwrap();
        s.set_claim(1_000);
        assert!(s.advance((1..=3).map(hash).collect(), hash(3), 3, Some(5), t0));
        assert_eq!(s.next_after_headers(10), Next::Headers);
        assert_eq!(s.finish(liar, t0), Some((1_000, 5)));
        assert_eq!(s.start(liar, t0 + secs(1)), None, "backed off");
        // Headers as heavy as claimed, but not heavier than ours (we moved on): no lie,
        // nothing fetched, and not backed off: it may pull ahead at its next block.
        s.start(honest, t0).unwrap();
        s.set_claim(12);
        assert!(s.advance([hash(8)].into(), hash(8), 8, Some(12), t0));
        assert_eq!(s.next_after_headers(20), Next::Headers);
        assert_eq!(s.finish(honest, t0), None);
        assert!(s.start(honest, t0 + secs(1)).is_some(), "not backed off");
        s.stop();
        // Too many headers without overtaking ours: given up.
        let long = PeerId::random();
        s.start(long, t0).unwrap();
        let many: VecDeque<BlockHash> = (0..=MAX_PENDING as u64)
            .map(|i| {
                let mut b = [0u8; 32];
                b[..8].copy_from_slice(&i.to_le_bytes());
                BlockHash(wes_core::Hash(b))
            })
            .collect();
        assert!(s.advance(many, hash(9), 9_000, Some(1), t0));
        assert_eq!(s.next_after_headers(10), Next::GiveUp);
    }

    #[test]
    fn bodies_are_fetched_in_order_from_the_front() {
        let t0 = Instant::now();
        let a = PeerId::random();
        let mut s = SyncState::new(BACKOFF);
        assert_eq!(s.next_bodies(2, t0), Bodies::NoSync);
        let e = s.start(a, t0).unwrap();
        assert_eq!(s.next_bodies(2, t0), Bodies::BatchDone);
        assert!(s.advance((1..=5).map(hash).collect(), hash(5), 5, None, t0));
        assert_eq!(
            s.next_bodies(2, t0),
            Bodies::Fetch(e, vec![hash(1), hash(2)])
        );
        assert_eq!(s.take_front(&[hash(2)]), None, "not the front");
        assert_eq!(s.take_front(&[hash(1), hash(2)]), Some(e));
        let rest = vec![hash(3), hash(4), hash(5)];
        assert_eq!(s.next_bodies(8, t0), Bodies::Fetch(e, rest));
        assert_eq!(s.take_front(&[hash(3)]), Some(e), "a prefix is taken");
        assert_eq!(s.take_front(&(3..=6).map(hash).collect::<Vec<_>>()), None);
        assert_eq!(s.take_front(&[hash(4), hash(5)]), Some(e));
        assert_eq!(s.next_bodies(8, t0), Bodies::BatchDone);
    }

    #[test]
    fn an_answer_is_a_non_empty_prefix_of_what_was_asked() {
        let blocks = testing::chain(3);
        let asked: Vec<BlockHash> = blocks.iter().map(Block::hash).collect();
        assert!(is_answer(&asked, &blocks));
        assert!(is_answer(&asked, &blocks[..1]));
        assert!(!is_answer(&asked, &[]));
        assert!(!is_answer(&asked, &blocks[1..]), "not from the start");
        assert!(!is_answer(&asked[..2], &blocks), "more than asked");
        let mut swapped = blocks[..2].to_vec();
        swapped.swap(0, 1);
        assert!(!is_answer(&asked, &swapped));
    }
}
