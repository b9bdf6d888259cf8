//! Settlement of external calls: every effect a contract causes outside the chain through a
//! connector is committed once, aborted once, or compensated, following the best chain,
//! whatever crashes or reorganisations happen in between.
//!
//! **The journal.** Every op is written to the node's store *before* its prepare request
//! leaves ([`SettlementJournal::preparing`](wes_ispc::SettlementJournal::preparing)): op id, connector, contract, state, and the time
//! it was journaled (its deadline is that time plus
//! [`orphan_after_ms`](SettlementConfig::orphan_after_ms)). When construction finishes, the
//! op is bound to its transaction ([`Settlement::track`]: id, inputs, validity window). Each
//! acknowledged move is written after the connector answers, so a crash in between repeats
//! the request, which the op id makes harmless (see [`wes_ispc::Connector`]).
//!
//! **The rule** ([`OpRecord::wanted`]) reads only the journal and the best chain, so a node
//! that restarts resumes where it stood:
//! - **commit** once the transaction is [`commit_depth`](SettlementConfig::depth_of) blocks
//!   deep in the best chain;
//! - **compensate** a committed op whose transaction left the best chain (a reorganisation
//!   deeper than the commit depth), and **commit** again if it comes back;
//! - **abort** only when the transaction can no longer be included: its validity window
//!   ended `commit_depth` blocks ago, or one of its inputs has been spent by another
//!   transaction for `commit_depth` blocks. Leaving one node's mempool is not enough: the
//!   transaction can still be mined elsewhere;
//! - **abort** an op that never got a transaction: the execution or construction failed
//!   ([`SettlementJournal::abandoned`](wes_ispc::SettlementJournal::abandoned)), or the node stopped before it finished (an orphan,
//!   after `orphan_after_ms`).
//!
//! A failed call is retried with exponential backoff; an op failing for longer than
//! [`stuck_after_ms`](SettlementConfig::stuck_after_ms) is reported as stuck by
//! `wes_settlements` and the `wes_settlement_stuck` metric, and still retried.
//!
//! **Not guaranteed:** a reorganisation deeper than
//! [`retain_depth`](SettlementConfig::retain_depth) is not compensated (the op was
//! forgotten); the connector must keep its side idempotent by op id; only the node that
//! executed the call settles it (other nodes verify the recorded receipt and call nobody).
//!
//! The work runs on a thread of its own, woken by each move of the best chain and every
//! [`tick_ms`](SettlementConfig::tick_ms), so a slow connector never holds up block import.

mod config;
mod record;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use wes_core::{Hash, Ledger, OutPoint, Transaction, TxId, codec};
use wes_ispc::{ConnectorError, Connectors, ExternalOp, Outcome, PendingExternal};
use wes_ledger::{Batch, KvStore, StoreError};

pub use config::SettlementConfig;
pub use record::{ChainFacts, MAX_BINDINGS, OpRecord, OpState, TxBinding};

use crate::tip::{TipMoved, TipObserver};

const RECORD: u8 = b'o';

fn record_key(op: &Hash) -> Vec<u8> {
    [&[RECORD][..], op.as_bytes()].concat()
}

/// What the settlement reads of the chain. Any [`Ledger`] is one; it must answer
/// [`Ledger::transaction_location`] (the reference `EutxoLedger` does), or nothing is ever
/// seen included.
pub trait SettlementChain: Send + Sync {
    /// The best chain's height.
    fn tip_height(&self) -> Result<u64, String>;
    /// The height of the best chain's block holding `txid`.
    fn included_at(&self, txid: &TxId) -> Result<Option<u64>, String>;
    /// Whether `at` is unspent on the best chain.
    fn is_unspent(&self, at: &OutPoint) -> Result<bool, String>;
}

impl<L: Ledger + ?Sized> SettlementChain for L {
    fn tip_height(&self) -> Result<u64, String> {
        self.tip().map(|t| t.height).map_err(|e| e.to_string())
    }

    fn included_at(&self, txid: &TxId) -> Result<Option<u64>, String> {
        self.transaction_location(txid)
            .map(|at| at.map(|(_, height)| height))
            .map_err(|e| e.to_string())
    }

    fn is_unspent(&self, at: &OutPoint) -> Result<bool, String> {
        self.unspent(at)
            .map(|o| o.is_some())
            .map_err(|e| e.to_string())
    }
}

