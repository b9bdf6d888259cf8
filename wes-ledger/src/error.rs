//! Errors. Each rule has its own variant carrying the evidence: which input or output, which
//! token, expected against got, in the manner of Cardano's ledger predicate failures.

use std::collections::BTreeMap;

use wes_core::{
    Amount, BlockHash, BodyError, ChainId, CodecError, ContractId, Hash, LockError, LockTime,
    OutPoint, ProofError, PublicKey, SignatureError, TokenId, TxId, ValidityWindow,
};
use wes_core::{Blame, Fault};

/// Why a transaction is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// Unknown transaction format version.
    #[error("transaction version {got} is not supported (expected {expected})")]
    WrongVersion {
        /// Supported.
        expected: u16,
        /// Given.
        got: u16,
    },
    /// Signed for another chain.
    #[error("transaction is for chain {got}, this chain is {expected}")]
    WrongChain {
        /// This chain.
        expected: ChainId,
        /// The transaction's.
        got: ChainId,
    },
    /// Encoded size over the limit.
    #[error("transaction of {size} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Too many inputs.
    #[error("{got} inputs, at most {max} allowed")]
    TooManyInputs {
        /// Inputs given.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// Too many outputs.
    #[error("{got} outputs, at most {max} allowed")]
    TooManyOutputs {
        /// Outputs given.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// A transaction other than a coinbase must spend at least one output (which also makes
    /// its id unique).
    #[error("transaction spends no output")]
    NoSpentInput,
    /// The same outpoint is used twice.
    #[error("input {second} uses {outpoint} again (first at input {first})")]
    DuplicateInput {
        /// The outpoint.
        outpoint: OutPoint,
        /// First use.
        first: usize,
        /// Second use.
        second: usize,
    },
    /// An outpoint is both spent and referenced.
    #[error("{outpoint} is both spent and referenced")]
    SpendAndReference {
        /// The outpoint.
        outpoint: OutPoint,
    },
    /// Included outside its validity window.
    #[error("transaction valid for heights {window:?}, block height is {height}")]
    OutsideValidityWindow {
        /// Its window.
        window: ValidityWindow,
        /// The block height.
        height: u64,
    },
    /// An input's outpoint does not exist or is spent.
    #[error("input {index}: {outpoint} does not exist or is already spent")]
    MissingInput {
        /// Input index.
        index: usize,
        /// The outpoint.
        outpoint: OutPoint,
    },
    /// An output's lock can never be satisfied.
    #[error("output {index}: {source}")]
    InvalidLock {
        /// Output index.
        index: usize,
        /// What is wrong.
        source: LockError,
    },
    /// An asset output of zero.
    #[error("output {index} holds zero {token}")]
    ZeroAmount {
        /// Output index.
        index: usize,
        /// The token.
        token: TokenId,
    },
    /// A field of an output is over its limit.
    #[error("output {index}: {field} is {got} bytes, at most {max} allowed")]
    OutputFieldTooLong {
        /// Output index.
        index: usize,
        /// Which field.
        field: &'static str,
        /// Its length.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// A witness signature does not verify.
    #[error("witness signature {index}: {source}")]
    BadSignature {
        /// Signature index in the witness.
        index: usize,
        /// Why.
        source: SignatureError,
    },
    /// The same key signed twice.
    #[error("key {key} signs twice")]
    DuplicateSigner {
        /// The key.
        key: PublicKey,
    },
    /// A signature by a key no spent input asks for.
    #[error("signature by {key}, which no spent input requires")]
    UnneededSignature {
        /// The key.
        key: PublicKey,
    },
    /// A key-locked input lacks its signature.
    #[error("input {index} needs a signature by {key}")]
    MissingSignature {
        /// Input index.
        index: usize,
        /// The key.
        key: PublicKey,
    },
    /// An m-of-n input has too few signatures.
    #[error("input {index} needs {need} of its keys to sign, {got} did")]
    ThresholdNotMet {
        /// Input index.
        index: usize,
        /// m.
        need: u16,
        /// Valid signatures by listed keys.
        got: usize,
    },
    /// A time-locked input spent too early.
    #[error(
        "input {index} is locked until {until:?}; block is at height {height}, time {time_ms} ms"
    )]
    TimeLocked {
        /// Input index.
        index: usize,
        /// The lock.
        until: LockTime,
        /// Block height.
        height: u64,
        /// Block time.
        time_ms: u64,
    },
    /// An input owned by a contract spent without executing that contract.
    #[error(
        "input {index} is owned by contract {contract}, which this transaction does not execute (executes {executed:?})"
    )]
    ContractNotExecuted {
        /// Input index.
        index: usize,
        /// The owning contract.
        contract: ContractId,
        /// The contract executed, if any.
        executed: Option<ContractId>,
    },
    /// Sponsor-pool funds used by a transaction that executes nothing.
    #[error("input {index} takes from a sponsor pool, but the transaction executes no contract")]
    SponsorWithoutExecution {
        /// Input index.
        index: usize,
    },
    /// Sponsor-pool funds used for a contract the pool does not sponsor.
    #[error(
        "input {index} takes from a pool that sponsors {sponsored}, but the transaction executes {executed}"
    )]
    SponsorWrongContract {
        /// Input index.
        index: usize,
        /// The sponsored contract.
        sponsored: ContractId,
        /// The contract executed.
        executed: ContractId,
    },
    /// A sponsor-pool output that holds no asset.
    #[error("input {index} is a sponsor pool that holds no asset")]
    SponsorNotAsset {
        /// Input index.
        index: usize,
    },
    /// More taken from a pool than its per-transaction cap.
    #[error("takes {taken} {token} from a sponsor pool whose cap is {cap} per transaction")]
    SponsorOverCap {
        /// The token.
        token: TokenId,
        /// Taken (pool inputs minus change returned to the pool).
        taken: Amount,
        /// The pool's cap.
        cap: Amount,
    },
    /// Pool funds paid to something other than the fee.
    #[error(
        "takes {taken} {token} from sponsor pools but pays only {fee} in fees: pool funds may pay fees only"
    )]
    SponsorFundsDiverted {
        /// The token.
        token: TokenId,
        /// Taken from pools.
        taken: Amount,
        /// The transaction's fee in that token.
        fee: Amount,
    },
    /// Outputs exceed inputs in a token nobody may mint here.
    #[error(
        "{token}: outputs {outputs} exceed inputs {inputs}, and the transaction may not mint it"
    )]
    UnauthorizedMint {
        /// The token.
        token: TokenId,
        /// Spent inputs.
        inputs: Amount,
        /// Outputs.
        outputs: Amount,
    },
    /// A sum of amounts overflows.
    #[error("{token}: amounts overflow")]
    AmountOverflow {
        /// The token.
        token: TokenId,
    },
    /// State of a contract created or replaced without executing that contract.
    #[error(
        "{place} touches state of contract {contract}, which this transaction does not execute (executes {executed:?})"
    )]
    StateNotExecuted {
        /// `output N` or `input N`.
        place: String,
        /// The state's contract.
        contract: ContractId,
        /// The contract executed, if any.
        executed: Option<ContractId>,
    },
    /// A State output whose (contract, key) is already live.
    #[error("output {index} creates state key {key} of contract {contract}, which is already live")]
    DuplicateStateKey {
        /// Output index.
        index: usize,
        /// The contract.
        contract: ContractId,
        /// The key, hex.
        key: String,
    },
    /// A fee surplus in a token the chain does not accept.
    #[error("{amount} {token} left over as fee, but {token} is not accepted for fees")]
    FeeTokenNotAccepted {
        /// The token.
        token: TokenId,
        /// The surplus.
        amount: Amount,
    },
    /// The fee is below the minimum in every accepted token.
    #[error("fee too low: paid {paid:?}, required one of {required:?}")]
    FeeTooLow {
        /// Fees paid per token.
        paid: BTreeMap<TokenId, Amount>,
        /// The minimum per accepted token.
        required: BTreeMap<TokenId, Amount>,
    },
    /// Compute units used exceed the limit the caller set.
    #[error("execution used {used} compute units, above its limit {limit}")]
    CuOverLimit {
        /// Used.
        used: u64,
        /// Limit.
        limit: u64,
    },
    /// The execution uses more compute units than the chain allows one transaction
    /// ([`Limits::max_tx_cu`](crate::Limits::max_tx_cu)).
    #[error("execution used {used} compute units; the chain allows {max} per transaction")]
    ComputeOverChainLimit {
        /// Used.
        used: u64,
        /// The chain's limit.
        max: u64,
    },
    /// The execution's callee list repeats a contract, lists the called contract itself, or
    /// is longer than [`wes_core::Execution::MAX_CALLEES`].
    #[error("execution callee list is malformed: {reason}")]
    BadCallees {
        /// What is wrong.
        reason: String,
    },
    /// A proof in the witness of a transaction that executes nothing.
    #[error("witness carries a proof but the transaction has no execution")]
    UnexpectedProof,
    /// The execution proof does not verify.
    #[error("execution proof: {0}")]
    Proof(ProofError),
    /// Reading the state failed (a local problem, not the transaction's).
    #[error("store: {0}")]
    Store(StoreError),
}

