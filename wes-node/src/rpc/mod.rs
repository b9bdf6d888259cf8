//! The JSON-RPC server (jsonrpsee, HTTP and WebSocket on one port, `wes_` namespace), which
//! chains extend with their own methods beside the built-in ones ([`serve`] takes extra
//! modules). The API is defined once in [`api`]; the Rust client is generated from it. Binary values
//! (transactions, blocks, resources) travel as hex of their canonical encoding; ids as hex;
//! addresses as bech32m; amounts as decimal strings. The methods are documented in
//! `wes-node/RPC.md`.
//!
//! The same port answers `GET /health` and `GET /metrics` (Prometheus) for operators
//! ([`ops`]).
//!
//! No method waits behind an import or a proof: reads go to the ledger, the status snapshot
//! and the indexes; constructions run on blocking threads against a lock-free view.

pub mod access;
pub mod api;
mod construct;
mod json;
mod logs;
pub mod ops;
mod reads;
mod server;
mod subscriptions;
pub mod types;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use jsonrpsee::Methods;
use jsonrpsee::server::middleware::rpc::RpcServiceBuilder;
use jsonrpsee::server::{
    BatchRequestConfig, HttpBody, Server, ServerHandle, serve_with_graceful_shutdown, stop_channel,
};
use jsonrpsee::types::ErrorObjectOwned;
use tower::Service;
use tower_http::cors::{AllowOrigin, CorsLayer};
use wes_core::{Blame, Fault};

use crate::error::NodeError;
use crate::ledger::ChainLedger;
use crate::node::Node;

pub use access::{Access, RateLimit, RpcConfig, RpcToken, Tier};
pub use api::{WesApiClient, WesApiServer, WesPubSubApiClient, WesPubSubApiServer};
pub use json::{owner_address, parse_outpoint, parse_token, token_name};
pub use server::WesRpc;
pub use subscriptions::WesPubSub;
pub use types::ErrorData;

/// Largest request body (a model or contract upload, hex-encoded).
pub const MAX_REQUEST_BYTES: u32 = 32 << 20;

/// JSON-RPC error codes beyond the standard ones. Every `wes_*` error also carries
/// [`ErrorData`]: the parameter or rule concerned and whose fault it is.
pub mod code {
    /// The request is well-formed but refused (invalid transaction, failed execution…).
    pub const REJECTED: i32 = -32000;
    /// Something asked for does not exist.
    pub const NOT_FOUND: i32 = -32001;
    /// The node failed (storage, …).
    pub const NODE: i32 = -32002;
    /// An operator method called without the node's token ([`super::access`]).
    pub const UNAUTHORIZED: i32 = -32003;
    /// The client is over its rate limit ([`super::access`]); as EIP-1474's "limit
    /// exceeded".
    pub const LIMITED: i32 = -32005;
}

/// A method's result.
pub type RpcResult<T> = Result<T, ErrorObjectOwned>;

fn fault_name(f: Fault) -> String {
    match f {
        Fault::Input => "input",
        Fault::Unavailable => "unavailable",
        Fault::Local => "local",
    }
    .into()
}

/// An error object with `code`, `msg` and `data`.
pub fn error(code: i32, msg: impl Into<String>, data: ErrorData) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, msg.into(), Some(data))
}

/// Something asked for does not exist ([`code::NOT_FOUND`], rule `not_found`).
pub fn not_found(msg: impl Into<String>) -> ErrorObjectOwned {
    error(
        code::NOT_FOUND,
        msg,
        ErrorData {
            rule: Some("not_found".into()),
            fault: Some(fault_name(Fault::Input)),
            ..ErrorData::default()
        },
    )
}

/// A refusal ([`code::REJECTED`]), with the error's rule and fault.
pub fn rejected(e: &(impl std::fmt::Display + Blame)) -> ErrorObjectOwned {
    error(
        code::REJECTED,
        e.to_string(),
        ErrorData {
            rule: e.rule().map(Into::into),
            fault: Some(fault_name(e.fault())),
            ..ErrorData::default()
        },
    )
}

/// A node failure ([`code::NODE`]).
pub fn node_err(e: impl std::fmt::Display) -> ErrorObjectOwned {
    error(
        code::NODE,
        e.to_string(),
        ErrorData {
            fault: Some(fault_name(Fault::Local)),
            ..ErrorData::default()
        },
    )
}

/// Parameter `param` is invalid (`-32602`): it breaks `rule` (`"not_hex"`, `"too_many"`…).
pub fn invalid(param: &str, rule: &str, msg: impl std::fmt::Display) -> ErrorObjectOwned {
    error(
        jsonrpsee::types::error::INVALID_PARAMS_CODE,
        format!("{param}: {msg}"),
        ErrorData {
            param: Some(param.into()),
            rule: Some(rule.into()),
            fault: Some(fault_name(Fault::Input)),
            ..ErrorData::default()
        },
    )
}

