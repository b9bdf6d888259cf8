//! An app chain for order processing, composed with the `wes-node` library (sled ledger,
//! PoW, WASM contracts verified by replay, an in-process shipping connector) and the example
//! Rust contracts of `wes-ispc` (`stock`, `order_flow`):
//!
//! 1. the shop deploys both contracts, stocks 10 of item 7 and lets the order flow take stock;
//! 2. a customer places an order: **one** contract call that takes the stock (a nested call
//!    into `stock`), pays the shop, books the shipment with the shipping service (an external
//!    call through a connector) and records an invoice — one transaction, or nothing;
//! 3. the shipper hears *commit* once the block with the order is two deep (the node's
//!    settlement, journaled on disk, decides); an order the shipper refuses fails as a
//!    whole, nothing lands, and the shipper hears *abort*.
//!
//! Every block is validated by the node's ledger, which verifies each call by replay from its
//! recorded trace (the shipping service is not asked twice).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use wes_consensus::PowParams;
use wes_core::{
    ChainId, ContentId, Genesis, Input, Lock, OutPoint, Output, OutputBody, ResourceBody,
    ResourceKind, ResourceMeta, SecretKey, TokenId, Transaction, ValidityWindow, codec,
};
use wes_ispc::connectors::MemoryConnector;
use wes_ispc::{CallRequest, Connector, WasmExecutor, construct_call, contract_id};
use wes_ledger::{EutxoLedger, FeePolicy, LedgerConfig, SledStore, TokenFee};
use wes_node::settlement::OpState;
use wes_node::{Config, Contracts, Node, NodeBuilder};

pub mod saga;
pub mod warehouse;

/// The order chain's node: the EUTXO ledger on sled.
pub type OrderNode = Node<EutxoLedger<SledStore>>;

/// The chain id.
pub const CHAIN: ChainId = ChainId(77);

/// The item the shop sells.
pub const ITEM: u32 = 7;

/// What a run did.
#[derive(Debug)]
pub struct Summary {
    /// Tracking code of the order that went through.
    pub tracking: String,
    /// Stock left of [`ITEM`].
    pub stock_left: u64,
    /// What the shop was paid for it.
    pub paid: u128,
    /// Why the second order failed.
    pub refused: String,
    /// Shipments committed and aborted, as the node's settlement journal records the
    /// shipper's acknowledgements.
    pub shipments: (usize, usize),
    /// Height of the chain at the end.
    pub height: u64,
}

/// Builds the example contracts with `wes-ispc/guest/build.sh` (Debian's Rust 1.63 and
/// its wasm32 standard library: `scripts/test.sh` installs them) into `out`.
pub fn build_contracts(out: &Path) -> Result<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wes-ispc/guest/build.sh");
    let status = std::process::Command::new("sh")
        .arg(&script)
        .arg(out)
        .status()
        .with_context(|| format!("run {}", script.display()))?;
    if !status.success() {
        bail!(
            "building the contracts failed (see above; `scripts/test.sh` installs what build.sh needs)"
        );
    }
    Ok(())
}

/// The app's node and its contract runtime, with the wallet moves the examples make.
pub(crate) struct App {
    pub(crate) node: Arc<OrderNode>,
    pub(crate) contracts: Contracts,
}

fn u64_arg(args: &mut Vec<u8>, v: u64) {
    args.extend_from_slice(&v.to_le_bytes());
}

fn prefixed(args: &mut Vec<u8>, bytes: &[u8]) {
    args.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    args.extend_from_slice(bytes);
}

impl App {
    /// Opens (or creates) the chain in `data_dir` with `connectors` registered by name:
    /// the sled ledger, PoW mined by the dev key `miner` on demand, contracts executed once
    /// and verified by replay, and external calls committed once their block is two deep.
    pub(crate) fn open(
        data_dir: &Path,
        connectors: Vec<(&str, Arc<dyn Connector>)>,
    ) -> Result<App> {
        let (shop, alice, miner) = (
            SecretKey::dev("shop"),
            SecretKey::dev("alice"),
            SecretKey::dev("miner"),
        );
        let mut params = PowParams::devnet(CHAIN);
        params.block_time_ms = 1_000;
        let genesis = Genesis {
            chain_id: CHAIN,
            time_ms: 1_767_225_600_000,
            target: params.pow_limit,
            allocations: [&shop, &alice]
                .map(|k| Output::asset(Lock::key(k.public_key()), TokenId::Native, 1_000_000_000))
                .to_vec(),
            message: "order chain".into(),
        };
        let mut rules = LedgerConfig::new(CHAIN);
        rules.fees = FeePolicy::native(TokenFee {
            per_byte: 1,
            per_cu: 1,
        });
        let wasm = Arc::new(WasmExecutor::default());
        for (name, connector) in connectors {
            wasm.connectors().register(name, connector, None);
        }
        let runtime = Contracts::new(wasm);
        let mut config = Config::new(data_dir);
        config.settlement.commit_depth = 2;
        let node = NodeBuilder::new(config, genesis)
            .ledger_config(rules)
            .pow(params, Some(miner.public_key()))
            .contracts(runtime.clone())
            .verifier(Arc::new(runtime.verifier()))
            .build()?;
        Ok(App {
            node,
            contracts: runtime,
        })
    }