impl Blame for TxError {
    fn fault(&self) -> Fault {
        match self {
            TxError::Proof(e) => e.fault(),
            TxError::Store(e) => e.fault(),
            _ => Fault::Input,
        }
    }

    /// The rules of a transaction's form and of its signatures, which need no state, and
    /// proofs that cannot be read or name a proof system the chain does not have (the
    /// chain's proof systems are part of its rules). A proof rejected after reading may
    /// depend on the block it is checked for (the time a replay saw), so it is not counted.
    fn invalid_everywhere(&self) -> bool {
        matches!(
            self,
            TxError::Proof(
                ProofError::Malformed { .. }
                    | ProofError::UnknownSystem(_)
                    | ProofError::NoExecution(_)
            )
        ) || matches!(
            self,
            TxError::WrongVersion { .. }
                | TxError::WrongChain { .. }
                | TxError::TooLarge { .. }
                | TxError::TooManyInputs { .. }
                | TxError::TooManyOutputs { .. }
                | TxError::NoSpentInput
                | TxError::DuplicateInput { .. }
                | TxError::SpendAndReference { .. }
                | TxError::InvalidLock { .. }
                | TxError::ZeroAmount { .. }
                | TxError::OutputFieldTooLong { .. }
                | TxError::CuOverLimit { .. }
                | TxError::ComputeOverChainLimit { .. }
                | TxError::BadCallees { .. }
                | TxError::UnexpectedProof
                | TxError::BadSignature { .. }
                | TxError::DuplicateSigner { .. }
        )
    }

