//! What operators need beside the JSON-RPC methods, on the same port: `GET /health` (JSON:
//! whether the node runs, its height, peers and mempool) and `GET /metrics` (Prometheus'
//! text format), the latency of every RPC call by method, and the explorer's static files
//! under `GET /explorer/` when the node is given a directory of them.

use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use jsonrpsee::core::BoxError;
use jsonrpsee::core::middleware::{Batch, Notification, RpcServiceT};
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use jsonrpsee::types::Request;
use serde_json::json;
use tower::{Layer, Service};

use crate::ledger::ChainLedger;
use crate::metrics::NodeMetrics;
use crate::node::Node;

/// The health report: `{status, height, finalized, best, peers, syncing, mempool,
/// storage}` (`finalized`: the final height). `status`
/// is `"ok"` while the node runs; otherwise (with HTTP 503) `"stopping"` after it was asked
/// to stop, `"disk_full"` while its disk is too full to write blocks, `"storage_failed"`
/// after a failed write (until a restart). `storage` is `null` or the store's error
/// ([`crate::storage`]).
pub async fn health<L: ChainLedger>(node: &Node<L>) -> (bool, serde_json::Value) {
    use wes_core::Blame;
    let status = node.status();
    let net = match node.network() {
        Some(net) => net.info().await.ok(),
        None => None,
    };
    let storage = node.writable().err();
    let state = if node.stopping() {
        "stopping"
    } else {
        match &storage {
            None => "ok",
            Some(e) if e.rule() == Some("disk_full") => "disk_full",
            Some(_) => "storage_failed",
        }
    };
    (
        state == "ok",
        json!({
            "status": state,
            "storage": storage.map(|e| e.to_string()),
            "height": status.height,
            "finalized": status.finalized,
            "best": status.best.to_string(),
            "peers": net.as_ref().map(|n| n.peers.len()),
            "syncing": net.as_ref().is_some_and(|n| n.syncing_from.is_some()),
            "mempool": node.mempool().len(),
        }),
    )
}

/// The node's metrics, with the sampled ones (height, mempool, peers) read now.
pub async fn metrics<L: ChainLedger>(node: &Node<L>) -> String {
    let m = node.metrics();
    m.height.set(node.status().height as i64);
    {
        let pool = node.mempool();
        m.mempool_txs.set(pool.len() as i64);
        m.mempool_bytes.set(pool.bytes() as i64);
    }
    if let Some(net) = node.network()
        && let Ok(info) = net.info().await
    {
        m.peers.set(info.peers.len() as i64);
    }
    m.encode()
}

fn respond(status: http::StatusCode, content_type: &str, body: String) -> HttpResponse {
    let mut response = HttpResponse::new(HttpBody::from(body));
    *response.status_mut() = status;
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, value);
    }
    response
}

/// The content type of a static file, by its extension.
fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") | Some("map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// The file of `dir` that `GET /explorer/<rest>` asks for: `index.html` for the directory
/// itself; otherwise a plain file name (letters, digits, `.`, `-`, `_`, not starting with a
/// dot), so that no request reaches outside the directory.
pub fn explorer_file(dir: &std::path::Path, rest: &str) -> Option<PathBuf> {
    let name = if rest.is_empty() { "index.html" } else { rest };
    let plain = !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    plain.then(|| dir.join(name))
}

/// The HTTP layer answering `GET /health`, `GET /metrics` and `GET /explorer/…` before
/// JSON-RPC sees them.
pub(crate) struct OpsLayer<L: ChainLedger> {
    pub node: Arc<Node<L>>,
    pub explorer: Option<Arc<PathBuf>>,
}

impl<L: ChainLedger> Clone for OpsLayer<L> {
    fn clone(&self) -> Self {
        OpsLayer {
            node: self.node.clone(),
            explorer: self.explorer.clone(),
        }
    }
}

impl<S, L: ChainLedger> Layer<S> for OpsLayer<L> {
    type Service = Ops<S, L>;

    fn layer(&self, inner: S) -> Ops<S, L> {
        Ops {
            inner,
            node: self.node.clone(),
            explorer: self.explorer.clone(),
        }
    }
}

/// The service [`OpsLayer`] puts in front of the JSON-RPC server.
pub(crate) struct Ops<S, L: ChainLedger> {
    inner: S,
    node: Arc<Node<L>>,
    explorer: Option<Arc<PathBuf>>,
}

