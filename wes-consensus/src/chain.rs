//! [`ChainManager`]: follows the best chain over a [`Ledger`] with a [`ConsensusEngine`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use wes_core::{
    Blame, Block, BlockHash, BlockHeader, ChainTip, CompactTarget, ConsensusEngine, ConsensusError,
    Fault, HeaderSource, Ledger, TxId, Work,
};

use crate::checkpoints::Checkpoints;
use crate::error::ChainError;

/// The default capacity of the orphan pool (blocks whose parent is unknown).
pub const DEFAULT_MAX_ORPHANS: usize = 1_024;

/// How a [`ChainManager`] settles what would otherwise flip: blocks of equal work, and deep
/// reorganisations. The default has neither rule: the engine's tie-break always decides,
/// and any branch with more work is followed, however deep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForkPolicy {
    /// At equal work, a block first seen more than this long after the best tip was seen
    /// does not replace it: the engine's tie-break ([`ConsensusEngine::break_tie`]) decides
    /// only between blocks that arrive close together, as competing blocks of one height
    /// do. A block withheld and released later (one-confirmation reorgs, selfish mining)
    /// then needs more work, not a lucky hash. Blocks loaded at start count as seen at time
    /// 0. `None`: the tie-break always decides (every node knowing the same blocks follows
    /// the same tip, whatever the arrival order).
    pub tie_window_ms: Option<u64>,
    /// The deepest reorganisation the manager makes: blocks this many below the best tip
    /// are final ([`ChainManager::finalized_height`]), and a branch leaving the best chain
    /// below them is refused ([`ChainError::BeyondFinality`]) and dropped from memory.
    /// `None`: no limit.
    pub max_reorg_depth: Option<u64>,
}

/// What became of a submitted block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// The best chain grew (by this block, and maybe by orphans it connected).
    Extended {
        /// The new best tip.
        tip: BlockHash,
        /// Its height.
        height: u64,
    },
    /// The best chain switched to another branch.
    Reorganized {
        /// The previous best tip.
        from: BlockHash,
        /// The new best tip.
        to: BlockHash,
        /// The last block both branches share.
        fork_point: BlockHash,
        /// Blocks of the old branch that were reverted.
        reverted: u64,
    },
    /// Valid as far as header and body go, stored on a branch with less work (or losing
    /// the tie-break). The ledger has not checked its transactions yet: that happens if its
    /// branch ever becomes the best.
    SideBranch,
    /// The parent is unknown: the block waits in the orphan pool until it arrives.
    Orphan {
        /// The parent to fetch.
        missing_parent: BlockHash,
    },
    /// Already known.
    Duplicate,
}

#[derive(Clone, Debug)]
struct Entry {
    header: BlockHeader,
    /// Cumulative work from genesis to this block.
    work: Work,
    /// The block, kept while it is not applied to the ledger (the ledger stores applied
    /// ones).
    block: Option<Block>,
    invalid: bool,
    /// The local time it was first seen (0 for blocks loaded at start).
    seen_ms: u64,
}

