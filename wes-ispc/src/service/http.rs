//! A service over HTTP: request checking ([`Auth`]), routing ([`handle`]) and a server
//! ([`serve`]) on hyper.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// A running service; dropping it stops the server and waits for its thread.
pub struct ServiceHandle {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
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
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How long a client may take to send a request's headers, then its body.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Most connections served at once (further ones wait in the listen queue).
const MAX_CONNECTIONS: usize = 256;

/// Serves `service` on `addr` (e.g. `127.0.0.1:0`) below path `base` (e.g. `/shipping`),
/// accepting what `auth` allows, over HTTP/1.1 (hyper, on a runtime thread of its own;
/// requests run on blocking threads, so a slow store does not stall the others). Only
/// `POST` is answered; a body over the protocol's payload size is refused before it is
/// read, and a client that sends too slowly is cut off.
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
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let base = format!("/{}", base.trim_matches('/'));
    let base = base.trim_end_matches('/').to_owned();
    let url = format!("http://{bound}{base}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (shutdown, stop) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("wes-connector-service".into())
        .spawn(move || {
            runtime.block_on(accept(listener, service, auth, base, stop));
        })?;
    Ok(ServiceHandle {
        shutdown: Some(shutdown),
        thread: Some(thread),
        url,
    })
}

async fn accept<S, E>(
    listener: std::net::TcpListener,
    service: Arc<Service<S, E>>,
    auth: Auth,
    base: String,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) where
    S: OpStore + 'static,
    E: Effects<S> + 'static,
{
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let shared = Arc::new(Shared {
        service,
        auth,
        base,
    });
    loop {
        let permit = tokio::select! {
            _ = &mut stop => return,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let stream = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let answer = hyper::service::service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, std::convert::Infallible>(respond(shared, request).await) }
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(READ_TIMEOUT)
                .keep_alive(true);
            let _ = http
                .serve_connection(hyper_util::rt::TokioIo::new(stream), answer)
                .await;
        });
    }
}

/// What every connection of a server shares.
struct Shared<S, E> {
    service: Arc<Service<S, E>>,
    auth: Auth,
    base: String,
}

type Reply = hyper::Response<http_body_util::Full<hyper::body::Bytes>>;

fn reply(status: u16, body: Vec<u8>) -> Reply {
    let mut response = hyper::Response::new(http_body_util::Full::new(body.into()));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/octet-stream"),
    );
    response
}

async fn respond<S, E>(
    shared: Arc<Shared<S, E>>,
    request: hyper::Request<hyper::body::Incoming>,
) -> Reply
where
    S: OpStore + 'static,
    E: Effects<S> + 'static,
{
    use http_body_util::BodyExt;

    if request.method() != hyper::Method::POST {
        return reply(405, b"only POST".to_vec());
    }
    let path = request.uri().path();
    let Some(path) = path
        .strip_prefix(shared.base.as_str())
        .filter(|rest| rest.starts_with('/'))
        .map(str::to_owned)
    else {
        return reply(404, b"not below this service's base".to_vec());
    };
    let declared = request
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_EXTERNAL_PAYLOAD as u64) {
        return reply(413, b"body too large".to_vec());
    }
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let limited = http_body_util::Limited::new(request.into_body(), MAX_EXTERNAL_PAYLOAD);
    let body = match tokio::time::timeout(READ_TIMEOUT, limited.collect()).await {
        Ok(Ok(collected)) => collected.to_bytes().to_vec(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return reply(413, b"body too large".to_vec());
        }
        Ok(Err(_)) => return reply(400, b"unreadable body".to_vec()),
        Err(_) => return reply(408, b"the body took too long".to_vec()),
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    // The store may block (a database): off the runtime's threads. A panic in the
    // application's effects answers 500 and takes nothing else down.
    let answer = tokio::task::spawn_blocking(move || {
        let header = |name: &str| {
            headers
                .iter()
                .find(|(field, _)| field.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.clone())
        };
        handle(&shared.service, &shared.auth, &path, &header, &body, now_ms)
    })
    .await;
    match answer {
        Ok((status, body)) => reply(status, body),
        Err(_) => reply(500, b"the service failed on this request".to_vec()),
    }
}