    /// A native coin of `key` worth at least `need`, and its amount.
    fn coin(&self, key: &SecretKey, need: u128) -> Result<(OutPoint, u128)> {
        self.node
            .index()
            .outputs_of(&Lock::key(key.public_key()).address())
            .into_iter()
            .find_map(|(op, o)| {
                o.as_asset()
                    .filter(|a| a.token == TokenId::Native && a.amount >= need)
                    .map(|a| (op, a.amount))
            })
            .context("no coin large enough")
    }

    /// Submits and mines `tx`.
    fn land(&self, tx: wes_core::SignedTransaction) -> Result<()> {
        self.node.submit(tx)?;
        let (_, _, n) = self.node.produce_block()?;
        anyhow::ensure!(n == 1, "the block did not include the transaction");
        Ok(())
    }

    /// Stores a contract in URES and registers it with a Resource output owned by `owner`.
    fn deploy(&self, owner: &SecretKey, name: &str, code: &[u8]) -> Result<ContentId> {
        let id = self.node.put_resource(code, ResourceKind::Wasm, name)?;
        let (coin, amount) = self.coin(owner, 1_000_000)?;
        let body = ResourceBody {
            content: id,
            kind: ResourceKind::Wasm,
            size: code.len() as u64,
            meta: ResourceMeta {
                name: name.into(),
                mime: "application/wasm".into(),
                verifying_key: None,
            },
        };
        let tx = Transaction {
            version: Transaction::VERSION,
            chain_id: CHAIN,
            inputs: vec![Input::spend(coin)],
            outputs: vec![
                Output {
                    lock: Lock::key(owner.public_key()),
                    body: OutputBody::Resource(body),
                },
                Output::asset(
                    Lock::key(owner.public_key()),
                    TokenId::Native,
                    amount - 100_000,
                ),
            ],
            validity: ValidityWindow::ALWAYS,
            execution: None,
        };
        self.land(tx.sign(&[owner]))?;
        Ok(id)
    }

    /// Runs `entry` of `resource` for `caller`; the node executes it, the caller signs.
    fn call(
        &self,
        caller: &SecretKey,
        resource: ContentId,
        entry: &str,
        args: Vec<u8>,
    ) -> Result<Vec<u8>> {
        let fee = 1_000_000;
        let ctx = self.node.next_context();
        let req = CallRequest {
            chain_id: CHAIN,
            resource,
            entry: entry.into(),
            args,
            cu_limit: 600_000,
            height: ctx.height,
            valid_until: ctx.height + 20,
            time_ms: ctx.time_ms,
            fee_inputs: vec![self.coin(caller, fee + 10_000)?.0],
            change_lock: Lock::key(caller.public_key()),
            fee,
            fee_token: TokenId::Native,
        };
        let call = construct_call(
            &self.contracts.wasm,
            &*self.contracts.prover,
            &req,
            &self.node.view(),
        )
        .map_err(|e| anyhow!("{entry}: {e}"))?;
        // The shipment follows the order: committed once it is deep enough, aborted if it
        // can no longer be included.
        self.node
            .settlement()
            .context("the node settles external calls")?
            .track(&call.tx, &call.external)?;
        let ret = call.outcome.return_data.clone();
        self.land(call.sign(&[caller]))?;
        Ok(ret)
    }
}

/// The shipping service in process: it refuses addresses containing "nowhere" and answers
/// a tracking code otherwise. [`warehouse`] is the real one, on PostgreSQL.
pub fn memory_shipper() -> Arc<MemoryConnector> {
    Arc::new(MemoryConnector::new(|op| {
        // order_id[32] ‖ item u32 ‖ qty u64 ‖ address
        let address =
            String::from_utf8_lossy(op.request.get(44..).unwrap_or_default()).into_owned();
        Ok(if address.contains("nowhere") {
            b"\x00we do not ship there".to_vec()
        } else {
            [
                b"\x01TRACK-".as_slice(),
                hex(op.request.get(..4).unwrap_or_default()).as_bytes(),
            ]
            .concat()
        })
    }))
}

