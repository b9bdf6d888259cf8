//! [`EutxoLedger`]: the rules and the tables composed into a `wes_core::Ledger`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rayon::prelude::*;
use wes_core::{
    Address, Block, BlockContext, BlockHash, BlockHeader, CompactTarget, ContentId, Genesis, Hash,
    InputMode, Ledger, Lock, OutPoint, Output, PublicKey, SignedTransaction, Transaction, TxId,
    TxSummary, ValidityWindow, VerifierRegistry, Witness,
};

use crate::config::LedgerConfig;
use crate::connect::{self, Connected};
use crate::error::{BlockError, LedgerError, StoreError, TxError};
use crate::observer::LedgerObserver;
use crate::rules::state::{self, Env};
use crate::rules::{signatures, structure};
use crate::state_root::StateAccumulator;
use crate::store::tables::{
    BatchExt, ChainMeta, INDEX_KEY, INDEX_VERSION, META_KEY, Tables, Undo, block_key, header_key,
    height_key, location_key, outpoint_after, owner_key, resource_key, state_key, undo_key,
    utxo_key,
};
use crate::store::{Batch, KvStore};
use crate::verdicts::SignatureCache;
use crate::view::{Overlay, ResourceProvider, SharedUtxo};

/// The EUTXO ledger over a [`KvStore`] backend.
///
/// Thread-safe: reads run concurrently; `apply_block`, `revert_tip` and `reorg` are
/// serialised. After a failed write the ledger refuses further writes (reopen it: the store
/// is at the last whole block), except a write the store refused before making it
/// ([`StoreError::DiskFull`]): the ledger is unchanged and the write may be tried again.
pub struct EutxoLedger<S: KvStore> {
    tables: Arc<Tables<S>>,
    config: LedgerConfig,
    verifiers: VerifierRegistry,
    resources: Option<Arc<dyn ResourceProvider>>,
    observers: Vec<Arc<dyn LedgerObserver>>,
    meta: RwLock<ChainMeta>,
    writer: Mutex<()>,
    poisoned: AtomicBool,
    signatures: SignatureCache,
}

impl<S: KvStore> core::fmt::Debug for EutxoLedger<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EutxoLedger")
            .field("chain_id", &self.config.chain_id)
            .field("tip", &self.read_meta().tip)
            .finish()
    }
}

impl<S: KvStore> EutxoLedger<S> {
    /// Opens the ledger in `store`, writing the genesis block if the store is empty, and
    /// checking that a non-empty store holds the same chain. `verifiers` decides which
    /// execution proofs the chain accepts (an empty registry accepts no executions).
    pub fn open(
        store: S,
        config: LedgerConfig,
        genesis: &Genesis,
        verifiers: VerifierRegistry,
    ) -> Result<Self, LedgerError> {
        let tables = Arc::new(Tables { kv: store });
        let utxos: Vec<(OutPoint, Output)> = {
            let coinbase = genesis.coinbase();
            let id = coinbase.id();
            coinbase
                .outputs
                .into_iter()
                .enumerate()
                .map(|(i, o)| {
                    (
                        OutPoint {
                            tx: id,
                            index: i as u32,
                        },
                        o,
                    )
                })
                .collect()
        };
        let accumulator = connect::sum(&utxos);
        let block = genesis.block(accumulator.root());
        let genesis_hash = block.hash();
        let meta = match tables.meta()? {
            Some(meta) if meta.genesis != genesis_hash => {
                return Err(LedgerError::GenesisMismatch {
                    stored: meta.genesis,
                    configured: genesis_hash,
                });
            }
            Some(meta) => meta,
            None => {
                let meta = ChainMeta {
                    genesis: genesis_hash,
                    tip: genesis_hash,
                    height: 0,
                    state_root: accumulator.root(),
                    accumulator: accumulator.to_bytes(),
                };
                let mut batch = Batch::new();
                write_utxos(&mut batch, &[], &utxos);
                batch.put_value(block_key(&genesis_hash), &block);
                batch.put_value(header_key(&genesis_hash), &block.header);
                batch.put_value(height_key(0), &genesis_hash);
                for tx in &block.transactions {
                    batch.put_value(location_key(&tx.id()), &(genesis_hash, 0u64));
                }
                batch.put_value(INDEX_KEY.to_vec(), &INDEX_VERSION);
                batch.put_value(META_KEY.to_vec(), &meta);
                tables.kv.apply(batch)?;
                meta
            }
        };
        if tables.index_version()? != Some(INDEX_VERSION) {
            build_indexes(&tables, &meta)?;
        }
        Ok(EutxoLedger {
            tables,
            config,
            verifiers,
            resources: None,
            observers: Vec::new(),
            meta: RwLock::new(meta),
            writer: Mutex::new(()),
            poisoned: AtomicBool::new(false),
            signatures: SignatureCache::default(),
        })
    }

