//! The remote side of a connector: a library for writing the service a chain's
//! [`HttpConnector`](crate::connectors::HttpConnector) talks to (feature `service`).
//!
//! A service keeps, **in its own database and in the same transaction as its business
//! effects**, a record of every op: the request, the answer and where the op stands. The
//! library owns the protocol's rules, so an application writes only its effects:
//!
//! - `prepare` of a new op runs [`Effects::prepare`] (reserve stock, hold a payment) and
//!   stores the answer; `prepare` of a known op answers the stored response again and does
//!   nothing more; the same op id with another request is refused;
//! - `commit`, `abort` and `compensate` move the op along [`OpStatus::after`] and run
//!   [`Effects::settle`] once per move; repeating the move that led to the current status
//!   acknowledges and does nothing;
//! - `abort` of an op never prepared here records a tombstone, so a `prepare` that arrives
//!   after its abort (a delayed request) is refused instead of acting;
//!   `compensate` of an unknown op acknowledges; `commit` of an unknown op is an error;
//! - over HTTP ([`serve`]), every request is checked against the keys of the nodes the
//!   service trusts ([`Auth`]), and a signed request older than the latest one accepted for
//!   its op is refused, so a captured request cannot be replayed to undo a later move.
//!
//! Because record and effects commit together, a crash of the service at any point leaves
//! either both or neither, and the node's retries (same op id) finish the work exactly once.
//! [`conformance::check`] runs the protocol's rules against any service, in any language.
//!
//! Storage is a trait, [`OpStore`]: [`MemoryStore`] keeps everything in memory (tests,
//! demos); the order-chain example has one on PostgreSQL.

pub mod conformance;
mod http;
mod memory;

pub use http::{Auth, DEFAULT_MAX_SKEW_MS, ServiceHandle, handle, serve};
pub use memory::{MemoryStore, MemoryTx};

use wes_core::{ContractId, Hash};

use crate::Outcome;
use crate::connector::{Connector, ConnectorError, ExternalOp, MAX_EXTERNAL_PAYLOAD};
use crate::connectors::OpStatus;

/// Why a service refused or failed a request. Each maps to an HTTP status
/// ([`ServiceError::status`]); the node retries the ones that may succeed later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// A commit for an op this service never prepared.
    #[error("op {0} is unknown here")]
    UnknownOp(Hash),
    /// The move is not allowed from where the op stands (e.g. abort after commit).
    #[error("op {op} is {status:?}: {outcome} is not allowed")]
    NotAllowed {
        /// The op.
        op: Hash,
        /// Where it stands.
        status: OpStatus,
        /// The move asked for.
        outcome: Outcome,
    },
    /// The op was aborted (or its abort arrived first): it is never prepared again.
    #[error("op {0} was aborted; a new call needs a new op (another first input)")]
    Aborted(Hash),
    /// The op id was prepared with another contract or request.
    #[error("op {0} was prepared with another request")]
    RequestMismatch(Hash),
    /// The request does not come from a trusted node, or its signature is wrong or stale.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The request is malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The application refused the request (nothing was done).
    #[error("refused: {0}")]
    Refused(String),
    /// The service's storage failed; the request may be retried.
    #[error("storage: {0}")]
    Store(String),
}

impl ServiceError {
    /// The HTTP status that carries this error.
    pub fn status(&self) -> u16 {
        match self {
            ServiceError::UnknownOp(_) => 404,
            ServiceError::NotAllowed { .. }
            | ServiceError::Aborted(_)
            | ServiceError::RequestMismatch(_) => 409,
            ServiceError::Unauthorized(_) => 401,
            ServiceError::BadRequest(_) => 400,
            ServiceError::Refused(_) => 422,
            ServiceError::Store(_) => 503,
        }
    }
}

/// A prepared call as a service stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedCall {
    /// The calling contract.
    pub contract: ContractId,
    /// The request bytes.
    pub request: Vec<u8>,
    /// The answer given.
    pub response: Vec<u8>,
}

