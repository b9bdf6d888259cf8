//! External connectors: how a contract reaches the world outside the chain (an HTTP service, a
//! database, a payment gateway) so that the call happens **once**.
//!
//! The node that executes a call asks the connector through `external_call`; the answer is
//! recorded in the trace as a [`ConnectorReceipt`] (signed by the connector's key when the node
//! has one for it) and verifiers replay it instead of calling again. The side effect follows
//! the chain in phases: the call *prepares* it; the connector is told to
//! [`commit`](Connector::commit) once the transaction is deep enough in the best chain, to
//! [`abort`](Connector::abort) when the execution fails, construction gives up, or the
//! transaction can no longer be included, and to [`compensate`](Connector::compensate) a
//! committed effect whose transaction a reorganisation removed. Who decides is a
//! [`SettlementJournal`] (the node's is `wes_node::settlement::Settlement`, durable); it is
//! told of every prepare *before* the request leaves.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};

use serde::{Deserialize, Serialize};
use wes_core::{
    ContractId, Domain, Hash, PublicKey, SecretKey, Signature, TraceEntry, codec, hash,
};

/// Longest connector name, in bytes.
pub const MAX_CONNECTOR_NAME: usize = 64;
/// Longest request or response of one external call, in bytes.
pub const MAX_EXTERNAL_PAYLOAD: usize = 64 * 1024;
/// Most external calls one execution may make.
pub const MAX_EXTERNAL_CALLS: usize = 8;

const OP_DOMAIN: Domain = Domain::new("wes-ispc/external-op");
const RECEIPT_DOMAIN: Domain = Domain::new("wes-ispc/connector-receipt");

/// The id of the `index`-th external call (counted over the whole execution) of the call with
/// id `call_id`: unique per transaction, known to executor and verifiers alike.
pub fn external_op_id(call_id: &Hash, index: u32) -> Hash {
    hash(OP_DOMAIN, codec::encode(&(call_id, index)))
}

/// One external call, as the connector sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalOp {
    /// Unique id: the key of the later commit or abort.
    pub id: Hash,
    /// The contract asking.
    pub contract: ContractId,
    /// The request bytes, as the contract wrote them.
    pub request: Vec<u8>,
}

/// What the trace records of an external call. A receipt without a signer is the executing
/// node's word; with one, a verifier checks the signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorReceipt {
    /// The operation id ([`external_op_id`]).
    pub op: Hash,
    /// The connector's answer.
    #[serde(with = "serde_bytes")]
    pub response: Vec<u8>,
    /// The key that signed the receipt, if the node holds one for this connector.
    pub signer: Option<PublicKey>,
    /// Its signature over [`ConnectorReceipt::message`].
    pub signature: Option<Signature>,
}

impl ConnectorReceipt {
    /// The signed message: connector name, op id, request and response.
    pub fn message(connector: &str, op: &Hash, request: &[u8], response: &[u8]) -> Hash {
        hash(
            RECEIPT_DOMAIN,
            codec::encode(&(connector, op, request, response)),
        )
    }

    /// Whether the signature is present, by `key`, and valid.
    pub fn signed_by(&self, key: &PublicKey, connector: &str, request: &[u8]) -> bool {
        match (&self.signer, &self.signature) {
            (Some(signer), Some(signature)) if signer == key => wes_core::verify(
                key,
                Self::message(connector, &self.op, request, &self.response).as_bytes(),
                signature,
            )
            .is_ok(),
            _ => false,
        }
    }
}

/// Why a connector failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConnectorError(pub String);

