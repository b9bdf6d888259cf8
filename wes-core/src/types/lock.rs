//! Locks: who may spend an output.
//!
//! A [`Lock`] is at most two levels deep by construction (a lock holds a [`Guard`], a guard
//! holds no lock), so decoding a lock can never recurse without bound.

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::hash::ContractId;
use crate::keys::PublicKey;
use crate::types::token::Amount;

/// The most keys an m-of-n lock may list.
pub const MAX_MULTISIG_KEYS: usize = 32;

/// The condition that authorises spending.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Guard {
    /// A signature by this key over the transaction.
    Key(PublicKey),
    /// Signatures by at least `threshold` of `keys`.
    MultiSig(MultiSig),
    /// Only a proven execution of this contract may spend (the contract "owns" the output).
    Contract(ContractId),
}

/// An m-of-n signature requirement.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MultiSig {
    /// Signatures required (m).
    pub threshold: u16,
    /// Keys that may sign (n), distinct.
    pub keys: Vec<PublicKey>,
}

/// A point in chain time before which a time-locked output cannot be spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LockTime {
    /// Spendable in blocks at this height or later.
    Height(u64),
    /// Spendable in blocks whose time (milliseconds since the Unix epoch) is at least this.
    TimeMs(u64),
}

/// A pool of funds that pays the fees of other people's transactions.
///
/// The ledger lets a transaction spend a sponsor-pool output *without its owner's signature*
/// only to pay that transaction's fee, at most `max_fee_per_tx`, only if the transaction
/// executes `contract` (or any contract when `None`), and only if the rest returns to an
/// output with the same lock in the same transaction. The owner withdraws by satisfying
/// `owner`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SponsorPool {
    /// Who may withdraw or top up the pool freely.
    pub owner: Guard,
    /// The contract whose calls the pool sponsors; `None` sponsors any execution.
    pub contract: Option<ContractId>,
    /// The largest fee the pool pays for one transaction.
    pub max_fee_per_tx: Amount,
}

/// Who may spend an output.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lock {
    /// Spendable when the guard is satisfied.
    Guarded(Guard),
    /// Spendable when the guard is satisfied, in a block at or after `until`.
    TimeLocked {
        /// The earliest chain time the output may be spent.
        until: LockTime,
        /// The condition that applies from then on.
        guard: Guard,
    },
    /// A sponsor pool (see [`SponsorPool`]).
    SponsorPool(SponsorPool),
}

/// A lock that no valid transaction could satisfy, or that wastes space.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// m-of-n with m = 0 or m > n.
    #[error("multisig threshold {threshold} out of range for {keys} keys")]
    BadThreshold {
        /// m.
        threshold: u16,
        /// n.
        keys: usize,
    },
    /// More keys than [`MAX_MULTISIG_KEYS`].
    #[error("multisig lists {got} keys, at most {max} allowed")]
    TooManyKeys {
        /// Keys listed.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// The same key listed twice.
    #[error("multisig lists key {0} more than once")]
    DuplicateKey(PublicKey),
}

impl Guard {
    /// Checks the guard is satisfiable and within limits.
    pub fn validate(&self) -> Result<(), LockError> {
        match self {
            Guard::Key(_) | Guard::Contract(_) => Ok(()),
            Guard::MultiSig(m) => m.validate(),
        }
    }
}

impl MultiSig {
    /// An m-of-n requirement, checked with [`MultiSig::validate`].
    pub fn new(threshold: u16, keys: Vec<PublicKey>) -> Result<Self, LockError> {
        let m = MultiSig { threshold, keys };
        m.validate()?;
        Ok(m)
    }

    /// Checks `1 ≤ m ≤ n ≤ MAX_MULTISIG_KEYS` and that the keys are distinct.
    pub fn validate(&self) -> Result<(), LockError> {
        if self.keys.len() > MAX_MULTISIG_KEYS {
            return Err(LockError::TooManyKeys {
                got: self.keys.len(),
                max: MAX_MULTISIG_KEYS,
            });
        }
        if self.threshold == 0 || usize::from(self.threshold) > self.keys.len() {
            return Err(LockError::BadThreshold {
                threshold: self.threshold,
                keys: self.keys.len(),
            });
        }
        for (i, k) in self.keys.iter().enumerate() {
            if self.keys[..i].contains(k) {
                return Err(LockError::DuplicateKey(*k));
            }
        }
        Ok(())
    }
}

impl Lock {
    /// Spendable by one key.
    pub fn key(key: PublicKey) -> Self {
        Lock::Guarded(Guard::Key(key))
    }

    /// Spendable by `threshold` of `keys`.
    pub fn multisig(threshold: u16, keys: Vec<PublicKey>) -> Result<Self, LockError> {
        Ok(Lock::Guarded(Guard::MultiSig(MultiSig::new(
            threshold, keys,
        )?)))
    }

    /// Owned by a contract.
    pub fn contract(contract: ContractId) -> Self {
        Lock::Guarded(Guard::Contract(contract))
    }

    /// The guard that authorises spending (for a sponsor pool, its owner).
    pub fn guard(&self) -> &Guard {
        match self {
            Lock::Guarded(g) | Lock::TimeLocked { guard: g, .. } => g,
            Lock::SponsorPool(pool) => &pool.owner,
        }
    }

    /// Checks the lock is satisfiable and within limits.
    pub fn validate(&self) -> Result<(), LockError> {
        self.guard().validate()
    }

    /// The address of this lock.
    pub fn address(&self) -> Address {
        Address::of(self)
    }
}
