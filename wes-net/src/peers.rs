//! Peer hygiene: a score per peer, lowered by evidence of misbehaviour and slowly restored;
//! peers whose score falls to the ban threshold are disconnected and refused for a while.
//!
//! Pure bookkeeping with the time passed in, so the rules are tested without a network.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::PeerId;

/// Evidence against a peer, with what it costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Offence {
    /// Bytes that do not decode as the message they should be.
    Malformed,
    /// A frame or message over the size limit.
    Oversize,
    /// A block that fails validation (proof of work, body, ledger rules).
    InvalidBlock,
    /// A transaction that fails validation.
    InvalidTransaction,
    /// A resource chunk that does not belong to its content id.
    InvalidChunk,
    /// Headers that do not form a chain, or blocks other than those asked for.
    BadSyncResponse,
    /// A peer of another chain (different genesis).
    WrongChain,
    /// A request that failed or timed out (cheap: networks are unreliable).
    Unresponsive,
}

impl Offence {
    /// The score this offence costs.
    pub fn cost(self) -> i32 {
        match self {
            Offence::Malformed | Offence::Oversize | Offence::BadSyncResponse => 25,
            Offence::InvalidBlock | Offence::InvalidChunk => 50,
            Offence::InvalidTransaction => 10,
            Offence::WrongChain => 100,
            Offence::Unresponsive => 2,
        }
    }
}

/// Scoring rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScoreConfig {
    /// A peer is banned when its score reaches minus this.
    pub ban_threshold: i32,
    /// How long a ban lasts.
    pub ban_duration: Duration,
    /// Points restored per [`PeerBook::tick`] interval of this length.
    pub recovery_interval: Duration,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        ScoreConfig {
            ban_threshold: 100,
            ban_duration: Duration::from_secs(600),
            recovery_interval: Duration::from_secs(10),
        }
    }
}

/// What a penalty led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The peer stays, with this score.
    Keep(i32),
    /// The peer is banned now, until the given instant.
    Ban(Instant),
    /// The peer was banned already.
    AlreadyBanned,
}

/// Scores and bans.
#[derive(Debug)]
pub struct PeerBook {
    config: ScoreConfig,
    scores: HashMap<PeerId, (i32, Instant)>,
    bans: HashMap<PeerId, Instant>,
}

impl PeerBook {
    /// An empty book.
    pub fn new(config: ScoreConfig) -> Self {
        PeerBook {
            config,
            scores: HashMap::new(),
            bans: HashMap::new(),
        }
    }

    /// The peer's score (0 for peers without a record).
    pub fn score(&self, peer: &PeerId) -> i32 {
        self.scores.get(peer).map_or(0, |s| s.0)
    }

    /// Whether `peer` is banned at `now`.
    pub fn is_banned(&self, peer: &PeerId, now: Instant) -> bool {
        self.bans.get(peer).is_some_and(|until| *until > now)
    }

    /// Banned peers and when their bans end.
    pub fn bans(&self) -> impl Iterator<Item = (&PeerId, &Instant)> {
        self.bans.iter()
    }

    /// Charges `offence` to `peer`.
    pub fn penalise(&mut self, peer: PeerId, offence: Offence, now: Instant) -> Verdict {
        if self.is_banned(&peer, now) {
            return Verdict::AlreadyBanned;
        }
        let entry = self.scores.entry(peer).or_insert((0, now));
        entry.0 = entry.0.saturating_sub(offence.cost());
        entry.1 = now;
        if entry.0 <= -self.config.ban_threshold {
            let until = now + self.config.ban_duration;
            self.scores.remove(&peer);
            self.bans.insert(peer, until);
            Verdict::Ban(until)
        } else {
            Verdict::Keep(entry.0)
        }
    }

    /// Restores scores with time and lifts expired bans; returns the peers unbanned.
    pub fn tick(&mut self, now: Instant) -> Vec<PeerId> {
        let step = self.config.recovery_interval.as_millis().max(1);
        self.scores.retain(|_, (score, since)| {
            let points = (now.saturating_duration_since(*since).as_millis() / step) as i32;
            if points > 0 {
                *score = (*score + points).min(0);
                *since = now;
            }
            *score < 0
        });
        let expired: Vec<PeerId> = self
            .bans
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(p, _)| *p)
            .collect();
        for p in &expired {
            self.bans.remove(p);
        }
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> PeerBook {
        PeerBook::new(ScoreConfig::default())
    }

    #[test]
    fn repeated_garbage_gets_a_peer_banned_and_the_ban_expires() {
        let mut b = book();
        let p = PeerId::random();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(matches!(
                b.penalise(p, Offence::Malformed, t0),
                Verdict::Keep(_)
            ));
        }
        assert!(matches!(
            b.penalise(p, Offence::Malformed, t0),
            Verdict::Ban(_)
        ));
        assert!(b.is_banned(&p, t0));
        assert_eq!(
            b.penalise(p, Offence::Malformed, t0),
            Verdict::AlreadyBanned
        );
        assert!(b.tick(t0 + Duration::from_secs(1)).is_empty());
        assert_eq!(b.tick(t0 + Duration::from_secs(601)), vec![p]);
        assert!(!b.is_banned(&p, t0 + Duration::from_secs(601)));
        assert_eq!(b.score(&p), 0, "a lifted ban starts afresh");
    }

    #[test]
    fn occasional_failures_are_forgiven_with_time() {
        let mut b = book();
        let p = PeerId::random();
        let t0 = Instant::now();
        assert_eq!(b.penalise(p, Offence::InvalidBlock, t0), Verdict::Keep(-50));
        b.tick(t0 + Duration::from_secs(100));
        assert_eq!(b.score(&p), -40);
        b.tick(t0 + Duration::from_secs(1000));
        assert_eq!(b.score(&p), 0);
        // Spread out, the same offences never reach the threshold.
        let mut t = t0 + Duration::from_secs(1000);
        for _ in 0..20 {
            assert!(matches!(
                b.penalise(p, Offence::InvalidTransaction, t),
                Verdict::Keep(_)
            ));
            t += Duration::from_secs(100);
            b.tick(t);
        }
    }

    #[test]
    fn other_peers_are_unaffected() {
        let mut b = book();
        let (bad, good) = (PeerId::random(), PeerId::random());
        let t0 = Instant::now();
        b.penalise(bad, Offence::WrongChain, t0);
        assert!(b.is_banned(&bad, t0));
        assert!(!b.is_banned(&good, t0));
        assert_eq!(b.score(&good), 0);
    }
}