/// A bridge to one outside system.
///
/// Contract, with the op id as the idempotency key of every request:
/// - [`prepare`](Connector::prepare) performs the request *tentatively* (reserve, hold,
///   stage) and answers; preparing an id again answers as the first time did and acts no
///   more;
/// - [`commit`](Connector::commit) makes op `id` final;
/// - [`abort`](Connector::abort) undoes a prepared (or compensated) op for good;
/// - [`compensate`](Connector::compensate) undoes a *committed* op whose transaction left
///   the best chain; a later `commit` of the same id applies it again (the transaction came
///   back).
///
/// Each must be idempotent and must accept an id it does not know (a restart may forget
/// nothing on the chain's side, but can on the connector's). The settlement retries failed
/// calls, so "already done" is an answer of success, not an error.
pub trait Connector: Send + Sync {
    /// Performs `op` tentatively and returns the response.
    fn prepare(&self, op: &ExternalOp) -> Result<Vec<u8>, ConnectorError>;

    /// The transaction carrying op `id` is final enough: make the effect final.
    fn commit(&self, id: &Hash) -> Result<(), ConnectorError>;

    /// The execution failed or its transaction can no longer be included: undo op `id`.
    fn abort(&self, id: &Hash) -> Result<(), ConnectorError>;

    /// The transaction carrying committed op `id` left the best chain: reverse the effect.
    fn compensate(&self, id: &Hash) -> Result<(), ConnectorError>;
}

/// What the chain tells a connector about one prepared op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// Make it final ([`Connector::commit`]).
    Commit,
    /// Undo it for good ([`Connector::abort`]).
    Abort,
    /// Reverse a committed effect ([`Connector::compensate`]).
    Compensate,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Commit => "commit",
            Outcome::Abort => "abort",
            Outcome::Compensate => "compensate",
        })
    }
}

/// Told of every external call before it leaves and of calls given up, so that no
/// prepared effect is ever forgotten, whatever crashes (the node's settlement).
pub trait SettlementJournal: Send + Sync {
    /// Op `op` is about to be prepared with connector `connector`: record it durably. An
    /// error stops the call before anything leaves.
    fn preparing(&self, connector: &str, op: &ExternalOp) -> Result<(), ConnectorError>;

    /// These ops will never be part of a transaction (the execution or the construction
    /// failed, or the prepare itself did): they are to be aborted.
    fn abandoned(&self, ops: &[PendingExternal]);
}

/// An external call a constructed transaction left pending.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PendingExternal {
    /// The connector's name.
    pub connector: String,
    /// The op id.
    pub op: Hash,
}

/// The external calls of a trace, in order (decoded from the `external_call` entries).
pub fn external_calls(trace: &[TraceEntry]) -> Vec<PendingExternal> {
    trace
        .iter()
        .filter(|e| e.call == "external_call")
        .filter_map(|e| {
            let (name, _): (String, Vec<u8>) = codec::decode(&e.input).ok()?;
            let receipt: ConnectorReceipt = codec::decode(&e.output).ok()?;
            Some(PendingExternal {
                connector: name,
                op: receipt.op,
            })
        })
        .collect()
}

struct Registered {
    connector: Arc<dyn Connector>,
    #[cfg_attr(not(feature = "wasm"), allow(dead_code))]
    key: Option<SecretKey>,
}

/// The connectors a node has, to execute calls, with the keys their receipts are signed with.
///
/// Verification never depends on this registry: a replay checks a receipt's signature against
/// the signer the receipt names, the same on every node. That signer is chosen by the node
/// that built the transaction, so on chain a connector's answer is that node's word; an
/// application that needs authenticated outside data checks [`ConnectorReceipt::signed_by`]
/// against the service's key itself.
#[derive(Default)]
pub struct Connectors {
    registered: RwLock<HashMap<String, Registered>>,
    journal: RwLock<Option<Weak<dyn SettlementJournal>>>,
}

impl std::fmt::Debug for Connectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .registered
            .read()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        let journal = self.journal().is_some();
        f.debug_struct("Connectors")
            .field("registered", &names)
            .field("journal", &journal)
            .finish_non_exhaustive()
    }
}

impl Connectors {
    /// Registers `connector` under `name`; receipts are signed with `key` when given.
    pub fn register(&self, name: &str, connector: Arc<dyn Connector>, key: Option<SecretKey>) {
        if let Ok(mut r) = self.registered.write() {
            r.insert(name.to_owned(), Registered { connector, key });
        }
    }

