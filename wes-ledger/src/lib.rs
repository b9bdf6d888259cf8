//! # wes-ledger
//!
//! The EUTXO ledger of a WES chain: the validation rules, the UTXO set and block store on a
//! pluggable key-value backend (in memory, or sled on disk), atomic block application with
//! undo data for exact reverts and reorgs, an incremental state root, and a mempool.
//!
//! ```
//! use wes_core::{ChainId, CompactTarget, Genesis, Ledger, Lock, Output, SecretKey, TokenId,
//!     VerifierRegistry};
//! use wes_ledger::{EutxoLedger, LedgerConfig, MemoryStore};
//!
//! let alice = SecretKey::from_seed([1; 32]);
//! let genesis = Genesis {
//!     chain_id: ChainId(1),
//!     time_ms: 0,
//!     target: CompactTarget(0),
//!     allocations: vec![Output::asset(Lock::key(alice.public_key()), TokenId::Native, 1_000)],
//!     message: "doc".into(),
//! };
//! let ledger = EutxoLedger::open(
//!     MemoryStore::new(),
//!     LedgerConfig::new(ChainId(1)),
//!     &genesis,
//!     VerifierRegistry::new(),
//! )
//! .unwrap();
//! assert_eq!(ledger.tip().unwrap().height, 0);
//! ```
//!
//! The rules are documented in [`rules`](crate#rules); errors name the rule that failed and
//! carry its evidence ([`TxError`], [`BlockError`]).
//!
//! ## Rules
//!
//! Per transaction: version and chain id; size and count limits; at least one spent input;
//! no outpoint used twice, none both spent and referenced; well-formed outputs (satisfiable
//! locks, non-zero assets, bounded state and metadata); the validity window contains the
//! block height; every input exists unspent; every witness signature verifies and is needed;
//! each spent input's lock is satisfied (key, m-of-n, height/time lock, contract lock only by
//! executing that contract, sponsor pools by their rules); per token, outputs do not exceed
//! inputs unless the token's issuing contract is executed (minting); a surplus is a fee in an
//! accepted token (or a burn by the issuer's execution); the fee reaches the policy's minimum
//! in at least one accepted token; State of a contract is created or spent only by executing
//! that contract, and one (contract, key) has at most one live State output; the execution
//! proof verifies with the verifier registered for its proof system.
//!
//! Per block: chain id, parent is the tip, height + 1, size and count limits, header roots
//! match the body; the first transaction is a coinbase (no inputs, no execution, no witness,
//! validity exactly the height, only non-zero asset outputs) that claims *exactly* the block's
//! fees per token; transactions apply in order and may spend earlier outputs of the block; the
//! state root after the block equals the header's.

mod config;
#[cfg(feature = "testing")]
pub mod conformance;
mod connect;
mod error;
mod ledger;
pub mod mempool;
mod observer;
mod rules;
mod state_root;
pub mod store;
mod verdicts;
mod view;

pub use config::{FeePolicy, LedgerConfig, Limits, TokenFee};
pub use error::{BlockError, CoinbaseError, LedgerError, StoreError, TxError};
pub use ledger::EutxoLedger;
pub use mempool::{BlockBudget, Mempool, MempoolConfig, MempoolError};
pub use observer::{LedgerObserver, PinChanges, ResourcePins};
pub use state_root::{STATE_ROOT_DOMAIN, StateAccumulator, state_root_of};
pub use store::{Batch, KeyValues, KvStore, MemoryStore, SledStore};
pub use verdicts::{SIGNATURE_CACHE_ENTRIES, SignatureCache};
pub use view::ResourceProvider;