    fn rule(&self) -> Option<&'static str> {
        Some(match self {
            TxError::WrongVersion { .. } => "wrong_version",
            TxError::WrongChain { .. } => "wrong_chain",
            TxError::TooLarge { .. } => "too_large",
            TxError::TooManyInputs { .. } => "too_many_inputs",
            TxError::TooManyOutputs { .. } => "too_many_outputs",
            TxError::NoSpentInput => "no_spent_input",
            TxError::DuplicateInput { .. } => "duplicate_input",
            TxError::SpendAndReference { .. } => "spend_and_reference",
            TxError::OutsideValidityWindow { .. } => "outside_validity_window",
            TxError::MissingInput { .. } => "missing_input",
            TxError::InvalidLock { .. } => "invalid_lock",
            TxError::ZeroAmount { .. } => "zero_amount",
            TxError::OutputFieldTooLong { .. } => "output_field_too_long",
            TxError::BadSignature { .. } => "bad_signature",
            TxError::DuplicateSigner { .. } => "duplicate_signer",
            TxError::UnneededSignature { .. } => "unneeded_signature",
            TxError::MissingSignature { .. } => "missing_signature",
            TxError::ThresholdNotMet { .. } => "threshold_not_met",
            TxError::TimeLocked { .. } => "time_locked",
            TxError::ContractNotExecuted { .. } => "contract_not_executed",
            TxError::SponsorWithoutExecution { .. } => "sponsor_without_execution",
            TxError::SponsorWrongContract { .. } => "sponsor_wrong_contract",
            TxError::SponsorNotAsset { .. } => "sponsor_not_asset",
            TxError::SponsorOverCap { .. } => "sponsor_over_cap",
            TxError::SponsorFundsDiverted { .. } => "sponsor_funds_diverted",
            TxError::UnauthorizedMint { .. } => "unauthorized_mint",
            TxError::AmountOverflow { .. } => "amount_overflow",
            TxError::StateNotExecuted { .. } => "state_not_executed",
            TxError::DuplicateStateKey { .. } => "duplicate_state_key",
            TxError::FeeTokenNotAccepted { .. } => "fee_token_not_accepted",
            TxError::FeeTooLow { .. } => "fee_too_low",
            TxError::CuOverLimit { .. } => "cu_over_limit",
            TxError::ComputeOverChainLimit { .. } => "cu_over_chain_limit",
            TxError::BadCallees { .. } => "bad_callees",
            TxError::UnexpectedProof => "unexpected_proof",
            TxError::Proof(_) => "invalid_proof",
            TxError::Store(_) => return None,
        })
    }
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        TxError::Store(e)
    }
}

