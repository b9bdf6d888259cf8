//! Ready-made [`Connector`]s: [`MemoryConnector`], in-process and backed by a Rust closure,
//! and [`HttpConnector`] (feature `http`), a client of a small two-phase HTTP protocol.

use std::collections::HashMap;
use std::sync::Mutex;

use wes_core::Hash;

use crate::connector::{Connector, ConnectorError, ExternalOp};

/// Where an op stands at a connector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpStatus {
    /// Prepared, waiting for commit or abort.
    Prepared,
    /// Made final.
    Committed,
    /// A committed effect reversed (its transaction left the best chain); a later commit
    /// applies it again.
    Compensated,
    /// Undone for good.
    Aborted,
}

impl OpStatus {
    /// The status `outcome` moves this one to, or `None` if the move is not allowed
    /// (e.g. committing an aborted op). Repeating the move that led here is allowed.
    pub fn after(self, outcome: crate::Outcome) -> Option<OpStatus> {
        use crate::Outcome::{Abort, Commit, Compensate};
        use OpStatus::{Aborted, Committed, Compensated, Prepared};
        match (self, outcome) {
            (Prepared | Committed | Compensated, Commit) => Some(Committed),
            (Prepared | Compensated | Aborted, Abort) => Some(Aborted),
            (Committed | Compensated, Compensate) => Some(Compensated),
            _ => None,
        }
    }
}

/// What the connector remembers of an op.
struct Entry {
    op: ExternalOp,
    status: OpStatus,
    response: Vec<u8>,
}

type Handler = dyn Fn(&ExternalOp) -> Result<Vec<u8>, ConnectorError> + Send + Sync;

/// An in-process connector: a closure answers each request, and a journal keeps every op's
/// status, so an application embedding the chain can act on commits (e.g. book an order in
/// its own database) and tests can see exactly what was committed and aborted.
pub struct MemoryConnector {
    handler: Box<Handler>,
    journal: Mutex<Journal>,
}

#[derive(Default)]
struct Journal {
    ops: HashMap<Hash, Entry>,
    /// Ops aborted before they were prepared here: a late prepare of one is refused.
    tombstones: std::collections::HashSet<Hash>,
}

impl std::fmt::Debug for MemoryConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryConnector")
            .field("ops", &self.lock().ops.len())
            .finish_non_exhaustive()
    }
}

