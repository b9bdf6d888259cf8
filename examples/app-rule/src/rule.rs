//! The user-written ledger: [`AllowListLedger`] wraps the SDK's `EutxoLedger` with one rule
//! of this chain's — assets may only be sent to addresses on an allow-list, and only the
//! governance key can change the list.
//!
//! The list changes through *governance memos*: Resource outputs of kind [`MEMO`] locked to
//! the governance key, named `allow <address>` or `deny <address>`, in a transaction that
//! spends one of the governance key's outputs (so only that key can sign one). The list is
//! derived from the chain (rebuilt when the ledger opens) and every applied block's changes
//! are kept for reverting it, so reorganisations restore it exactly.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use wes_core::{
    Address, Blame, Block, BlockContext, BlockHash, BlockHeader, ChainTip, ContractId, Fault, Hash,
    Ledger, Lock, OutPoint, Output, OutputBody, PublicKey, ResourceKind, SignedTransaction, TxId,
    TxSummary,
};
use wes_ledger::{EutxoLedger, FeePolicy, KvStore, LedgerError, Limits};
use wes_node::ChainLedger;

/// The resource kind of governance memos.
pub const MEMO: ResourceKind = ResourceKind::Custom(0xA11);

/// Why the app rule refused a transaction, or the wrapped ledger failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// An asset output goes to an address that is not on the allow-list.
    #[error("transaction {txid} pays {address}, which is not on the allow-list")]
    NotAllowed {
        /// The transaction.
        txid: TxId,
        /// The address.
        address: Address,
    },
    /// A governance memo in a transaction the governance key did not authorise.
    #[error("transaction {txid} carries a governance memo without spending a governance output")]
    Unauthorised {
        /// The transaction.
        txid: TxId,
    },
    /// A governance memo that does not parse.
    #[error("transaction {txid}: bad governance memo {memo:?}")]
    BadMemo {
        /// The transaction.
        txid: TxId,
        /// The memo's text.
        memo: String,
    },
    /// The EUTXO rules, or the store.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl Blame for AppError {
    fn fault(&self) -> Fault {
        match self {
            AppError::Ledger(e) => e.fault(),
            _ => Fault::Input,
        }
    }

    fn rule(&self) -> Option<&'static str> {
        match self {
            AppError::Ledger(e) => e.rule(),
            _ => None,
        }
    }
}

/// One change of the list: the address and whether it was allowed before.
type Undo = Vec<(Address, bool)>;

struct ListState {
    allowed: HashSet<Address>,
    /// The changes of each applied block, tip last (genesis has none).
    undo: Vec<Undo>,
}

/// `EutxoLedger` plus the allow-list rule.
pub struct AllowListLedger<S: KvStore> {
    inner: EutxoLedger<S>,
    governance: PublicKey,
    state: RwLock<ListState>,
}

impl<S: KvStore> AllowListLedger<S> {
    /// Wraps `inner`; `governance` may change the list. The genesis allocations' owners and
    /// the governance key start on it; the list is rebuilt from the applied chain.
    ///
    /// # Errors
    /// The ledger cannot be read.
    pub fn open(inner: EutxoLedger<S>, governance: PublicKey) -> Result<Self, AppError> {
        let ledger = AllowListLedger {
            inner,
            governance,
            state: RwLock::new(ListState {
                allowed: HashSet::new(),
                undo: Vec::new(),
            }),
        };
        let tip = ledger.inner.tip()?;
        let mut state = ListState {
            allowed: HashSet::from([Lock::key(governance).address()]),
            undo: Vec::new(),
        };
        for height in 0..=tip.height {
            let missing = || {
                AppError::Ledger(LedgerError::Store(wes_ledger::StoreError::Missing(
                    format!("block {height}"),
                )))
            };
            let hash = ledger.inner.hash_at(height)?.ok_or_else(missing)?;
            let block = ledger.inner.block(&hash)?.ok_or_else(missing)?;
            if height == 0 {
                for out in &block.transactions[0].tx.outputs {
                    state.allowed.insert(out.lock.address());
                }
                continue;
            }
            // Applied blocks passed the rule when they were applied (and their inputs are
            // spent now): only their memos are replayed.
            let mut undo = Vec::new();
            for tx in block.transactions.iter().skip(1) {
                for (address, allow) in ledger.memos(tx)? {
                    undo.push((address, state.allowed.contains(&address)));
                    if allow {
                        state.allowed.insert(address);
                    } else {
                        state.allowed.remove(&address);
                    }
                }
            }
            state.undo.push(undo);
        }
        *ledger.state.write().unwrap_or_else(|e| e.into_inner()) = state;
        Ok(ledger)
    }