    /// The signature verdicts kept from admission ([`Ledger::check_transaction`]) for block
    /// building and import, which then skip verifying those signatures again.
    pub fn signature_cache(&self) -> &SignatureCache {
        &self.signatures
    }

    /// Lets proof verifiers read resource bytes (contracts, models) through `resources`.
    pub fn with_resources(mut self, resources: Arc<dyn ResourceProvider>) -> Self {
        self.resources = Some(resources);
        self
    }

    /// Tells `observer` about every block applied or reverted from now on (the genesis
    /// allocations are not reported).
    pub fn with_observer(mut self, observer: Arc<dyn LedgerObserver>) -> Self {
        self.observers.push(observer);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &LedgerConfig {
        &self.config
    }

    /// The backend.
    pub fn store(&self) -> &S {
        &self.tables.kv
    }

    /// The hash of the genesis block.
    pub fn genesis_hash(&self) -> BlockHash {
        self.read_meta().genesis
    }

    /// The cheap checks of a transaction that do not depend on the chain: format, limits,
    /// internal consistency, no key signing twice. A transaction failing them is invalid on
    /// every chain, so whoever sent it may be penalised; one passing them may still be
    /// refused against the UTXO set, which says nothing about its sender (a peer may know
    /// another tip). Signatures are not verified here: [`Ledger::check_transaction`]
    /// verifies them once the inputs, locks and fees allow the transaction, so that one
    /// carrying thousands of signatures over outputs it cannot spend costs nothing to refuse.
    /// A bad signature is also invalid on every chain ([`TxError::BadSignature`]).
    pub fn check_stateless(&self, tx: &SignedTransaction) -> Result<(), LedgerError> {
        let txid = tx.id();
        let invalid = |source: TxError| LedgerError::Transaction {
            txid,
            source: Box::new(source),
        };
        structure::check(tx, txid, &self.config).map_err(invalid)?;
        signatures::signers(tx).map_err(invalid)?;
        Ok(())
    }

    /// Verifies the signatures of many transactions at once (batch verification, on all
    /// cores) and keeps the verdicts of those that verify, so that checking them one by one
    /// afterwards (admission, block import) does not verify them again. What is malformed
    /// or badly signed is left for its own check to name. Returns how many verified.
    ///
    /// Cheap checks first, as for one transaction: only a transaction whose every signer is
    /// a key named by the lock of an input it spends (an unspent output of the tip, or one an
    /// earlier transaction of `txs` creates) is verified here; the others are left for their
    /// own check, which verifies signatures only once inputs, locks and fees allow them.
    pub fn preverify(&self, txs: &[SignedTransaction]) -> usize {
        let created: HashMap<OutPoint, &Output> = txs
            .iter()
            .flat_map(|tx| {
                tx.tx
                    .outputs
                    .iter()
                    .enumerate()
                    .map(|(i, o)| (tx.tx.outpoint(i as u32), o))
            })
            .collect();
        let view = self.utxo_view();
        let fresh: Vec<(&SignedTransaction, TxId, Hash)> = txs
            .par_iter()
            .filter_map(|tx| {
                let txid = tx.id();
                structure::check(tx, txid, &self.config).ok()?;
                let signers = signatures::signers(tx).ok()?;
                let commitment = tx.witness_commitment_for(&txid);
                if self.signatures.contains(&commitment) {
                    return None;
                }
                let mut named = HashSet::new();
                for input in tx.tx.inputs.iter().filter(|i| i.mode == InputMode::Spend) {
                    let lock = match created.get(&input.prev) {
                        Some(output) => output.lock.clone(),
                        None => view.utxo(&input.prev).ok()??.lock,
                    };
                    named.extend(signatures::lock_keys(&lock));
                }
                signers
                    .iter()
                    .all(|k| named.contains(k))
                    .then_some((tx, txid, commitment))
            })
            .collect();
        let pairs: Vec<(&SignedTransaction, TxId)> =
            fresh.iter().map(|(tx, id, _)| (*tx, *id)).collect();
        let good: Vec<Hash> = if signatures::verify_all(&pairs).is_ok() {
            fresh.iter().map(|(_, _, c)| *c).collect()
        } else {
            // Someone signed badly: find who, keeping everyone else's verdict.
            fresh
                .par_iter()
                .filter(|(tx, id, _)| signatures::verify_one(tx, id).is_ok())
                .map(|(_, _, c)| *c)
                .collect()
        };
        for commitment in &good {
            self.signatures.insert(*commitment);
        }
        good.len()
    }

    /// Stores a block of another branch without applying it, so a later [`Ledger::reorg`]
    /// or [`Ledger::block`] can find it. Nothing is validated.
    pub fn insert_block(&self, block: &Block) -> Result<(), LedgerError> {
        let hash = block.hash();
        let mut batch = Batch::new();
        batch.put_value(block_key(&hash), block);
        batch.put_value(header_key(&hash), &block.header);
        self.write(batch)
    }

    /// Assembles an unsealed block on the tip from `transactions` (in order): a coinbase that
    /// pays their fees, per token, to `reward`, the roots, and the state root. The consensus
    /// engine then fills in the target and seals it.
    pub fn build_block(
        &self,
        transactions: Vec<SignedTransaction>,
        reward: &Lock,
        producer: PublicKey,
        time_ms: u64,
    ) -> Result<Block, LedgerError> {
        let meta = self.read_meta();
        let height = meta.height + 1;
        let env = self.env(BlockContext { height, time_ms });
        let invalid = |source| LedgerError::Block {
            hash: BlockHash(Hash::ZERO),
            source: Box::new(source),
        };
        let body_ids = connect::tx_ids(&transactions);
        // The body is validated once; the coinbase then claims its fees.
        let body = connect::validate_body(&env, &transactions, &body_ids, &self.utxo_view())
            .map_err(invalid)?;
        self.assemble(
            &meta,
            &env,
            transactions,
            body_ids,
            body,
            reward,
            producer,
            time_ms,
        )
    }

    /// [`build_block`](Self::build_block) from `candidates`, leaving out those that fail
    /// instead of failing: each is checked once, in order, against the tip and the ones
    /// kept before it. Returns the block and the candidates invalid on the tip, with why.
    /// A candidate that spends an output of one left out is left out without being counted
    /// invalid, as is one that does not fit the block's compute limit.
    ///
    /// # Errors
    /// Only the ledger's own failures (reading the tip's state): never a candidate's.
    pub fn build_block_skipping(
        &self,
        candidates: Vec<SignedTransaction>,
        reward: &Lock,
        producer: PublicKey,
        time_ms: u64,
    ) -> Result<(Block, Vec<(TxId, TxError)>), LedgerError> {
        let meta = self.read_meta();
        let env = self.env(BlockContext {
            height: meta.height + 1,
            time_ms,
        });
        let ids = connect::tx_ids(&candidates);
        let selection = connect::select_body(&env, &candidates, &ids, &self.utxo_view());
        let invalid = selection
            .invalid
            .into_iter()
            .map(|(i, e)| (ids[i], e))
            .collect();
        let mut candidates: Vec<Option<SignedTransaction>> =
            candidates.into_iter().map(Some).collect();
        let kept: Vec<SignedTransaction> = selection
            .kept
            .iter()
            .filter_map(|&i| candidates[i].take())
            .collect();
        let kept_ids = selection.kept.iter().map(|&i| ids[i]).collect();
        let block = self.assemble(
            &meta,
            &env,
            kept,
            kept_ids,
            selection.effects,
            reward,
            producer,
            time_ms,
        )?;
        Ok((block, invalid))
    }

    /// The block of a validated body: a coinbase claiming its fees, the roots and the
    /// state root.
    #[allow(clippy::too_many_arguments)]
    fn assemble(
        &self,
        meta: &ChainMeta,
        env: &Env<'_>,
        transactions: Vec<SignedTransaction>,
        body_ids: Vec<TxId>,
        body: connect::BodyEffects,
        reward: &Lock,
        producer: PublicKey,
        time_ms: u64,
    ) -> Result<Block, LedgerError> {
        let height = meta.height + 1;
        let invalid = |source| LedgerError::Block {
            hash: BlockHash(Hash::ZERO),
            source: Box::new(source),
        };
        let fees = body.fees.clone();
        let coinbase = Transaction {
            version: Transaction::VERSION,
            chain_id: self.config.chain_id,
            inputs: Vec::new(),
            outputs: fees
                .iter()
                .filter(|(_, amount)| **amount > 0)
                .map(|(token, amount)| Output::asset(reward.clone(), *token, *amount))
                .collect(),
            validity: ValidityWindow {
                not_before: height,
                not_after: height,
            },
            execution: None,
        };
        let mut all = Vec::with_capacity(transactions.len() + 1);
        all.push(SignedTransaction {
            tx: coinbase,
            witness: Witness::default(),
        });
        all.extend(transactions);
        let mut ids = vec![all[0].id()];
        ids.extend(body_ids);
        connect::check_frame(env, &all[0], all.len()).map_err(invalid)?;
        let connected =
            connect::settle(&all[0], ids[0], body, &Self::accumulator(meta)?).map_err(invalid)?;
        let mut block = Block {
            header: BlockHeader {
                version: BlockHeader::VERSION,
                chain_id: self.config.chain_id,
                parent: meta.tip,
                height,
                time_ms,
                tx_root: Hash::ZERO,
                witness_root: Hash::ZERO,
                state_root: connected.accumulator.root(),
                producer,
                target: CompactTarget(0),
                nonce: 0,
                seal: Vec::new(),
            },
            transactions: all,
        };
        block.seal_roots();
        Ok(block)
    }

    /// The unspent outputs `owner` can spend, in outpoint order, from the persistent owner
    /// index (kept in the same atomic write as each block: nothing to rebuild at start).
    pub fn outputs_of(&self, owner: &Address) -> Result<Vec<(OutPoint, Output)>, LedgerError> {
        let mut out = Vec::new();
        for op in self.tables.owned(owner)? {
            // Read without the writer's lock: a block applied since the scan may have spent
            // it, which is no inconsistency.
            if let Some(output) = self.tables.utxo(&op)? {
                out.push((op, output));
            }
        }
        Ok(out)
    }

    /// A page of [`outputs_of`](Self::outputs_of): those after `after`, at most `limit`,
    /// reading only the page from the index (with a store that reads ranges, such as sled).
    pub fn outputs_page(
        &self,
        owner: &Address,
        after: Option<&OutPoint>,
        limit: usize,
    ) -> Result<Vec<(OutPoint, Output)>, LedgerError> {
        let mut out = Vec::new();
        for op in self.tables.owned_page(owner, after, limit)? {
            // As in `outputs_of`: spent since the scan is skipped.
            if let Some(output) = self.tables.utxo(&op)? {
                out.push((op, output));
            }
        }
        Ok(out)
    }

    /// How many live `Resource` outputs hold each content, from a persistent index updated
    /// with every block: what a resource store's pins must equal
    /// ([`ResourcePins::reconcile`](crate::ResourcePins::reconcile)).
    pub fn live_resources(&self) -> Result<BTreeMap<ContentId, u64>, LedgerError> {
        Ok(self.tables.live_resources()?)
    }

    /// The block of the applied chain holding `txid`, and its height (persistent index).
    pub fn transaction_location(
        &self,
        txid: &TxId,
    ) -> Result<Option<(BlockHash, u64)>, LedgerError> {
        Ok(self.tables.location(txid)?)
    }

    /// The live State output of `contract` under `key`.
    pub fn state(
        &self,
        contract: &wes_core::ContractId,
        key: &[u8],
    ) -> Result<Option<(OutPoint, Output)>, LedgerError> {
        let Some(op) = self.tables.state(contract, key)? else {
            return Ok(None);
        };
        Ok(self.tables.utxo(&op)?.map(|o| (op, o)))
    }

    fn read_meta(&self) -> ChainMeta {
        match self.meta.read() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The tables as the owned view that validation and proof verifiers read.
    fn utxo_view(&self) -> SharedUtxo {
        self.tables.clone()
    }

    /// The tables, with `unconfirmed` outputs (of pooled transactions) counted as unspent.
    fn view_with(&self, unconfirmed: &[(OutPoint, Output)]) -> SharedUtxo {
        if unconfirmed.is_empty() {
            return self.utxo_view();
        }
        let overlay = Overlay::new(self.utxo_view());
        for (op, output) in unconfirmed {
            overlay.create(*op, output.clone());
        }
        overlay
    }

    /// [`Ledger::check_transaction_with`] short of the execution proof: everything that
    /// needs no more than the state and the transaction (inputs, locks, value, fees,
    /// signatures). What a node checks before fetching the resources a proof needs, so
    /// that a transaction that could never be valid makes it fetch nothing.
    pub fn check_transaction_unproven(
        &self,
        tx: &SignedTransaction,
        ctx: &BlockContext,
        unconfirmed: &[(OutPoint, Output)],
    ) -> Result<TxSummary, LedgerError> {
        self.check_on(tx, ctx, &self.view_with(unconfirmed), state::Proof::Skip)
    }

    /// [`Ledger::check_transaction`] against `view` (the tables, or an overlay of them).
    fn check_on(
        &self,
        tx: &SignedTransaction,
        ctx: &BlockContext,
        view: &SharedUtxo,
        proof: state::Proof,
    ) -> Result<TxSummary, LedgerError> {
        let txid = tx.id();
        let invalid = |source: TxError| LedgerError::Transaction {
            txid,
            source: Box::new(source),
        };
        let checked = structure::check(tx, txid, &self.config).map_err(invalid)?;
        let signers = signatures::signers(tx).map_err(invalid)?;
        // Verified once per node, after the cheap rules: the verdict is kept for the block
        // that includes it.
        let verify = || {
            let commitment = tx.witness_commitment_for(&checked.txid);
            if !self.signatures.verified(&commitment) {
                signatures::verify_one(tx, &checked.txid)?;
                self.signatures.insert(commitment);
            }
            Ok(())
        };
        let effects = state::check(&self.env(*ctx), tx, &checked, &signers, view, verify, proof)
            .map_err(invalid)?;
        Ok(effects.summary)
    }

    fn env(&self, ctx: BlockContext) -> Env<'_> {
        Env {
            config: &self.config,
            verifiers: &self.verifiers,
            resources: self.resources.as_ref(),
            ctx,
            verified: &self.signatures,
        }
    }

    fn accumulator(meta: &ChainMeta) -> Result<StateAccumulator, StoreError> {
        StateAccumulator::from_bytes(&meta.accumulator)
            .ok_or_else(|| StoreError::Missing("state accumulator in chain meta".into()))
    }

    fn write(&self, batch: Batch) -> Result<(), LedgerError> {
        self.check_writable()?;
        self.tables.kv.apply(batch).map_err(|e| {
            // A batch refused before writing leaves the store as it was.
            if !matches!(e, StoreError::DiskFull { .. }) {
                self.poisoned.store(true, Ordering::SeqCst);
            }
            LedgerError::Store(e)
        })
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(StoreError::Poisoned);
        }
        Ok(())
    }

