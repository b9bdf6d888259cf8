//! Outputs: the three kinds of thing a transaction can create.

use serde::{Deserialize, Serialize};

use crate::hash::{ContentId, ContractId, Hash};
use crate::types::lock::Lock;
use crate::types::token::{Amount, TokenId};

/// An unspent output: who may spend it, and what it holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Output {
    /// Who may spend it.
    pub lock: Lock,
    /// What it holds.
    pub body: OutputBody,
}

/// What an output holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OutputBody {
    /// An amount of a token.
    Asset(Asset),
    /// The on-chain registration of content stored in URES.
    Resource(ResourceBody),
    /// A piece of contract state.
    State(StateBody),
}

/// An amount of one token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Asset {
    /// Which token.
    pub token: TokenId,
    /// How much.
    pub amount: Amount,
}

/// What kind of content a resource is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ResourceKind {
    /// A WebAssembly contract module.
    Wasm,
    /// An ONNX model.
    Onnx,
    /// Any other file.
    File,
    /// A kind defined by a chain, run by the executor the chain registers for it (a
    /// scripting language, a circuit format…). Numbers are the chain's to assign; the SDK
    /// uses none of them.
    Custom(u32),
}

/// Registration of content-addressed bytes held in URES.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceBody {
    /// The content id (see `wes-ures`).
    pub content: ContentId,
    /// What the content is.
    pub kind: ResourceKind,
    /// Its length in bytes.
    pub size: u64,
    /// Descriptive metadata.
    pub meta: ResourceMeta,
}

/// Descriptive metadata of a resource.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceMeta {
    /// A human-readable name.
    pub name: String,
    /// A MIME type, e.g. `application/wasm`.
    pub mime: String,
    /// For a model with a zero-knowledge circuit: the hash of the circuit's verifying key,
    /// binding proofs of inference to this model.
    pub verifying_key: Option<Hash>,
}

/// One entry of a contract's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StateBody {
    /// The contract the state belongs to; only its proven executions may create or replace it.
    pub contract: ContractId,
    /// The state key within the contract.
    #[serde(with = "serde_bytes")]
    pub key: Vec<u8>,
    /// The value.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    /// Incremented each time the entry is replaced.
    pub version: u64,
}

impl Output {
    /// An asset output.
    pub fn asset(lock: Lock, token: TokenId, amount: Amount) -> Self {
        Output {
            lock,
            body: OutputBody::Asset(Asset { token, amount }),
        }
    }

    /// The asset held, if this is an asset output.
    pub fn as_asset(&self) -> Option<&Asset> {
        match &self.body {
            OutputBody::Asset(a) => Some(a),
            _ => None,
        }
    }

    /// The resource registered, if this is a resource output.
    pub fn as_resource(&self) -> Option<&ResourceBody> {
        match &self.body {
            OutputBody::Resource(r) => Some(r),
            _ => None,
        }
    }

    /// The state held, if this is a state output.
    pub fn as_state(&self) -> Option<&StateBody> {
        match &self.body {
            OutputBody::State(s) => Some(s),
            _ => None,
        }
    }
}