/// Runs the app chain in `data_dir` with the contracts built into `contracts` (see
/// [`build_contracts`]) and the in-process shipper ([`memory_shipper`]).
pub fn run(data_dir: &Path, contracts: &Path) -> Result<Summary> {
    run_with(data_dir, contracts, memory_shipper())
}

/// Runs the app chain with `shipper` as the shipping connector (an `HttpConnector` to the
/// [`warehouse`] service, say).
pub fn run_with(data_dir: &Path, contracts: &Path, shipper: Arc<dyn Connector>) -> Result<Summary> {
    let (shop, alice) = (SecretKey::dev("shop"), SecretKey::dev("alice"));
    // The composition: sled ledger (the default), PoW mined by `miner` on demand, contracts
    // proven and verified by replay. The shipper hears commit once the order's block has
    // one block on top of it.
    let app = App::open(data_dir, vec![("shipping", shipper)])?;
    let node = app.node.clone();

    let stock = app.deploy(&shop, "stock", &read_contract(contracts, "stock")?)?;
    let flow = app.deploy(
        &shop,
        "order_flow",
        &read_contract(contracts, "order_flow")?,
    )?;
    app.call(&shop, stock, "init", vec![])?;
    let mut add = ITEM.to_le_bytes().to_vec();
    u64_arg(&mut add, 10);
    app.call(&shop, stock, "add", add)?;
    let flow_address = Lock::contract(contract_id(&flow)).address();
    app.call(&shop, stock, "authorize", flow_address.0.0.to_vec())?;

    let order = |id: u8, qty: u64, address: &str| {
        let mut args = [id; 32].to_vec();
        args.extend_from_slice(stock.as_bytes());
        args.extend_from_slice(&ITEM.to_le_bytes());
        u64_arg(&mut args, qty);
        u64_arg(&mut args, 100);
        args.extend_from_slice(&codec::encode(&TokenId::Native));
        args.extend_from_slice(&codec::encode(&Lock::key(shop.public_key())));
        prefixed(&mut args, address.as_bytes());
        args
    };
    let shop_before: u128 = balance(&node, &shop);
    let tracking = app.call(&alice, flow, "place", order(1, 3, "1 Main St"))?;
    let paid = balance(&node, &shop) - shop_before;
    let refused = match app.call(&alice, flow, "place", order(2, 1, "nowhere")) {
        Ok(_) => bail!("the shipper refuses 'nowhere'"),
        Err(e) => e.to_string(),
    };
    // One more block puts the order two deep; settle now rather than at the next tick.
    node.produce_block()?;
    let settlement = node
        .settlement()
        .context("the node settles external calls")?;
    settlement.sync()?;
    let level = stock_level(&node, &stock)?;
    let acknowledged = |state: OpState| {
        settlement
            .ops()
            .iter()
            .filter(|r| r.op.connector == "shipping" && r.state == state)
            .count()
    };
    Ok(Summary {
        // `place` returns the code as bytes: its `u32le` length, then the code.
        tracking: String::from_utf8_lossy(tracking.get(4..).unwrap_or_default()).into_owned(),
        stock_left: level,
        paid,
        refused,
        shipments: (
            acknowledged(OpState::Committed),
            acknowledged(OpState::Aborted),
        ),
        height: node.status().height,
    })
}

/// The level of [`ITEM`] in the `stock` contract deployed as `stock`, on the best chain.
pub fn stock_level(node: &OrderNode, stock: &ContentId) -> Result<u64> {
    let key = [b"i".as_slice(), &ITEM.to_le_bytes()].concat();
    let Some((_, out)) = node.ledger().state(&contract_id(stock), &key)? else {
        return Ok(0);
    };
    let data = &out
        .as_state()
        .context("stock level: not a State output")?
        .data;
    Ok(u64::from_le_bytes(data.as_slice().try_into().map_err(
        |_| anyhow!("stock level: {} bytes", data.len()),
    )?))
}

/// The bytes of contract `name` built into `contracts` by [`build_contracts`].
pub(crate) fn read_contract(contracts: &Path, name: &str) -> Result<Vec<u8>> {
    std::fs::read(contracts.join(format!("{name}.wasm")))
        .with_context(|| format!("contract {name}: run build_contracts first"))
}

fn balance(node: &OrderNode, key: &SecretKey) -> u128 {
    node.index()
        .outputs_of(&Lock::key(key.public_key()).address())
        .iter()
        .filter_map(|(_, o)| {
            o.as_asset()
                .filter(|a| a.token == TokenId::Native)
                .map(|a| a.amount)
        })
        .sum()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
