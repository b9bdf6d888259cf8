//! Who may call what on the RPC port, and how often.
//!
//! Every method belongs to a [`Tier`]:
//! - **public**: reads, submissions and subscriptions, open to anyone;
//! - **compute**: methods that make the node work or reach outside on the caller's behalf
//!   ([`COMPUTE_METHODS`]: executing a contract call and its external `prepare`s, proving an
//!   inference, generating a model's keys, storing a resource). Open on a server bound to a
//!   loopback address, behind the token elsewhere, unless [`RpcConfig::compute`] says;
//! - **admin**: methods that change what the node does or show its operator's business
//!   ([`ADMIN_METHODS`]: blocking peers, the settlement journal). Always behind the token;
//!   with no token configured, nobody may call them.
//!
//! A client proves it holds the node's [`RpcToken`] with `Authorization: Bearer <hex>` on the
//! HTTP request (or on the WebSocket upgrade). Such a client is also exempt from the rate
//! limit: it is the operator's own tool.
//!
//! Everyone else is rate-limited per address ([`RateLimit`]; IPv6 clients per /64, which is
//! what one subscriber gets). A call costs one unit plus one per KiB of its parameters (at most a burst), so a
//! large batch of transactions in one call pays for its size. Batches are bounded
//! ([`RpcConfig::max_batch`]) and every entry of a batch is charged and checked.
//!
//! Refusals are JSON-RPC errors: [`UNAUTHORIZED`](super::code::UNAUTHORIZED) with rule
//! `unauthorized`, [`LIMITED`](super::code::LIMITED) with rule `rate_limited`.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jsonrpsee::MethodResponse;
use jsonrpsee::core::middleware::{Batch, BatchEntry, BatchEntryErr, Notification, RpcServiceT};
use jsonrpsee::types::{ErrorObjectOwned, Request};
use subtle::ConstantTimeEq;
use wes_core::Fault;

use super::types::ErrorData;
use super::{code, error, fault_name};
use crate::uploads::Uploader;

/// The built-in methods only the token's holder may call.
pub const ADMIN_METHODS: &[&str] = &["wes_netBlockPeer", "wes_netUnblockPeer", "wes_settlements"];

/// The built-in methods that make the node compute, store or call outside services for the
/// caller.
pub const COMPUTE_METHODS: &[&str] = &[
    "wes_constructCall",
    "wes_constructInference",
    "wes_deployModel",
    "wes_callModel",
    "wes_putResource",
];

/// Who may call a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tier {
    /// Anyone.
    Public,
    /// Anyone when compute is open ([`Access::Open`]), the token's holder otherwise.
    Compute,
    /// The token's holder only.
    Admin,
}

/// Whether a tier is open to everyone or needs the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone may call.
    Open,
    /// Only a client presenting the node's token.
    Token,
}

/// Why a token could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Not 64 hex digits.
    #[error("an RPC token is 64 hex digits (32 bytes), got {len} characters")]
    Malformed {
        /// Characters given.
        len: usize,
    },
}

/// The secret that admits a client to the admin (and guarded compute) methods: 32 random
/// bytes, written as 64 hex digits (as reth's engine-API secret is). Compared in constant
/// time; never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct RpcToken([u8; 32]);

impl fmt::Debug for RpcToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RpcToken(…)")
    }
}

impl RpcToken {
    /// A fresh token from the operating system's randomness.
    pub fn generate() -> Self {
        RpcToken(rand::random())
    }

    /// The token written as `hex` (surrounding whitespace ignored, so a token file may end
    /// in a newline).
    ///
    /// # Errors
    /// [`TokenError::Malformed`]: not 64 hex digits.
    pub fn from_hex(hex: &str) -> Result<Self, TokenError> {
        let hex = hex.trim();
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex, &mut bytes)
            .map_err(|_| TokenError::Malformed { len: hex.len() })?;
        Ok(RpcToken(bytes))
    }

    /// The token as 64 hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The `Authorization` header value a client sends: `Bearer <hex>`.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.to_hex())
    }

    /// Whether an `Authorization` header value presents this token.
    pub fn admits(&self, authorization: &[u8]) -> bool {
        let Some(presented) = authorization
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case(b"bearer "))
            .and_then(|_| std::str::from_utf8(&authorization[7..]).ok())
            .and_then(|hex| RpcToken::from_hex(hex).ok())
        else {
            return false;
        };
        bool::from(self.0.ct_eq(&presented.0))
    }
}

/// A per-address rate: `per_second` units refill each second, up to `burst` saved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Units a client may spend per second, sustained.
    pub per_second: NonZeroU32,
    /// Units a client may spend at once after a quiet spell.
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// `per_second` sustained, twice that in a burst; `None` for 0 (no limit).
    pub fn per_second(per_second: u32) -> Option<RateLimit> {
        let per_second = NonZeroU32::new(per_second)?;
        Some(RateLimit {
            per_second,
            burst: per_second.saturating_mul(NonZeroU32::MIN.saturating_add(1)),
        })
    }
}

