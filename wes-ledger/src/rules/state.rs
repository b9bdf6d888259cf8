//! Rules against the UTXO set: inputs, locks, value per token, fees, sponsor pools, contract
//! state and the execution proof.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use wes_core::{
    Amount, BlockContext, ContractId, Guard, Input, InputMode, Lock, LockTime, OutPoint, Output,
    OutputBody, PublicKey, SignedTransaction, SponsorPool, TokenId, TxSummary, VerifierRegistry,
};

use crate::config::LedgerConfig;
use crate::error::TxError;
use crate::rules::structure::Checked;
use crate::verdicts::SignatureCache;
use crate::view::{ResourceProvider, SharedUtxo, UtxoView, VerifierView};

/// What the rules need besides the transaction and the state.
pub(crate) struct Env<'a> {
    pub config: &'a LedgerConfig,
    pub verifiers: &'a VerifierRegistry,
    pub resources: Option<&'a Arc<dyn ResourceProvider>>,
    pub ctx: BlockContext,
    /// Transactions whose signatures verified before (at admission).
    pub verified: &'a SignatureCache,
}

/// Whether [`check`] verifies the execution proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Proof {
    /// Verify it: the full check.
    Verify,
    /// Stop before it: everything else holds (what is worth fetching a proof's resources
    /// for).
    Skip,
}

/// What a valid transaction does to the UTXO set.
#[derive(Clone, Debug)]
pub(crate) struct Effects {
    pub summary: TxSummary,
    pub spent: Vec<(OutPoint, Output)>,
    pub created: Vec<(OutPoint, Output)>,
}

/// Checks `tx` against `view`; `signers` are the keys its witness claims.
///
/// The cheap rules come first: inputs, locks (each claimed signer must be one a lock needs),
/// value and fees. Only a transaction passing them has its signatures verified
/// (`verify_signatures`, which may find them verified already), and only then its execution
/// proof: so a transaction that spends nothing it may spend, or pays too little, costs the
/// node a few lookups, however many signatures or however large a proof it carries.
pub(crate) fn check(
    env: &Env<'_>,
    tx: &SignedTransaction,
    checked: &Checked,
    signers: &[PublicKey],
    view: &SharedUtxo,
    verify_signatures: impl FnOnce() -> Result<(), TxError>,
    proof: Proof,
) -> Result<Effects, TxError> {
    let t = &tx.tx;
    if !t.validity.contains(env.ctx.height) {
        return Err(TxError::OutsideValidityWindow {
            window: t.validity,
            height: env.ctx.height,
        });
    }
    let executed = t.execution.as_ref().map(|e| e.contract);
    let acts = |c: &ContractId| t.execution.as_ref().is_some_and(|e| e.acts_as(c));

    // Inputs exist and are unspent.
    let mut spent = Vec::new();
    for (index, Input { prev, mode }) in t.inputs.iter().enumerate() {
        let output = view.utxo(prev)?.ok_or(TxError::MissingInput {
            index,
            outpoint: *prev,
        })?;
        if *mode == InputMode::Spend {
            spent.push((index, *prev, output));
        }
    }

    // Locks.
    let mut auth = Authorizer {
        signers,
        required: HashSet::new(),
        execution: t.execution.as_ref(),
        ctx: env.ctx,
    };
    let mut sponsored: Vec<(usize, &SponsorPool, &Lock, &Output)> = Vec::new();
    for (index, _, output) in &spent {
        match &output.lock {
            Lock::Guarded(guard) => auth.guard(*index, guard)?,
            Lock::TimeLocked { until, guard } => {
                auth.time(*index, until)?;
                auth.guard(*index, guard)?;
            }
            Lock::SponsorPool(pool) => {
                if auth.satisfied(&pool.owner) {
                    auth.guard(*index, &pool.owner)?;
                } else {
                    sponsored.push((*index, pool, &output.lock, output));
                }
            }
        }
    }
    if let Some(key) = signers.iter().find(|k| !auth.required.contains(*k)) {
        return Err(TxError::UnneededSignature { key: *key });
    }

    check_state_outputs(t, &spent, executed, view.as_ref())?;

    // Value per token.
    let mut inputs: BTreeMap<TokenId, Amount> = BTreeMap::new();
    for (_, _, output) in &spent {
        if let OutputBody::Asset(a) = &output.body {
            add(&mut inputs, a.token, a.amount)?;
        }
    }
    let mut outputs: BTreeMap<TokenId, Amount> = BTreeMap::new();
    for output in &t.outputs {
        if let OutputBody::Asset(a) = &output.body {
            add(&mut outputs, a.token, a.amount)?;
        }
    }
    let mut fees: BTreeMap<TokenId, Amount> = BTreeMap::new();
    let tokens: BTreeSet<TokenId> = inputs.keys().chain(outputs.keys()).copied().collect();
    for token in tokens {
        let (i, o) = (
            inputs.get(&token).copied().unwrap_or(0),
            outputs.get(&token).copied().unwrap_or(0),
        );
        let by_issuer = token.issuer().is_some_and(acts);
        if o > i && !by_issuer {
            return Err(TxError::UnauthorizedMint {
                token,
                inputs: i,
                outputs: o,
            });
        }
        if i > o {
            let surplus = i - o;
            if env.config.fees.get(&token).is_some() {
                fees.insert(token, surplus);
            } else if !by_issuer {
                // An issuer's execution may burn its own token; anything else must be a fee.
                return Err(TxError::FeeTokenNotAccepted {
                    token,
                    amount: surplus,
                });
            }
        }
    }

    check_sponsors(t, &sponsored, executed, &fees)?;

    // Minimum fee, in at least one accepted token.
    let cu_used = t.execution.as_ref().map_or(0, |e| e.cu_used);
    let required: BTreeMap<TokenId, Amount> = env
        .config
        .fees
        .accepted()
        .map(|(token, fee)| (*token, fee.required(checked.size, cu_used)))
        .collect();
    let paid_enough = required
        .iter()
        .any(|(token, need)| fees.get(token).copied().unwrap_or(0) >= *need);
    if !paid_enough {
        return Err(TxError::FeeTooLow {
            paid: fees,
            required,
        });
    }

    // The signatures, once the transaction could be valid if they are.
    verify_signatures()?;

    // The execution proof, last: it is the most expensive check.
    if t.execution.is_some() && proof == Proof::Verify {
        let chain: wes_core::SharedView = Arc::new(VerifierView {
            view: view.clone(),
            resources: env.resources.cloned(),
            block: env.ctx,
        });
        env.verifiers
            .verify(t, &tx.witness.proof, &chain)
            .map_err(TxError::Proof)?;
    }

    let created = t
        .outputs
        .iter()
        .enumerate()
        .map(|(i, o)| {
            (
                wes_core::OutPoint {
                    tx: checked.txid,
                    index: i as u32,
                },
                o.clone(),
            )
        })
        .collect();
    Ok(Effects {
        summary: TxSummary {
            fees,
            size: checked.size,
            cu_used,
        },
        spent: spent.into_iter().map(|(_, op, o)| (op, o)).collect(),
        created,
    })
}

