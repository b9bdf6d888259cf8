//! Node configuration (TOML): where the data lives, the RPC address, whether to mine, and the
//! chain's genesis parameters.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use wes_consensus::Checkpoints;
use wes_core::{BlockHash, ChainId, CompactTarget, Genesis, Lock, Output, PublicKey, TokenId};
use wes_ledger::{FeePolicy, LedgerConfig, Limits, TokenFee};
use wes_net::libp2p::Multiaddr;
use wes_node::rpc::{Access, RateLimit, RpcConfig, RpcToken, parse_token};

/// The proof systems a chain may accept.
pub const PROOF_SYSTEMS: &[&str] = &["replay", "halo2-ipa"];

/// A node's configuration file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Where the ledger, resources, keys and proving parameters live.
    pub data_dir: PathBuf,
    /// JSON-RPC listen address (keep it on 127.0.0.1 unless you put a proxy in front).
    pub rpc_addr: SocketAddr,
    /// Mine blocks (with the key named `miner_key` in the data directory's keystore).
    pub mine: bool,
    /// The keystore name of the key block rewards and fees go to.
    pub miner_key: String,
    /// External services contracts may call (`external_call`), by name.
    #[serde(default)]
    pub connectors: Vec<ConnectorSpec>,
    /// Peer-to-peer networking; without `listen` addresses the node runs alone.
    #[serde(default)]
    pub network: NetworkSpec,
    /// The explorer's built files (`sdk/ts/explorer/dist`), served at `/explorer/` on the
    /// RPC port; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explorer_dir: Option<PathBuf>,
    /// Blocks a constructed call stays valid for (its validity window; the node's default,
    /// 100, when absent). A call whose transaction was never sent has its external effects
    /// aborted once the window has passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_validity_blocks: Option<u64>,
    /// Who may call which RPC methods, and the server's limits.
    #[serde(default)]
    pub rpc: RpcSpec,
    /// How long uploads wait for the transaction that registers them, how many bytes they
    /// may hold, and how often unpinned content is collected.
    #[serde(default)]
    pub uploads: UploadsSpec,
    /// The free disk space the node keeps (what it does when the disk fills up).
    #[serde(default)]
    pub storage: StorageSpec,
    /// The chain.
    pub chain: ChainSpec,
}

/// Peer-to-peer networking (libp2p multiaddresses).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Where to listen, e.g. `/ip4/0.0.0.0/tcp/30333` (`/tcp/0`: a free port). Empty: no
    /// networking.
    #[serde(default)]
    pub listen: Vec<String>,
    /// Peers to dial at start, each ending in `/p2p/<peer id>` (what a node prints as
    /// "P2P listening on").
    #[serde(default)]
    pub bootnodes: Vec<String>,
}

impl NetworkSpec {
    /// The listen and bootnode addresses, parsed.
    pub fn addresses(&self) -> Result<(Vec<Multiaddr>, Vec<Multiaddr>)> {
        let parse = |v: &[String]| {
            v.iter()
                .map(|a| {
                    a.parse::<Multiaddr>()
                        .with_context(|| format!("{a:?} is not a multiaddress"))
                })
                .collect::<Result<Vec<_>>>()
        };
        Ok((parse(&self.listen)?, parse(&self.bootnodes)?))
    }
}

/// Uploads (`wes_node::UploadConfig`): content stored through `wes_putResource` or
/// `wes_deployModel` is kept for `lease_secs`, pinned, for the transaction that registers
/// it; then it is collected unless a live output holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadsSpec {
    /// Seconds an upload is kept unregistered (3,600 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_secs: Option<u64>,
    /// Most MiB uploads may hold before they are registered (1,024 when absent); an upload
    /// past it is refused with rule `upload_quota` until leases end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_leased_mib: Option<u64>,
    /// Most MiB one client's uploads may hold before they are registered (64 when absent);
    /// past it that client's upload is refused with rule `client_upload_quota`. Clients
    /// presenting the RPC token are held to `max_leased_mib` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_leased_mib_per_client: Option<u64>,
    /// Seconds between collections of unpinned content (600 when absent; 0: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gc_interval_secs: Option<u64>,
}

