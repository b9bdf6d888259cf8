//! One committee member's service: a plain HTTP server (`POST /attest`) that checks an
//! execution with the inner proof system's verifier, against exactly the outputs the request
//! says the transaction uses, and signs the [`claim`] if it holds.
//!
//! Answers: `200` with the 64-byte signature; `400` for a request that does not decode; `422`
//! with the reason when the execution does not check out. An attestor keeps no state: the
//! claim it signs names everything it checked.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};
use wes_core::{
    ChainView, ContentId, ContractId, OutPoint, Output, ProofVerifier, SecretKey, SharedView,
    Transaction, ViewError, codec,
};

use crate::committee::{CommitteeError, claim};

/// Largest request an attestor reads.
pub const MAX_REQUEST: usize = 1 << 20;

/// What the executing node sends each member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestRequest {
    /// The transaction carrying the execution.
    pub tx: Transaction,
    /// The outputs its inputs use, in input order.
    pub used: Vec<(OutPoint, Output)>,
    /// The bytes of the executed resource.
    pub resource: Vec<u8>,
    /// The inner proof system's proof, which the attestor checks.
    pub proof: Vec<u8>,
}

/// A running attestor. Stops when dropped.
pub struct Attestor {
    url: String,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    signed: Arc<AtomicUsize>,
}

impl Attestor {
    /// Starts member `key`'s attestor on a free port of 127.0.0.1, checking executions with
    /// `verifier`.
    ///
    /// # Errors
    /// The port could not be bound.
    pub fn start(key: SecretKey, verifier: Arc<dyn ProofVerifier>) -> Result<Self, CommitteeError> {
        let server =
            Arc::new(tiny_http::Server::http("127.0.0.1:0").map_err(CommitteeError::Listen)?);
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| CommitteeError::Listen("not an IP listener".into()))?;
        let signed = Arc::new(AtomicUsize::new(0));
        let (s, count) = (server.clone(), signed.clone());
        let thread = std::thread::spawn(move || {
            for mut request in s.incoming_requests() {
                let (status, body) = if request.url() != "/attest" {
                    (404, b"POST /attest".to_vec())
                } else {
                    let mut bytes = Vec::new();
                    match request
                        .as_reader()
                        .take(MAX_REQUEST as u64 + 1)
                        .read_to_end(&mut bytes)
                    {
                        Ok(_) => attest(&key, &*verifier, &bytes),
                        Err(e) => (400, e.to_string().into_bytes()),
                    }
                };
                if status == 200 {
                    count.fetch_add(1, Ordering::SeqCst);
                }
                let _ =
                    request.respond(tiny_http::Response::from_data(body).with_status_code(status));
            }
        });
        Ok(Attestor {
            url: format!("http://{addr}/attest"),
            server,
            thread: Some(thread),
            signed,
        })
    }

    /// Where the attestor answers.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many claims it has signed.
    pub fn signed(&self) -> usize {
        self.signed.load(Ordering::SeqCst)
    }
}

impl Drop for Attestor {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The answer to one request: status and body.
fn attest(key: &SecretKey, verifier: &dyn ProofVerifier, bytes: &[u8]) -> (u16, Vec<u8>) {
    let request: AttestRequest = match codec::decode_with_limit(bytes, MAX_REQUEST) {
        Ok(r) => r,
        Err(e) => return (400, format!("malformed request: {e}").into_bytes()),
    };
    let outpoints: Vec<OutPoint> = request.tx.inputs.iter().map(|i| i.prev).collect();
    let shown: Vec<OutPoint> = request.used.iter().map(|(op, _)| *op).collect();
    if outpoints != shown {
        return (
            422,
            b"the outputs shown are not the transaction's inputs".to_vec(),
        );
    }
    let view: SharedView = Arc::new(RequestView {
        used: request.used.clone(),
        resource: (wes_ures::content_id(&request.resource), request.resource),
    });
    match verifier.verify(&request.tx, &request.proof, &view) {
        Ok(()) => (
            200,
            key.sign(claim(&request.tx, &request.used).as_bytes())
                .0
                .to_vec(),
        ),
        Err(e) => (422, e.to_string().into_bytes()),
    }
}

/// The chain as the request shows it: only the outputs the transaction uses and the executed
/// resource (served only under its true content id).
struct RequestView {
    used: Vec<(OutPoint, Output)>,
    resource: (ContentId, Vec<u8>),
}

impl ChainView for RequestView {
    fn unspent(&self, outpoint: &OutPoint) -> Result<Option<Output>, ViewError> {
        Ok(self
            .used
            .iter()
            .find(|(op, _)| op == outpoint)
            .map(|(_, o)| o.clone()))
    }

    fn state(
        &self,
        contract: &ContractId,
        key: &[u8],
    ) -> Result<Option<(OutPoint, Output)>, ViewError> {
        Ok(self
            .used
            .iter()
            .find(|(_, o)| {
                o.as_state()
                    .is_some_and(|s| s.contract == *contract && s.key == key)
            })
            .cloned())
    }

    fn resource(&self, id: &ContentId) -> Result<Option<Vec<u8>>, ViewError> {
        Ok((*id == self.resource.0).then(|| self.resource.1.clone()))
    }
}
