//! [`PowXorEngine`]: SHA3-256 proof of work, ASERT difficulty, fork choice by cumulative work
//! and equal-work ties broken by XOR distance.

use core::cmp::Ordering;
use std::sync::atomic::AtomicBool;

use wes_core::{
    BlockHeader, ChainId, CompactTarget, ConsensusEngine, ConsensusError, HeaderSource, Work,
};

use crate::asert::{AsertInput, asert_target};
use crate::miner::{Miner, MinerStats};
use crate::target::{U256, decode_compact, encode_compact, meets_target, work_of};
use crate::xor::xor_tie_break;

/// The name [`PowXorEngine`] reports.
pub const POW_XOR_ENGINE: &str = "pow-xor";

/// The rules of a proof-of-work chain. Every node of a chain must use the same values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PowParams {
    /// The chain whose headers are accepted.
    pub chain_id: ChainId,
    /// The easiest target allowed; ASERT never goes above it.
    pub pow_limit: CompactTarget,
    /// The block interval the difficulty aims at, in milliseconds.
    pub block_time_ms: u64,
    /// ASERT half-life in milliseconds: a chain one half-life behind schedule has its
    /// target doubled. Larger is smoother but slower to follow hash-power changes.
    pub half_life_ms: u64,
    /// How many ancestors (the parent included) the median time past is taken over.
    pub median_time_span: usize,
    /// How far a header's time may be ahead of the local clock, in milliseconds.
    pub max_future_drift_ms: u64,
}

impl PowParams {
    /// Parameters for a development network: 5 s blocks, a 3-minute (36-block) half-life,
    /// median over 11 ancestors, 1 minute of allowed clock drift, and a limit of
    /// `0x207fffff` (about `2^255`: one hash in two meets it), so a block mines in
    /// microseconds until the difficulty rises.
    pub fn devnet(chain_id: ChainId) -> Self {
        PowParams {
            chain_id,
            pow_limit: CompactTarget(0x207f_ffff),
            block_time_ms: 5_000,
            half_life_ms: 180_000,
            median_time_span: 11,
            max_future_drift_ms: 60_000,
        }
    }
}

/// The block ASERT schedules from: the target at `height`, and the time its parent would
/// have had. With the genesis block as anchor ([`AsertAnchor::genesis`]) the first block's
/// target is the genesis header's target, and the schedule starts at the genesis time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsertAnchor {
    /// The anchor block's height.
    pub height: u64,
    /// The anchor's parent's time (for genesis: its time minus one block time).
    pub parent_time_ms: u64,
    /// The anchor's target: the target of the block after the anchor when on schedule.
    pub target: CompactTarget,
}

impl AsertAnchor {
    /// Anchors at `genesis`: height 0, the genesis target, and a virtual parent one block
    /// time before the genesis time, so a first block exactly one block time after genesis
    /// keeps the genesis target.
    pub fn genesis(genesis: &BlockHeader, params: &PowParams) -> Self {
        AsertAnchor {
            height: genesis.height,
            parent_time_ms: genesis.time_ms.saturating_sub(params.block_time_ms),
            target: genesis.target,
        }
    }
}

/// Proof of work with XOR tie-breaking, implementing [`ConsensusEngine`].
///
/// - **Validity**: the header hash (SHA3-256, domain `wes/block-header`, read big-endian) is
///   at most the header's target; the target is a valid compact below the limit; the seal is
///   empty; the time is after the median of the last [`PowParams::median_time_span`]
///   ancestors and at most [`PowParams::max_future_drift_ms`] ahead of the local clock; the
///   target is the one ASERT gives ([`crate::asert`]).
/// - **Fork choice**: [`work`](ConsensusEngine::work) is `2^256 / (target + 1)`, so the chain
///   manager follows the most cumulative work; [`break_tie`](ConsensusEngine::break_tie) is
///   [`xor_tie_break`].
/// - **Sealing**: a multi-threaded nonce search ([`Miner`]), cancellable.
#[derive(Clone, Debug)]
pub struct PowXorEngine {
    params: PowParams,
    anchor: AsertAnchor,
    pow_limit: U256,
    anchor_target: U256,
    miner: Miner,
}