impl UploadsSpec {
    /// The node's settings: these, defaults for what is absent.
    pub fn config(&self) -> wes_node::UploadConfig {
        let mut c = wes_node::UploadConfig::default();
        if let Some(secs) = self.lease_secs {
            c.lease = std::time::Duration::from_secs(secs);
        }
        if let Some(mib) = self.max_leased_mib {
            c.max_leased_bytes = mib.saturating_mul(1 << 20);
        }
        if let Some(mib) = self.max_leased_mib_per_client {
            c.max_leased_bytes_per_client = mib.saturating_mul(1 << 20);
        }
        if let Some(secs) = self.gc_interval_secs {
            c.gc_interval = (secs > 0).then(|| std::time::Duration::from_secs(secs));
        }
        c
    }
}

/// Disk space (`wes_node::storage`): below `reserve_mib` MiB free the node writes no block
/// (it stops producing and reports `disk_full` on `/health`, and resumes once space is freed);
/// uploads and fetched content stop at twice that. `ledger_cache_mib` is the ledger store's
/// page cache.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSpec {
    /// MiB kept free for blocks (64 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserve_mib: Option<u64>,
    /// MiB of page cache for the ledger's store (32 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_cache_mib: Option<u64>,
}

impl StorageSpec {
    /// The node's settings: these, defaults for what is absent.
    pub fn config(&self) -> wes_node::StorageConfig {
        let mut c = wes_node::StorageConfig::default();
        if let Some(mib) = self.reserve_mib {
            c.reserve_bytes = mib.saturating_mul(1 << 20);
        }
        if let Some(mib) = self.ledger_cache_mib {
            c.ledger_cache_bytes = mib.saturating_mul(1 << 20);
        }
        c
    }
}

/// The RPC server's access rules (`wes_node::rpc::access`): the operator's token, who may
/// call the compute methods, the rate limit per client address, batch and connection
/// bounds, and the browser origins allowed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpcSpec {
    /// The file holding the operator's token (64 hex digits); `<data_dir>/rpc.token` when
    /// absent. Created, readable by its owner only, when it does not exist. Clients present
    /// it as `Authorization: Bearer <token>` (the CLI: `--rpc-token-file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// Who may call the compute methods (`wes_constructCall`, `wes_deployModel`…):
    /// `"open"` or `"token"`; when absent, open on a loopback `rpc_addr` and behind the
    /// token otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<String>,
    /// Units per second each client address may spend (a call costs one unit, plus one per
    /// KiB of parameters; twice that in a burst); 0: no limit. 1,000 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    /// Most calls in one batch request (100 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_batch: Option<u32>,
    /// Most connections at once (256 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// Browser origins allowed to call the RPC (`"*"`: any); none by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cors: Vec<String>,
}

impl RpcSpec {
    /// The token file of a node whose data lives in `data_dir`.
    pub fn token_path(&self, data_dir: &Path) -> PathBuf {
        self.token_file
            .clone()
            .unwrap_or_else(|| data_dir.join("rpc.token"))
    }

    /// Who may call compute methods, as configured (`None`: by the address).
    pub fn compute_access(&self) -> Result<Option<Access>> {
        match self.compute.as_deref() {
            None => Ok(None),
            Some("open") => Ok(Some(Access::Open)),
            Some("token") => Ok(Some(Access::Token)),
            Some(other) => anyhow::bail!("rpc.compute is \"open\" or \"token\", not {other:?}"),
        }
    }