    /// Whether a block could be applied now: [`StoreError::Poisoned`] after a failed write
    /// (reopen the ledger), [`StoreError::DiskFull`] while the store's disk is too full
    /// ([`KvStore::writable`]; the ledger works again once space is freed).
    pub fn writable(&self) -> Result<(), LedgerError> {
        self.check_writable()?;
        Ok(self.tables.kv.writable()?)
    }

    fn set_meta(&self, meta: ChainMeta) {
        match self.meta.write() {
            Ok(mut m) => *m = meta,
            Err(poisoned) => *poisoned.into_inner() = meta,
        }
    }

    fn apply_locked(&self, block: &Block) -> Result<wes_core::ChainTip, LedgerError> {
        let parent = self.read_meta();
        let hash = block.hash();
        let invalid = |source: BlockError| LedgerError::Block {
            hash,
            source: Box::new(source),
        };
        let env = self.env(BlockContext {
            height: block.header.height,
            time_ms: block.header.time_ms,
        });
        let txids = connect::tx_ids(&block.transactions);
        connect::check_header(&env, block, &txids, &parent).map_err(invalid)?;
        let parent_acc = Self::accumulator(&parent)?;
        let Connected {
            spent,
            created,
            accumulator,
            ..
        } = connect::connect(
            &env,
            &block.transactions,
            &txids,
            &self.utxo_view(),
            &parent_acc,
        )
        .map_err(invalid)?;
        let state_root = accumulator.root();
        if state_root != block.header.state_root {
            return Err(invalid(BlockError::StateRootMismatch {
                expected: block.header.state_root,
                got: state_root,
            }));
        }

        let meta = ChainMeta {
            genesis: parent.genesis,
            tip: hash,
            height: block.header.height,
            state_root,
            accumulator: accumulator.to_bytes(),
        };
        let mut batch = Batch::new();
        write_utxos(&mut batch, &spent, &created);
        batch.put_value(block_key(&hash), block);
        batch.put_value(header_key(&hash), &block.header);
        batch.put_value(height_key(meta.height), &hash);
        for txid in &txids {
            batch.put_value(location_key(txid), &(hash, meta.height));
        }
        let undo = Undo {
            spent,
            created,
            previous: parent,
        };
        batch.put_value(undo_key(&hash), &undo);
        batch.put_value(META_KEY.to_vec(), &meta);
        self.write(batch)?;
        let tip = tip_of(&meta);
        self.set_meta(meta);
        for observer in &self.observers {
            observer.block_applied(block, &undo.spent, &undo.created);
        }
        Ok(tip)
    }