/// What a service remembers of one op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRecord {
    /// The op id.
    pub id: Hash,
    /// Where it stands.
    pub status: OpStatus,
    /// The call, or `None` for a tombstone: an abort that arrived before any prepare.
    pub call: Option<PreparedCall>,
    /// The signing time (ms) of the latest signed request accepted for the op, 0 if none:
    /// a signed request older than it is refused, so a captured request cannot be replayed
    /// to undo a later move (a compensate replayed after the commit that followed it).
    pub signed_ms: u64,
}

impl ServiceRecord {
    /// The op as the effects see it (`None` for a tombstone).
    pub fn op(&self) -> Option<ExternalOp> {
        let call = self.call.as_ref()?;
        Some(ExternalOp {
            id: self.id,
            contract: call.contract,
            request: call.request.clone(),
        })
    }
}

/// A service's storage: op records and, in the same transactions, the application's state.
pub trait OpStore: Send + Sync {
    /// A handle to one open transaction, through which the application's effects are
    /// written too (a database transaction, say).
    type Tx<'a>
    where
        Self: 'a;

    /// Runs `work` in one atomic transaction that holds op `id` against concurrent requests
    /// for it. `work` gets the op's record, if any, may write effects through the handle,
    /// and returns the record to store (`None`: unchanged) and its result. An error from
    /// `work` or from the store leaves nothing written.
    fn atomically<R>(
        &self,
        id: &Hash,
        work: impl FnOnce(
            &mut Self::Tx<'_>,
            Option<ServiceRecord>,
        ) -> Result<(Option<ServiceRecord>, R), ServiceError>,
    ) -> Result<R, ServiceError>;

    /// The record of op `id`.
    fn record(&self, id: &Hash) -> Result<Option<ServiceRecord>, ServiceError>;
}

/// What a service does: its business effects, written through the store's transaction.
pub trait Effects<S: OpStore>: Send + Sync {
    /// Performs `op` tentatively (reserve, hold, stage) and answers. An error rolls the
    /// transaction back: nothing is done and nothing is recorded.
    fn prepare(&self, tx: &mut S::Tx<'_>, op: &ExternalOp) -> Result<Vec<u8>, ServiceError>;

    /// Applies the chain's `outcome` to prepared `op`, which stood at `from`: make it final
    /// (commit from `Prepared`), undo it (abort from `Prepared` or `Compensated`), reverse
    /// it (compensate from `Committed`), or apply it again (commit from `Compensated`).
    /// Called once per move, never for a repeated one.
    fn settle(
        &self,
        tx: &mut S::Tx<'_>,
        op: &ExternalOp,
        from: OpStatus,
        outcome: Outcome,
    ) -> Result<(), ServiceError>;
}

/// A connector service: the protocol's rules over a store and an application's effects.
/// It is a [`Connector`] too, so a chain can use it in-process.
#[derive(Debug)]
pub struct Service<S, E> {
    store: S,
    effects: E,
}

impl<S: OpStore, E: Effects<S>> Service<S, E> {
    /// A service keeping its records in `store` and acting through `effects`.
    pub fn new(store: S, effects: E) -> Self {
        Service { store, effects }
    }

    /// The store (to read the application's state).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The application's effects.
    pub fn effects(&self) -> &E {
        &self.effects
    }

    /// Prepares `op`, or answers as the first time if it was prepared before.
    pub fn prepare(&self, op: &ExternalOp) -> Result<Vec<u8>, ServiceError> {
        self.prepare_at(op, None)
    }