    /// The server's configuration, with the token read from its file, or generated and
    /// written there when the file does not exist.
    ///
    /// # Errors
    /// The token file cannot be read or written, or holds no token; a bad `compute`.
    pub fn server_config(&self, data_dir: &Path) -> Result<RpcConfig> {
        let path = self.token_path(data_dir);
        let token = match std::fs::read_to_string(&path) {
            Ok(text) => RpcToken::from_hex(&text)
                .with_context(|| format!("the RPC token file {}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let token = RpcToken::generate();
                crate::keys::write_private(&path, format!("{}\n", token.to_hex()).as_bytes())
                    .with_context(|| format!("write the RPC token to {}", path.display()))?;
                token
            }
            Err(e) => {
                return Err(e).with_context(|| format!("read the RPC token {}", path.display()));
            }
        };
        let defaults = RpcConfig::default();
        Ok(RpcConfig {
            token: Some(token),
            compute: self.compute_access()?,
            rate_limit: match self.rate_limit {
                None => defaults.rate_limit,
                Some(n) => RateLimit::per_second(n),
            },
            max_batch: self.max_batch.unwrap_or(defaults.max_batch),
            max_connections: self.max_connections.unwrap_or(defaults.max_connections),
            cors: self.cors.clone(),
            ..defaults
        })
    }
}

/// An HTTP connector: `POST {url}/prepare`, `/commit/{op}`, `/abort/{op}`,
/// `/compensate/{op}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorSpec {
    /// The name contracts use.
    pub name: String,
    /// The service's base URL (`http://…`).
    pub url: String,
    /// Confirmations before the service hears commit (the node's default, 3, when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_depth: Option<u64>,
    /// The keystore name of the key that signs every request to the service, so it can
    /// refuse requests that are not the node's (`wes_ispc::service::Auth::nodes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
}

/// Genesis parameters: every node of a chain must use the same.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSpec {
    /// The chain id (signed into every transaction).
    pub chain_id: u32,
    /// Target time between blocks.
    pub block_time_ms: u64,
    /// Genesis time, milliseconds since the Unix epoch.
    pub genesis_time_ms: u64,
    /// A message in the genesis block.
    pub message: String,
    /// Native-token fee: per byte of a transaction.
    pub fee_per_byte: u64,
    /// Native-token fee: per compute unit of an execution.
    pub fee_per_cu: u64,
    /// Accepted proof systems: `replay` (WASM contracts) and/or `halo2-ipa` (model inference).
    pub proof_systems: Vec<String>,
    /// Most transactions in a block, coinbase included (every node of the chain must agree).
    #[serde(default = "default_max_block_txs")]
    pub max_block_txs: usize,
    /// Largest encoded block in bytes.
    #[serde(default = "default_max_block_bytes")]
    pub max_block_bytes: usize,
    /// Most compute units a block's executions use together.
    #[serde(default = "default_max_block_cu")]
    pub max_block_cu: u64,
    /// Most compute units one transaction's execution uses.
    #[serde(default = "default_max_tx_cu")]
    pub max_tx_cu: u64,
    /// Other tokens fees may be paid in, with their rates (the native token's are
    /// `fee_per_byte` and `fee_per_cu`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fee_tokens: Vec<FeeTokenSpec>,
    /// Initial balances.
    pub allocations: Vec<Allocation>,
    /// Blocks the chain's operators vouch for (`[[chain.checkpoints]]`, `height` and
    /// `hash`): a block at that height must be that one, and blocks up to the highest one
    /// passed are final. Added with releases as the chain grows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkpoints: Vec<CheckpointSpec>,
    /// The least cumulative work (decimal, or hex with `0x`) a chain must carry before the
    /// node syncs its bodies or produces on it; none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_chain_work: Option<String>,
}

/// A block the chain's operators vouch for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointSpec {
    /// Its height.
    pub height: u64,
    /// Its hash, hex.
    pub hash: String,
}

/// A token fees may be paid in, and its minimum: `per_byte × size + per_cu × compute units`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeTokenSpec {
    /// The token: the hex of its encoded id, as the RPC and `balance` name it.
    pub token: String,
    /// Per byte of a transaction.
    pub per_byte: u64,
    /// Per compute unit of an execution.
    pub per_cu: u64,
}