/// Tracks every known block and its branch, keeps the ledger on the best one.
///
/// **Pipeline** for a submitted block: engine header checks
/// ([`ConsensusEngine::validate_header`]) → body roots ([`Block::check_body`]) → parent known
/// (else orphan pool) → engine checks against the parent (link, time, target) → stored with
/// its cumulative work → if its branch is now the best, the ledger applies it (transaction
/// rules and state root): [`Ledger::apply_block`] when extending the tip,
/// [`Ledger::reorg`] when switching branches.
///
/// **Fork choice**: most cumulative [`ConsensusEngine::work`]; equal work is decided by
/// [`ConsensusEngine::break_tie`] (for [`PowXorEngine`](crate::PowXorEngine), the XOR rule),
/// so every node that knows the same blocks follows the same tip whatever the arrival order.
///
/// **Invalid blocks**: a block the engine rejects against its parent or the ledger rejects
/// is marked invalid with all its descendants, and the best valid branch is chosen again.
/// Blocks failing only the proof of work or the body check are not remembered (cheap to
/// forge; a wrong body says nothing about the header). A time too far ahead is not
/// remembered either: the same block may be submitted again later. Nor is a block the ledger
/// cannot check *now* (an error whose fault is not [`Fault::Input`]: a resource not fetched
/// yet, a failing disk): it is forgotten with its descendants, to be submitted again.
///
/// Memory: headers of all known blocks, and the bodies of blocks not on the applied chain.
/// On [`new`](Self::new) the applied chain's headers are loaded from the ledger (side
/// branches are not persisted); transactions of blocks applied before are found through the
/// ledger's index ([`Ledger::transaction_location`]), so a restart reads no block body.
pub struct ChainManager<L: Ledger> {
    ledger: L,
    engine: Arc<dyn ConsensusEngine>,
    entries: HashMap<BlockHash, Entry>,
    /// Every entry by cumulative work: the blocks that could replace the best tip (those
    /// with at least its work) are found without scanning the whole chain.
    by_work: BTreeSet<(Work, BlockHash)>,
    children: HashMap<BlockHash, Vec<BlockHash>>,
    orphans: HashMap<BlockHash, Vec<Block>>,
    orphan_hashes: HashSet<BlockHash>,
    max_orphans: usize,
    tx_index: HashMap<TxId, Vec<BlockHash>>,
    best: BlockHash,
    policy: ForkPolicy,
    checkpoints: Checkpoints,
    /// The height up to which branches below the final height were dropped.
    pruned_to: u64,
}

impl<L: Ledger> core::fmt::Debug for ChainManager<L> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChainManager")
            .field("engine", &self.engine.name())
            .field("best", &self.best)
            .field("known_blocks", &self.entries.len())
            .field("orphans", &self.orphan_hashes.len())
            .finish()
    }
}

type Result<T, L> = core::result::Result<T, ChainError<<L as Ledger>::Error>>;

impl<L: Ledger> ChainManager<L> {
    /// A manager over `ledger`, judging blocks with `engine`. Loads the headers of the
    /// ledger's applied chain from genesis to its tip (bodies stay in the ledger).
    ///
    /// # Errors
    /// [`ChainError::Ledger`] if the ledger cannot be read, [`ChainError::MissingBlock`] if
    /// a block of its applied chain is missing.
    pub fn new(ledger: L, engine: Arc<dyn ConsensusEngine>) -> Result<Self, L> {
        let tip = ledger.tip().map_err(|source| ChainError::Ledger {
            hash: BlockHash::default(),
            source,
        })?;
        let mut manager = ChainManager {
            ledger,
            engine,
            entries: HashMap::new(),
            by_work: BTreeSet::new(),
            children: HashMap::new(),
            orphans: HashMap::new(),
            orphan_hashes: HashSet::new(),
            max_orphans: DEFAULT_MAX_ORPHANS,
            tx_index: HashMap::new(),
            best: tip.hash,
            policy: ForkPolicy::default(),
            checkpoints: Checkpoints::none(),
            pruned_to: 0,
        };
        let mut work = Work(0);
        for height in 0..=tip.height {
            let hash = manager
                .ledger
                .hash_at(height)
                .map_err(|source| ChainError::Ledger {
                    hash: tip.hash,
                    source,
                })?
                .ok_or(ChainError::MissingBlock(tip.hash))?;
            let header = manager
                .ledger
                .header(&hash)
                .map_err(|source| ChainError::Ledger { hash, source })?
                .ok_or(ChainError::MissingBlock(hash))?;
            if height > 0 {
                work = work + manager.engine.work(&header);
                manager
                    .children
                    .entry(header.parent)
                    .or_default()
                    .push(hash);
            }
            manager.insert_entry(
                hash,
                Entry {
                    header,
                    work,
                    block: None,
                    invalid: false,
                    seen_ms: 0,
                },
            );
        }
        Ok(manager)
    }