/// Why the coinbase is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoinbaseError {
    /// The block has no transaction at all.
    #[error("block has no coinbase")]
    Missing,
    /// The coinbase has inputs, an execution, a witness, or a wrong validity window.
    #[error("coinbase is malformed: {0}")]
    Malformed(&'static str),
    /// A coinbase output that is not an asset, or holds zero.
    #[error("coinbase output {index} is not a non-zero asset")]
    NotAnAsset {
        /// Output index.
        index: usize,
    },
    /// Claimed amount differs from the block's fees in a token.
    #[error("coinbase claims {claimed} {token}, the block's fees are {fees}")]
    WrongAmount {
        /// The token.
        token: TokenId,
        /// Fees collected by the block.
        fees: Amount,
        /// What the coinbase claims.
        claimed: Amount,
    },
}

/// Why a block is invalid or cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// Its parent is not the tip.
    #[error("block's parent is {got}, the tip is {expected}")]
    NotOnTip {
        /// The tip.
        expected: BlockHash,
        /// The block's parent.
        got: BlockHash,
    },
    /// Its height is not tip + 1.
    #[error("block height {got}, expected {expected}")]
    WrongHeight {
        /// Tip height + 1.
        expected: u64,
        /// The block's.
        got: u64,
    },
    /// For another chain.
    #[error("block is for chain {got}, this chain is {expected}")]
    WrongChain {
        /// This chain.
        expected: ChainId,
        /// The block's.
        got: ChainId,
    },
    /// Header roots do not match the body.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// Too many transactions.
    #[error("{got} transactions, at most {max}")]
    TooManyTransactions {
        /// Count.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// Encoded size over the limit.
    #[error("block of {size} bytes exceeds {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Its transactions use more compute units than a block may.
    #[error("block uses {used} compute units, at most {max}")]
    TooMuchCompute {
        /// Compute units its transactions use.
        used: u64,
        /// The limit.
        max: u64,
    },
    /// The coinbase is wrong.
    #[error("coinbase: {0}")]
    Coinbase(#[from] CoinbaseError),
    /// A transaction is invalid.
    #[error("transaction {index} ({txid}): {source}")]
    Transaction {
        /// Position in the block.
        index: usize,
        /// Its id.
        txid: TxId,
        /// Why.
        source: Box<TxError>,
    },
    /// The header's state root differs from the state the block produces.
    #[error("state root mismatch: header has {expected}, applying the block gives {got}")]
    StateRootMismatch {
        /// In the header.
        expected: Hash,
        /// Computed.
        got: Hash,
    },
}

impl Blame for BlockError {
    fn fault(&self) -> Fault {
        match self {
            BlockError::Transaction { source, .. } => source.fault(),
            BlockError::NotOnTip { .. } | BlockError::WrongHeight { .. } => Fault::Unavailable,
            _ => Fault::Input,
        }
    }

    fn rule(&self) -> Option<&'static str> {
        Some(match self {
            BlockError::Transaction { source, .. } => return source.rule(),
            BlockError::NotOnTip { .. } => "not_on_tip",
            BlockError::WrongHeight { .. } => "wrong_height",
            BlockError::WrongChain { .. } => "wrong_chain",
            BlockError::Body(_) => "bad_body",
            BlockError::TooManyTransactions { .. } => "too_many_transactions",
            BlockError::TooLarge { .. } => "block_too_large",
            BlockError::TooMuchCompute { .. } => "too_much_compute",
            BlockError::Coinbase(_) => "bad_coinbase",
            BlockError::StateRootMismatch { .. } => "state_root_mismatch",
        })
    }
}