fn default_max_block_txs() -> usize {
    Limits::default().max_block_txs
}

fn default_max_block_bytes() -> usize {
    Limits::default().max_block_bytes
}

fn default_max_block_cu() -> u64 {
    Limits::default().max_block_cu
}

fn default_max_tx_cu() -> u64 {
    Limits::default().max_tx_cu
}

/// An initial balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allocation {
    /// The owner's Ed25519 public key, hex.
    pub public_key: String,
    /// The amount.
    pub amount: u64,
    /// The token: `native` (the default) or the hex of an encoded token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl Allocation {
    /// The token allocated.
    pub fn token(&self) -> Result<TokenId> {
        match &self.token {
            None => Ok(TokenId::Native),
            Some(t) => parse_token(t).map_err(anyhow::Error::msg),
        }
    }
}

impl NodeConfig {
    /// Reads and checks a configuration file.
    pub fn read(path: &Path) -> Result<NodeConfig> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
        let config: NodeConfig =
            toml::from_str(&text).with_context(|| format!("parse {}", path.display()))?;
        config.chain.check()?;
        config.network.addresses()?;
        config.rpc.compute_access()?;
        Ok(config)
    }

    /// Writes the configuration as TOML.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = toml::to_string_pretty(self)?;
        std::fs::write(path, text).with_context(|| format!("write {}", path.display()))
    }
}

impl ChainSpec {
    /// Checks the parameters.
    pub fn check(&self) -> Result<()> {
        anyhow::ensure!(self.block_time_ms > 0, "block_time_ms must be positive");
        for s in &self.proof_systems {
            anyhow::ensure!(
                PROOF_SYSTEMS.contains(&s.as_str()),
                "unknown proof system {s:?} (known: {PROOF_SYSTEMS:?})"
            );
        }
        for a in &self.allocations {
            public_key(&a.public_key)?;
            a.token()?;
        }
        for f in &self.fee_tokens {
            parse_token(&f.token).map_err(anyhow::Error::msg)?;
        }
        self.checkpoints()?;
        self.min_chain_work()?;
        Ok(())
    }

    /// The checkpoints.
    pub fn checkpoints(&self) -> Result<Checkpoints> {
        self.checkpoints
            .iter()
            .map(|c| {
                let hash = c.hash.parse::<BlockHash>().map_err(|e| {
                    anyhow::anyhow!("checkpoint at height {}: hash {:?}: {e}", c.height, c.hash)
                })?;
                Ok((c.height, hash))
            })
            .collect()
    }

    /// The minimum chain work (0 if none is set).
    pub fn min_chain_work(&self) -> Result<u128> {
        let Some(s) = &self.min_chain_work else {
            return Ok(0);
        };
        let parsed = match s.strip_prefix("0x") {
            Some(hex) => u128::from_str_radix(hex, 16),
            None => s.parse(),
        };
        parsed.map_err(|e| anyhow::anyhow!("min_chain_work {s:?}: {e}"))
    }

    /// The chain id.
    pub fn chain_id(&self) -> ChainId {
        ChainId(self.chain_id)
    }

