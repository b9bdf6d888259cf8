//! `wes-node`: run the reference chain, or talk to one.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use serde_json::{Value, json};
use wes_core::{Lock, Output, OutputBody, ResourceBody, ResourceKind, SecretKey, TokenId, codec};
use wes_ispc::WasmLimits;
use wes_ispc::abi::ContractAbi;
use wes_ledger::Limits;
use wes_node::LaunchOptions;
use wes_node::client::{Client, ConstructedTx, Expected, resource_body};
use wes_node::rpc::{RpcToken, parse_outpoint, parse_token, token_name};
use wes_reference_chain::config::{Allocation, ChainSpec, FeeTokenSpec, NodeConfig, devnet_usd};
use wes_reference_chain::contract_args::encode_typed_args;
use wes_reference_chain::contract_tool;
use wes_reference_chain::keys::{Keystore, address_of, dev_key};

mod cli;

use cli::*;

/// A spinner on stderr while a person waits (key generation, proving); hidden when stderr
/// is not a terminal.
fn spinner(message: &str) -> indicatif::ProgressBar {
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new_spinner()
    } else {
        eprintln!("{message}");
        indicatif::ProgressBar::hidden()
    };
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
}

fn print(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

/// The devnet's configuration: dev keys alice and bob funded in the native token and in
/// "devnet USD" (a second fee token), miner mining.
fn devnet_config(data_dir: &Path, rpc_addr: SocketAddr, block_time_ms: u64) -> NodeConfig {
    let usd = token_name(&devnet_usd());
    let alloc = |name: &str, token: Option<&str>| Allocation {
        public_key: hex::encode(dev_key(name).public_key().0),
        amount: 1_000_000_000_000,
        token: token.map(str::to_owned),
    };
    NodeConfig {
        data_dir: data_dir.to_path_buf(),
        rpc_addr,
        mine: true,
        miner_key: "miner".into(),
        connectors: Vec::new(),
        network: Default::default(),
        explorer_dir: None,
        call_validity_blocks: None,
        rpc: Default::default(),
        uploads: Default::default(),
        storage: Default::default(),
        chain: ChainSpec {
            chain_id: 1337,
            block_time_ms,
            genesis_time_ms: 1_767_225_600_000,
            message: "WES-rs devnet".into(),
            fee_per_byte: 1,
            fee_per_cu: 1,
            proof_systems: vec!["replay".into(), "halo2-ipa".into()],
            max_block_txs: Limits::default().max_block_txs,
            max_block_bytes: Limits::default().max_block_bytes,
            max_block_cu: Limits::default().max_block_cu,
            max_tx_cu: Limits::default().max_tx_cu,
            fee_tokens: vec![FeeTokenSpec {
                token: usd.clone(),
                per_byte: 2,
                per_cu: 2,
            }],
            allocations: vec![
                alloc("alice", None),
                alloc("bob", None),
                alloc("alice", Some(&usd)),
                alloc("bob", Some(&usd)),
            ],
            checkpoints: Vec::new(),
            min_chain_work: None,
        },
    }
}

fn ensure_dev_keys(path: &Path) -> Result<Keystore> {
    let mut store = Keystore::open_dev(path)?;
    for name in ["alice", "bob", "miner"] {
        if !store.contains(name) {
            store.insert(name, &dev_key(name))?;
        }
    }
    Ok(store)
}

/// Runs the nodes of `configs` in this process until Ctrl-C / SIGTERM. Nodes after the first
/// dial the first one's libp2p address.
fn run_nodes(configs: Vec<NodeConfig>, banner: bool) -> Result<()> {
    let mut nodes = Vec::new();
    for config in &configs {
        let keystore = Keystore::open(config.data_dir.join("keys.json"))?;
        let miner = if config.mine {
            Some(keystore.get(&config.miner_key)?)
        } else {
            None
        };
        nodes.push(wes_reference_chain::chain::open(config, miner.as_ref())?);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut running = Vec::new();
        let mut first_p2p: Option<wes_net::libp2p::Multiaddr> = None;
        for (i, (node, config)) in nodes.into_iter().zip(&configs).enumerate() {
            let (listen, mut bootnodes) = config.network.addresses()?;
            if let Some(first) = &first_p2p {
                bootnodes.push(first.clone());
            }
            let height = node.status().height;
            let rpc_config = config.rpc.server_config(&config.data_dir)?;
            let started = wes_node::launch(
                node,
                LaunchOptions {
                    rpc: Some(config.rpc_addr),
                    listen,
                    bootnodes,
                    produce: true,
                    explorer: config.explorer_dir.clone(),
                    rpc_config,
                    ..Default::default()
                },
            )
            .await?;
            let addr = started.rpc_addr.context("the RPC server's address")?;
            if configs.len() > 1 {
                println!("node {i}");
            }
            println!("WES-rs node — chain {} at height {height}", config.chain.chain_id);
            println!("  data     {}", config.data_dir.display());
            println!(
                "  rpc token {} (operator methods: --rpc-token-file)",
                config.rpc.token_path(&config.data_dir).display()
            );
            println!("RPC listening on http://{addr}");
            if let Some(net) = &started.network {
                let addrs = net.listen_addrs();
                for a in &addrs {
                    println!("P2P listening on {a}");
                }
                if first_p2p.is_none() {
                    first_p2p = addrs.first().cloned();
                }
            }
            if banner && i == 0 {
                let store = Keystore::open(config.data_dir.join("keys.json"))?;
                for (name, address) in store.list()? {
                    println!("  {name:<8} {address}");
                }
                println!("  keys     {}", config.data_dir.join("keys.json").display());
                println!(
                    "  usd      {} (devnet USD, a second fee token: --fee-token <it>)",
                    token_name(&devnet_usd())
                );
                println!("\nTry: wes-node --rpc http://{addr} --keystore {} transfer --from alice --to bob --amount 1000",
                    config.data_dir.join("keys.json").display());
                println!("     wes-node --rpc http://{addr} balance bob\n");
            }
            running.push(started);
        }
        shutdown_signal().await;
        println!("shutting down…");
        for node in &running {
            node.node.shutdown();
        }
        for node in running {
            let n = node.node.clone();
            node.stop().await;
            println!("stopped at height {}", n.status().height);
        }
        Ok::<_, anyhow::Error>(())
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    match cli.command {
        Command::Devnet {
            data_dir,
            rpc_addr,
            listen,
            bootnodes,
            nodes,
            no_mine,
            miner_key,
            explorer_dir,
            block_time_ms,
        } => {
            anyhow::ensure!(
                (1..=16).contains(&nodes),
                "--nodes must be between 1 and 16"
            );
            let mut configs = Vec::new();
            for i in 0..nodes {
                let dir = if nodes == 1 {
                    data_dir.clone()
                } else {
                    data_dir.join(format!("node-{i}"))
                };
                std::fs::create_dir_all(&dir)?;
                ensure_dev_keys(&dir.join("keys.json"))?;
                let mut rpc = rpc_addr;
                if rpc.port() != 0 {
                    rpc.set_port(rpc.port() + i as u16);
                }
                let mut config = devnet_config(&dir, rpc, block_time_ms);
                config.mine = !no_mine;
                // Each node mines with a key of its own (so their blocks differ).
                let name = if i == 0 {
                    miner_key.clone()
                } else {
                    format!("{miner_key}-{i}")
                };
                let mut store = Keystore::open_dev(dir.join("keys.json"))?;
                if !store.contains(&name) {
                    store.insert(&name, &dev_key(&name))?;
                }
                config.miner_key = name;
                config.network.listen = vec![if i == 0 {
                    listen.clone()
                } else {
                    "/ip4/127.0.0.1/tcp/0".into()
                }];
                config.network.bootnodes = bootnodes.clone();
                config.explorer_dir = explorer_dir.clone();
                config.network.addresses()?;
                config.write(&dir.join("node.toml"))?;
                configs.push(config);
            }
            run_nodes(configs, true)
        }
        Command::Init { config } => {
            if !config.exists() {
                let data_dir = config.parent().unwrap_or(Path::new(".")).join("wes-data");
                devnet_config(&data_dir, "127.0.0.1:8645".parse()?, 2_000).write(&config)?;
                println!(
                    "wrote a template configuration to {} (its allocations fund the public dev keys: edit them)",
                    config.display()
                );
            }
            let cfg = NodeConfig::read(&config)?;
            // A fresh mining key (the dev keys are public: only `devnet` uses them), in an
            // encrypted keystore (the passphrase from WES_KEYSTORE_PASSPHRASE or asked).
            let mut store = Keystore::open(cfg.data_dir.join("keys.json"))?;
            if !store.contains(&cfg.miner_key) {
                let k = SecretKey::generate();
                store.insert(&cfg.miner_key, &k)?;
                println!("new key {:?}: {}", cfg.miner_key, address_of(&k));
            }
            let node = wes_reference_chain::chain::open(&cfg, None)?;
            let genesis = node.status().genesis;
            println!(
                "initialised {} — chain {}, genesis {genesis}",
                cfg.data_dir.display(),
                cfg.chain.chain_id
            );
            Ok(())
        }
        Command::Run {
            config,
            listen,
            bootnodes,
            data_dir,
            rpc_addr,
            mine,
            miner_key,
            explorer_dir,
        } => {
            let mut config = NodeConfig::read(&config)?;
            config.explorer_dir = explorer_dir.or(config.explorer_dir);
            if !listen.is_empty() {
                config.network.listen = listen;
            }
            config.network.bootnodes.extend(bootnodes);
            config.data_dir = data_dir.unwrap_or(config.data_dir);
            config.rpc_addr = rpc_addr.unwrap_or(config.rpc_addr);
            config.mine = mine.unwrap_or(config.mine);
            config.miner_key = miner_key.unwrap_or(config.miner_key);
            config.network.addresses()?;
            run_nodes(vec![config], false)
        }
        Command::ConnectorCheck { url, key, requests } => {
            let requests = requests
                .iter()
                .map(|r| hex::decode(r).with_context(|| format!("--request {r}: not hex")))
                .collect::<Result<Vec<_>>>()?;
            anyhow::ensure!(
                requests.len() >= 2 && requests[0] != requests[1],
                "give at least two different --request"
            );
            let key = key
                .map(|name| Keystore::open(&cli.keystore)?.get(&name))
                .transpose()?;
            let request = |n: u32| requests[n as usize % requests.len()].clone();
            wes_ispc::service::conformance::check(&url, key.as_ref(), &request)
                .map_err(|e| anyhow!("{url} does not conform: {e}"))?;
            println!("{url} conforms to the connector protocol");
            Ok(())
        }
        Command::Contract {
            command: ContractCommand::New { name, dir, sdk },
        } => {
            let sdk = sdk.unwrap_or_else(contract_tool::default_sdk_root);
            for file in contract_tool::scaffold(&name, &dir, &sdk)? {
                println!("{}", file.display());
            }
            Ok(())
        }
        Command::Contract {
            command: ContractCommand::Build { source, out, sdk },
        } => {
            let sdk = sdk.unwrap_or_else(contract_tool::default_sdk_root);
            let built = contract_tool::build(&source, &out, &sdk, WasmLimits::default())?;
            let (abi, entries) = match &built.abi {
                Some((path, abi)) => (
                    json!(path.display().to_string()),
                    json!(abi.entries.iter().map(|e| &e.name).collect::<Vec<_>>()),
                ),
                None => (Value::Null, Value::Null),
            };
            print(&json!({
                "wasm": built.wasm.display().to_string(), "bytes": built.bytes,
                "abi": abi, "entries": entries,
            }));
            Ok(())
        }
        Command::Keys { command } => {
            match command {
                KeysCommand::New { name, dev } => {
                    let mut store = if dev {
                        Keystore::open_dev(&cli.keystore)?
                    } else {
                        Keystore::open(&cli.keystore)?
                    };
                    let k = SecretKey::generate();
                    store.insert(&name, &k)?;
                    println!(
                        "{name}  {}  public key {}",
                        address_of(&k),
                        hex::encode(k.public_key().0)
                    );
                }
                KeysCommand::List => {
                    let store = Keystore::open(&cli.keystore)?;
                    for (name, address) in store.list()? {
                        let k = store.get(&name)?;
                        println!(
                            "{name:<12} {address}  public key {}",
                            hex::encode(k.public_key().0)
                        );
                    }
                }
            }
            Ok(())
        }
        command => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let client = match &cli.rpc_token_file {
                None => Client::new(&cli.rpc)?,
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("read the RPC token {}", path.display()))?;
                    let token = RpcToken::from_hex(&text)
                        .with_context(|| format!("the RPC token file {}", path.display()))?;
                    Client::with_token(&cli.rpc, &token)?
                }
            };
            runtime.block_on(client_command(client, &cli.keystore, command))
        }
    }
}