/// Why the settlement could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    /// The journal's store failed.
    #[error("settlement journal: {0}")]
    Store(#[from] StoreError),
    /// A journal record does not decode.
    #[error("settlement journal: record {key} does not decode: {reason}")]
    Corrupt {
        /// The record's key, hex.
        key: String,
        /// The decoder's complaint.
        reason: String,
    },
    /// The settlement's thread could not be started.
    #[error("settlement: starting its thread: {0}")]
    Thread(String),
    /// The chain could not be read.
    #[error("settlement: reading the chain: {0}")]
    Chain(String),
    /// `track` named an op that was never journaled, or one already given up or bound.
    #[error("settlement: op {op} of transaction {txid} cannot be tracked: {reason}")]
    Untrackable {
        /// The op.
        op: Hash,
        /// The transaction it was to be bound to.
        txid: TxId,
        /// Why not.
        reason: &'static str,
    },
}

/// Labels of the settlement's call counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// `commit`, `abort` or `compensate`.
    pub outcome: String,
    /// `ok` or `failed`.
    pub result: String,
}

/// The settlement's Prometheus metrics (part of [`crate::NodeMetrics`]).
#[derive(Clone, Debug, Default)]
pub struct SettlementMetrics {
    /// Ops not yet committed or aborted.
    pub open: Gauge,
    /// Ops whose connector call has failed for longer than the stuck limit.
    pub stuck: Gauge,
    /// Connector calls, by outcome and result.
    pub calls: Family<CallLabels, Counter>,
}

/// What one [`Settlement::sync`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Moves the connectors acknowledged.
    pub settled: Vec<(PendingExternal, Outcome)>,
    /// Moves that failed (retried later), with the error.
    pub failed: Vec<(PendingExternal, Outcome, String)>,
}

struct Inner {
    store: Arc<dyn KvStore>,
    chain: Arc<dyn SettlementChain>,
    connectors: Arc<Connectors>,
    config: SettlementConfig,
    metrics: SettlementMetrics,
    records: Mutex<BTreeMap<Hash, OpRecord>>,
    syncing: Mutex<()>,
    wake: (Mutex<bool>, Condvar),
    stop: AtomicBool,
}

