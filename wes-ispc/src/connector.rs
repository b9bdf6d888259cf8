//! External connectors: how a contract reaches the world outside the chain (an HTTP service, a
//! database, a payment gateway) so that the call happens **once**.
//!
//! The node that executes a call asks the connector through `external_call`; the answer is
//! recorded in the trace as a [`ConnectorReceipt`] (signed by the connector's key when the node
//! has one for it) and verifiers replay it instead of calling again. The side effect follows
//! the chain in two phases: the call *prepares* it, and the connector is told to
//! [`commit`](Connector::commit) when the transaction is included, or to
//! [`abort`](Connector::abort) when the execution fails, construction gives up, or the
//! transaction is dropped (see [`ExternalSettlement`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use wes_core::{
    Block, ContractId, Domain, Hash, PublicKey, SecretKey, Signature, TraceEntry, TxId, codec, hash,
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
/// Contract: [`prepare`](Connector::prepare) performs the request *tentatively* (reserve,
/// hold, stage) and answers; [`commit`](Connector::commit) makes op `id` final and
/// [`abort`](Connector::abort) undoes it. Both must be idempotent, and a connector must accept
/// an abort or commit of an id it does not know (a restart may forget nothing on the chain's
/// side, but can on the connector's).
pub trait Connector: Send + Sync {
    /// Performs `op` tentatively and returns the response.
    fn prepare(&self, op: &ExternalOp) -> Result<Vec<u8>, ConnectorError>;

    /// The transaction carrying op `id` was included: make it final.
    fn commit(&self, id: &Hash) -> Result<(), ConnectorError>;

    /// The execution failed or its transaction was dropped: undo op `id`.
    fn abort(&self, id: &Hash) -> Result<(), ConnectorError>;
}

/// An external call a constructed transaction left pending.
#[derive(Clone, Debug, PartialEq, Eq)]
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
}

impl std::fmt::Debug for Connectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .registered
            .read()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("Connectors")
            .field("registered", &names)
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
        let response = connector
            .prepare(op)
            .map_err(|e| crate::WasmError::Connector {
                connector: name.to_owned(),
                reason: e.0,
            })?;
        if response.len() > MAX_EXTERNAL_PAYLOAD {
            // The connector acted; tell it to undo before refusing the answer.
            let _ = connector.abort(&op.id);
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

    /// Tells each op's connector to commit. Returns the failures (connector, op, error); an
    /// unknown connector is a failure too.
    pub fn commit(&self, ops: &[PendingExternal]) -> Vec<(PendingExternal, ConnectorError)> {
        self.settle(ops, true)
    }

    /// Tells each op's connector to abort. Returns the failures.
    pub fn abort(&self, ops: &[PendingExternal]) -> Vec<(PendingExternal, ConnectorError)> {
        self.settle(ops, false)
    }

    fn settle(
        &self,
        ops: &[PendingExternal],
        commit: bool,
    ) -> Vec<(PendingExternal, ConnectorError)> {
        let mut failures = Vec::new();
        for op in ops {
            let result = match self.get(&op.connector) {
                Some(c) if commit => c.commit(&op.op),
                Some(c) => c.abort(&op.op),
                None => Err(ConnectorError(format!(
                    "connector {:?} is not registered",
                    op.connector
                ))),
            };
            if let Err(e) = result {
                failures.push((op.clone(), e));
            }
        }
        failures
    }
}

/// Follows constructed transactions to their end and settles their external calls: **commit**
/// when the transaction is included in a block, **abort** when it is dropped or its validity
/// window passes.
///
/// Feed it from the node: [`track`](Self::track) after construction, [`block`](Self::block)
/// for each block the ledger applies, [`dropped`](Self::dropped) for mempool evictions.
/// A block that is later reverted does not un-commit: wait for enough confirmations before
/// calling [`block`](Self::block) when the outside effect is irreversible.
pub struct ExternalSettlement {
    connectors: Arc<Connectors>,
    pending: Mutex<BTreeMap<TxId, (u64, Vec<PendingExternal>)>>,
}

impl std::fmt::Debug for ExternalSettlement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalSettlement")
            .field("pending", &self.pending().len())
            .finish()
    }
}

/// What a settlement step did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Settled {
    /// Ops committed.
    pub committed: Vec<PendingExternal>,
    /// Ops aborted.
    pub aborted: Vec<PendingExternal>,
    /// Connectors that failed to hear it (they must catch up on their own).
    pub failures: Vec<(PendingExternal, ConnectorError)>,
}

impl ExternalSettlement {
    /// Settles through `connectors` (share the executor's: [`crate::WasmExecutor::connectors`]).
    pub fn new(connectors: Arc<Connectors>) -> Self {
        ExternalSettlement {
            connectors,
            pending: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<TxId, (u64, Vec<PendingExternal>)>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Follows transaction `txid` (valid until height `valid_until`) with its external ops.
    pub fn track(&self, txid: TxId, valid_until: u64, ops: Vec<PendingExternal>) {
        if !ops.is_empty() {
            self.lock().insert(txid, (valid_until, ops));
        }
    }

    /// Transactions still waiting.
    pub fn pending(&self) -> Vec<TxId> {
        self.lock().keys().copied().collect()
    }

    /// A block was applied: commit the ops of its transactions, abort those whose validity
    /// ended below the next height.
    pub fn block(&self, block: &Block) -> Settled {
        let height = block.header.height;
        let included: Vec<TxId> = block.transactions.iter().map(|t| t.tx.id()).collect();
        let mut commit = Vec::new();
        let mut abort = Vec::new();
        {
            let mut pending = self.lock();
            for id in included {
                if let Some((_, ops)) = pending.remove(&id) {
                    commit.extend(ops);
                }
            }
            let expired: Vec<TxId> = pending
                .iter()
                .filter(|(_, (until, _))| *until <= height)
                .map(|(id, _)| *id)
                .collect();
            for id in expired {
                if let Some((_, ops)) = pending.remove(&id) {
                    abort.extend(ops);
                }
            }
        }
        self.finish(commit, abort)
    }

    /// The transaction was dropped (evicted, replaced, invalidated): abort its ops.
    pub fn dropped(&self, txid: &TxId) -> Settled {
        let ops = self.lock().remove(txid).map(|(_, o)| o).unwrap_or_default();
        self.finish(Vec::new(), ops)
    }

    fn finish(&self, commit: Vec<PendingExternal>, abort: Vec<PendingExternal>) -> Settled {
        let mut failures = self.connectors.commit(&commit);
        failures.extend(self.connectors.abort(&abort));
        Settled {
            committed: commit,
            aborted: abort,
            failures,
        }
    }
}