impl MemoryConnector {
    /// A connector answering with `handler`.
    pub fn new(
        handler: impl Fn(&ExternalOp) -> Result<Vec<u8>, ConnectorError> + Send + Sync + 'static,
    ) -> Self {
        MemoryConnector {
            handler: Box::new(handler),
            journal: Mutex::new(Journal::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The status of op `id`, if it was prepared here.
    pub fn status(&self, id: &Hash) -> Option<OpStatus> {
        self.lock().ops.get(id).map(|e| e.status)
    }

    /// Every op with this status, in no particular order.
    pub fn ops(&self, status: OpStatus) -> Vec<ExternalOp> {
        self.lock()
            .ops
            .values()
            .filter(|e| e.status == status)
            .map(|e| e.op.clone())
            .collect()
    }

    fn settle(&self, id: &Hash, outcome: crate::Outcome) -> Result<(), ConnectorError> {
        let mut journal = self.lock();
        match journal.ops.get_mut(id) {
            Some(Entry { status, .. }) => {
                *status = status.after(outcome).ok_or_else(|| {
                    ConnectorError(format!("op {id} is {status:?}: {outcome} is not allowed"))
                })?;
            }
            // An unknown id is acknowledged: nothing was prepared here. An abort leaves a
            // tombstone, so a prepare arriving after it does nothing.
            None if outcome == crate::Outcome::Abort => {
                journal.tombstones.insert(*id);
            }
            None => {}
        }
        Ok(())
    }
}

impl Connector for MemoryConnector {
    fn prepare(&self, op: &ExternalOp) -> Result<Vec<u8>, ConnectorError> {
        // Idempotent: a known op gets its first answer again, and nothing is done twice. The
        // lock is held throughout, so two prepares of one op cannot both act.
        let mut journal = self.lock();
        if journal.tombstones.contains(&op.id) {
            return Err(ConnectorError(format!("op {} was aborted", op.id)));
        }
        if let Some(entry) = journal.ops.get(&op.id) {
            if entry.status == OpStatus::Aborted {
                return Err(ConnectorError(format!("op {} was aborted", op.id)));
            }
            return Ok(entry.response.clone());
        }
        let response = (self.handler)(op)?;
        journal.ops.insert(
            op.id,
            Entry {
                op: op.clone(),
                status: OpStatus::Prepared,
                response: response.clone(),
            },
        );
        Ok(response)
    }

    fn commit(&self, id: &Hash) -> Result<(), ConnectorError> {
        self.settle(id, crate::Outcome::Commit)
    }

    fn abort(&self, id: &Hash) -> Result<(), ConnectorError> {
        self.settle(id, crate::Outcome::Abort)
    }

    fn compensate(&self, id: &Hash) -> Result<(), ConnectorError> {
        self.settle(id, crate::Outcome::Compensate)
    }
}

#[cfg(feature = "http")]
pub use http::HttpConnector;

#[cfg(feature = "http")]
mod http {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use ureq::Agent;
    use wes_core::{Hash, SecretKey};

    use crate::Outcome;
    use crate::connector::{Connector, ConnectorError, ExternalOp, MAX_EXTERNAL_PAYLOAD};
    use crate::protocol::{self, Action};

    /// A connector to an HTTP service speaking the two-phase protocol of
    /// [`crate::protocol`]: `POST {base}/prepare` with the request bytes, then
    /// `POST {base}/commit/{op}`, `/abort/{op}` or `/compensate/{op}`.
    ///
    /// Every request carries the op id, the idempotency key: the node retries until it hears
    /// 2xx, so a service answers a repeated request as it did the first time. With
    /// [`signed_by`](Self::signed_by), every request is also signed with the node's key, so
    /// the service can refuse requests that do not come from a node it trusts
    /// ([`crate::service`] checks them).
    ///
    /// Any other status is a [`ConnectorError`] carrying the status and the start of the body.
    /// Plain `http://` only unless ureq's TLS is enabled (this crate's `https` feature).
    pub struct HttpConnector {
        base: String,
        agent: Agent,
        key: Option<SecretKey>,
    }

    impl std::fmt::Debug for HttpConnector {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("HttpConnector")
                .field("base", &self.base)
                .field("signer", &self.key.as_ref().map(|k| k.public_key()))
                .finish_non_exhaustive()
        }
    }

    impl HttpConnector {
        /// A connector to the service at `base` (e.g. `http://127.0.0.1:8080/shipping`), with
        /// a 5-second timeout per request, sending unsigned requests.
        pub fn new(base: impl Into<String>) -> Self {
            Self::with_timeout(base, Duration::from_secs(5))
        }

        /// Like [`new`](Self::new) with another timeout.
        pub fn with_timeout(base: impl Into<String>, timeout: Duration) -> Self {
            let agent: Agent = Agent::config_builder()
                .timeout_global(Some(timeout))
                .http_status_as_error(false)
                .build()
                .into();
            HttpConnector {
                base: base.into().trim_end_matches('/').to_owned(),
                agent,
                key: None,
            }
        }

        /// Signs every request with `key` (the node's connector key, which the service
        /// trusts).
        pub fn signed_by(mut self, key: SecretKey) -> Self {
            self.key = Some(key);
            self
        }

        fn post(
            &self,
            action: Action,
            op: &Hash,
            contract: Option<&wes_core::ContractId>,
            body: &[u8],
        ) -> Result<Vec<u8>, ConnectorError> {
            let url = format!("{}/{}", self.base, action.path(op));
            let mut request = self
                .agent
                .post(&url)
                .header("Content-Type", "application/octet-stream")
                .header(protocol::OP, op.to_hex());
            if let Some(contract) = contract {
                request = request.header(protocol::CONTRACT, contract.0.to_hex());
            }
            if let Some(key) = &self.key {
                let time_ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                let message = protocol::request_message(action, op, contract, time_ms, body);
                request = request
                    .header(protocol::KEY, key.public_key().to_string())
                    .header(protocol::TIME, time_ms.to_string())
                    .header(
                        protocol::SIGNATURE,
                        hex::encode(key.sign(message.as_bytes()).0),
                    );
            }
            let mut response = request
                .send(body)
                .map_err(|e| ConnectorError(format!("POST {url}: {e}")))?;
            let status = response.status();
            let body = response
                .body_mut()
                .with_config()
                .limit(MAX_EXTERNAL_PAYLOAD as u64 + 1)
                .read_to_vec()
                .map_err(|e| ConnectorError(format!("POST {url}: reading the body: {e}")))?;
            if !status.is_success() {
                let text: String = String::from_utf8_lossy(&body).chars().take(200).collect();
                return Err(ConnectorError(format!(
                    "POST {url}: status {status}: {text}"
                )));
            }
            Ok(body)
        }

        fn settle(&self, outcome: Outcome, id: &Hash) -> Result<(), ConnectorError> {
            self.post(Action::Settle(outcome), id, None, &[])
                .map(|_| ())
        }
    }

    impl Connector for HttpConnector {
        fn prepare(&self, op: &ExternalOp) -> Result<Vec<u8>, ConnectorError> {
            self.post(Action::Prepare, &op.id, Some(&op.contract), &op.request)
        }

        fn commit(&self, id: &Hash) -> Result<(), ConnectorError> {
            self.settle(Outcome::Commit, id)
        }

        fn abort(&self, id: &Hash) -> Result<(), ConnectorError> {
            self.settle(Outcome::Abort, id)
        }

        fn compensate(&self, id: &Hash) -> Result<(), ConnectorError> {
            self.settle(Outcome::Compensate, id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outcome;
    use wes_core::{ContractId, Domain, hash};

    fn op(name: &str) -> ExternalOp {
        ExternalOp {
            id: hash(Domain::new("test"), name),
            contract: ContractId(hash(Domain::new("test"), b"contract")),
            request: b"ship".to_vec(),
        }
    }

    #[test]
    fn a_memory_connector_refuses_to_prepare_an_aborted_op_and_acts_once() {
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let c = MemoryConnector::new(move |_| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(b"ok".to_vec())
        });
        let a = op("a");
        assert_eq!(c.prepare(&a).unwrap(), b"ok");
        assert_eq!(c.prepare(&a).unwrap(), b"ok");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        c.abort(&a.id).unwrap();
        assert!(c.prepare(&a).is_err(), "aborted for good");
        // An abort that arrives before its prepare: the late prepare does nothing.
        let late = op("late");
        c.abort(&late.id).unwrap();
        assert!(c.prepare(&late).is_err());
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(c.status(&late.id), None);
        assert!(c.settle(&a.id, Outcome::Commit).is_err());
    }
}
