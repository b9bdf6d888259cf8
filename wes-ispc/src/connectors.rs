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
    /// Undone.
    Aborted,
}

type Handler = dyn Fn(&ExternalOp) -> Result<Vec<u8>, ConnectorError> + Send + Sync;

/// An in-process connector: a closure answers each request, and a journal keeps every op's
/// status, so an application embedding the chain can act on commits (e.g. book an order in
/// its own database) and tests can see exactly what was committed and aborted.
pub struct MemoryConnector {
    handler: Box<Handler>,
    journal: Mutex<HashMap<Hash, (ExternalOp, OpStatus)>>,
}

impl std::fmt::Debug for MemoryConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryConnector")
            .field("ops", &self.lock().len())
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
            journal: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Hash, (ExternalOp, OpStatus)>> {
        self.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The status of op `id`, if it was prepared here.
    pub fn status(&self, id: &Hash) -> Option<OpStatus> {
        self.lock().get(id).map(|(_, s)| *s)
    }

    /// Every op with this status, in no particular order.
    pub fn ops(&self, status: OpStatus) -> Vec<ExternalOp> {
        self.lock()
            .values()
            .filter(|(_, s)| *s == status)
            .map(|(op, _)| op.clone())
            .collect()
    }

    fn settle(&self, id: &Hash, to: OpStatus) -> Result<(), ConnectorError> {
        let mut journal = self.lock();
        match journal.get_mut(id) {
            // Idempotent; a final state never changes.
            Some((_, s)) if *s == OpStatus::Prepared => *s = to,
            Some((_, s)) if *s == to => {}
            Some((_, s)) => {
                return Err(ConnectorError(format!(
                    "op {id} is already {s:?}, cannot become {to:?}"
                )));
            }
            None => {}
        }
        Ok(())
    }
}

impl Connector for MemoryConnector {
    fn prepare(&self, op: &ExternalOp) -> Result<Vec<u8>, ConnectorError> {
        let response = (self.handler)(op)?;
        self.lock().insert(op.id, (op.clone(), OpStatus::Prepared));
        Ok(response)
    }

    fn commit(&self, id: &Hash) -> Result<(), ConnectorError> {
        self.settle(id, OpStatus::Committed)
    }

    fn abort(&self, id: &Hash) -> Result<(), ConnectorError> {
        self.settle(id, OpStatus::Aborted)
    }
}

#[cfg(feature = "http")]
pub use http::HttpConnector;

#[cfg(feature = "http")]
mod http {
    use std::time::Duration;

    use ureq::Agent;
    use wes_core::Hash;

    use crate::connector::{Connector, ConnectorError, ExternalOp, MAX_EXTERNAL_PAYLOAD};

    /// A connector to an HTTP service speaking a two-phase protocol:
    ///
    /// - `POST {base}/prepare` with headers `X-Wes-Op` (the op id, hex) and `X-Wes-Contract`
    ///   (hex), body = the request bytes; a 2xx answer's body is the response;
    /// - `POST {base}/commit/{op}` and `POST {base}/abort/{op}`: a 2xx answer acknowledges.
    ///
    /// Any other status is a [`ConnectorError`] carrying the status and the start of the body.
    /// Plain `http://` only unless ureq's TLS is enabled (this crate's `https` feature).
    #[derive(Debug)]
    pub struct HttpConnector {
        base: String,
        agent: Agent,
    }

    impl HttpConnector {
        /// A connector to the service at `base` (e.g. `http://127.0.0.1:8080/shipping`), with
        /// a 5-second timeout per request.
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
            }
        }

        fn post(
            &self,
            path: &str,
            headers: &[(&str, String)],
            body: &[u8],
        ) -> Result<Vec<u8>, ConnectorError> {
            let url = format!("{}/{path}", self.base);
            let mut request = self
                .agent
                .post(&url)
                .header("Content-Type", "application/octet-stream");
            for (name, value) in headers {
                request = request.header(*name, value);
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
    }

    impl Connector for HttpConnector {
        fn prepare(&self, op: &ExternalOp) -> Result<Vec<u8>, ConnectorError> {
            self.post(
                "prepare",
                &[
                    ("X-Wes-Op", op.id.to_hex()),
                    ("X-Wes-Contract", op.contract.0.to_hex()),
                ],
                &op.request,
            )
        }

        fn commit(&self, id: &Hash) -> Result<(), ConnectorError> {
            self.post(&format!("commit/{}", id.to_hex()), &[], &[])
                .map(|_| ())
        }

        fn abort(&self, id: &Hash) -> Result<(), ConnectorError> {
            self.post(&format!("abort/{}", id.to_hex()), &[], &[])
                .map(|_| ())
        }
    }
}