async fn client_command(c: Client, keystore: &Path, command: Command) -> Result<()> {
    let store = Keystore::open(keystore)?;
    match command {
        Command::Status => {
            let mining: Value = c.call("wes_miningStatus", vec![]).await?;
            let mempool: Value = c.call("wes_mempool", vec![]).await?;
            let chain: u32 = c.call("wes_chainId", vec![]).await?;
            print(&json!({"chain_id": chain, "mining": mining, "mempool": mempool}));
        }
        Command::Block { height } => print(
            &c.call::<Value>("wes_getBlockByHeight", vec![json!(height)])
                .await?,
        ),
        Command::Balance { who } => {
            let who = match store.get(&who) {
                Ok(k) => hex::encode(k.public_key().0),
                Err(_) => who,
            };
            print(&c.call::<Value>("wes_getBalance", vec![json!(who)]).await?);
        }
        Command::Transfer {
            from,
            to,
            amount,
            token,
            fee,
            fee_token,
        } => {
            let payer = store.get(&from)?;
            let payee = store.recipient(&to)?;
            let out = Output::asset(
                wes_core::Lock::key(payee),
                parse_token(&token).map_err(anyhow::Error::msg)?,
                amount,
            );
            let txid = c
                .pay(
                    &payer,
                    vec![out],
                    fee,
                    parse_token(&fee_token).map_err(anyhow::Error::msg)?,
                )
                .await?;
            println!("{txid}");
        }
        Command::Sponsor { command } => match command {
            SponsorCommand::Create {
                from,
                contract,
                cap,
                amount,
                fee,
            } => {
                let owner = store.get(&from)?;
                let contract = contract
                    .map(|r| r.parse().map(|r| wes_ispc::contract_id(&r)))
                    .transpose()
                    .map_err(|e| anyhow!("contract: {e}"))?;
                let pool = c
                    .create_sponsor_pool(&owner, contract, cap, amount, fee)
                    .await?;
                print(&json!({"pool": pool.to_string()}));
            }
            SponsorCommand::Fund {
                from,
                pool,
                amount,
                fee,
            } => {
                let funder = store.get(&from)?;
                let pool = parse_outpoint(&pool).map_err(anyhow::Error::msg)?;
                let added = c.fund_sponsor_pool(&funder, &pool, amount, fee).await?;
                print(&json!({"pool": added.to_string()}));
            }
            SponsorCommand::Withdraw { from, pool, fee } => {
                let owner = store.get(&from)?;
                let pool = parse_outpoint(&pool).map_err(anyhow::Error::msg)?;
                let txid = c.withdraw_sponsor_pool(&owner, &pool, fee).await?;
                println!("{txid}");
            }
        },
        Command::FeeTokens => print(&c.call::<Value>("wes_feeTokens", vec![]).await?),
        Command::Tx { txid } => print(
            &c.call::<Value>("wes_getTransaction", vec![json!(txid)])
                .await?,
        ),
        Command::Resource { command } => match command {
            ResourceCommand::Put { file, kind } => {
                let bytes =
                    std::fs::read(&file).with_context(|| format!("read {}", file.display()))?;
                let name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                let id: String = c
                    .call(
                        "wes_putResource",
                        vec![json!(hex::encode(bytes)), json!(kind), json!(name)],
                    )
                    .await?;
                println!("{id}");
            }
            ResourceCommand::Get { id, out } => {
                let data: String = c.call("wes_getResource", vec![json!(id)]).await?;
                std::fs::write(&out, hex::decode(data)?)?;
                println!("wrote {}", out.display());
            }
        },
        Command::Contract { command } => match command {
            ContractCommand::Deploy { file, from } => {
                let k = store.get(&from)?;
                let mut bytes =
                    std::fs::read(&file).with_context(|| format!("read {}", file.display()))?;
                if file.extension().is_some_and(|e| e == "wat") {
                    bytes = wat::parse_bytes(&bytes)
                        .with_context(|| {
                            format!("{} is not valid WebAssembly text", file.display())
                        })?
                        .into_owned();
                }
                let name = file
                    .file_stem()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                let id: String = c
                    .call(
                        "wes_putResource",
                        vec![json!(hex::encode(&bytes)), json!("wasm"), json!(name)],
                    )
                    .await?;
                let content = id.parse().map_err(|e| anyhow!("content id {id:?}: {e}"))?;
                let body = resource_body(content, ResourceKind::Wasm, bytes.len() as u64, &name);
                let txid = c.register_resource(&k, body, 10_000).await?;
                print(
                    &json!({"resource": id, "txid": txid.to_string(), "resource_output": format!("{txid}:0")}),
                );
            }
            ContractCommand::New { .. } | ContractCommand::Build { .. } => {
                bail!("not a client command")
            }
            ContractCommand::Abi { resource } => {
                let abi: Option<ContractAbi> =
                    c.call("wes_getContractAbi", vec![json!(resource)]).await?;
                print(&serde_json::to_value(abi)?);
            }
            ContractCommand::Call {
                resource,
                entry,
                mut args,
                typed_args,
                from,
                fee,
                fee_token,
                sponsor,
                max_spend,
            } => {
                if !typed_args.is_empty() {
                    let abi: Option<ContractAbi> =
                        c.call("wes_getContractAbi", vec![json!(resource)]).await?;
                    let abi = abi.with_context(|| {
                        format!("contract {resource} carries no ABI: give --args in hex")
                    })?;
                    let key_of = |name: &str| {
                        store
                            .contains(name)
                            .then(|| store.recipient(name).ok())
                            .flatten()
                    };
                    args = hex::encode(encode_typed_args(&abi, &entry, &typed_args, key_of)?);
                }
                let (txid, constructed) = if let Some(pool) = sponsor {
                    let pool = parse_outpoint(&pool).map_err(anyhow::Error::msg)?;
                    let resource = resource.parse().map_err(|e| anyhow!("resource: {e}"))?;
                    let args = hex::decode(&args).context("args: not hex")?;
                    c.call_sponsored(&resource, &entry, &args, &pool, fee)
                        .await?
                } else {
                    let k = store.get(from.as_deref().context("--from or --sponsor")?)?;
                    let token = parse_token(&fee_token).map_err(anyhow::Error::msg)?;
                    let fee_input = if token == TokenId::Native {
                        c.fee_input(&k, fee + 100_000).await?
                    } else {
                        c.coins(&k.public_key(), token, fee).await?.0[0]
                    };
                    let constructed: ConstructedTx = c.call("wes_constructCall", vec![json!({
                        "resource": resource, "entry": entry, "args": args,
                        "fee_inputs": [fee_input.to_string()], "change": hex::encode(k.public_key().0),
                        "fee": fee.to_string(), "fee_token": fee_token,
                    })]).await?;
                    // Signed only if it is the call asked for, paying at most what was allowed.
                    let expected = Expected {
                        chain_id: c.chain_id().await?,
                        resource: resource.parse().map_err(|e| anyhow!("resource: {e}"))?,
                        entry: entry.clone(),
                        args: hex::decode(&args).context("args: not hex")?,
                        fee_inputs: vec![(fee_input, c.output(&fee_input).await?)],
                        change: Lock::key(k.public_key()),
                        fee_token: token,
                        max_spend: max_spend.unwrap_or(fee),
                    };
                    (
                        c.sign_checked(&k, &constructed, &expected).await?,
                        constructed,
                    )
                };
                let mut out = json!({"txid": txid.to_string(), "cu_used": constructed.cu_used, "return_data": constructed.return_data});
                if !constructed.result.is_null() {
                    out["result"] = constructed.result;
                }
                print(&out);
            }
        },
        Command::Model { command } => match command {
            ModelCommand::Deploy { file, from } => {
                let k = store.get(&from)?;
                let bytes =
                    std::fs::read(&file).with_context(|| format!("read {}", file.display()))?;
                let name = file
                    .file_stem()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                let wait = spinner("generating the model's halo2 circuit and keys…");
                let d: Value = c
                    .call(
                        "wes_deployModel",
                        vec![json!(hex::encode(&bytes)), json!(name)],
                    )
                    .await?;
                wait.finish_and_clear();
                let body: ResourceBody = codec::decode(&hex::decode(
                    d["resource_body"].as_str().context("no body")?,
                )?)?;
                let txid = c.register_resource(&k, body, 10_000).await?;
                print(
                    &json!({"model": d["model"], "circuit": d["circuit"], "txid": txid.to_string(), "model_output": format!("{txid}:0")}),
                );
            }
            ModelCommand::Infer {
                model,
                input,
                from,
                prove,
                fee,
            } => {
                let input: Vec<f32> = input
                    .split(',')
                    .map(|s| {
                        s.trim()
                            .parse::<f32>()
                            .with_context(|| format!("input value {s:?}"))
                    })
                    .collect::<Result<_>>()?;
                if !prove {
                    let out: Value = c
                        .call("wes_callModel", vec![json!(model), json!(input)])
                        .await?;
                    print(&out);
                    return Ok(());
                }
                let k = store.get(&from)?;
                let fee_input = c.fee_input(&k, fee + 100_000).await?;
                let model_at = parse_outpoint(&model).map_err(anyhow::Error::msg)?;
                let OutputBody::Resource(deployed) = c.output(&model_at).await?.body else {
                    bail!("{model} is not a model's Resource output");
                };
                let wait = spinner("running the model and proving the inference…");
                let constructed: ConstructedTx = c
                    .call(
                        "wes_constructInference",
                        vec![json!({
                            "model": model, "input": input, "fee_inputs": [fee_input.to_string()],
                            "change": hex::encode(k.public_key().0), "fee": fee.to_string(),
                        })],
                    )
                    .await?;
                wait.finish_and_clear();
                // Signed only if it is this inference, paying at most the fee.
                let expected = Expected {
                    chain_id: c.chain_id().await?,
                    resource: deployed.content,
                    entry: wes_ispc::onnx::INFER_ENTRY.into(),
                    args: wes_ispc::onnx::encode_input(&input),
                    fee_inputs: vec![(fee_input, c.output(&fee_input).await?)],
                    change: Lock::key(k.public_key()),
                    fee_token: TokenId::Native,
                    max_spend: fee,
                };
                let txid = c.sign_checked(&k, &constructed, &expected).await?;
                print(
                    &json!({"txid": txid.to_string(), "result": constructed.result, "proof_bytes": constructed.proof.len() / 2}),
                );
            }
        },
        Command::Devnet { .. }
        | Command::Init { .. }
        | Command::Run { .. }
        | Command::ConnectorCheck { .. }
        | Command::Keys { .. } => bail!("not a client command"),
    }
    Ok(())
}
