//! The command line: what `wes-node` takes (clap), apart from what it does (`main.rs`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The WES-rs reference chain.
#[derive(Parser, Debug)]
#[command(version, about)]
pub(crate) struct Cli {
    /// The node's JSON-RPC URL (client commands).
    #[arg(
        long,
        global = true,
        default_value = "http://127.0.0.1:8645",
        env = "WES_RPC"
    )]
    pub(crate) rpc: String,
    /// The keystore (client commands).
    #[arg(
        long,
        global = true,
        default_value = "wes-devnet-data/keys.json",
        env = "WES_KEYSTORE"
    )]
    pub(crate) keystore: PathBuf,
    /// A file holding the node's RPC token (`rpc.token` in its data directory), for nodes
    /// that keep the compute methods (contract calls, model deployment) behind it (client
    /// commands).
    #[arg(long, global = true, env = "WES_RPC_TOKEN_FILE")]
    pub(crate) rpc_token_file: Option<PathBuf>,
    /// Log format on standard error: `text` for people, `json` (one object per line) for
    /// log collectors.
    #[arg(long, global = true, default_value = "text", env = "WES_LOG_FORMAT")]
    pub(crate) log_format: LogFormat,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// How logs are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Start a local development chain (dev genesis, funded dev keys, mining): one node, or
    /// `--nodes N` nodes in this process that find each other over libp2p on 127.0.0.1.
    Devnet {
        /// Where the chain lives (reused when it exists); with `--nodes N`, node `i` lives in
        /// `<data-dir>/node-<i>`.
        #[arg(long, default_value = "wes-devnet-data")]
        data_dir: PathBuf,
        /// JSON-RPC address (port 0 picks a free port); node `i` of `--nodes` uses port + i.
        #[arg(long, default_value = "127.0.0.1:8645")]
        rpc_addr: SocketAddr,
        /// libp2p listen address of the (first) node; the others listen on free ports.
        #[arg(long, default_value = "/ip4/127.0.0.1/tcp/0")]
        listen: String,
        /// Peers to dial, comma-separated multiaddresses ending in `/p2p/<peer id>`.
        #[arg(long, value_delimiter = ',')]
        bootnodes: Vec<String>,
        /// How many nodes to run in this process.
        #[arg(long, default_value_t = 1)]
        nodes: usize,
        /// Do not mine (follow the chain other nodes mine).
        #[arg(long)]
        no_mine: bool,
        /// The dev key block rewards go to (node `i` > 0 of `--nodes` uses `<name>-<i>`):
        /// give each devnet process its own, or their blocks may be identical.
        #[arg(long, default_value = "miner")]
        miner_key: String,
        /// Serve the explorer's built files (`sdk/ts/explorer/dist`, `npm run build:explorer`)
        /// from this directory at `/explorer/` on the RPC port.
        #[arg(long)]
        explorer_dir: Option<PathBuf>,
        /// Milliseconds between blocks.
        #[arg(long, default_value_t = 2_000)]
        block_time_ms: u64,
    },
    /// Check a configuration and create the node's data directory and genesis.
    Init {
        /// The configuration file (TOML); a template is written there if it does not exist.
        #[arg(long)]
        config: PathBuf,
    },
    /// Run a node from a configuration file.
    Run {
        /// The configuration file (TOML).
        #[arg(long)]
        config: PathBuf,
        /// libp2p listen addresses, comma-separated (replace the configuration's).
        #[arg(long, value_delimiter = ',')]
        listen: Vec<String>,
        /// Peers to dial, comma-separated (added to the configuration's).
        #[arg(long, value_delimiter = ',')]
        bootnodes: Vec<String>,
        /// Where the node keeps its files (replaces the configuration's `data_dir`).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// JSON-RPC address, also serving `/health` and `/metrics` (replaces `rpc_addr`).
        #[arg(long)]
        rpc_addr: Option<SocketAddr>,
        /// Mine, or not (replaces `mine`).
        #[arg(long)]
        mine: Option<bool>,
        /// The keystore key block rewards go to (replaces `miner_key`).
        #[arg(long)]
        miner_key: Option<String>,
        /// Serve the explorer's built files from this directory at `/explorer/` (replaces
        /// `explorer_dir`).
        #[arg(long)]
        explorer_dir: Option<PathBuf>,
    },
    /// Check a connector service against the protocol's rules (idempotent prepare, no
    /// commit after abort, no prepare after abort, signed requests…): exit status 0 when it
    /// conforms. It commits, compensates and aborts fresh ops: use a test instance.
    ConnectorCheck {
        /// The service's base URL (as a `[[connectors]]` entry names it).
        url: String,
        /// Keystore name of the key to sign requests with; the service must trust it and
        /// refuse unsigned requests and other keys.
        #[arg(long)]
        key: Option<String>,
        /// A request the service accepts, hex; give at least two different ones.
        #[arg(long = "request", value_name = "HEX", required = true)]
        requests: Vec<String>,
    },
    /// Manage keys in the keystore.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Chain, mining and mempool status.
    Status,
    /// A block by height.
    Block {
        /// The height.
        height: u64,
    },
    /// Balances of a key name, public key or address.
    Balance {
        /// Who.
        who: String,
    },
    /// Send native tokens.
    Transfer {
        /// Keystore name of the payer.
        #[arg(long)]
        from: String,
        /// Keystore name or public key of the payee.
        #[arg(long)]
        to: String,
        /// Amount.
        #[arg(long)]
        amount: u128,
        /// The token sent: `native` or the hex of an encoded token id (see `balance`).
        #[arg(long, default_value = "native")]
        token: String,
        /// Fee.
        #[arg(long, default_value_t = 10_000)]
        fee: u128,
        /// The token the fee is paid in (the chain's fee policy must accept it).
        #[arg(long, default_value = "native")]
        fee_token: String,
    },
    /// Sponsor pools: fees paid for other people's calls.
    Sponsor {
        #[command(subcommand)]
        command: SponsorCommand,
    },
    /// The tokens the chain accepts fees in, with their rates.
    FeeTokens,
    /// A transaction's status and confirmations.
    Tx {
        /// The transaction id.
        txid: String,
    },
    /// Resources in URES.
    Resource {
        #[command(subcommand)]
        command: ResourceCommand,
    },
    /// WASM contracts.
    Contract {
        #[command(subcommand)]
        command: ContractCommand,
    },
    /// ONNX models.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum KeysCommand {
    /// Generate a key. A new keystore is encrypted with a passphrase
    /// (`WES_KEYSTORE_PASSPHRASE`, or asked on the terminal) unless `--dev`.
    New {
        /// Its name.
        name: String,
        /// Keep the seed unencrypted: a development keystore (refused for an encrypted one).
        #[arg(long)]
        dev: bool,
    },
    /// List keys and addresses.
    List,
}