/// The built-in `wes_*` methods and subscriptions over `node`.
///
/// # Errors
/// Never in practice (method names are unique); jsonrpsee's registration error otherwise.
pub fn module<L: ChainLedger>(
    node: Arc<Node<L>>,
) -> Result<Methods, jsonrpsee::core::RegisterMethodError> {
    let mut methods: Methods = WesApiServer::into_rpc(WesRpc::new(node.clone())).into();
    methods.merge(WesPubSubApiServer::into_rpc(WesPubSub::new(node)))?;
    Ok(methods)
}

/// Starts the server on `addr` with the built-in methods and `extra` (a chain's own
/// methods or namespaces, e.g. an `RpcModule` of its own merged in), and the explorer's
/// static files from `explorer` under `GET /explorer/`, under the access rules and limits
/// of `config` ([`access`]). Returns the server's handle and the address it listens on.
///
/// # Errors
/// The address cannot be bound, or a method of `extra` has a built-in method's name.
pub async fn serve<L: ChainLedger>(
    node: Arc<Node<L>>,
    addr: SocketAddr,
    extra: Vec<Methods>,
    explorer: Option<std::path::PathBuf>,
    config: &RpcConfig,
) -> Result<(ServerHandle, SocketAddr), NodeError> {
    let server_config = jsonrpsee::server::ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .max_response_body_size(MAX_REQUEST_BYTES)
        .max_connections(config.max_connections)
        .max_subscriptions_per_connection(config.max_subscriptions_per_connection)
        .set_batch_request_config(BatchRequestConfig::Limit(config.max_batch))
        .build();
    let mut methods = module(node.clone()).map_err(|e| NodeError::Rpc(e.to_string()))?;
    for more in extra {
        methods
            .merge(more)
            .map_err(|e| NodeError::Rpc(e.to_string()))?;
    }
    let cors = cors_layer(&config.cors)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(NodeError::io(format!("bind the RPC server to {addr}")))?;
    let local = listener
        .local_addr()
        .map_err(NodeError::io("the RPC server's address"))?;
    let known: Arc<HashSet<&'static str>> = Arc::new(methods.method_names().collect());
    let policy = Arc::new(access::Policy::new(config, &local, methods.method_names()));
    let rpc_middleware = RpcServiceBuilder::new()
        .layer_fn({
            let metrics = node.metrics().clone();
            move |inner| ops::Timing {
                inner,
                metrics: metrics.clone(),
                known: known.clone(),
            }
        })
        .layer_fn(move |inner| access::Guard {
            inner,
            policy: policy.clone(),
        });
    let builder =
        Server::builder()
            .set_config(server_config)
            .set_http_middleware(tower::ServiceBuilder::new().option_layer(cors).layer(
                ops::OpsLayer {
                    node,
                    explorer: explorer.map(Arc::new),
                },
            ))
            .set_rpc_middleware(rpc_middleware)
            .to_service_builder();
    let (stop, handle) = stop_channel();
    let token = config.token.clone();
    tokio::spawn(async move {
        loop {
            let (socket, remote) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of descriptors, most often: wait for some to close.
                        tracing::debug!(error = %e, "RPC accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = stop.clone().shutdown() => break,
            };
            let service = builder.clone().build(methods.clone(), stop.clone());
            let token = token.clone();
            let per_request = tower::service_fn(move |request: http::Request<Incoming>| {
                let mut request = request.map(HttpBody::new);
                let trusted = match (&token, request.headers().get(http::header::AUTHORIZATION)) {
                    (Some(token), Some(presented)) => token.admits(presented.as_bytes()),
                    _ => false,
                };
                request.extensions_mut().insert(access::ClientInfo {
                    ip: remote.ip(),
                    trusted,
                });
                let mut service = service.clone();
                async move { service.call(request).await }
            });
            tokio::spawn(serve_with_graceful_shutdown(
                socket,
                per_request,
                stop.clone().shutdown(),
            ));
        }
    });
    Ok((handle, local))
}

/// The CORS layer allowing `origins` (`"*"`: any), or none when the list is empty.
fn cors_layer(origins: &[String]) -> Result<Option<CorsLayer>, NodeError> {
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let list = origins
            .iter()
            .map(|o| {
                http::HeaderValue::from_str(o)
                    .map_err(|_| NodeError::Rpc(format!("CORS origin {o:?} is not a header value")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(list)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([http::Method::POST, http::Method::GET])
            .allow_headers([http::header::CONTENT_TYPE, http::header::AUTHORIZATION]),
    ))
}