    /// [`prepare`](Self::prepare) for a request signed at `signed_ms` (checked by the
    /// caller, as [`serve`] does): refused if the op has seen a later signed request.
    pub fn prepare_at(
        &self,
        op: &ExternalOp,
        signed_ms: Option<u64>,
    ) -> Result<Vec<u8>, ServiceError> {
        if op.request.len() > MAX_EXTERNAL_PAYLOAD {
            return Err(ServiceError::BadRequest(format!(
                "request of {} bytes, at most {MAX_EXTERNAL_PAYLOAD}",
                op.request.len()
            )));
        }
        self.store.atomically(&op.id, |tx, record| {
            let Some(mut record) = record else {
                let response = self.effects.prepare(tx, op)?;
                if response.len() > MAX_EXTERNAL_PAYLOAD {
                    return Err(ServiceError::Refused(format!(
                        "the service's answer has {} bytes, at most {MAX_EXTERNAL_PAYLOAD}",
                        response.len()
                    )));
                }
                let record = ServiceRecord {
                    id: op.id,
                    status: OpStatus::Prepared,
                    call: Some(PreparedCall {
                        contract: op.contract,
                        request: op.request.clone(),
                        response: response.clone(),
                    }),
                    signed_ms: signed_ms.unwrap_or(0),
                };
                return Ok((Some(record), response));
            };
            let changed = fresh(&mut record, signed_ms)?;
            let response = match &record.call {
                Some(call) if record.status != OpStatus::Aborted => {
                    if call.contract != op.contract || call.request != op.request {
                        return Err(ServiceError::RequestMismatch(op.id));
                    }
                    call.response.clone()
                }
                _ => return Err(ServiceError::Aborted(op.id)),
            };
            Ok((changed.then_some(record), response))
        })
    }

    /// Applies the chain's `outcome` to op `id` (module docs for the rules).
    pub fn settle(&self, id: &Hash, outcome: Outcome) -> Result<(), ServiceError> {
        self.settle_at(id, outcome, None)
    }

    /// [`settle`](Self::settle) for a request signed at `signed_ms`: refused if the op has
    /// seen a later signed request (a replay).
    pub fn settle_at(
        &self,
        id: &Hash,
        outcome: Outcome,
        signed_ms: Option<u64>,
    ) -> Result<(), ServiceError> {
        self.store.atomically(id, |tx, record| {
            let Some(mut record) = record else {
                return match outcome {
                    Outcome::Abort => Ok((
                        Some(ServiceRecord {
                            id: *id,
                            status: OpStatus::Aborted,
                            call: None,
                            signed_ms: signed_ms.unwrap_or(0),
                        }),
                        (),
                    )),
                    Outcome::Compensate => Ok((None, ())),
                    Outcome::Commit => Err(ServiceError::UnknownOp(*id)),
                };
            };
            let changed = fresh(&mut record, signed_ms)?;
            let next = record
                .status
                .after(outcome)
                .ok_or(ServiceError::NotAllowed {
                    op: *id,
                    status: record.status,
                    outcome,
                })?;
            if next == record.status {
                return Ok((changed.then_some(record), ()));
            }
            if let Some(op) = record.op() {
                self.effects.settle(tx, &op, record.status, outcome)?;
            }
            record.status = next;
            Ok((Some(record), ()))
        })
    }

    /// Where op `id` stands here.
    pub fn status(&self, id: &Hash) -> Result<Option<OpStatus>, ServiceError> {
        Ok(self.store.record(id)?.map(|r| r.status))
    }
}

/// Refuses a request signed before the latest one the op has seen; records a later one.
/// Whether the record changed.
fn fresh(record: &mut ServiceRecord, signed_ms: Option<u64>) -> Result<bool, ServiceError> {
    let Some(t) = signed_ms else {
        return Ok(false);
    };
    if t < record.signed_ms {
        return Err(ServiceError::Unauthorized(format!(
            "signed at {t} ms, before the latest request for op {} ({} ms): a replay?",
            record.id, record.signed_ms
        )));
    }
    let changed = t > record.signed_ms;
    record.signed_ms = t;
    Ok(changed)
}

impl<S: OpStore, E: Effects<S>> Connector for Service<S, E> {
    fn prepare(&self, op: &ExternalOp) -> Result<Vec<u8>, ConnectorError> {
        Service::prepare(self, op).map_err(|e| ConnectorError(e.to_string()))
    }

    fn commit(&self, id: &Hash) -> Result<(), ConnectorError> {
        self.settle(id, Outcome::Commit)
            .map_err(|e| ConnectorError(e.to_string()))
    }

    fn abort(&self, id: &Hash) -> Result<(), ConnectorError> {
        self.settle(id, Outcome::Abort)
            .map_err(|e| ConnectorError(e.to_string()))
    }

    fn compensate(&self, id: &Hash) -> Result<(), ConnectorError> {
        self.settle(id, Outcome::Compensate)
            .map_err(|e| ConnectorError(e.to_string()))
    }
}