#[derive(Subcommand, Debug)]
pub(crate) enum ResourceCommand {
    /// Upload a file; prints its content id.
    Put {
        /// The file.
        file: PathBuf,
        /// wasm, onnx or file.
        #[arg(long, default_value = "file")]
        kind: String,
    },
    /// Download a resource.
    Get {
        /// Its content id.
        id: String,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum ContractCommand {
    /// Scaffold a contract project: the contract (declared with `contract!`), its unit test,
    /// and a Cargo.toml for `cargo test`.
    New {
        /// The contract's name (a lowercase Rust identifier).
        name: String,
        /// Where to create the project directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The WES-rs source tree with the SDK (default: the one this binary was built from).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Compile a contract (Rust with Debian's rustc 1.63, or AssemblyScript) to WASM, check it
    /// as a node does at deploy, and write its ABI beside it.
    Build {
        /// The contract's source file (`.rs` or `.ts`).
        source: PathBuf,
        /// Where to write `<name>.wasm` and `<name>.abi.json`.
        #[arg(long, default_value = "target/contracts")]
        out: PathBuf,
        /// The WES-rs source tree with the SDK (default: the one this binary was built from).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Upload a WASM contract and register it on chain.
    Deploy {
        /// The .wasm file (or WebAssembly text, .wat).
        file: PathBuf,
        /// Keystore name of the deployer.
        #[arg(long)]
        from: String,
    },
    /// Print the ABI a deployed contract carries: its entries, events and errors.
    Abi {
        /// The contract's code resource id.
        #[arg(long)]
        resource: String,
    },
    /// Call a contract: the node executes it, you sign the resulting transaction.
    Call {
        /// The contract's code resource id.
        #[arg(long)]
        resource: String,
        /// The entry function.
        #[arg(long)]
        entry: String,
        /// Arguments, hex (for a contract without an ABI).
        #[arg(long, default_value = "")]
        args: String,
        /// A typed argument, `NAME=VALUE`, once per argument, encoded with the contract's
        /// ABI: numbers in decimal, bytes in hex, a lock as a key name, a public key or
        /// `contract:<id>`, records and options as JSON.
        #[arg(long = "arg", value_name = "NAME=VALUE", conflicts_with = "args")]
        typed_args: Vec<String>,
        /// Keystore name of the caller (not needed with --sponsor).
        #[arg(long, required_unless_present = "sponsor")]
        from: Option<String>,
        /// Fee.
        #[arg(long, default_value_t = 2_000_000)]
        fee: u128,
        /// The token the fee is paid in: `native` or the hex of an accepted token's id.
        #[arg(long, default_value = "native")]
        fee_token: String,
        /// A sponsor pool (`txid:index`) that pays the fee: the call needs no key.
        #[arg(long)]
        sponsor: Option<String>,
        /// The most the call may take from the caller's coins, fee included (default: the
        /// fee). The node's construction is checked against it before it is signed.
        #[arg(long)]
        max_spend: Option<u128>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum SponsorCommand {
    /// Create a pool that pays the fees of calls to a contract.
    Create {
        /// Keystore name of the owner (who funds it and may withdraw).
        #[arg(long)]
        from: String,
        /// The sponsored contract's code resource id; any contract without.
        #[arg(long)]
        contract: Option<String>,
        /// The most the pool pays per transaction (native).
        #[arg(long)]
        cap: u128,
        /// What the pool holds (native).
        #[arg(long)]
        amount: u128,
        /// Fee of this transaction.
        #[arg(long, default_value_t = 10_000)]
        fee: u128,
    },
    /// Add funds to a pool (a new output under the pool's lock).
    Fund {
        /// Keystore name of the funder.
        #[arg(long)]
        from: String,
        /// The pool (`txid:index`).
        #[arg(long)]
        pool: String,
        /// Amount (native).
        #[arg(long)]
        amount: u128,
        /// Fee of this transaction.
        #[arg(long, default_value_t = 10_000)]
        fee: u128,
    },
    /// Take a pool output back to its owner.
    Withdraw {
        /// Keystore name of the owner.
        #[arg(long)]
        from: String,
        /// The pool output (`txid:index`).
        #[arg(long)]
        pool: String,
        /// Fee of this transaction.
        #[arg(long, default_value_t = 10_000)]
        fee: u128,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum ModelCommand {
    /// Upload an ONNX model, generate its halo2 circuit and register it on chain.
    Deploy {
        /// The .onnx file.
        file: PathBuf,
        /// Keystore name of the deployer.
        #[arg(long)]
        from: String,
    },
    /// Run a model. With --prove: a proven inference transaction; without: an answer off chain.
    Infer {
        /// The model's Resource output (`txid:index`, printed by `model deploy`).
        #[arg(long)]
        model: String,
        /// One row of input: comma-separated numbers.
        #[arg(long)]
        input: String,
        /// Keystore name of the caller (with --prove).
        #[arg(long, default_value = "alice")]
        from: String,
        /// Make it a transaction with a zero-knowledge proof.
        #[arg(long)]
        prove: bool,
        /// Fee (native).
        #[arg(long, default_value_t = 2_000_000)]
        fee: u128,
    },
}