/// A failure of the storage backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend reported an error.
    #[error("storage backend: {0}")]
    Backend(String),
    /// Stored bytes do not decode: the store is corrupt.
    #[error("corrupt record under key {key}: {source}")]
    Corrupt {
        /// The key, hex.
        key: String,
        /// The decode error.
        source: CodecError,
    },
    /// A record that must exist is missing: the store is inconsistent.
    #[error("missing record: {0}")]
    Missing(String),
    /// An earlier write failed; the ledger refuses further work until reopened.
    #[error("an earlier write failed; reopen the ledger")]
    Poisoned,
    /// The file system holding the store has too little space left: the write was refused
    /// before any of it was made, so the store stays usable and the write can be retried
    /// once space is freed.
    #[error(
        "disk full: {available} bytes free under {path}, {needed} needed (the write and the reserve kept free); nothing was written"
    )]
    DiskFull {
        /// The store's directory.
        path: String,
        /// Bytes free for the store's user.
        available: u64,
        /// Bytes the write needed free: its size plus the store's reserve.
        needed: u64,
    },
}

impl Blame for StoreError {
    fn fault(&self) -> Fault {
        Fault::Local
    }

    fn rule(&self) -> Option<&'static str> {
        match self {
            StoreError::DiskFull { .. } => Some("disk_full"),
            _ => None,
        }
    }
}

/// The error of [`EutxoLedger`](crate::EutxoLedger) operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// A block is invalid.
    #[error("block {hash}: {source}")]
    Block {
        /// The block.
        hash: BlockHash,
        /// Why.
        source: Box<BlockError>,
    },
    /// A transaction is invalid.
    #[error("transaction {txid}: {source}")]
    Transaction {
        /// The transaction.
        txid: TxId,
        /// Why.
        source: Box<TxError>,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A block that is not stored.
    #[error("unknown block {0}")]
    UnknownBlock(BlockHash),
    /// A fork point that is not on the applied chain.
    #[error("block {0} is not on the applied chain")]
    NotOnChain(BlockHash),
    /// Genesis cannot be reverted.
    #[error("cannot revert the genesis block")]
    RevertGenesis,
    /// A reorganisation failed, and putting the old chain back failed too (a store that
    /// stopped writing): the ledger's tip is `tip`, wherever it stopped between the two
    /// branches, and [`Ledger::tip`](wes_core::Ledger::tip) says so.
    #[error(
        "reorganisation failed ({error}); restoring the old chain failed too ({restore}); the tip is {tip}"
    )]
    ReorgUnrestored {
        /// Why the reorganisation failed.
        error: Box<LedgerError>,
        /// Why the old chain could not be restored.
        restore: Box<LedgerError>,
        /// Where the ledger stopped.
        tip: BlockHash,
    },
    /// The store holds another chain.
    #[error("store holds genesis {stored}, configured genesis is {configured}")]
    GenesisMismatch {
        /// In the store.
        stored: BlockHash,
        /// Configured.
        configured: BlockHash,
    },
}

impl LedgerError {
    /// The transaction rule that failed, if this is a transaction error (also inside a
    /// block error).
    pub fn tx_error(&self) -> Option<&TxError> {
        match self {
            LedgerError::Transaction { source, .. } => Some(source),
            LedgerError::Block { source, .. } => source.tx_error(),
            _ => None,
        }
    }

    /// The block rule that failed, if this is a block error.
    pub fn block_error(&self) -> Option<&BlockError> {
        match self {
            LedgerError::Block { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl BlockError {
    /// The transaction rule that failed, if a transaction made the block invalid.
    pub fn tx_error(&self) -> Option<&TxError> {
        match self {
            BlockError::Transaction { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl Blame for LedgerError {
    fn fault(&self) -> Fault {
        match self {
            LedgerError::Block { source, .. } => source.fault(),
            LedgerError::Transaction { source, .. } => source.fault(),
            LedgerError::UnknownBlock(_) => Fault::Unavailable,
            LedgerError::NotOnChain(_) => Fault::Input,
            LedgerError::Store(_)
            | LedgerError::ReorgUnrestored { .. }
            | LedgerError::RevertGenesis
            | LedgerError::GenesisMismatch { .. } => Fault::Local,
        }
    }

    fn invalid_everywhere(&self) -> bool {
        matches!(self, LedgerError::Transaction { source, .. } if source.invalid_everywhere())
    }

    fn rule(&self) -> Option<&'static str> {
        match self {
            LedgerError::Block { source, .. } => source.rule(),
            LedgerError::Transaction { source, .. } => source.rule(),
            LedgerError::UnknownBlock(_) => Some("unknown_block"),
            LedgerError::NotOnChain(_) => Some("not_on_chain"),
            LedgerError::Store(e) => e.rule(),
            _ => None,
        }
    }
}
