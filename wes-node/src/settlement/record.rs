//! One journaled op and the rule that decides, from the chain alone, what its connector must
//! hear next. The rule is a pure function of the record and the chain's facts, so a node that
//! restarts decides exactly what it would have decided had it kept running.

use serde::{Deserialize, Serialize};
use wes_core::{ContractId, OutPoint, TxId};
use wes_ispc::{Outcome, PendingExternal};

use super::config::SettlementConfig;

/// The most transactions one op follows (constructions of the same call).
pub const MAX_BINDINGS: usize = 16;

/// What the connector has acknowledged of an op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpState {
    /// Journaled; the prepare request may or may not have reached the connector.
    Preparing,
    /// Prepared and bound to its transaction; waiting for the chain.
    Prepared,
    /// Commit acknowledged.
    Committed,
    /// Compensation acknowledged (the transaction left the best chain after its commit).
    Compensated,
    /// Abort acknowledged: final.
    Aborted,
}

impl OpState {
    /// The state once the connector acknowledged `outcome`.
    pub fn after(outcome: Outcome) -> OpState {
        match outcome {
            Outcome::Commit => OpState::Committed,
            Outcome::Abort => OpState::Aborted,
            Outcome::Compensate => OpState::Compensated,
        }
    }
}

/// The transaction an op belongs to, as far as settling needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxBinding {
    /// The transaction's id (its witnesses are not part of it, so the id is known before
    /// the caller signs).
    pub txid: TxId,
    /// Its inputs: when another transaction spends one, it can never be included.
    pub inputs: Vec<OutPoint>,
    /// The last height it may be included at.
    pub valid_until: u64,
}

/// What the best chain says of an op's transactions (one, or several when the same call was
/// constructed again: they share their first input, so at most one can be included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainFacts {
    /// The best chain's height.
    pub tip: u64,
    /// The height of the block of the best chain holding one of them.
    pub included_at: Option<u64>,
    /// Whether every one of them has an input spent on the best chain (by another
    /// transaction when none is included): then none can be included any more.
    pub input_spent: bool,
}

impl ChainFacts {
    /// Whether a block at `height` is at least `depth` deep.
    fn deep(&self, height: u64, depth: u64) -> bool {
        self.tip.saturating_add(1) >= height.saturating_add(depth)
    }
}

/// One external op in the journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpRecord {
    /// The connector and the op id.
    pub op: PendingExternal,
    /// The contract that made the call.
    pub contract: ContractId,
    /// Its transactions, once construction finished: the same call constructed again (by a
    /// client retrying) carries the same op in another transaction. At most
    /// [`MAX_BINDINGS`].
    pub txs: Vec<TxBinding>,
    /// What the connector acknowledged.
    pub state: OpState,
    /// When it was journaled (milliseconds since the Unix epoch).
    pub journaled_ms: u64,
    /// The execution or construction failed: it will never have a transaction.
    pub abandoned: bool,
    /// The height the best chain holds its transaction at, when last looked.
    pub included_at: Option<u64>,
    /// The tip height at which an input was first seen spent by another transaction.
    pub conflict_since: Option<u64>,
    /// Failed tries of the current move.
    pub attempts: u32,
    /// Not tried again before this time (milliseconds).
    pub next_attempt_ms: u64,
    /// Since when the current move has been failing.
    pub failing_since_ms: Option<u64>,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it was aborted.
    pub done_ms: Option<u64>,
}

impl OpRecord {
    /// A fresh record of `op`, about to be prepared at `now_ms`.
    pub fn preparing(op: PendingExternal, contract: ContractId, now_ms: u64) -> Self {
        OpRecord {
            op,
            contract,
            txs: Vec::new(),
            state: OpState::Preparing,
            journaled_ms: now_ms,
            abandoned: false,
            included_at: None,
            conflict_since: None,
            attempts: 0,
            next_attempt_ms: 0,
            failing_since_ms: None,
            last_error: None,
            done_ms: None,
        }
    }

    /// Takes in what the chain says; whether the record changed.
    pub fn observe(&mut self, facts: &ChainFacts) -> bool {
        let conflict = if facts.included_at.is_none() && facts.input_spent {
            Some(self.conflict_since.unwrap_or(facts.tip))
        } else {
            None
        };
        let changed = self.included_at != facts.included_at || self.conflict_since != conflict;
        self.included_at = facts.included_at;
        self.conflict_since = conflict;
        changed
    }