    fn revert_locked(&self) -> Result<Block, LedgerError> {
        let meta = self.read_meta();
        if meta.height == 0 {
            return Err(LedgerError::RevertGenesis);
        }
        let block = self
            .tables
            .block(&meta.tip)?
            .ok_or_else(|| StoreError::Missing(format!("tip block {}", meta.tip)))?;
        let undo = self
            .tables
            .undo(&meta.tip)?
            .ok_or_else(|| StoreError::Missing(format!("undo data of {}", meta.tip)))?;
        let mut batch = Batch::new();
        write_utxos(&mut batch, &undo.created, &undo.spent);
        batch.delete(height_key(meta.height));
        for tx in &block.transactions {
            batch.delete(location_key(&tx.id()));
        }
        batch.delete(undo_key(&meta.tip));
        batch.put_value(META_KEY.to_vec(), &undo.previous);
        self.write(batch)?;
        self.set_meta(undo.previous.clone());
        for observer in &self.observers {
            observer.block_reverted(&block, &undo.spent, &undo.created);
        }
        Ok(block)
    }
}

fn tip_of(meta: &ChainMeta) -> wes_core::ChainTip {
    wes_core::ChainTip {
        hash: meta.tip,
        height: meta.height,
        state_root: meta.state_root,
    }
}