    /// Settles ties and deep reorganisations by `policy` (the default has no such rules).
    pub fn with_policy(mut self, policy: ForkPolicy) -> Self {
        self.policy = policy;
        self.prune_below_finality();
        self
    }

    /// The fork policy.
    pub fn policy(&self) -> ForkPolicy {
        self.policy
    }

    /// Refuses blocks that contradict `checkpoints`, and makes the best chain final up to
    /// the highest one it has passed.
    ///
    /// # Errors
    /// [`ChainError::Checkpoint`] if the chain loaded from the ledger contradicts one (this
    /// node followed another branch: its data must be removed and synced again);
    /// [`ChainError::Ledger`] if the ledger cannot be read.
    pub fn with_checkpoints(mut self, checkpoints: Checkpoints) -> Result<Self, L> {
        let best = self.best_header().height;
        for (height, expected) in checkpoints.iter().take_while(|(h, _)| *h <= best) {
            let hash = self
                .ledger
                .hash_at(height)
                .map_err(|source| ChainError::Ledger {
                    hash: expected,
                    source,
                })?
                .unwrap_or_default();
            if hash != expected {
                return Err(ChainError::Checkpoint {
                    hash,
                    height,
                    expected,
                });
            }
        }
        self.checkpoints = checkpoints;
        self.prune_below_finality();
        Ok(self)
    }

    /// The checkpoints blocks are held to.
    pub fn checkpoints(&self) -> &Checkpoints {
        &self.checkpoints
    }

    /// The height at and below which the best chain is final: no branch leaving it there is
    /// ever followed. `best height − max_reorg_depth` (0, genesis, without a limit), or the
    /// highest checkpoint the best chain has passed if that is higher.
    pub fn finalized_height(&self) -> u64 {
        let best = self.best_header().height;
        let by_depth = match self.policy.max_reorg_depth {
            Some(depth) => best.saturating_sub(depth),
            None => 0,
        };
        let by_checkpoint = self
            .checkpoints
            .last_at_or_below(best)
            .map_or(0, |(h, _)| h);
        by_depth.max(by_checkpoint)
    }

    /// Sets the orphan pool's capacity.
    pub fn with_max_orphans(mut self, max_orphans: usize) -> Self {
        self.max_orphans = max_orphans;
        self
    }

    /// The ledger.
    pub fn ledger(&self) -> &L {
        &self.ledger
    }