    /// What the connector must hear next, if anything. `facts` are those of its
    /// transaction (`None` while it has none).
    pub fn wanted(
        &self,
        facts: Option<&ChainFacts>,
        config: &SettlementConfig,
        now_ms: u64,
    ) -> Option<Outcome> {
        if self.state == OpState::Aborted {
            return None;
        }
        let (valid_until, facts) = match (self.valid_until(), facts) {
            (Some(v), Some(f)) => (v, f),
            (None, _) => {
                let orphaned = now_ms >= self.journaled_ms.saturating_add(config.orphan_after_ms);
                return (self.abandoned || orphaned).then_some(Outcome::Abort);
            }
            (Some(_), None) => return None,
        };
        let depth = config.depth_of(&self.op.connector);
        match facts.included_at {
            Some(h) if facts.deep(h, depth) && self.state != OpState::Committed => {
                Some(Outcome::Commit)
            }
            Some(_) => None,
            None if self.state == OpState::Committed => Some(Outcome::Compensate),
            // Past its window by `depth` blocks: only a reorganisation deeper than the
            // commit depth could still include it.
            None if facts.deep(valid_until.saturating_add(1), depth) => Some(Outcome::Abort),
            // An input spent by another transaction, `depth` deep.
            None if self.conflict_since.is_some_and(|c| facts.deep(c, depth)) => {
                Some(Outcome::Abort)
            }
            None => None,
        }
    }

    /// The last height any of its transactions may be included at (`None` before it has
    /// one).
    pub fn valid_until(&self) -> Option<u64> {
        self.txs.iter().map(|t| t.valid_until).max()
    }

    /// The connector acknowledged `outcome` at `now_ms`.
    pub fn acknowledged(&mut self, outcome: Outcome, now_ms: u64) {
        self.state = OpState::after(outcome);
        if self.state == OpState::Aborted {
            self.done_ms = Some(now_ms);
        }
        self.clear_failure();
    }

    /// The connector call for the current move failed at `now_ms`.
    pub fn failed(&mut self, error: String, now_ms: u64, config: &SettlementConfig) {
        self.attempts = self.attempts.saturating_add(1);
        self.next_attempt_ms = now_ms.saturating_add(config.backoff_ms(self.attempts));
        self.failing_since_ms.get_or_insert(now_ms);
        self.last_error = Some(error);
    }

    /// Nothing is to be done any more: forget past failures. Whether it changed.
    pub fn clear_failure(&mut self) -> bool {
        let changed = self.attempts != 0 || self.failing_since_ms.is_some();
        self.attempts = 0;
        self.next_attempt_ms = 0;
        self.failing_since_ms = None;
        self.last_error = None;
        changed
    }

    /// Whether the current move has been failing for longer than the configured limit.
    pub fn stuck(&self, config: &SettlementConfig, now_ms: u64) -> bool {
        self.failing_since_ms
            .is_some_and(|s| now_ms >= s.saturating_add(config.stuck_after_ms))
    }

