//! How the settlement waits, retries and forgets.

use std::collections::BTreeMap;

/// The settlement's policy. Depths count the including block: depth 1 is "in the tip".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementConfig {
    /// Confirmations before a connector hears commit, unless `commit_depths` names it.
    pub commit_depth: u64,
    /// Per connector name, its own commit depth (an irreversible payment wants more than a
    /// stock reservation).
    pub commit_depths: BTreeMap<String, u64>,
    /// An op journaled but never bound to a transaction (the node stopped while executing)
    /// is aborted this long after it was journaled, in milliseconds.
    pub orphan_after_ms: u64,
    /// First delay before a failed connector call is retried, in milliseconds; it doubles
    /// with each failure up to `retry_max_ms`.
    pub retry_min_ms: u64,
    /// Longest delay between two tries, in milliseconds.
    pub retry_max_ms: u64,
    /// An op whose connector call has failed for this long is *stuck*: listed as such by
    /// `wes_settlements` and counted by the `settlement_stuck` metric (it is still retried).
    pub stuck_after_ms: u64,
    /// How deep a committed op's transaction must be before the journal forgets the op
    /// (after that, a reorganisation removing it is not compensated).
    pub retain_depth: u64,
    /// How long an aborted op is remembered, in milliseconds (so a late binding of it is
    /// refused rather than taken for an unknown op).
    pub retain_aborted_ms: u64,
    /// How often the settlement looks again without being woken by a new block (retries,
    /// orphans), in milliseconds.
    pub tick_ms: u64,
}

impl Default for SettlementConfig {
    fn default() -> Self {
        SettlementConfig {
            commit_depth: 3,
            commit_depths: BTreeMap::new(),
            orphan_after_ms: 10 * 60 * 1000,
            retry_min_ms: 500,
            retry_max_ms: 60_000,
            stuck_after_ms: 5 * 60 * 1000,
            retain_depth: 1_000,
            retain_aborted_ms: 60 * 60 * 1000,
            tick_ms: 500,
        }
    }
}

impl SettlementConfig {
    /// The commit depth of connector `name` (at least 1).
    pub fn depth_of(&self, name: &str) -> u64 {
        self.commit_depths
            .get(name)
            .copied()
            .unwrap_or(self.commit_depth)
            .max(1)
    }

    /// The delay before try number `attempts + 1`, after `attempts` failures.
    pub fn backoff_ms(&self, attempts: u32) -> u64 {
        let doublings = attempts.saturating_sub(1).min(32);
        self.retry_min_ms
            .saturating_mul(1u64 << doublings)
            .min(self.retry_max_ms)
    }
}
