//! Execution traces: the host calls a computation made, and what they returned.

use serde::{Deserialize, Serialize};

use crate::hash::{Domain, Hash, hash_encoded};
use crate::merkle::merkle_root;

/// One host call of an execution, with its recorded result. Replaying an execution feeds the
/// recorded `output` back instead of calling the host again, so external effects happen once.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TraceEntry {
    /// The host function called (its HostABI name).
    pub call: String,
    /// The encoded arguments.
    #[serde(with = "serde_bytes")]
    pub input: Vec<u8>,
    /// The encoded result.
    #[serde(with = "serde_bytes")]
    pub output: Vec<u8>,
    /// Compute units charged for the call.
    pub cu: u64,
}

impl TraceEntry {
    /// The leaf hash of this entry in the trace root.
    pub fn leaf(&self) -> Hash {
        hash_encoded(Domain::TRACE_ENTRY, self)
    }
}

/// The root an [`Execution`](crate::Execution) commits to: a Merkle root over entry hashes.
pub fn trace_root(entries: &[TraceEntry]) -> Hash {
    let leaves: Vec<Hash> = entries.iter().map(TraceEntry::leaf).collect();
    merkle_root(&leaves)
}