/// The durable settlement of external calls (see the [module](self) documentation). Built by
/// the node when it runs contracts ([`crate::Node::settlement`]); its own thread stops when
/// it is dropped.
pub struct Settlement {
    inner: Arc<Inner>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Settlement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settlement")
            .field("ops", &self.inner.lock().len())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Settlement {
    /// Opens the journal in `store` and starts settling through `connectors` against
    /// `chain`; becomes `connectors`' journal. Work left by an earlier run resumes at once.
    ///
    /// # Errors
    /// The store cannot be read or holds a record that does not decode; the thread cannot
    /// be started.
    pub fn open(
        store: Arc<dyn KvStore>,
        chain: Arc<dyn SettlementChain>,
        connectors: Arc<Connectors>,
        config: SettlementConfig,
        metrics: SettlementMetrics,
    ) -> Result<Arc<Self>, SettlementError> {
        let mut records = BTreeMap::new();
        for (key, value) in store.scan_prefix(&[RECORD])? {
            let record: OpRecord =
                codec::decode_stored(&value).map_err(|e| SettlementError::Corrupt {
                    key: hex::encode(&key),
                    reason: e.to_string(),
                })?;
            records.insert(record.op.op, record);
        }
        let inner = Arc::new(Inner {
            store,
            chain,
            connectors: connectors.clone(),
            config,
            metrics,
            records: Mutex::new(records),
            syncing: Mutex::new(()),
            wake: (Mutex::new(true), Condvar::new()),
            stop: AtomicBool::new(false),
        });
        let worker = {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name("wes-settlement".into())
                .spawn(move || inner.work())
                .map_err(|e| SettlementError::Thread(e.to_string()))?
        };
        let settlement = Arc::new(Settlement {
            inner,
            worker: Mutex::new(Some(worker)),
        });
        let journal: Arc<dyn wes_ispc::SettlementJournal> = settlement.clone();
        connectors.set_journal(&journal);
        Ok(settlement)
    }

    /// Binds the ops a construction prepared to its transaction: from now on they follow it.
    /// An op already bound (the same call constructed again, in a transaction that differs
    /// in fee or validity) follows both: they share their first input, so at most one is
    /// included, and the op is aborted only when none can be.
    ///
    /// # Errors
    /// An op was never journaled, was given up (abandoned, orphaned or aborted), or follows
    /// [`MAX_BINDINGS`] transactions already; the journal cannot be written. The
    /// construction must then fail: its receipt would name an effect that will not be
    /// committed.
    pub fn track(&self, tx: &Transaction, ops: &[PendingExternal]) -> Result<(), SettlementError> {
        if ops.is_empty() {
            return Ok(());
        }
        let txid = tx.id();
        let binding = TxBinding {
            txid,
            inputs: tx.inputs.iter().map(|i| i.prev).collect(),
            valid_until: tx.validity.not_after,
        };
        let mut records = self.inner.lock();
        let mut updated = Vec::with_capacity(ops.len());
        for op in ops {
            let refuse = |reason| SettlementError::Untrackable {
                op: op.op,
                txid,
                reason,
            };
            let mut record = records
                .get(&op.op)
                .cloned()
                .ok_or_else(|| refuse("it was never journaled"))?;
            if record.abandoned || record.state == OpState::Aborted {
                return Err(refuse("it was given up"));
            }
            if record.txs.iter().any(|t| t.txid == txid) {
                continue;
            }
            if record.txs.len() >= MAX_BINDINGS {
                return Err(refuse("it follows too many transactions already"));
            }
            record.txs.push(binding.clone());
            if record.state == OpState::Preparing {
                record.state = OpState::Prepared;
            }
            updated.push(record);
        }
        self.inner.write(&mut records, updated, &[])?;
        drop(records);
        self.inner.notify();
        Ok(())
    }

    /// Every op in the journal, in op-id order.
    pub fn ops(&self) -> Vec<OpRecord> {
        self.inner.lock().values().cloned().collect()
    }

    /// Whether `record`'s current move has been failing for longer than the stuck limit.
    pub fn is_stuck(&self, record: &OpRecord) -> bool {
        record.stuck(&self.inner.config, crate::node::now_ms())
    }

    /// The policy.
    pub fn config(&self) -> &SettlementConfig {
        &self.inner.config
    }

    /// Looks at every op now and tells connectors what is due (the settlement's thread does
    /// this on its own; tests and tools may call it to settle without waiting).
    ///
    /// # Errors
    /// The chain or the journal could not be read or written; nothing acknowledged is lost.
    pub fn sync(&self) -> Result<SyncReport, SettlementError> {
        self.inner.sync()
    }
}

impl Drop for Settlement {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        self.inner.notify();
        if let Some(worker) = lock(&self.worker).take() {
            let _ = worker.join();
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<Hash, OpRecord>> {
        lock(&self.records)
    }

    fn notify(&self) {
        *lock(&self.wake.0) = true;
        self.wake.1.notify_all();
    }

    /// Writes `updated` and deletes `forgotten` in one durable batch, then in memory.
    fn write(
        &self,
        records: &mut BTreeMap<Hash, OpRecord>,
        updated: Vec<OpRecord>,
        forgotten: &[Hash],
    ) -> Result<(), SettlementError> {
        if updated.is_empty() && forgotten.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::new();
        for r in &updated {
            batch.put(record_key(&r.op.op), codec::encode(r));
        }
        for op in forgotten {
            batch.delete(record_key(op));
        }
        self.store.apply(batch)?;
        for r in updated {
            records.insert(r.op.op, r);
        }
        for op in forgotten {
            records.remove(op);
        }
        Ok(())
    }

    fn work(&self) {
        let tick = Duration::from_millis(self.config.tick_ms.max(10));
        loop {
            {
                let mut woken = lock(&self.wake.0);
                if !*woken {
                    woken = self
                        .wake
                        .1
                        .wait_timeout(woken, tick)
                        .map(|(g, _)| g)
                        .unwrap_or_else(|p| p.into_inner().0);
                }
                *woken = false;
            }
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            match self.sync() {
                Ok(report) => {
                    for (op, outcome, e) in &report.failed {
                        tracing::warn!(
                            connector = %op.connector, op = %op.op, %outcome,
                            "connector did not acknowledge (will retry): {e}"
                        );
                    }
                }
                Err(e) => tracing::error!("settlement: {e}"),
            }
        }
    }

    /// What the chain says of `txs` (none empty).
    fn facts(&self, txs: &[TxBinding], tip: u64) -> Result<ChainFacts, SettlementError> {
        let chain = |e| SettlementError::Chain(e);
        for t in txs {
            if let Some(h) = self.chain.included_at(&t.txid).map_err(chain)? {
                return Ok(ChainFacts {
                    tip,
                    included_at: Some(h),
                    input_spent: true,
                });
            }
        }
        let mut every_one_spent = true;
        for t in txs {
            let mut spent = false;
            for at in &t.inputs {
                if !self.chain.is_unspent(at).map_err(chain)? {
                    spent = true;
                    break;
                }
            }
            every_one_spent &= spent;
        }
        Ok(ChainFacts {
            tip,
            included_at: None,
            input_spent: every_one_spent,
        })
    }

    fn sync(&self) -> Result<SyncReport, SettlementError> {
        let _one_at_a_time = lock(&self.syncing);
        let now = crate::node::now_ms();
        let tip = self.chain.tip_height().map_err(SettlementError::Chain)?;
        let snapshot: Vec<OpRecord> = self.lock().values().cloned().collect();
        let (mut updated, mut forgotten, mut plan) = (Vec::new(), Vec::new(), Vec::new());
        for mut r in snapshot {
            let facts = match r.txs.is_empty() {
                false => Some(self.facts(&r.txs, tip)?),
                true => None,
            };
            let mut changed = facts.as_ref().is_some_and(|f| r.observe(f));
            if r.forgettable(tip, &self.config, now) {
                forgotten.push(r.op.op);
                continue;
            }
            match r.wanted(facts.as_ref(), &self.config, now) {
                Some(outcome) if now >= r.next_attempt_ms => plan.push((r, outcome)),
                Some(_) if changed => updated.push(r),
                Some(_) => {}
                None => {
                    changed |= r.clear_failure();
                    if changed {
                        updated.push(r);
                    }
                }
            }
        }
        {
            // An op about to be aborted for having no transaction is given up first, so a
            // late `track` of it is refused rather than raced.
            let mut records = self.lock();
            let mut given_up = Vec::new();
            for (r, _) in plan.iter_mut().filter(|(r, _)| r.txs.is_empty()) {
                match records.get(&r.op.op) {
                    Some(cur) if cur.txs.is_empty() => {
                        r.abandoned = true;
                        if !cur.abandoned {
                            given_up.push(r.clone());
                        }
                    }
                    _ => r.abandoned = false, // bound meanwhile: decided again next time
                }
            }
            plan.retain(|(r, _)| !r.txs.is_empty() || r.abandoned);
            self.write(&mut records, given_up, &[])?;
        }
        let mut report = SyncReport::default();
        for (mut r, outcome) in plan {
            let result = self.connectors.settle(&r.op, outcome);
            let labels = CallLabels {
                outcome: outcome.to_string(),
                result: if result.is_ok() { "ok" } else { "failed" }.into(),
            };
            self.metrics.calls.get_or_create(&labels).inc();
            match result {
                Ok(()) => {
                    r.acknowledged(outcome, now);
                    report.settled.push((r.op.clone(), outcome));
                }
                Err(ConnectorError(e)) => {
                    r.failed(e.clone(), now, &self.config);
                    report.failed.push((r.op.clone(), outcome, e));
                }
            }
            updated.push(r);
        }
        let mut records = self.lock();
        for r in &mut updated {
            // Only `track` and `abandoned` change records outside a sync; keep their word.
            if let Some(cur) = records.get(&r.op.op) {
                r.abandoned |= cur.abandoned;
                for t in &cur.txs {
                    if !r.txs.iter().any(|x| x.txid == t.txid) {
                        r.txs.push(t.clone());
                    }
                }
                if !r.txs.is_empty() && r.state == OpState::Preparing {
                    r.state = OpState::Prepared;
                }
            }
        }
        self.write(&mut records, updated, &forgotten)?;
        self.measure(&records, now);
        Ok(report)
    }

    fn measure(&self, records: &BTreeMap<Hash, OpRecord>, now: u64) {
        let open = records
            .values()
            .filter(|r| !matches!(r.state, OpState::Committed | OpState::Aborted))
            .count();
        let stuck = records
            .values()
            .filter(|r| r.stuck(&self.config, now))
            .count();
        self.metrics.open.set(open as i64);
        self.metrics.stuck.set(stuck as i64);
    }
}

impl wes_ispc::SettlementJournal for Settlement {
    fn preparing(&self, connector: &str, op: &ExternalOp) -> Result<(), ConnectorError> {
        let record = OpRecord::preparing(
            PendingExternal {
                connector: connector.to_owned(),
                op: op.id,
            },
            op.contract,
            crate::node::now_ms(),
        );
        let mut records = self.inner.lock();
        if records.contains_key(&op.id) {
            // The same op again (a retried construction): the first record stands.
            return Ok(());
        }
        self.inner
            .write(&mut records, vec![record], &[])
            .map_err(|e| ConnectorError(e.to_string()))
    }

    fn abandoned(&self, ops: &[PendingExternal]) {
        let mut records = self.inner.lock();
        let updated: Vec<OpRecord> = ops
            .iter()
            .filter_map(|op| records.get(&op.op))
            .filter(|r| r.txs.is_empty() && !r.abandoned)
            .map(|r| OpRecord {
                abandoned: true,
                ..r.clone()
            })
            .collect();
        if let Err(e) = self.inner.write(&mut records, updated, &[]) {
            tracing::error!("settlement: recording abandoned ops: {e}");
        }
        drop(records);
        self.inner.notify();
    }
}

/// The settlement follows the chain: each move wakes its thread.
impl TipObserver for Settlement {
    fn tip_moved(&self, _moved: &TipMoved) {
        self.inner.notify();
    }
}