impl Default for RateLimit {
    /// 1,000 units a second, 2,000 in a burst: far above what a wallet or an explorer
    /// needs, far below what would keep the node busy.
    fn default() -> Self {
        RateLimit::per_second(1_000).expect("non-zero")
    }
}

/// Bytes of parameters that cost one more unit of the rate limit: about eight signed
/// transfers, so a batch of transactions pays about what verifying it costs.
pub const BYTES_PER_UNIT: usize = 1 << 10;

/// What a call with `params_len` bytes of parameters costs: one unit, plus one per
/// [`BYTES_PER_UNIT`], but never more than a client's whole `burst` (so that a large upload
/// is possible at all, once the client has been quiet).
pub fn call_units(params_len: usize, burst: NonZeroU32) -> NonZeroU32 {
    let extra = u32::try_from(params_len / BYTES_PER_UNIT).unwrap_or(u32::MAX);
    NonZeroU32::MIN.saturating_add(extra).min(burst)
}

/// The RPC server's access rules and limits.
#[derive(Clone, Debug)]
pub struct RpcConfig {
    /// The token admitting the operator's clients; `None`: admin methods (and guarded
    /// compute methods) are refused to everyone.
    pub token: Option<RpcToken>,
    /// Who may call the compute methods; `None`: open when the server binds a loopback
    /// address, the token's holder otherwise.
    pub compute: Option<Access>,
    /// A chain's own methods (served beside the built-in ones) that are admin methods.
    pub admin_methods: Vec<String>,
    /// A chain's own methods that are compute methods.
    pub compute_methods: Vec<String>,
    /// The rate limit per client address; `None`: no limit.
    pub rate_limit: Option<RateLimit>,
    /// Most calls in one batch request.
    pub max_batch: u32,
    /// Most connections at once (HTTP requests in flight and open WebSockets).
    pub max_connections: u32,
    /// Most subscriptions one WebSocket may hold.
    pub max_subscriptions_per_connection: u32,
    /// Origins a browser page may call from (`Access-Control-Allow-Origin`); `"*"` for any.
    /// Empty (the default): no CORS headers, so pages of other origins cannot read the
    /// answers. The explorer, served by the node itself, needs none.
    pub cors: Vec<String>,
}

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig {
            token: None,
            compute: None,
            admin_methods: Vec::new(),
            compute_methods: Vec::new(),
            rate_limit: Some(RateLimit::default()),
            max_batch: 100,
            max_connections: 256,
            max_subscriptions_per_connection: 128,
            cors: Vec::new(),
        }
    }
}

impl RpcConfig {
    /// Who may call compute methods on a server bound to `addr`.
    pub fn compute_access(&self, addr: &SocketAddr) -> Access {
        self.compute.unwrap_or(if addr.ip().is_loopback() {
            Access::Open
        } else {
            Access::Token
        })
    }

    /// The tier of `method` under this configuration.
    pub fn tier(&self, method: &str) -> Tier {
        if ADMIN_METHODS.contains(&method) || self.admin_methods.iter().any(|m| m == method) {
            Tier::Admin
        } else if COMPUTE_METHODS.contains(&method)
            || self.compute_methods.iter().any(|m| m == method)
        {
            Tier::Compute
        } else {
            Tier::Public
        }
    }
}

/// What the server knows of the client behind a request: put in the HTTP request's
/// extensions when the connection is accepted, read by every call on it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClientInfo {
    /// The client's address.
    pub ip: IpAddr,
    /// The request presented the node's token.
    pub trusted: bool,
}

/// Whose upload a call makes ([`crate::uploads`]): the operator's for a client presenting
/// the token (or a call that did not come over HTTP), else the client's, keyed as its rate
/// limit is.
pub(crate) fn uploader(ext: &jsonrpsee::Extensions) -> Uploader {
    match ext.get::<ClientInfo>() {
        Some(client) if !client.trusted => Uploader::Client(limit_key(client.ip).to_string()),
        _ => Uploader::Operator,
    }
}

/// The key a client is rate-limited under: its IPv4 address, or its IPv6 /64.
fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// Calls between two sweeps of idle clients out of the limiter's table.
const SWEEP_EVERY: u64 = 1 << 16;

/// The decisions [`Guard`] takes, shared by all connections.
pub(crate) struct Policy {
    tiers: HashMap<String, Tier>,
    compute: Access,
    token_set: bool,
    /// The limiter and its burst (the most one call may cost).
    limiter: Option<(DefaultKeyedRateLimiter<IpAddr>, NonZeroU32)>,
    calls: AtomicU64,
}