/// Writes the owner, transaction-location and header indexes of a store written before
/// they existed, in one batch: from its UTXO set, its applied chain and its stored blocks
/// (once; later blocks keep them current in their own batch).
fn build_indexes<S: KvStore>(tables: &Tables<S>, meta: &ChainMeta) -> Result<(), LedgerError> {
    let mut batch = Batch::new();
    for (key, value) in tables.kv.scan_prefix(b"U")? {
        let corrupt = |what: &str| StoreError::Missing(format!("{what} in UTXO key {key:02x?}"));
        let op = outpoint_after(&key, 1).ok_or_else(|| corrupt("an outpoint"))?;
        let output: Output =
            wes_core::codec::decode_stored(&value).map_err(|_| corrupt("an output"))?;
        batch.put(owner_key(&output.lock.address(), &op), Vec::new());
        if let Some(resource) = output.as_resource() {
            batch.put(resource_key(&resource.content, &op), Vec::new());
        }
    }
    for height in 0..=meta.height {
        let missing = || StoreError::Missing(format!("block at height {height}"));
        let hash = tables.hash_at(height)?.ok_or_else(missing)?;
        let block = tables.block(&hash)?.ok_or_else(missing)?;
        for tx in &block.transactions {
            batch.put_value(location_key(&tx.id()), &(hash, height));
        }
    }
    for (key, value) in tables.kv.scan_prefix(b"B")? {
        let corrupt = || StoreError::Missing(format!("a block under key {key:02x?}"));
        let block: Block = wes_core::codec::decode_stored(&value).map_err(|_| corrupt())?;
        batch.put_value(header_key(&block.hash()), &block.header);
    }
    batch.put_value(INDEX_KEY.to_vec(), &INDEX_VERSION);
    tables.kv.apply(batch)?;
    Ok(())
}