impl<S: Clone, L: ChainLedger> Clone for Ops<S, L> {
    fn clone(&self) -> Self {
        Ops {
            inner: self.inner.clone(),
            node: self.node.clone(),
            explorer: self.explorer.clone(),
        }
    }
}

impl<S, L> Service<HttpRequest> for Ops<S, L>
where
    S: Service<HttpRequest, Response = HttpResponse, Error = BoxError>,
    S::Future: Send + 'static,
    L: ChainLedger,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest) -> Self::Future {
        if request.method() == http::Method::GET {
            let node = self.node.clone();
            match request.uri().path() {
                "/health" => {
                    return Box::pin(async move {
                        let (ok, report) = health(&node).await;
                        let status = if ok {
                            http::StatusCode::OK
                        } else {
                            http::StatusCode::SERVICE_UNAVAILABLE
                        };
                        Ok(respond(status, "application/json", report.to_string()))
                    });
                }
                "/metrics" => {
                    return Box::pin(async move {
                        let text = metrics(&node).await;
                        Ok(respond(
                            http::StatusCode::OK,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            text,
                        ))
                    });
                }
                "/explorer" => {
                    return Box::pin(async move {
                        let mut moved = respond(
                            http::StatusCode::MOVED_PERMANENTLY,
                            "text/plain",
                            String::new(),
                        );
                        moved.headers_mut().insert(
                            http::header::LOCATION,
                            http::HeaderValue::from_static("/explorer/"),
                        );
                        Ok(moved)
                    });
                }
                path => {
                    if let (Some(dir), Some(rest)) =
                        (self.explorer.clone(), path.strip_prefix("/explorer/"))
                    {
                        let file = explorer_file(&dir, rest);
                        return Box::pin(async move {
                            let not_found = || {
                                respond(
                                    http::StatusCode::NOT_FOUND,
                                    "text/plain",
                                    "not found\n".into(),
                                )
                            };
                            let Some(file) = file else {
                                return Ok(not_found());
                            };
                            Ok(match tokio::fs::read(&file).await {
                                Ok(bytes) => {
                                    let name = file.to_string_lossy().into_owned();
                                    let mut response = HttpResponse::new(HttpBody::from(bytes));
                                    if let Ok(value) =
                                        http::HeaderValue::from_str(content_type(&name))
                                    {
                                        response
                                            .headers_mut()
                                            .insert(http::header::CONTENT_TYPE, value);
                                    }
                                    response
                                }
                                Err(_) => not_found(),
                            })
                        });
                    }
                }
            }
        }
        Box::pin(self.inner.call(request))
    }
}

/// RPC middleware timing every call by method. Methods the server does not serve are
/// counted as `"unknown"`, so a client cannot grow the label set.
#[derive(Clone)]
pub(crate) struct Timing<S> {
    pub inner: S,
    pub metrics: Arc<NodeMetrics>,
    pub known: Arc<HashSet<&'static str>>,
}

impl<S> RpcServiceT for Timing<S>
where
    S: RpcServiceT + Send + Sync + Clone + 'static,
{
    type MethodResponse = S::MethodResponse;
    type NotificationResponse = S::NotificationResponse;
    type BatchResponse = S::BatchResponse;

    fn call<'a>(
        &self,
        request: Request<'a>,
    ) -> impl Future<Output = Self::MethodResponse> + Send + 'a {
        let method = match self.known.get(request.method_name()) {
            Some(name) => *name,
            None => "unknown",
        };
        let metrics = self.metrics.clone();
        let started = Instant::now();
        let answer = self.inner.call(request);
        async move {
            let response = answer.await;
            metrics.rpc_call(method, started.elapsed());
            response
        }
    }

    fn batch<'a>(
        &self,
        requests: Batch<'a>,
    ) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        let metrics = self.metrics.clone();
        let started = Instant::now();
        let answer = self.inner.batch(requests);
        async move {
            let response = answer.await;
            metrics.rpc_call("batch", started.elapsed());
            response
        }
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        self.inner.notification(n)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn explorer_requests_reach_only_plain_files_of_its_directory() {
        let dir = Path::new("/srv/explorer");
        assert_eq!(explorer_file(dir, ""), Some(dir.join("index.html")));
        assert_eq!(
            explorer_file(dir, "explorer.js"),
            Some(dir.join("explorer.js"))
        );
        for bad in ["../keys.json", "a/b.js", ".hidden", "..", "%2e%2e", "x\\y"] {
            assert_eq!(explorer_file(dir, bad), None, "{bad}");
        }
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("explorer.js"),
            "text/javascript; charset=utf-8"
        );
    }
}
