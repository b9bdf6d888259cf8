//! A service over HTTP: request checking ([`Auth`]), routing ([`handle`]) and a small
//! threaded server ([`serve`]) on `tiny_http`.

use std::io::Read;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use wes_core::{ContractId, Hash, PublicKey};

use super::{Effects, OpStore, Service, ServiceError};
use crate::connector::{ExternalOp, MAX_EXTERNAL_PAYLOAD};
use crate::protocol::{self, Action};

/// Default tolerance between a request's signing time and the service's clock.
pub const DEFAULT_MAX_SKEW_MS: u64 = 5 * 60 * 1000;

/// Which requests a service accepts.
#[derive(Clone, Debug)]
pub struct Auth {
    /// The nodes' keys; `None` accepts unsigned requests (development only).
    trusted: Option<Vec<PublicKey>>,
    max_skew_ms: u64,
}

impl Auth {
    /// Accepts only requests signed by one of `keys` (the nodes' connector keys), signed
    /// within [`DEFAULT_MAX_SKEW_MS`] of the service's clock and not before the latest
    /// request accepted for the same op.
    pub fn nodes(keys: impl IntoIterator<Item = PublicKey>) -> Self {
        Auth {
            trusted: Some(keys.into_iter().collect()),
            max_skew_ms: DEFAULT_MAX_SKEW_MS,
        }
    }

    /// Accepts every request, signed or not: for development on loopback only.
    pub fn open() -> Self {
        Auth {
            trusted: None,
            max_skew_ms: DEFAULT_MAX_SKEW_MS,
        }
    }

    /// Another clock tolerance. A captured request could be replayed within it, but the
    /// service refuses a signed request older than the latest one its op has seen, and
    /// repeats of the latest are idempotent; TLS keeps requests from being captured at all.
    pub fn max_skew_ms(mut self, ms: u64) -> Self {
        self.max_skew_ms = ms;
        self
    }

    fn check(
        &self,
        action: Action,
        op: &Hash,
        contract: Option<&ContractId>,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        now_ms: u64,
    ) -> Result<Option<u64>, ServiceError> {
        let Some(trusted) = &self.trusted else {
            return Ok(None);
        };
        let unauthorized = |why: &str| Err(ServiceError::Unauthorized(why.to_owned()));
        let Some(key) = header(protocol::KEY).and_then(|k| protocol::parse_key(&k)) else {
            return unauthorized("no valid X-Wes-Key: requests must be signed by a node");
        };
        if !trusted.contains(&key) {
            return Err(ServiceError::Unauthorized(format!(
                "key {key} is not a trusted node"
            )));
        }
        let Some(time_ms) = header(protocol::TIME).and_then(|t| t.trim().parse::<u64>().ok())
        else {
            return unauthorized("no valid X-Wes-Time");
        };
        if time_ms.abs_diff(now_ms) > self.max_skew_ms {
            return Err(ServiceError::Unauthorized(format!(
                "signed at {time_ms} ms, {} ms from this service's clock (at most {})",
                time_ms.abs_diff(now_ms),
                self.max_skew_ms
            )));
        }
        let Some(signature) =
            header(protocol::SIGNATURE).and_then(|s| protocol::parse_signature(&s))
        else {
            return unauthorized("no valid X-Wes-Signature");
        };
        let message = protocol::request_message(action, op, contract, time_ms, body);
        wes_core::verify(&key, message.as_bytes(), &signature)
            .map_err(|e| ServiceError::Unauthorized(e.to_string()))?;
        Ok(Some(time_ms))
    }
}

/// Handles one `POST` to `path` (below the service's base, e.g. `prepare` or
/// `commit/{op}`), with its headers and body, at time `now_ms`: the HTTP status and body to
/// answer. Errors answer their [`ServiceError::status`] and message.
pub fn handle<S: OpStore, E: Effects<S>>(
    service: &Service<S, E>,
    auth: &Auth,
    path: &str,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
    now_ms: u64,
) -> (u16, Vec<u8>) {
    match route(service, auth, path, header, body, now_ms) {
        Ok(answer) => (200, answer),
        Err(e) => (e.status(), e.to_string().into_bytes()),
    }
}