    /// Gives the ledger back (e.g. to restart a manager on it).
    pub fn into_ledger(self) -> L {
        self.ledger
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<dyn ConsensusEngine> {
        &self.engine
    }

    /// The best tip's hash (the ledger's tip).
    pub fn best_hash(&self) -> BlockHash {
        self.best
    }

    /// The best tip's header.
    pub fn best_header(&self) -> &BlockHeader {
        // The best block always has an entry.
        &self.entries[&self.best].header
    }

    /// The ledger's tip.
    ///
    /// # Errors
    /// [`ChainError::Ledger`] if the ledger cannot be read.
    pub fn tip(&self) -> Result<ChainTip, L> {
        self.ledger.tip().map_err(|source| ChainError::Ledger {
            hash: self.best,
            source,
        })
    }

    /// Cumulative work of a known block's chain.
    pub fn cumulative_work(&self, hash: &BlockHash) -> Option<Work> {
        self.entries.get(hash).map(|e| e.work)
    }

    /// Whether the block is known and was found invalid.
    pub fn is_invalid(&self, hash: &BlockHash) -> bool {
        self.entries.get(hash).is_some_and(|e| e.invalid)
    }

    /// Whether the block is known (valid, invalid, or waiting for its parent).
    pub fn knows(&self, hash: &BlockHash) -> bool {
        self.entries.contains_key(hash) || self.orphan_hashes.contains(hash)
    }

    /// Number of blocks waiting for their parent.
    pub fn orphan_count(&self) -> usize {
        self.orphan_hashes.len()
    }

    /// The target a child of the best tip must carry.
    ///
    /// # Errors
    /// [`ChainError::Header`] if the engine cannot compute it.
    pub fn next_target(&self) -> Result<CompactTarget, L> {
        self.engine
            .next_target(self.best_header(), self)
            .map_err(|source| ChainError::Header {
                hash: self.best,
                source,
            })
    }

    /// How deep the block is on the best chain: 1 for the tip, `None` if it is not on the
    /// best chain.
    pub fn confirmations(&self, hash: &BlockHash) -> Option<u64> {
        let entry = self.entries.get(hash)?;
        let tip_height = self.best_header().height;
        if entry.invalid || entry.header.height > tip_height {
            return None;
        }
        // Walk down from the tip: the in-memory index of the best chain.
        let on_best = self.ancestor_at(self.best, entry.header.height) == Some(*hash);
        on_best.then(|| tip_height - entry.header.height + 1)
    }

    /// The confirmations of the deepest block on the best chain holding `txid`; `None` if no
    /// block on the best chain holds it.
    pub fn tx_confirmations(&self, txid: &TxId) -> Option<u64> {
        self.tx_block(txid).and_then(|b| self.confirmations(&b))
    }

    /// The block on the best chain that holds `txid` (the deepest, if several do): among
    /// the blocks this manager saw since it started, and the ledger's index of the applied
    /// chain (blocks from before the start).
    pub fn tx_block(&self, txid: &TxId) -> Option<BlockHash> {
        let indexed = self
            .ledger
            .transaction_location(txid)
            .ok()
            .flatten()
            .map(|(hash, _)| hash);
        self.tx_index
            .get(txid)
            .into_iter()
            .flatten()
            .copied()
            .chain(indexed)
            .filter_map(|b| self.confirmations(&b).map(|c| (c, b)))
            .max_by_key(|(c, _)| *c)
            .map(|(_, b)| b)
    }

    /// Whether `txid` is at least `k` blocks deep on the best chain.
    pub fn is_tx_final(&self, txid: &TxId, k: u64) -> bool {
        self.tx_confirmations(txid).is_some_and(|c| c >= k)
    }

    /// Validates `block` and, if its branch becomes the best, applies it through the
    /// ledger (see the type's documentation for the pipeline). `now_ms` is the local clock.
    ///
    /// Orphans waiting for this block are connected too. The ledger is left on the best
    /// valid branch in every case, errors included.
    ///
    /// # Errors
    /// The first check the block fails ([`ChainError::Header`], [`ChainError::Body`],
    /// [`ChainError::InvalidAncestor`], [`ChainError::KnownInvalid`],
    /// [`ChainError::Ledger`] when its branch became the best and the ledger rejected it),
    /// or a local failure of the ledger. [`Blame::fault`] tells them apart.
    pub fn submit_block(&mut self, block: Block, now_ms: u64) -> Result<Submitted, L> {
        let hash = block.hash();
        if let Some(entry) = self.entries.get(&hash) {
            return if entry.invalid {
                Err(ChainError::KnownInvalid(hash))
            } else {
                Ok(Submitted::Duplicate)
            };
        }
        if self.orphan_hashes.contains(&hash) {
            return Ok(Submitted::Duplicate);
        }
        self.engine
            .validate_header(&block.header)
            .map_err(|source| ChainError::Header { hash, source })?;
        block
            .check_body()
            .map_err(|source| ChainError::Body { hash, source })?;
        if let Some(expected) = self.checkpoints.contradicted_by(block.header.height, &hash) {
            return Err(ChainError::Checkpoint {
                hash,
                height: block.header.height,
                expected,
            });
        }
        let parent = block.header.parent;
        match self.entries.get(&parent) {
            None => {
                if self.orphan_hashes.len() >= self.max_orphans {
                    return Err(ChainError::OrphanPoolFull {
                        hash,
                        limit: self.max_orphans,
                    });
                }
                self.orphan_hashes.insert(hash);
                self.orphans.entry(parent).or_default().push(block);
                return Ok(Submitted::Orphan {
                    missing_parent: parent,
                });
            }
            Some(p) if p.invalid => {
                self.insert_invalid(block.header);
                return Err(ChainError::InvalidAncestor {
                    hash,
                    ancestor: parent,
                });
            }
            Some(_) => {}
        }
        let finalized = self.finalized_height();
        if finalized > 0 && parent != self.best {
            let fork_height = self.entries[&self.fork_point(self.best, parent)]
                .header
                .height;
            if fork_height < finalized {
                return Err(ChainError::BeyondFinality {
                    hash,
                    fork_height,
                    finalized,
                });
            }
        }
        self.connect(block, now_ms)?;
        self.connect_orphans(hash, now_ms);

        let old_best = self.best;
        let rejected = self.update_best()?;
        if self.is_invalid(&hash)
            && let Some((_, source)) = rejected.into_iter().next()
        {
            self.prune_below_finality();
            return Err(ChainError::Ledger { hash, source });
        }
        // The outcome before pruning, which may drop the branch just left.
        let outcome = self.outcome(old_best);
        self.prune_below_finality();
        Ok(outcome)
    }

    fn outcome(&self, old_best: BlockHash) -> Submitted {
        if self.best == old_best {
            return Submitted::SideBranch;
        }
        let fork_point = self.fork_point(old_best, self.best);
        if fork_point == old_best {
            Submitted::Extended {
                tip: self.best,
                height: self.best_header().height,
            }
        } else {
            Submitted::Reorganized {
                from: old_best,
                to: self.best,
                fork_point,
                reverted: self.entries[&old_best].header.height
                    - self.entries[&fork_point].header.height,
            }
        }
    }

    /// Engine checks against the parent, then stores the entry.
    fn connect(&mut self, block: Block, now_ms: u64) -> Result<(), L> {
        let hash = block.hash();
        let parent = &self.entries[&block.header.parent];
        if let Err(source) =
            self.engine
                .validate_header_against_parent(&block.header, &parent.header, self, now_ms)
        {
            if remember_as_invalid(&source) {
                self.insert_invalid(block.header);
            }
            return Err(ChainError::Header { hash, source });
        }
        let work = parent.work + self.engine.work(&block.header);
        self.index_txs(&block, hash);
        self.children
            .entry(block.header.parent)
            .or_default()
            .push(hash);
        self.insert_entry(
            hash,
            Entry {
                header: block.header.clone(),
                work,
                block: Some(block),
                invalid: false,
                seen_ms: now_ms,
            },
        );
        Ok(())
    }

    /// Stores `entry` as `hash`'s, indexed by its work.
    fn insert_entry(&mut self, hash: BlockHash, entry: Entry) {
        self.by_work.insert((entry.work, hash));
        if let Some(old) = self.entries.insert(hash, entry)
            && self.entries[&hash].work != old.work
        {
            self.by_work.remove(&(old.work, hash));
        }
    }

    /// Forgets `hash`'s entry and its index; the entry.
    fn remove_entry(&mut self, hash: &BlockHash) -> Option<Entry> {
        let entry = self.entries.remove(hash)?;
        self.by_work.remove(&(entry.work, *hash));
        Some(entry)
    }

    /// Connects the orphans waiting for `parent`, recursively. Failures drop the orphan.
    fn connect_orphans(&mut self, parent: BlockHash, now_ms: u64) {
        let mut ready = vec![parent];
        while let Some(p) = ready.pop() {
            for orphan in self.orphans.remove(&p).unwrap_or_default() {
                let hash = orphan.hash();
                self.orphan_hashes.remove(&hash);
                if self.entries.get(&p).is_some_and(|e| e.invalid) {
                    self.insert_invalid(orphan.header);
                } else if self.connect(orphan, now_ms).is_ok() {
                    ready.push(hash);
                }
            }
        }
    }

    fn insert_invalid(&mut self, header: BlockHeader) {
        let hash = header.hash();
        self.children.entry(header.parent).or_default().push(hash);
        self.insert_entry(
            hash,
            Entry {
                header,
                work: Work(0),
                block: None,
                invalid: true,
                seen_ms: 0,
            },
        );
        self.mark_invalid(hash);
    }

    /// Removes `hash` and its descendants (never the applied chain).
    fn forget(&mut self, hash: BlockHash) {
        let mut stack = vec![hash];
        while let Some(h) = stack.pop() {
            let applied = self
                .entries
                .get(&h)
                .is_some_and(|e| self.ledger.hash_at(e.header.height).ok().flatten() == Some(h));
            if h == self.best || applied {
                continue;
            }
            if let Some(kids) = self.children.remove(&h) {
                stack.extend(kids);
            }
            if let Some(entry) = self.remove_entry(&h) {
                if let Some(siblings) = self.children.get_mut(&entry.header.parent) {
                    siblings.retain(|c| *c != h);
                }
                if let Some(block) = &entry.block {
                    for id in block.tx_ids() {
                        if let Some(v) = self.tx_index.get_mut(&id) {
                            v.retain(|b| *b != h);
                            if v.is_empty() {
                                self.tx_index.remove(&id);
                            }
                        }
                    }
                }
            }
        }
    }

    fn mark_invalid(&mut self, hash: BlockHash) {
        let mut stack = vec![hash];
        while let Some(h) = stack.pop() {
            if let Some(e) = self.entries.get_mut(&h) {
                e.invalid = true;
                e.block = None;
            }
            if let Some(kids) = self.children.get(&h) {
                stack.extend(kids.iter().copied());
            }
        }
    }

    /// Block `hash` is applied: its body leaves memory (the ledger stores it) and, when the
    /// ledger indexes where transactions are ([`Ledger::transaction_location`]), so do its
    /// transactions' entries in the in-memory index, which the ledger answers for now. The
    /// memory held then grows with the blocks off the applied chain, not with the history
    /// seen since the start.
    fn applied(&mut self, hash: &BlockHash) {
        let Some(block) = self.entries.get_mut(hash).and_then(|e| e.block.take()) else {
            return;
        };
        let ids = block.tx_ids();
        let indexed = ids.first().is_some_and(
            |id| matches!(self.ledger.transaction_location(id), Ok(Some((at, _))) if at == *hash),
        );
        if !indexed {
            return;
        }
        for id in ids {
            if let Some(blocks) = self.tx_index.get_mut(&id) {
                blocks.retain(|b| b != hash);
                if blocks.is_empty() {
                    self.tx_index.remove(&id);
                }
            }
        }
    }

    /// Transactions the manager indexes in memory: those of blocks off the applied chain
    /// (and of every block it saw, for a ledger without a transaction index). With the
    /// SDK's ledger it stays near zero on a chain that only grows.
    pub fn tracked_transactions(&self) -> usize {
        self.tx_index.len()
    }

    fn index_txs(&mut self, block: &Block, hash: BlockHash) {
        for id in block.tx_ids() {
            self.tx_index.entry(id).or_default().push(hash);
        }
    }

    fn better(&self, a: &Entry, b: &Entry) -> bool {
        a.work > b.work
            || (a.work == b.work
                && self.engine.break_tie(&a.header, &b.header) == core::cmp::Ordering::Greater)
    }

    /// The best valid known block the policy lets the manager switch to: the most work,
    /// then the engine's tie-break; at the best tip's work only a block seen within the tie
    /// window of it; never a branch leaving the best chain below the final height.
    /// Only blocks of at least the best tip's work are looked at (through the work index,
    /// not a scan of every known block).
    fn best_candidate(&self) -> BlockHash {
        let current = &self.entries[&self.best];
        let mut candidates: Vec<(&BlockHash, &Entry)> = self
            .by_work
            .range((current.work, BlockHash::default())..)
            .filter_map(|(_, hash)| Some((hash, self.entries.get(hash)?)))
            .filter(|(hash, e)| {
                !e.invalid
                    && **hash != self.best
                    && (e.work > current.work
                        || (e.work == current.work && self.wins_tie(e, current)))
            })
            .collect();
        // Most preferred first.
        candidates.sort_by(|(_, a), (_, b)| {
            b.work
                .cmp(&a.work)
                .then_with(|| self.engine.break_tie(&b.header, &a.header))
        });
        let finalized = self.finalized_height();
        candidates
            .into_iter()
            .map(|(hash, _)| *hash)
            .find(|hash| {
                finalized == 0
                    || self.entries[&self.fork_point(self.best, *hash)]
                        .header
                        .height
                        >= finalized
            })
            .unwrap_or(self.best)
    }

    /// Whether `challenger`, of the same work as the best tip `current`, replaces it.
    fn wins_tie(&self, challenger: &Entry, current: &Entry) -> bool {
        self.better(challenger, current)
            && self
                .policy
                .tie_window_ms
                .is_none_or(|w| challenger.seen_ms <= current.seen_ms.saturating_add(w))
    }

    /// Drops the branches that leave the best chain below the final height (they can
    /// never be followed): the side children of the best chain's blocks from where the last
    /// pruning stopped up to the final height.
    fn prune_below_finality(&mut self) {
        let finalized = self.finalized_height();
        if finalized <= self.pruned_to {
            return;
        }
        // The best chain from the final height down to where pruning stopped.
        let mut chain = Vec::new();
        let mut hash = self.ancestor_at(self.best, finalized);
        while let Some(h) = hash {
            let height = self.entries[&h].header.height;
            chain.push(h);
            if height <= self.pruned_to {
                break;
            }
            hash = Some(self.entries[&h].header.parent);
        }
        // `chain` is highest first; each block's side children are pruned, the child on the
        // best chain kept.
        for pair in chain.windows(2) {
            let (kept, parent) = (pair[0], pair[1]);
            let side: Vec<BlockHash> = self
                .children
                .get(&parent)
                .into_iter()
                .flatten()
                .copied()
                .filter(|c| *c != kept)
                .collect();
            for child in side {
                self.forget(child);
            }
        }
        self.pruned_to = finalized;
    }

    /// Moves the ledger to the best valid branch. Returns the blocks the ledger rejected on
    /// the way (they and their descendants are marked invalid).
    fn update_best(&mut self) -> Result<Vec<(BlockHash, L::Error)>, L> {
        let mut rejected = Vec::new();
        loop {
            let candidate = self.best_candidate();
            if candidate == self.best {
                return Ok(rejected);
            }
            match self.switch_to(candidate) {
                Ok(()) => {}
                Err(SwitchError::Ledger(hash, e)) if e.fault() == Fault::Input => {
                    self.mark_invalid(hash);
                    rejected.push((hash, e));
                }
                Err(SwitchError::Ledger(hash, source)) => {
                    // Not invalid, not checkable now (an unfetched resource, a failing
                    // disk): forgotten with its descendants, so the block can be submitted
                    // again later instead of being known and never applied.
                    self.forget(hash);
                    return Err(ChainError::Ledger { hash, source });
                }
                Err(SwitchError::Missing(hash)) => return Err(ChainError::MissingBlock(hash)),
            }
        }
    }

    /// Makes `target` the ledger's tip. On a ledger error returns the block to blame: the
    /// exact block when extending; `target` after a failed reorg (the ledger restored the
    /// old chain; `target` is invalid or descends from an invalid block either way).
    fn switch_to(&mut self, target: BlockHash) -> core::result::Result<(), SwitchError<L::Error>> {
        let fork = self.fork_point(self.best, target);
        let mut path = Vec::new();
        let mut h = target;
        while h != fork {
            path.push(h);
            h = self.entries[&h].header.parent;
        }
        path.reverse();
        let mut blocks = Vec::with_capacity(path.len());
        for h in &path {
            blocks.push(self.block_of(h)?);
        }
        if fork == self.best {
            for (h, block) in path.iter().zip(&blocks) {
                if let Err(e) = self.ledger.apply_block(block) {
                    self.follow_ledger_tip();
                    return Err(SwitchError::Ledger(*h, e));
                }
                self.best = *h;
                self.applied(h);
            }
        } else {
            // Keep the old branch's blocks in memory in case it wins again.
            let mut old = self.best;
            while old != fork {
                if self.entries[&old].block.is_none()
                    && let Ok(Some(b)) = self.ledger.block(&old)
                    && let Some(e) = self.entries.get_mut(&old)
                {
                    e.block = Some(b);
                }
                old = self.entries[&old].header.parent;
            }
            if let Err(e) = self.ledger.reorg(&fork, &blocks) {
                self.follow_ledger_tip();
                return Err(SwitchError::Ledger(target, e));
            }
            self.best = target;
            for h in &path {
                self.applied(h);
            }
        }
        Ok(())
    }

    /// After a failed switch, makes the best block the ledger's tip. A ledger restores its
    /// chain when a switch fails, but one whose store stopped writing may stop between the
    /// branches: the manager then follows it rather than report a chain the ledger does not
    /// hold (the blocks it reverted stay in memory, so the branch can be applied again).
    fn follow_ledger_tip(&mut self) {
        if let Ok(tip) = self.ledger.tip()
            && tip.hash != self.best
            && self.entries.contains_key(&tip.hash)
        {
            self.best = tip.hash;
        }
    }

    fn block_of(&self, hash: &BlockHash) -> core::result::Result<Block, SwitchError<L::Error>> {
        if let Some(b) = self.entries.get(hash).and_then(|e| e.block.clone()) {
            return Ok(b);
        }
        self.ledger
            .block(hash)
            .map_err(|e| SwitchError::Ledger(*hash, e))?
            .ok_or(SwitchError::Missing(*hash))
    }

    /// The ancestor of `hash` at `height` (following parents in memory).
    fn ancestor_at(&self, mut hash: BlockHash, height: u64) -> Option<BlockHash> {
        loop {
            let e = self.entries.get(&hash)?;
            match e.header.height.cmp(&height) {
                core::cmp::Ordering::Equal => return Some(hash),
                core::cmp::Ordering::Less => return None,
                core::cmp::Ordering::Greater => hash = e.header.parent,
            }
        }
    }

    /// The last common block of the branches ending at `a` and `b`.
    fn fork_point(&self, mut a: BlockHash, mut b: BlockHash) -> BlockHash {
        let ha = self.entries[&a].header.height;
        let hb = self.entries[&b].header.height;
        if ha > hb {
            a = self.ancestor_at(a, hb).unwrap_or(a);
        } else if hb > ha {
            b = self.ancestor_at(b, ha).unwrap_or(b);
        }
        while a != b {
            a = self.entries[&a].header.parent;
            b = self.entries[&b].header.parent;
        }
        a
    }
}

/// Why [`ChainManager::switch_to`] failed.
enum SwitchError<E> {
    /// The ledger failed or rejected a block; the hash is the block to blame.
    Ledger(BlockHash, E),
    /// A block is neither in memory nor in the ledger.
    Missing(BlockHash),
}

/// Whether a header error condemns the block for good (and so its descendants).
fn remember_as_invalid(e: &ConsensusError) -> bool {
    !matches!(
        e,
        ConsensusError::TimeTooFarAhead { .. } | ConsensusError::UnknownAncestor(_)
    ) && e.fault() == Fault::Input
}

impl<L: Ledger> HeaderSource for ChainManager<L> {
    fn header(&self, hash: &BlockHash) -> Option<BlockHeader> {
        self.entries.get(hash).map(|e| e.header.clone())
    }
}