    /// Journals every prepare before it leaves, and hands over ops given up, to `journal`
    /// (without one, given-up ops are aborted at once, best effort, and nothing survives a
    /// crash). The registry holds it weakly (the journal settles through the registry):
    /// once it is dropped, the registry works as if it had none.
    pub fn set_journal(&self, journal: &Arc<dyn SettlementJournal>) {
        if let Ok(mut j) = self.journal.write() {
            *j = Some(Arc::downgrade(journal));
        }
    }

    fn journal(&self) -> Option<Arc<dyn SettlementJournal>> {
        self.journal.read().ok()?.as_ref()?.upgrade()
    }

    /// Ops that will never be part of a transaction: the journal aborts them (retrying),
    /// or, without a journal, each connector is told to abort now.
    pub fn abandon(&self, ops: &[PendingExternal]) {
        if ops.is_empty() {
            return;
        }
        match self.journal() {
            Some(journal) => journal.abandoned(ops),
            None => {
                for op in ops {
                    if let Err(e) = self.settle(op, Outcome::Abort) {
                        tracing::warn!(
                            connector = %op.connector,
                            op = %op.op,
                            "connector did not hear abort (no journal to retry): {e}"
                        );
                    }
                }
            }
        }
    }

    /// Prepares `op` with connector `name` and builds its receipt.
    #[cfg_attr(not(feature = "wasm"), allow(dead_code))]
    pub(crate) fn prepare(
        &self,
        name: &str,
        op: &ExternalOp,
    ) -> Result<ConnectorReceipt, crate::WasmError> {
        let (connector, key) = {
            let r = self
                .registered
                .read()
                .map_err(|_| crate::WasmError::Engine("connector registry poisoned".into()))?;
            let reg = r
                .get(name)
                .ok_or_else(|| crate::WasmError::UnknownConnector(name.to_owned()))?;
            (reg.connector.clone(), reg.key.clone())
        };
        if let Some(journal) = self.journal() {
            journal
                .preparing(name, op)
                .map_err(|e| crate::WasmError::Connector {
                    connector: name.to_owned(),
                    reason: format!("journaling the prepare: {e}"),
                })?;
        }
        let pending = [PendingExternal {
            connector: name.to_owned(),
            op: op.id,
        }];
        let response = match connector.prepare(op) {
            Ok(response) => response,
            Err(e) => {
                // It may have acted before failing (a timeout): it hears abort.
                self.abandon(&pending);
                return Err(crate::WasmError::Connector {
                    connector: name.to_owned(),
                    reason: e.0,
                });
            }
        };
        if response.len() > MAX_EXTERNAL_PAYLOAD {
            // The connector acted; tell it to undo before refusing the answer.
            self.abandon(&pending);
            return Err(crate::WasmError::Connector {
                connector: name.to_owned(),
                reason: format!(
                    "response of {} bytes, at most {MAX_EXTERNAL_PAYLOAD}",
                    response.len()
                ),
            });
        }
        let (signer, signature) = match key {
            Some(k) => {
                let msg = ConnectorReceipt::message(name, &op.id, &op.request, &response);
                (Some(k.public_key()), Some(k.sign(msg.as_bytes())))
            }
            None => (None, None),
        };
        Ok(ConnectorReceipt {
            op: op.id,
            response,
            signer,
            signature,
        })
    }

    fn get(&self, name: &str) -> Option<Arc<dyn Connector>> {
        Some(self.registered.read().ok()?.get(name)?.connector.clone())
    }

    /// Tells op `op`'s connector the outcome; an unregistered connector is an error.
    pub fn settle(&self, op: &PendingExternal, outcome: Outcome) -> Result<(), ConnectorError> {
        let connector = self.get(&op.connector).ok_or_else(|| {
            ConnectorError(format!("connector {:?} is not registered", op.connector))
        })?;
        match outcome {
            Outcome::Commit => connector.commit(&op.op),
            Outcome::Abort => connector.abort(&op.op),
            Outcome::Compensate => connector.compensate(&op.op),
        }
    }
}