impl Policy {
    /// The policy of a server on `addr` configured by `config`, for the methods `methods`.
    pub fn new<'a>(
        config: &RpcConfig,
        addr: &SocketAddr,
        methods: impl Iterator<Item = &'a str>,
    ) -> Policy {
        Policy {
            tiers: methods
                .map(|m| (m.to_string(), config.tier(m)))
                .filter(|(_, t)| *t != Tier::Public)
                .collect(),
            compute: config.compute_access(addr),
            token_set: config.token.is_some(),
            limiter: config.rate_limit.map(|r| {
                (
                    RateLimiter::keyed(Quota::per_second(r.per_second).allow_burst(r.burst)),
                    r.burst,
                )
            }),
            calls: AtomicU64::new(0),
        }
    }

    /// Whether `client` may call `method` with `params_len` bytes of parameters now, or
    /// the error to answer.
    fn admit(
        &self,
        client: Option<&ClientInfo>,
        method: &str,
        params_len: usize,
    ) -> Result<(), ErrorObjectOwned> {
        let trusted = client.is_some_and(|c| c.trusted);
        let needs_token = match self.tiers.get(method).copied().unwrap_or(Tier::Public) {
            Tier::Public => false,
            Tier::Compute => self.compute == Access::Token,
            Tier::Admin => true,
        };
        if needs_token && !trusted {
            let why = if self.token_set {
                "send the node's RPC token (Authorization: Bearer <token>)"
            } else {
                "this node has no RPC token configured, so nobody may call it"
            };
            return Err(error(
                code::UNAUTHORIZED,
                format!("{method} is an operator method: {why}"),
                ErrorData {
                    rule: Some("unauthorized".into()),
                    fault: Some(fault_name(Fault::Input)),
                    ..ErrorData::default()
                },
            ));
        }
        if trusted {
            return Ok(());
        }
        let (Some((limiter, burst)), Some(client)) = (&self.limiter, client) else {
            return Ok(());
        };
        if self.calls.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let units = call_units(params_len, *burst);
        match limiter.check_key_n(&limit_key(client.ip), units) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(error(
                code::LIMITED,
                format!(
                    "rate limit: {} costs {units} units, more than this client has left; slow down",
                    method
                ),
                ErrorData {
                    rule: Some("rate_limited".into()),
                    fault: Some(fault_name(Fault::Input)),
                    ..ErrorData::default()
                },
            )),
        }
    }
}

/// RPC middleware applying the [`Policy`] to every call, batch entries included.
#[derive(Clone)]
pub(crate) struct Guard<S> {
    pub inner: S,
    pub policy: Arc<Policy>,
}

fn params_len(params: Option<&std::borrow::Cow<'_, serde_json::value::RawValue>>) -> usize {
    params.map_or(0, |p| p.get().len())
}