    /// Whether `address` is on the list now.
    pub fn is_allowed(&self, address: &Address) -> bool {
        self.read().allowed.contains(address)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, ListState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, ListState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The memos of `tx`: `(address, allow)`.
    fn memos(&self, tx: &SignedTransaction) -> Result<Vec<(Address, bool)>, AppError> {
        let gov = Lock::key(self.governance);
        let mut memos = Vec::new();
        for out in &tx.tx.outputs {
            let OutputBody::Resource(r) = &out.body else {
                continue;
            };
            if r.kind != MEMO || out.lock != gov {
                continue;
            }
            let bad = || AppError::BadMemo {
                txid: tx.id(),
                memo: r.meta.name.clone(),
            };
            let (verb, address) = r.meta.name.split_once(' ').ok_or_else(bad)?;
            let address: Address = address.parse().map_err(|_| bad())?;
            memos.push(match verb {
                "allow" => (address, true),
                "deny" => (address, false),
                _ => return Err(bad()),
            });
        }
        Ok(memos)
    }

    /// Checks `tx` against `allowed`; `created` holds outputs of earlier transactions of
    /// the same block. Returns its memos.
    fn check_rule(
        &self,
        tx: &SignedTransaction,
        allowed: &HashSet<Address>,
        created: &HashMap<OutPoint, Output>,
    ) -> Result<Vec<(Address, bool)>, AppError> {
        let txid = tx.id();
        for out in &tx.tx.outputs {
            if out.as_asset().is_some() && !allowed.contains(&out.lock.address()) {
                return Err(AppError::NotAllowed {
                    txid,
                    address: out.lock.address(),
                });
            }
        }
        let memos = self.memos(tx)?;
        if !memos.is_empty() {
            let gov = Lock::key(self.governance);
            let mut authorised = false;
            for input in &tx.tx.inputs {
                let spent = match created.get(&input.prev) {
                    Some(o) => Some(o.clone()),
                    None => self.inner.unspent(&input.prev)?,
                };
                authorised |= spent.is_some_and(|o| o.lock == gov);
            }
            if !authorised {
                return Err(AppError::Unauthorised { txid });
            }
        }
        Ok(memos)
    }

    /// Checks `block`'s transactions in order, applying their memos to `allowed`; returns
    /// what to undo.
    fn changes(&self, block: &Block, allowed: &mut HashSet<Address>) -> Result<Undo, AppError> {
        let mut created = HashMap::new();
        let mut undo = Vec::new();
        for tx in block.transactions.iter().skip(1) {
            for (address, allow) in self.check_rule(tx, allowed, &created)? {
                let was = allowed.contains(&address);
                undo.push((address, was));
                if allow {
                    allowed.insert(address);
                } else {
                    allowed.remove(&address);
                }
            }
            for (i, out) in tx.tx.outputs.iter().enumerate() {
                created.insert(tx.tx.outpoint(i as u32), out.clone());
            }
        }
        Ok(undo)
    }
}

impl<S: KvStore> AllowListLedger<S> {
    /// The app's rule for `tx` on the tip, with the pool's `unconfirmed` outputs.
    fn check_rule_on_tip(
        &self,
        tx: &SignedTransaction,
        unconfirmed: &[(OutPoint, Output)],
    ) -> Result<(), AppError> {
        let allowed = self.read().allowed.clone();
        let created: HashMap<OutPoint, Output> = unconfirmed.iter().cloned().collect();
        self.check_rule(tx, &allowed, &created).map(|_| ())
    }
}

impl<S: KvStore> Ledger for AllowListLedger<S> {
    type Error = AppError;

    fn tip(&self) -> Result<ChainTip, AppError> {
        Ok(self.inner.tip()?)
    }

    fn unspent(&self, outpoint: &OutPoint) -> Result<Option<Output>, AppError> {
        Ok(self.inner.unspent(outpoint)?)
    }

    fn header(&self, hash: &BlockHash) -> Result<Option<BlockHeader>, AppError> {
        Ok(self.inner.header(hash)?)
    }

    fn block(&self, hash: &BlockHash) -> Result<Option<Block>, AppError> {
        Ok(self.inner.block(hash)?)
    }

    fn hash_at(&self, height: u64) -> Result<Option<BlockHash>, AppError> {
        Ok(self.inner.hash_at(height)?)
    }

    fn transaction_location(&self, txid: &TxId) -> Result<Option<(BlockHash, u64)>, AppError> {
        Ok(self.inner.transaction_location(txid)?)
    }

    fn check_transaction(
        &self,
        tx: &SignedTransaction,
        ctx: &BlockContext,
    ) -> Result<TxSummary, AppError> {
        self.check_transaction_with(tx, ctx, &[])
    }