/// Deletes `gone` and writes `new` unspent outputs, with their owner-index and live-state
/// entries. The owners' addresses (a hash each) and the encodings are computed on all cores;
/// the batch is then filled in order.
fn write_utxos(batch: &mut Batch, gone: &[(OutPoint, Output)], new: &[(OutPoint, Output)]) {
    let (gone_owners, new_entries): (Vec<Address>, Vec<(Address, Vec<u8>)>) = rayon::join(
        || gone.par_iter().map(|(_, o)| o.lock.address()).collect(),
        || {
            new.par_iter()
                .map(|(_, o)| (o.lock.address(), wes_core::codec::encode(o)))
                .collect()
        },
    );
    for ((op, output), owner) in gone.iter().zip(&gone_owners) {
        batch.delete(utxo_key(op));
        batch.delete(owner_key(owner, op));
        if let Some(state) = output.as_state() {
            batch.delete(state_key(&state.contract, &state.key));
        }
        if let Some(resource) = output.as_resource() {
            batch.delete(resource_key(&resource.content, op));
        }
    }
    for ((op, output), (owner, encoded)) in new.iter().zip(new_entries) {
        batch.put(utxo_key(op), encoded);
        batch.put(owner_key(&owner, op), Vec::new());
        if let Some(state) = output.as_state() {
            batch.put_value(state_key(&state.contract, &state.key), op);
        }
        if let Some(resource) = output.as_resource() {
            batch.put(resource_key(&resource.content, op), Vec::new());
        }
    }
}