fn route<S: OpStore, E: Effects<S>>(
    service: &Service<S, E>,
    auth: &Auth,
    path: &str,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
    now_ms: u64,
) -> Result<Vec<u8>, ServiceError> {
    let bad = |why: String| ServiceError::BadRequest(why);
    let path = path.trim_matches('/');
    let (name, rest) = path.split_once('/').unwrap_or((path, ""));
    let action = Action::from_name(name).ok_or_else(|| bad(format!("no such action {name:?}")))?;
    let op = header(protocol::OP)
        .and_then(|h| Hash::from_hex(h.trim()).ok())
        .ok_or_else(|| bad("no valid X-Wes-Op header".into()))?;
    match action {
        Action::Prepare => {
            if !rest.is_empty() {
                return Err(bad(format!("unexpected path prepare/{rest}")));
            }
            let contract = header(protocol::CONTRACT)
                .and_then(|h| Hash::from_hex(h.trim()).ok())
                .map(ContractId)
                .ok_or_else(|| bad("no valid X-Wes-Contract header".into()))?;
            let signed = auth.check(action, &op, Some(&contract), header, body, now_ms)?;
            let op = ExternalOp {
                id: op,
                contract,
                request: body.to_vec(),
            };
            service.prepare_at(&op, signed)
        }
        Action::Settle(outcome) => {
            if Hash::from_hex(rest).ok() != Some(op) {
                return Err(bad(format!("the path's op {rest:?} is not X-Wes-Op {op}")));
            }
            if !body.is_empty() {
                return Err(bad(format!("{outcome} takes no body")));
            }
            let signed = auth.check(action, &op, None, header, body, now_ms)?;
            service.settle_at(&op, outcome, signed).map(|()| Vec::new())
        }
    }
}

/// A running service; dropping it stops the server and waits for its workers.
pub struct ServiceHandle {
    server: Arc<tiny_http::Server>,
    workers: Vec<JoinHandle<()>>,
    url: String,
}

impl std::fmt::Debug for ServiceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceHandle")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl ServiceHandle {
    /// The base URL to give the node's `HttpConnector` (`http://ADDR/BASE`).
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ServiceHandle {
    fn drop(&mut self) {
        for _ in &self.workers {
            self.server.unblock();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

const WORKERS: usize = 4;

/// Serves `service` on `addr` (e.g. `127.0.0.1:0`) below path `base` (e.g. `/shipping`),
/// accepting what `auth` allows, with a few worker threads. Only `POST` is answered; bodies
/// are limited to the protocol's payload size.
pub fn serve<S, E>(
    service: Arc<Service<S, E>>,
    auth: Auth,
    addr: &str,
    base: &str,
) -> std::io::Result<ServiceHandle>
where
    S: OpStore + 'static,
    E: Effects<S> + 'static,
{
    let server = Arc::new(tiny_http::Server::http(addr).map_err(std::io::Error::other)?);
    let bound = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| std::io::Error::other("not an IP listener"))?;
    let base = format!("/{}", base.trim_matches('/'));
    let url = format!("http://{bound}{}", base.trim_end_matches('/'));
    let workers = (0..WORKERS)
        .map(|_| {
            let (server, service, auth, base) =
                (server.clone(), service.clone(), auth.clone(), base.clone());
            std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    respond(&service, &auth, &base, request);
                }
            })
        })
        .collect();
    Ok(ServiceHandle {
        server,
        workers,
        url,
    })
}

fn respond<S: OpStore, E: Effects<S>>(
    service: &Service<S, E>,
    auth: &Auth,
    base: &str,
    mut request: tiny_http::Request,
) {
    let reply = |request: tiny_http::Request, status: u16, body: Vec<u8>| {
        let _ = request.respond(tiny_http::Response::from_data(body).with_status_code(status));
    };
    if *request.method() != tiny_http::Method::Post {
        return reply(request, 405, b"only POST".to_vec());
    }
    let Some(path) = request
        .url()
        .strip_prefix(base.trim_end_matches('/'))
        .map(str::to_owned)
    else {
        return reply(request, 404, b"not below this service's base".to_vec());
    };
    let mut body = Vec::new();
    let limit = MAX_EXTERNAL_PAYLOAD as u64 + 1;
    if request
        .as_reader()
        .take(limit)
        .read_to_end(&mut body)
        .is_err()
    {
        return reply(request, 400, b"unreadable body".to_vec());
    }
    if body.len() > MAX_EXTERNAL_PAYLOAD {
        return reply(request, 413, b"body too large".to_vec());
    }
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|h| (h.field.as_str().as_str().to_owned(), h.value.to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let (status, answer) = handle(service, auth, &path, &header, &body, now_ms);
    reply(request, status, answer);
}