impl PowXorEngine {
    /// An engine for `params`, scheduling difficulty from `anchor`. Mines with one thread per
    /// available core (see [`with_threads`](Self::with_threads)).
    ///
    /// # Errors
    /// [`ConsensusError::InvalidTarget`] if the limit or the anchor target is not a valid
    /// compact target, or the anchor target is easier than the limit;
    /// [`ConsensusError::Other`] if the block time or half-life is zero.
    pub fn new(params: PowParams, anchor: AsertAnchor) -> Result<Self, ConsensusError> {
        let pow_limit = decode_compact(params.pow_limit)?;
        let anchor_target = decode_compact(anchor.target)?;
        if anchor_target > pow_limit {
            return Err(ConsensusError::InvalidTarget(anchor.target));
        }
        if params.block_time_ms == 0 || params.half_life_ms == 0 {
            return Err(ConsensusError::Other {
                engine: POW_XOR_ENGINE,
                reason: "block time and half-life must be positive".into(),
            });
        }
        Ok(PowXorEngine {
            params,
            anchor,
            pow_limit,
            anchor_target,
            miner: Miner::default(),
        })
    }

    /// [`new`](Self::new) anchored at `genesis` ([`AsertAnchor::genesis`]).
    ///
    /// # Errors
    /// As [`new`](Self::new); in particular if the genesis target is zero or easier than the
    /// limit.
    pub fn for_genesis(params: PowParams, genesis: &BlockHeader) -> Result<Self, ConsensusError> {
        let anchor = AsertAnchor::genesis(genesis, &params);
        Self::new(params, anchor)
    }

    /// Uses `threads` mining threads (at least one).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.miner = Miner::new(threads);
        self
    }

    /// The parameters.
    pub fn params(&self) -> &PowParams {
        &self.params
    }

    /// The ASERT anchor.
    pub fn anchor(&self) -> &AsertAnchor {
        &self.anchor
    }

    /// The miner [`seal`](ConsensusEngine::seal) uses.
    pub fn miner(&self) -> &Miner {
        &self.miner
    }

    /// Like [`seal`](ConsensusEngine::seal), and also reports how many hashes were tried
    /// and how fast.
    ///
    /// # Errors
    /// [`ConsensusError::InvalidTarget`] if the header's target is invalid or above the limit.
    pub fn seal_with_stats(
        &self,
        header: BlockHeader,
        cancel: &AtomicBool,
    ) -> Result<(Option<BlockHeader>, MinerStats), ConsensusError> {
        let target = self.checked_target(header.target)?;
        self.miner.mine(header, &target, cancel)
    }

    /// The target ASERT gives for a child of `parent` (the full 256-bit value; the header
    /// carries its compact form, see [`ConsensusEngine::next_target`]).
    ///
    /// # Errors
    /// [`ConsensusError::Other`] if `parent` is below the anchor.
    pub fn next_target_value(&self, parent: &BlockHeader) -> Result<U256, ConsensusError> {
        if parent.height < self.anchor.height {
            return Err(ConsensusError::Other {
                engine: POW_XOR_ENGINE,
                reason: format!(
                    "parent height {} is below the ASERT anchor height {}",
                    parent.height, self.anchor.height
                ),
            });
        }
        Ok(asert_target(&AsertInput {
            anchor_target: self.anchor_target,
            time_diff_ms: i128::from(parent.time_ms) - i128::from(self.anchor.parent_time_ms),
            height_diff: i128::from(parent.height - self.anchor.height),
            block_time_ms: self.params.block_time_ms,
            half_life_ms: self.params.half_life_ms,
            pow_limit: self.pow_limit,
        }))
    }

    fn checked_target(&self, compact: CompactTarget) -> Result<U256, ConsensusError> {
        let target = decode_compact(compact)?;
        if target > self.pow_limit {
            return Err(ConsensusError::InvalidTarget(compact));
        }
        Ok(target)
    }
}

/// The median of the times of `parent` and its ancestors, over at most `span` headers (fewer
/// near genesis). With an even count the upper median is used, as Bitcoin does.
///
/// # Errors
/// [`ConsensusError::UnknownAncestor`] if an ancestor above genesis is missing from
/// `ancestors`.
pub fn median_time_past(
    parent: &BlockHeader,
    ancestors: &dyn HeaderSource,
    span: usize,
) -> Result<u64, ConsensusError> {
    let mut times = Vec::with_capacity(span.max(1));
    times.push(parent.time_ms);
    let mut current = parent.clone();
    while times.len() < span && current.height > 0 {
        current = ancestors
            .header(&current.parent)
            .ok_or(ConsensusError::UnknownAncestor(current.parent))?;
        times.push(current.time_ms);
    }
    times.sort_unstable();
    Ok(times[times.len() / 2])
}