    fn check_transaction_with(
        &self,
        tx: &SignedTransaction,
        ctx: &BlockContext,
        unconfirmed: &[(OutPoint, Output)],
    ) -> Result<TxSummary, AppError> {
        self.check_rule_on_tip(tx, unconfirmed)?;
        Ok(self.inner.check_transaction_with(tx, ctx, unconfirmed)?)
    }

    fn check_transaction_unproven(
        &self,
        tx: &SignedTransaction,
        ctx: &BlockContext,
        unconfirmed: &[(OutPoint, Output)],
    ) -> Result<TxSummary, AppError> {
        self.check_rule_on_tip(tx, unconfirmed)?;
        Ok(self
            .inner
            .check_transaction_unproven(tx, ctx, unconfirmed)?)
    }

    fn state_root_after(
        &self,
        transactions: &[SignedTransaction],
        ctx: &BlockContext,
    ) -> Result<Hash, AppError> {
        Ok(self.inner.state_root_after(transactions, ctx)?)
    }

    fn apply_block(&self, block: &Block) -> Result<ChainTip, AppError> {
        let mut state = self.write();
        let mut allowed = state.allowed.clone();
        let undo = self.changes(block, &mut allowed)?;
        let tip = self.inner.apply_block(block)?;
        state.allowed = allowed;
        state.undo.push(undo);
        Ok(tip)
    }

    fn revert_tip(&self) -> Result<Block, AppError> {
        let mut state = self.write();
        let block = self.inner.revert_tip()?;
        for (address, was) in state.undo.pop().unwrap_or_default().into_iter().rev() {
            if was {
                state.allowed.insert(address);
            } else {
                state.allowed.remove(&address);
            }
        }
        Ok(block)
    }

    fn reorg(&self, fork_point: &BlockHash, branch: &[Block]) -> Result<ChainTip, AppError> {
        let mut reverted = Vec::new();
        while self.inner.tip()?.hash != *fork_point {
            reverted.push(self.revert_tip()?);
        }
        for (i, block) in branch.iter().enumerate() {
            if let Err(e) = self.apply_block(block) {
                // Back to the chain we had: undo the branch, re-apply the old blocks.
                for _ in 0..i {
                    self.revert_tip()?;
                }
                for old in reverted.iter().rev() {
                    self.apply_block(old)?;
                }
                return Err(e);
            }
        }
        self.tip()
    }
}

impl<S: KvStore + 'static> ChainLedger for AllowListLedger<S> {
    fn genesis_hash(&self) -> BlockHash {
        self.inner.genesis_hash()
    }

    fn fee_policy(&self) -> FeePolicy {
        self.inner.config().fees.clone()
    }

    fn limits(&self) -> Limits {
        self.inner.config().limits
    }

    fn check_stateless(&self, tx: &SignedTransaction) -> Result<(), AppError> {
        Ok(self.inner.check_stateless(tx)?)
    }

    fn preverify(&self, txs: &[SignedTransaction]) {
        self.inner.preverify(txs);
    }

    fn writable(&self) -> Result<(), AppError> {
        Ok(self.inner.writable()?)
    }

    fn outputs_of(&self, owner: &Address) -> Result<Vec<(OutPoint, Output)>, AppError> {
        Ok(self.inner.outputs_of(owner)?)
    }

    fn build_block(
        &self,
        transactions: Vec<SignedTransaction>,
        reward: &Lock,
        producer: PublicKey,
        time_ms: u64,
    ) -> Result<Block, AppError> {
        let mut allowed = self.read().allowed.clone();
        let mut created = HashMap::new();
        for tx in &transactions {
            for (address, allow) in self.check_rule(tx, &allowed, &created)? {
                if allow {
                    allowed.insert(address);
                } else {
                    allowed.remove(&address);
                }
            }
            for (i, out) in tx.tx.outputs.iter().enumerate() {
                created.insert(tx.tx.outpoint(i as u32), out.clone());
            }
        }
        Ok(self
            .inner
            .build_block(transactions, reward, producer, time_ms)?)
    }

    fn state(
        &self,
        contract: &ContractId,
        key: &[u8],
    ) -> Result<Option<(OutPoint, Output)>, AppError> {
        Ok(self.inner.state(contract, key)?)
    }

    fn blamed_transaction(error: &AppError) -> Option<TxId> {
        match error {
            AppError::NotAllowed { txid, .. }
            | AppError::Unauthorised { txid }
            | AppError::BadMemo { txid, .. } => Some(*txid),
            AppError::Ledger(e) => EutxoLedger::<wes_ledger::MemoryStore>::blamed_transaction(e),
        }
    }
}