fn add(
    sums: &mut BTreeMap<TokenId, Amount>,
    token: TokenId,
    amount: Amount,
) -> Result<(), TxError> {
    let entry = sums.entry(token).or_insert(0);
    *entry = entry
        .checked_add(amount)
        .ok_or(TxError::AmountOverflow { token })?;
    Ok(())
}

/// Checks guards and remembers which keys the inputs ask for.
struct Authorizer<'a> {
    signers: &'a [PublicKey],
    required: HashSet<PublicKey>,
    execution: Option<&'a wes_core::Execution>,
    ctx: BlockContext,
}

impl Authorizer<'_> {
    fn satisfied(&self, guard: &Guard) -> bool {
        match guard {
            Guard::Key(k) => self.signers.contains(k),
            Guard::MultiSig(m) => {
                m.keys.iter().filter(|k| self.signers.contains(k)).count()
                    >= usize::from(m.threshold)
            }
            Guard::Contract(c) => self.execution.is_some_and(|e| e.acts_as(c)),
        }
    }

    fn guard(&mut self, index: usize, guard: &Guard) -> Result<(), TxError> {
        match guard {
            Guard::Key(key) => {
                self.required.insert(*key);
                if !self.signers.contains(key) {
                    return Err(TxError::MissingSignature { index, key: *key });
                }
            }
            Guard::MultiSig(m) => {
                self.required.extend(m.keys.iter().copied());
                let got = m.keys.iter().filter(|k| self.signers.contains(k)).count();
                if got < usize::from(m.threshold) {
                    return Err(TxError::ThresholdNotMet {
                        index,
                        need: m.threshold,
                        got,
                    });
                }
            }
            Guard::Contract(contract) => {
                if !self.satisfied(guard) {
                    return Err(TxError::ContractNotExecuted {
                        index,
                        contract: *contract,
                        executed: self.execution.map(|e| e.contract),
                    });
                }
            }
        }
        Ok(())
    }

    fn time(&self, index: usize, until: &LockTime) -> Result<(), TxError> {
        let open = match until {
            LockTime::Height(h) => self.ctx.height >= *h,
            LockTime::TimeMs(t) => self.ctx.time_ms >= *t,
        };
        if open {
            Ok(())
        } else {
            Err(TxError::TimeLocked {
                index,
                until: *until,
                height: self.ctx.height,
                time_ms: self.ctx.time_ms,
            })
        }
    }
}