impl<S: KvStore> Ledger for EutxoLedger<S> {
    type Error = LedgerError;

    fn tip(&self) -> Result<wes_core::ChainTip, LedgerError> {
        Ok(tip_of(&self.read_meta()))
    }

    fn unspent(&self, outpoint: &OutPoint) -> Result<Option<Output>, LedgerError> {
        Ok(self.tables.utxo(outpoint)?)
    }

    fn header(&self, hash: &BlockHash) -> Result<Option<BlockHeader>, LedgerError> {
        Ok(self.tables.header(hash)?)
    }

    fn transaction_location(&self, txid: &TxId) -> Result<Option<(BlockHash, u64)>, LedgerError> {
        Ok(self.tables.location(txid)?)
    }

    fn block(&self, hash: &BlockHash) -> Result<Option<Block>, LedgerError> {
        Ok(self.tables.block(hash)?)
    }

    fn hash_at(&self, height: u64) -> Result<Option<BlockHash>, LedgerError> {
        Ok(self.tables.hash_at(height)?)
    }

    fn check_transaction(
        &self,
        tx: &SignedTransaction,
        ctx: &BlockContext,
    ) -> Result<TxSummary, LedgerError> {
        self.check_on(tx, ctx, &self.utxo_view(), state::Proof::Verify)
    }

