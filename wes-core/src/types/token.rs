//! Tokens and amounts.

use serde::{Deserialize, Serialize};

use crate::hash::{ContractId, Hash};

/// A quantity of one token. `u128` leaves room for 18-decimal tokens with large supplies.
pub type Amount = u128;

/// Which token an [`Asset`](crate::Asset) holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TokenId {
    /// The chain's native token. Its whole supply is created at genesis.
    Native,
    /// A token issued by a contract: only a proven execution of `contract` may mint it.
    /// `tag` tells apart the contract's tokens (fungible classes, or one per NFT).
    Issued {
        /// The issuing contract.
        contract: ContractId,
        /// The token within the contract.
        tag: Hash,
    },
}

impl TokenId {
    /// The contract allowed to mint this token, if any.
    pub fn issuer(&self) -> Option<&ContractId> {
        match self {
            TokenId::Native => None,
            TokenId::Issued { contract, .. } => Some(contract),
        }
    }
}

impl core::fmt::Display for TokenId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TokenId::Native => write!(f, "native"),
            TokenId::Issued { contract, tag } => write!(f, "{contract}/{tag}"),
        }
    }
}