    /// The genesis block's content.
    pub fn genesis(&self, target: CompactTarget) -> Result<Genesis> {
        let allocations = self
            .allocations
            .iter()
            .map(|a| {
                Ok(Output::asset(
                    Lock::key(public_key(&a.public_key)?),
                    a.token()?,
                    u128::from(a.amount),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Genesis {
            chain_id: self.chain_id(),
            time_ms: self.genesis_time_ms,
            target,
            allocations,
            message: self.message.clone(),
        })
    }

    /// The ledger's configuration: the fee tokens and the block limits (tokens that do not
    /// parse are left out: [`ChainSpec::check`] refuses them).
    pub fn ledger_config(&self) -> LedgerConfig {
        let mut c = LedgerConfig::new(self.chain_id());
        c.fees = FeePolicy::native(TokenFee {
            per_byte: u128::from(self.fee_per_byte),
            per_cu: u128::from(self.fee_per_cu),
        });
        for f in &self.fee_tokens {
            if let Ok(token) = parse_token(&f.token) {
                c.fees = c.fees.accept(
                    token,
                    TokenFee {
                        per_byte: u128::from(f.per_byte),
                        per_cu: u128::from(f.per_cu),
                    },
                );
            }
        }
        c.limits.max_block_txs = self.max_block_txs;
        c.limits.max_block_bytes = self.max_block_bytes;
        c.limits.max_block_cu = self.max_block_cu;
        c.limits.max_tx_cu = self.max_tx_cu;
        c
    }
}

/// Parses a hex Ed25519 public key.
pub fn public_key(hex_key: &str) -> Result<PublicKey> {
    let bytes: [u8; 32] = hex::decode(hex_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .with_context(|| format!("{hex_key:?} is not 32 bytes of hex"))?;
    Ok(PublicKey(bytes))
}

/// The devnet's second fee token, "devnet USD": allocated to the dev keys at genesis and
/// accepted for fees beside the native token, to try paying fees in another token. An
/// issued token of a contract that does not exist, so nothing mints more of it.
pub fn devnet_usd() -> TokenId {
    TokenId::Issued {
        contract: wes_core::ContractId(wes_core::hash(
            wes_core::Domain::new("wes/devnet-token"),
            b"usd",
        )),
        tag: wes_core::Hash::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: &str) -> Result<ChainSpec> {
        let text = format!(
            "chain_id = 1\nblock_time_ms = 1000\ngenesis_time_ms = 0\nmessage = \"m\"\n\
             fee_per_byte = 1\nfee_per_cu = 1\nproof_systems = []\nallocations = []\n{extra}"
        );
        Ok(toml::from_str(&text)?)
    }

    #[test]
    fn checkpoints_and_the_minimum_work_are_read_and_checked() {
        let none = spec("").unwrap();
        assert!(none.checkpoints().unwrap().is_empty());
        assert_eq!(none.min_chain_work().unwrap(), 0);

        let hash = BlockHash(wes_core::Hash([7; 32]));
        let set = spec(&format!(
            "min_chain_work = \"0x1f4\"\n[[checkpoints]]\nheight = 10\nhash = \"{hash}\"\n"
        ))
        .unwrap();
        set.check().unwrap();
        assert_eq!(set.min_chain_work().unwrap(), 500);
        assert_eq!(set.checkpoints().unwrap().at(10), Some(&hash));
        assert_eq!(
            spec("min_chain_work = \"500\"")
                .unwrap()
                .min_chain_work()
                .unwrap(),
            500
        );

        let bad = spec("[[checkpoints]]\nheight = 10\nhash = \"zz\"\n").unwrap();
        assert!(
            bad.check()
                .unwrap_err()
                .to_string()
                .contains("checkpoint at height 10")
        );
        let bad = spec("min_chain_work = \"lots\"").unwrap();
        assert!(
            bad.check()
                .unwrap_err()
                .to_string()
                .contains("min_chain_work")
        );
    }

    #[test]
    fn the_storage_table_sets_the_reserve_and_the_ledger_cache() {
        let absent: StorageSpec = toml::from_str("").unwrap();
        assert_eq!(absent.config(), wes_node::StorageConfig::default());
        assert_eq!(
            absent.config().ledger_cache_bytes,
            wes_node::DEFAULT_LEDGER_CACHE_BYTES
        );
        let set: StorageSpec = toml::from_str("reserve_mib = 128\nledger_cache_mib = 8").unwrap();
        assert_eq!(set.config().reserve_bytes, 128 << 20);
        assert_eq!(set.config().ledger_cache_bytes, 8 << 20);
        assert!(toml::from_str::<StorageSpec>("ledger_cache = 8").is_err());
    }
}