    fn check_transaction_with(
        &self,
        tx: &SignedTransaction,
        ctx: &BlockContext,
        unconfirmed: &[(OutPoint, Output)],
    ) -> Result<TxSummary, LedgerError> {
        self.check_on(tx, ctx, &self.view_with(unconfirmed), state::Proof::Verify)
    }

    fn check_transaction_unproven(
        &self,
        tx: &SignedTransaction,
        ctx: &BlockContext,
        unconfirmed: &[(OutPoint, Output)],
    ) -> Result<TxSummary, LedgerError> {
        EutxoLedger::check_transaction_unproven(self, tx, ctx, unconfirmed)
    }

    fn state_root_after(
        &self,
        transactions: &[SignedTransaction],
        ctx: &BlockContext,
    ) -> Result<Hash, LedgerError> {
        let meta = self.read_meta();
        let env = self.env(*ctx);
        let connected = connect::connect(
            &env,
            transactions,
            &connect::tx_ids(transactions),
            &self.utxo_view(),
            &Self::accumulator(&meta)?,
        )
        .map_err(|source| LedgerError::Block {
            hash: BlockHash(Hash::ZERO),
            source: Box::new(source),
        })?;
        Ok(connected.accumulator.root())
    }

    fn apply_block(&self, block: &Block) -> Result<wes_core::ChainTip, LedgerError> {
        let _writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        self.apply_locked(block)
    }

    fn revert_tip(&self) -> Result<Block, LedgerError> {
        let _writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        self.revert_locked()
    }

    fn reorg(
        &self,
        fork_point: &BlockHash,
        branch: &[Block],
    ) -> Result<wes_core::ChainTip, LedgerError> {
        let _writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let fork = self
            .tables
            .block(fork_point)?
            .ok_or(LedgerError::UnknownBlock(*fork_point))?;
        if self.tables.hash_at(fork.header.height)? != Some(*fork_point) {
            return Err(LedgerError::NotOnChain(*fork_point));
        }
        let mut reverted = Vec::new();
        while self.read_meta().tip != *fork_point {
            match self.revert_locked() {
                Ok(block) => reverted.push(block),
                Err(e) => return Err(self.restore(e, 0, &reverted)),
            }
        }
        for (applied, block) in branch.iter().enumerate() {
            if let Err(e) = self.apply_locked(block) {
                return Err(self.restore(e, applied, &reverted));
            }
        }
        Ok(tip_of(&self.read_meta()))
    }
}

impl<S: KvStore> EutxoLedger<S> {
    /// After a reorganisation failed with `error`, having reverted `reverted` (tip first)
    /// and applied `applied` blocks of the new branch: puts the old chain back (its blocks
    /// were valid on top of the fork point) and returns `error`. If that fails too (a
    /// store that stopped writing), the ledger stays where it stopped and the error says
    /// where ([`LedgerError::ReorgUnrestored`]).
    fn restore(&self, error: LedgerError, applied: usize, reverted: &[Block]) -> LedgerError {
        let restored = (0..applied)
            .try_for_each(|_| self.revert_locked().map(drop))
            .and_then(|()| {
                reverted
                    .iter()
                    .rev()
                    .try_for_each(|old| self.apply_locked(old).map(drop))
            });
        match restored {
            Ok(()) => error,
            Err(restore) => LedgerError::ReorgUnrestored {
                error: Box::new(error),
                restore: Box::new(restore),
                tip: self.read_meta().tip,
            },
        }
    }
}