/// Checks that `header` follows `parent`: parent link and height.
pub(crate) fn check_link(header: &BlockHeader, parent: &BlockHeader) -> Result<(), ConsensusError> {
    let parent_hash = parent.hash();
    if header.parent != parent_hash {
        return Err(ConsensusError::WrongParent {
            expected: parent_hash,
            got: header.parent,
        });
    }
    let expected = parent.height.saturating_add(1);
    if header.height != expected {
        return Err(ConsensusError::WrongHeight {
            expected,
            got: header.height,
        });
    }
    Ok(())
}

/// Checks that `header`'s time is at most `max_drift_ms` ahead of `now_ms`.
pub(crate) fn check_not_future(
    header: &BlockHeader,
    now_ms: u64,
    max_drift_ms: u64,
) -> Result<(), ConsensusError> {
    if header.time_ms > now_ms.saturating_add(max_drift_ms) {
        return Err(ConsensusError::TimeTooFarAhead {
            time_ms: header.time_ms,
            now_ms,
            max_drift_ms,
        });
    }
    Ok(())
}

impl ConsensusEngine for PowXorEngine {
    fn name(&self) -> &'static str {
        POW_XOR_ENGINE
    }

    /// Chain id, version, an empty seal, a valid target at most the limit, and
    /// `hash <= target`.
    fn validate_header(&self, header: &BlockHeader) -> Result<(), ConsensusError> {
        if header.chain_id != self.params.chain_id {
            return Err(ConsensusError::WrongChain {
                expected: self.params.chain_id,
                got: header.chain_id,
            });
        }
        if header.version != BlockHeader::VERSION {
            return Err(ConsensusError::Other {
                engine: POW_XOR_ENGINE,
                reason: format!(
                    "header version {}, expected {}",
                    header.version,
                    BlockHeader::VERSION
                ),
            });
        }
        if !header.seal.is_empty() {
            return Err(ConsensusError::BadSeal(format!(
                "proof-of-work headers carry no seal, got {} bytes",
                header.seal.len()
            )));
        }
        let target = self.checked_target(header.target)?;
        let hash = header.hash();
        if !meets_target(&hash, &target) {
            return Err(ConsensusError::InsufficientWork {
                hash,
                target: header.target,
            });
        }
        Ok(())
    }

    /// Parent link, height, time at most the drift ahead of `now_ms`, time after the median
    /// time past, and the ASERT target. Does not repeat [`validate_header`]'s checks.
    ///
    /// [`validate_header`]: ConsensusEngine::validate_header
    fn validate_header_against_parent(
        &self,
        header: &BlockHeader,
        parent: &BlockHeader,
        ancestors: &dyn HeaderSource,
        now_ms: u64,
    ) -> Result<(), ConsensusError> {
        check_link(header, parent)?;
        check_not_future(header, now_ms, self.params.max_future_drift_ms)?;
        let median_ms = median_time_past(parent, ancestors, self.params.median_time_span)?;
        if header.time_ms <= median_ms {
            return Err(ConsensusError::TimeTooOld {
                time_ms: header.time_ms,
                median_ms,
            });
        }
        let expected = self.next_target(parent, ancestors)?;
        if header.target != expected {
            return Err(ConsensusError::WrongTarget {
                expected,
                got: header.target,
            });
        }
        Ok(())
    }

    fn next_target(
        &self,
        parent: &BlockHeader,
        _ancestors: &dyn HeaderSource,
    ) -> Result<CompactTarget, ConsensusError> {
        Ok(encode_compact(self.next_target_value(parent)?))
    }

    /// `floor(2^256 / (target + 1))`; `Work(0)` for an invalid target.
    fn work(&self, header: &BlockHeader) -> Work {
        match decode_compact(header.target) {
            Ok(target) => work_of(&target),
            Err(_) => Work(0),
        }
    }

    fn break_tie(&self, a: &BlockHeader, b: &BlockHeader) -> Ordering {
        xor_tie_break(a, b)
    }

    /// Searches nonces from `header.nonce` on, with the engine's threads, until the hash
    /// meets `header.target` (which the caller sets from
    /// [`next_target`](ConsensusEngine::next_target)). Checks `cancel` every few thousand
    /// hashes per thread.
    fn seal(
        &self,
        header: BlockHeader,
        cancel: &AtomicBool,
    ) -> Result<Option<BlockHeader>, ConsensusError> {
        Ok(self.seal_with_stats(header, cancel)?.0)
    }
}