    /// Whether the journal may forget it: aborted long enough ago, or committed and deep
    /// beyond `retain_depth`.
    pub fn forgettable(&self, tip: u64, config: &SettlementConfig, now_ms: u64) -> bool {
        match self.state {
            OpState::Aborted => self
                .done_ms
                .is_some_and(|d| now_ms >= d.saturating_add(config.retain_aborted_ms)),
            OpState::Committed => self
                .included_at
                .is_some_and(|h| tip.saturating_add(1) >= h.saturating_add(config.retain_depth)),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use wes_core::Hash;
    use wes_ispc::connectors::OpStatus;

    use super::*;

    fn record(valid_until: u64) -> OpRecord {
        let mut r = OpRecord::preparing(
            PendingExternal {
                connector: "shop".into(),
                op: Hash([1; 32]),
            },
            ContractId(Hash([2; 32])),
            0,
        );
        r.txs = vec![TxBinding {
            txid: TxId(Hash([3; 32])),
            inputs: Vec::new(),
            valid_until,
        }];
        r.state = OpState::Prepared;
        r
    }

    fn facts(tip: u64, included_at: Option<u64>) -> ChainFacts {
        ChainFacts {
            tip,
            included_at,
            input_spent: included_at.is_some(),
        }
    }

    #[test]
    fn commit_waits_for_the_depth_and_compensates_when_the_block_goes() {
        let config = SettlementConfig::default(); // depth 3
        let mut r = record(100);
        assert_eq!(r.wanted(Some(&facts(10, Some(9))), &config, 0), None);
        assert_eq!(
            r.wanted(Some(&facts(11, Some(9))), &config, 0),
            Some(Outcome::Commit)
        );
        r.acknowledged(Outcome::Commit, 0);
        assert_eq!(r.wanted(Some(&facts(12, Some(9))), &config, 0), None);
        assert_eq!(
            r.wanted(Some(&facts(12, None)), &config, 0),
            Some(Outcome::Compensate)
        );
        r.acknowledged(Outcome::Compensate, 0);
        // Back in a block: committed again once deep.
        assert_eq!(r.wanted(Some(&facts(13, Some(13))), &config, 0), None);
        assert_eq!(
            r.wanted(Some(&facts(15, Some(13))), &config, 0),
            Some(Outcome::Commit)
        );
    }

    #[test]
    fn abort_only_when_it_can_no_longer_be_included() {
        let config = SettlementConfig::default();
        let r = record(20);
        // Out of the mempool, but the window is open: nothing.
        assert_eq!(r.wanted(Some(&facts(20, None)), &config, 0), None);
        assert_eq!(r.wanted(Some(&facts(22, None)), &config, 0), None);
        assert_eq!(
            r.wanted(Some(&facts(23, None)), &config, 0),
            Some(Outcome::Abort)
        );
        // An input spent by another transaction: aborted once that is deep.
        let mut r = record(1_000);
        let spent = ChainFacts {
            tip: 30,
            included_at: None,
            input_spent: true,
        };
        assert!(r.observe(&spent));
        assert_eq!(r.wanted(Some(&spent), &config, 0), None);
        let deeper = ChainFacts { tip: 32, ..spent };
        assert!(!r.observe(&deeper));
        assert_eq!(r.wanted(Some(&deeper), &config, 0), Some(Outcome::Abort));
        // The spender was reorganised away: the conflict is forgotten.
        assert!(r.observe(&facts(33, None)));
        assert_eq!(r.conflict_since, None);
    }

    #[test]
    fn orphans_and_abandoned_ops_are_aborted() {
        let config = SettlementConfig::default();
        let mut r = record(10);
        r.txs.clear();
        r.state = OpState::Preparing;
        assert_eq!(r.wanted(None, &config, 1_000), None);
        assert_eq!(
            r.wanted(None, &config, config.orphan_after_ms),
            Some(Outcome::Abort)
        );
        r.abandoned = true;
        assert_eq!(r.wanted(None, &config, 0), Some(Outcome::Abort));
    }

    #[test]
    fn failures_back_off_and_become_stuck() {
        let config = SettlementConfig::default();
        let mut r = record(10);
        r.failed("down".into(), 1_000, &config);
        assert_eq!(r.next_attempt_ms, 1_000 + config.retry_min_ms);
        r.failed("down".into(), 2_000, &config);
        assert_eq!(r.next_attempt_ms, 2_000 + 2 * config.retry_min_ms);
        for _ in 0..40 {
            r.failed("down".into(), 3_000, &config);
        }
        assert_eq!(r.next_attempt_ms, 3_000 + config.retry_max_ms);
        assert!(!r.stuck(&config, 1_000 + config.stuck_after_ms - 1));
        assert!(r.stuck(&config, 1_000 + config.stuck_after_ms));
        r.acknowledged(Outcome::Commit, 4_000);
        assert!(!r.stuck(&config, u64::MAX));
    }

    proptest! {
        /// Over any history of the best chain, the connector hears only moves its protocol
        /// allows, never commit of a transaction that is not `depth` deep, never abort of
        /// one that is included, and the op ends committed or aborted once the chain
        /// settles.
        #[test]
        fn any_chain_history_settles_by_the_protocol(
            steps in proptest::collection::vec((0u64..3, proptest::option::of(0u64..40), any::<bool>()), 1..60),
            valid_until in 5u64..40,
            included_finally in any::<bool>(),
        ) {
            let config = SettlementConfig::default();
            let depth = config.depth_of("shop");
            let mut r = record(valid_until);
            let mut remote = OpStatus::Prepared;
            let mut tip = 0u64;
            let apply = |r: &mut OpRecord, f: &ChainFacts, remote: &mut OpStatus| {
                r.observe(f);
                if let Some(outcome) = r.wanted(Some(f), &config, 0) {
                    match outcome {
                        Outcome::Commit => {
                            let h = f.included_at.expect("commit of an excluded transaction");
                            prop_assert!(f.tip + 1 >= h + depth);
                        }
                        Outcome::Abort => prop_assert!(f.included_at.is_none()),
                        Outcome::Compensate => prop_assert!(f.included_at.is_none()),
                    }
                    *remote = remote.after(outcome).expect("a move the protocol forbids");
                    r.acknowledged(outcome, 0);
                }
                Ok(())
            };
            for (advance, included, spent) in steps {
                tip += advance;
                let included = included.filter(|h| *h <= tip && *h <= valid_until);
                let f = ChainFacts { tip, included_at: included, input_spent: spent || included.is_some() };
                apply(&mut r, &f, &mut remote)?;
            }
            // The chain settles: either the transaction is deep, or the window is long gone.
            let end = tip.max(valid_until) + 10;
            let included = (included_finally && r.state != OpState::Aborted).then_some(valid_until.min(end));
            let f = ChainFacts { tip: end, included_at: included, input_spent: included.is_some() };
            apply(&mut r, &f, &mut remote)?;
            apply(&mut r, &f, &mut remote)?;
            let expected = if included.is_some() { OpStatus::Committed } else { OpStatus::Aborted };
            prop_assert_eq!(remote, expected);
        }
    }
}
