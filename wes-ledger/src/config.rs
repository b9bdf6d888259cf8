//! What a chain configures about its ledger: which tokens pay fees and how much, and limits.

use std::collections::BTreeMap;

use wes_core::{Amount, ChainId, TokenId};

/// The minimum fee in one token: `per_byte × size + per_cu × compute units used`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenFee {
    /// Fee per encoded byte of the transaction, witness included.
    pub per_byte: Amount,
    /// Fee per compute unit its execution used.
    pub per_cu: Amount,
}

impl TokenFee {
    /// The minimum fee for a transaction of `size` bytes that used `cu` compute units
    /// (saturating: an absurd requirement is unpayable, not wrapped around).
    pub fn required(&self, size: usize, cu: u64) -> Amount {
        self.per_byte
            .saturating_mul(size as Amount)
            .saturating_add(self.per_cu.saturating_mul(Amount::from(cu)))
    }
}

/// Which tokens a chain accepts as fees, and the minimum in each. A transaction pays its fee
/// in any accepted token (or several); it must reach the minimum in at least one of them. A
/// surplus of a token that is not accepted is rejected rather than silently given away, except
/// that a contract's execution may burn the tokens it issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeePolicy {
    accepted: BTreeMap<TokenId, TokenFee>,
}

impl FeePolicy {
    /// Fees in the native token only.
    pub fn native(fee: TokenFee) -> Self {
        FeePolicy::default().accept(TokenId::Native, fee)
    }

    /// No token accepted yet.
    pub fn empty() -> Self {
        FeePolicy {
            accepted: BTreeMap::new(),
        }
    }

    /// Also accepts `token` with the given minimum.
    pub fn accept(mut self, token: TokenId, fee: TokenFee) -> Self {
        self.accepted.insert(token, fee);
        self
    }

    /// The minimum for `token`, if accepted.
    pub fn get(&self, token: &TokenId) -> Option<&TokenFee> {
        self.accepted.get(token)
    }

    /// The accepted tokens and their minimums.
    pub fn accepted(&self) -> impl Iterator<Item = (&TokenId, &TokenFee)> {
        self.accepted.iter()
    }
}

impl Default for FeePolicy {
    /// Native token, 1 unit per byte and per compute unit.
    fn default() -> Self {
        FeePolicy::empty().accept(
            TokenId::Native,
            TokenFee {
                per_byte: 1,
                per_cu: 1,
            },
        )
    }
}

/// Size and count limits: chain parameters, the same on every node of a chain.
///
/// The block defaults are chosen by measurement (BENCHMARKS.md, two cores) so that a block
/// imports in a small fraction of a 2 s block time: 10,000 transfers import in ≈ 0.13 s
/// when the node admitted them before (signatures verified once) and ≈ 0.27 s when not;
/// 10 ⁹ compute units of metered WASM run in ≈ 60 ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest encoded transaction, witness included.
    pub max_tx_bytes: usize,
    /// Most inputs (spent and referenced) of one transaction.
    pub max_inputs: usize,
    /// Most outputs of one transaction.
    pub max_outputs: usize,
    /// Largest encoded block.
    pub max_block_bytes: usize,
    /// Most transactions in one block, coinbase included.
    pub max_block_txs: usize,
    /// Most compute units the executions of one block use together.
    pub max_block_cu: u64,
    /// Most compute units one transaction's execution may use: what a verifier replays for
    /// one transaction, whoever pays for it (a producer paying fees to itself included).
    pub max_tx_cu: u64,
    /// Longest State output key.
    pub max_state_key: usize,
    /// Longest State output value.
    pub max_state_data: usize,
    /// Longest resource name or MIME type.
    pub max_meta_text: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_tx_bytes: 1 << 20,
            max_inputs: 1024,
            max_outputs: 1024,
            max_block_bytes: 8 << 20,
            max_block_txs: 10_000,
            max_block_cu: 1_000_000_000,
            max_tx_cu: 100_000_000,
            max_state_key: 256,
            max_state_data: 64 << 10,
            max_meta_text: 256,
        }
    }
}

/// Everything the ledger rules depend on besides the state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerConfig {
    /// The chain.
    pub chain_id: ChainId,
    /// Fees.
    pub fees: FeePolicy,
    /// Limits.
    pub limits: Limits,
}

impl LedgerConfig {
    /// Defaults for `chain_id`.
    pub fn new(chain_id: ChainId) -> Self {
        LedgerConfig {
            chain_id,
            fees: FeePolicy::default(),
            limits: Limits::default(),
        }
    }
}