impl<S> RpcServiceT for Guard<S>
where
    S: RpcServiceT<MethodResponse = MethodResponse, BatchResponse = MethodResponse>
        + Send
        + Sync
        + Clone
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = S::NotificationResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(
        &self,
        request: Request<'a>,
    ) -> impl Future<Output = Self::MethodResponse> + Send + 'a {
        let verdict = self.policy.admit(
            request.extensions().get::<ClientInfo>(),
            request.method_name(),
            params_len(request.params.as_ref()),
        );
        let inner = self.inner.clone();
        async move {
            match verdict {
                Ok(()) => inner.call(request).await,
                Err(e) => MethodResponse::error(request.id, e),
            }
        }
    }

    fn batch<'a>(
        &self,
        mut requests: Batch<'a>,
    ) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        let client = requests.extensions().get::<ClientInfo>().copied();
        for entry in requests.iter_mut() {
            let refusal = match entry {
                Ok(BatchEntry::Call(req)) => self
                    .policy
                    .admit(
                        client.as_ref(),
                        req.method_name(),
                        params_len(req.params.as_ref()),
                    )
                    .err()
                    .map(|e| (req.id.clone(), e)),
                _ => None,
            };
            if let Some((id, e)) = refusal {
                *entry = Err(BatchEntryErr::new(id, e));
            }
        }
        self.inner.batch(requests)
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
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_checked_whole() {
        let t = RpcToken::generate();
        assert_eq!(RpcToken::from_hex(&format!("{}\n", t.to_hex())).unwrap(), t);
        assert!(t.admits(t.bearer().as_bytes()));
        assert!(t.admits(format!("bearer {}", t.to_hex()).as_bytes()));
        let other = RpcToken::generate();
        for bad in [
            other.bearer(),
            t.to_hex(),
            format!("Basic {}", t.to_hex()),
            format!("Bearer {}", &t.to_hex()[..63]),
            "Bearer".into(),
            String::new(),
        ] {
            assert!(!t.admits(bad.as_bytes()), "{bad}");
        }
        assert!(RpcToken::from_hex("abc").is_err());
        assert_eq!(format!("{t:?}"), "RpcToken(…)");
    }

    #[test]
    fn methods_fall_in_their_tiers() {
        let config = RpcConfig {
            admin_methods: vec!["app_reset".into()],
            compute_methods: vec!["app_simulate".into()],
            ..RpcConfig::default()
        };
        assert_eq!(config.tier("wes_netBlockPeer"), Tier::Admin);
        assert_eq!(config.tier("wes_settlements"), Tier::Admin);
        assert_eq!(config.tier("app_reset"), Tier::Admin);
        assert_eq!(config.tier("wes_deployModel"), Tier::Compute);
        assert_eq!(config.tier("app_simulate"), Tier::Compute);
        assert_eq!(config.tier("wes_getBalance"), Tier::Public);
        let local: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let public: SocketAddr = "0.0.0.0:1".parse().unwrap();
        assert_eq!(config.compute_access(&local), Access::Open);
        assert_eq!(config.compute_access(&public), Access::Token);
        let open = RpcConfig {
            compute: Some(Access::Open),
            ..config
        };
        assert_eq!(open.compute_access(&public), Access::Open);
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(limit_key(a), limit_key(b));
        assert_ne!(limit_key(a), limit_key(c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(limit_key(mapped), "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_client_is_refused_past_its_burst_and_large_calls_cost_more() {
        let config = RpcConfig {
            rate_limit: RateLimit::per_second(1).map(|r| RateLimit {
                burst: NonZeroU32::new(10).unwrap(),
                ..r
            }),
            ..RpcConfig::default()
        };
        let addr: SocketAddr = "0.0.0.0:1".parse().unwrap();
        let policy = Policy::new(&config, &addr, ["wes_chainId"].into_iter());
        let alice = ClientInfo {
            ip: "10.0.0.1".parse().unwrap(),
            trusted: false,
        };
        let bob = ClientInfo {
            ip: "10.0.0.2".parse().unwrap(),
            ..alice
        };
        for _ in 0..10 {
            policy.admit(Some(&alice), "wes_chainId", 10).unwrap();
        }
        let e = policy.admit(Some(&alice), "wes_chainId", 10).unwrap_err();
        assert_eq!(e.code(), code::LIMITED);
        // Another client has its own allowance, and the operator has none to spend.
        policy.admit(Some(&bob), "wes_chainId", 10).unwrap();
        let operator = ClientInfo {
            trusted: true,
            ..alice
        };
        policy.admit(Some(&operator), "wes_chainId", 10).unwrap();
        // 9 units left for bob: a call carrying 9 KiB costs 10.
        assert!(
            policy
                .admit(Some(&bob), "wes_chainId", 9 * BYTES_PER_UNIT)
                .is_err()
        );
        policy
            .admit(Some(&bob), "wes_chainId", 8 * BYTES_PER_UNIT)
            .unwrap();
    }

    #[test]
    fn calls_cost_by_size_up_to_a_burst() {
        let burst = NonZeroU32::new(2_000).unwrap();
        assert_eq!(call_units(0, burst).get(), 1);
        assert_eq!(call_units(BYTES_PER_UNIT - 1, burst).get(), 1);
        assert_eq!(call_units(3 * BYTES_PER_UNIT, burst).get(), 4);
        assert_eq!(call_units(32 << 20, burst), burst);
        assert_eq!(call_units(usize::MAX, burst), burst);
    }

    #[test]
    fn operator_methods_need_the_token() {
        let addr: SocketAddr = "0.0.0.0:1".parse().unwrap();
        let methods = ["wes_netBlockPeer", "wes_deployModel", "wes_chainId"];
        let with_token = RpcConfig {
            token: Some(RpcToken::generate()),
            ..RpcConfig::default()
        };
        let policy = Policy::new(&with_token, &addr, methods.into_iter());
        let stranger = ClientInfo {
            ip: "10.0.0.1".parse().unwrap(),
            trusted: false,
        };
        let operator = ClientInfo {
            trusted: true,
            ..stranger
        };
        for m in ["wes_netBlockPeer", "wes_deployModel"] {
            let e = policy.admit(Some(&stranger), m, 0).unwrap_err();
            assert_eq!(e.code(), code::UNAUTHORIZED, "{m}");
            policy.admit(Some(&operator), m, 0).unwrap();
        }
        policy.admit(Some(&stranger), "wes_chainId", 0).unwrap();
        // On loopback, compute is open; admin is not.
        let local: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let policy = Policy::new(&RpcConfig::default(), &local, methods.into_iter());
        policy.admit(Some(&stranger), "wes_deployModel", 0).unwrap();
        let e = policy
            .admit(Some(&stranger), "wes_netBlockPeer", 0)
            .unwrap_err();
        assert!(e.message().contains("no RPC token"), "{}", e.message());
    }
}