/// State of a contract is created or replaced only by that contract's execution, and a
/// (contract, key) has at most one live State output.
fn check_state_outputs(
    t: &wes_core::Transaction,
    spent: &[(usize, OutPoint, Output)],
    executed: Option<ContractId>,
    view: &dyn UtxoView,
) -> Result<(), TxError> {
    let mut spent_states = HashSet::new();
    for (index, op, output) in spent {
        if let Some(state) = output.as_state() {
            if !t
                .execution
                .as_ref()
                .is_some_and(|e| e.acts_as(&state.contract))
            {
                return Err(TxError::StateNotExecuted {
                    place: format!("input {index}"),
                    contract: state.contract,
                    executed,
                });
            }
            spent_states.insert(*op);
        }
    }
    let mut created_keys = HashSet::new();
    for (index, output) in t.outputs.iter().enumerate() {
        let Some(state) = output.as_state() else {
            continue;
        };
        if !t
            .execution
            .as_ref()
            .is_some_and(|e| e.acts_as(&state.contract))
        {
            return Err(TxError::StateNotExecuted {
                place: format!("output {index}"),
                contract: state.contract,
                executed,
            });
        }
        let live = view
            .state(&state.contract, &state.key)?
            .is_some_and(|op| !spent_states.contains(&op));
        if live || !created_keys.insert((state.contract, state.key.clone())) {
            return Err(TxError::DuplicateStateKey {
                index,
                contract: state.contract,
                key: state.key.iter().map(|b| format!("{b:02x}")).collect(),
            });
        }
    }
    Ok(())
}

/// Sponsor pools pay fees only: for calls of the sponsored contract, at most the cap per
/// transaction, the rest returned to the pool, and never more than the fee.
fn check_sponsors(
    t: &wes_core::Transaction,
    sponsored: &[(usize, &SponsorPool, &Lock, &Output)],
    executed: Option<ContractId>,
    fees: &BTreeMap<TokenId, Amount>,
) -> Result<(), TxError> {
    if sponsored.is_empty() {
        return Ok(());
    }
    // Pool funds in, per (pool lock, token).
    let mut taken_in: HashMap<(&Lock, TokenId), (Amount, &SponsorPool)> = HashMap::new();
    for (index, pool, lock, output) in sponsored {
        let Some(called) = executed else {
            return Err(TxError::SponsorWithoutExecution { index: *index });
        };
        if let Some(sponsored_contract) = pool.contract
            && sponsored_contract != called
        {
            return Err(TxError::SponsorWrongContract {
                index: *index,
                sponsored: sponsored_contract,
                executed: called,
            });
        }
        let asset = output
            .as_asset()
            .ok_or(TxError::SponsorNotAsset { index: *index })?;
        let entry = taken_in.entry((*lock, asset.token)).or_insert((0, pool));
        entry.0 = entry
            .0
            .checked_add(asset.amount)
            .ok_or(TxError::AmountOverflow { token: asset.token })?;
    }
    let mut taken_per_token: BTreeMap<TokenId, Amount> = BTreeMap::new();
    for ((lock, token), (amount_in, pool)) in &taken_in {
        let returned: Amount = t
            .outputs
            .iter()
            .filter(|o| &o.lock == *lock)
            .filter_map(|o| o.as_asset())
            .filter(|a| a.token == *token)
            .fold(0, |acc: Amount, a| acc.saturating_add(a.amount));
        let taken = amount_in.saturating_sub(returned);
        if taken > pool.max_fee_per_tx {
            return Err(TxError::SponsorOverCap {
                token: *token,
                taken,
                cap: pool.max_fee_per_tx,
            });
        }
        add(&mut taken_per_token, *token, taken)?;
    }
    for (token, taken) in taken_per_token {
        let fee = fees.get(&token).copied().unwrap_or(0);
        if taken > fee {
            return Err(TxError::SponsorFundsDiverted { token, taken, fee });
        }
    }
    Ok(())
}
