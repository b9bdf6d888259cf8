//! The settlement of external calls on real nodes (sled on disk, PoW, a WASM contract calling
//! a connector): commit waits for the configured depth, the journal outlives the node, a
//! reorganisation compensates and the transaction's return commits again, abort happens only
//! when the transaction can no longer be included, and failing connectors are retried and
//! reported stuck over the RPC and in the metrics.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use wes_consensus::PowParams;
use wes_core::{
    ChainId, ContentId, Genesis, Hash, Input, Ledger, Lock, OutPoint, Output, OutputBody,
    ResourceBody, ResourceKind, ResourceMeta, SecretKey, SignedTransaction, TokenId, Transaction,
    ValidityWindow,
};
use wes_ispc::connectors::{MemoryConnector, OpStatus};
use wes_ispc::{Connector, ConnectorError, ExternalOp, PendingExternal, WasmExecutor};
use wes_ledger::{EutxoLedger, SledStore};
use wes_node::rpc::{RpcConfig, RpcToken, WesApiClient};
use wes_node::settlement::OpState;
use wes_node::{
    Call, Client, Config, Contracts, LaunchOptions, Node, NodeBuilder, SettlementConfig, launch,
};

type TestNode = Node<EutxoLedger<SledStore>>;

const CHAIN: ChainId = ChainId(41);

/// `order` asks connector `shop` to reserve the item named by its arguments.
const SHOP: &str = r#"(module
  (import "wes" "external_call" (func $ext (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wes" "args" (func $input (param i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "shop")
  (func (export "order")
    (local $n i32)
    (local.set $n (call $input (i32.const 16) (i32.const 32)))
    (drop (call $ext (i32.const 0) (i32.const 4) (i32.const 16) (local.get $n)
                     (i32.const 64) (i32.const 64)))))"#;

fn alice() -> SecretKey {
    SecretKey::dev("alice")
}

fn genesis() -> Genesis {
    Genesis {
        chain_id: CHAIN,
        time_ms: 1_767_225_600_000,
        target: PowParams::devnet(CHAIN).pow_limit,
        allocations: (0..4)
            .map(|_| {
                Output::asset(
                    Lock::key(alice().public_key()),
                    TokenId::Native,
                    1_000_000_000,
                )
            })
            .collect(),
        message: "settlement tests".into(),
    }
}

/// A node in `dir` whose contracts reach `shop` through `connector`, mining as `miner`.
fn open(
    dir: &Path,
    connector: Arc<dyn Connector>,
    settlement: SettlementConfig,
    miner: &str,
) -> Arc<TestNode> {
    let wasm = Arc::new(WasmExecutor::default());
    wasm.connectors().register("shop", connector, None);
    let contracts = Contracts::new(wasm);
    let mut config = Config::new(dir);
    config.settlement = settlement;
    NodeBuilder::new(config, genesis())
        .pow(
            PowParams::devnet(CHAIN),
            Some(SecretKey::dev(miner).public_key()),
        )
        .contracts(contracts.clone())
        .verifier(Arc::new(contracts.verifier()))
        .build()
        .unwrap()
}

/// Settles at once (no backoff, never stuck unless a test says so), committing at `depth`.
fn policy(depth: u64) -> SettlementConfig {
    SettlementConfig {
        commit_depth: depth,
        retry_min_ms: 0,
        tick_ms: 60_000,
        ..SettlementConfig::default()
    }
}

fn reserving() -> Arc<MemoryConnector> {
    Arc::new(MemoryConnector::new(|op| {
        if op.request == b"nowhere" {
            Err(ConnectorError("we do not ship there".into()))
        } else {
            Ok(b"reserved".to_vec())
        }
    }))
}

/// Alice's genesis coin number `i`.
fn coin(node: &TestNode, i: u32) -> OutPoint {
    let genesis = node.ledger().hash_at(0).unwrap().unwrap();
    let block = node.ledger().block(&genesis).unwrap().unwrap();
    OutPoint {
        tx: block.transactions[0].tx.id(),
        index: i,
    }
}

/// Registers the shop contract on chain, paid with coin 0; its content id.
fn deploy(node: &TestNode) -> ContentId {
    let code = wat::parse_str(SHOP).unwrap();
    let id = node
        .put_resource(&code, ResourceKind::Wasm, "shop")
        .unwrap();
    let tx = Transaction {
        version: Transaction::VERSION,
        chain_id: CHAIN,
        inputs: vec![Input::spend(coin(node, 0))],
        outputs: vec![Output {
            lock: Lock::key(alice().public_key()),
            body: OutputBody::Resource(ResourceBody {
                content: id,
                kind: ResourceKind::Wasm,
                size: code.len() as u64,
                meta: ResourceMeta {
                    name: "shop".into(),
                    mime: "application/wasm".into(),
                    verifying_key: None,
                },
            }),
        }],
        validity: ValidityWindow::ALWAYS,
        execution: None,
    };
    node.submit(tx.sign(&[&alice()])).unwrap();
    node.produce_block().unwrap();
    id
}

/// Constructs an order for `item` paid with `fee_coin`; the signed transaction and its op.
fn order(
    node: &TestNode,
    shop: ContentId,
    fee_coin: OutPoint,
    item: &str,
) -> Result<(SignedTransaction, PendingExternal), wes_node::NodeError> {
    let constructed = node.construct(&Call {
        resource: shop,
        entry: "order".into(),
        args: item.as_bytes().to_vec(),
        cu_limit: 1_000_000,
        fee_inputs: vec![fee_coin],
        fee: 1_000_000,
        change: Lock::key(alice().public_key()),
        proof_system: wes_ispc::replay_system(),
    })?;
    let op = wes_ispc::connector::external_calls(&constructed.outcome.trace)
        .pop()
        .expect("the order calls the shop");
    let mut signed = constructed.tx.sign(&[&alice()]);
    signed.witness.proof = constructed.proof;
    Ok((signed, op))
}

fn state_of(node: &TestNode, op: &PendingExternal) -> Option<OpState> {
    let settlement = node.settlement().unwrap();
    settlement
        .ops()
        .into_iter()
        .find(|r| r.op == *op)
        .map(|r| r.state)
}

#[test]
fn commit_waits_for_its_depth_and_the_journal_outlives_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let shop_side = reserving();
    let node = open(dir.path(), shop_side.clone(), policy(2), "miner");
    let shop = deploy(&node);
    let (tx, op) = order(&node, shop, coin(&node, 1), "item-7").unwrap();
    assert_eq!(shop_side.status(&op.op), Some(OpStatus::Prepared));
    assert_eq!(state_of(&node, &op), Some(OpState::Prepared));

    // Included, one deep: not yet.
    node.submit(tx).unwrap();
    node.produce_block().unwrap();
    let settlement = node.settlement().unwrap().clone();
    assert!(settlement.sync().unwrap().settled.is_empty());
    assert_eq!(shop_side.status(&op.op), Some(OpStatus::Prepared));

    // A prepare journaled by an execution the node never finished (it stops right after).
    let orphan = ExternalOp {
        id: Hash([7; 32]),
        contract: wes_ispc::contract_id(&shop),
        request: b"item-8".to_vec(),
    };
    wes_ispc::SettlementJournal::preparing(&*settlement, "shop", &orphan).unwrap();
    shop_side.prepare(&orphan).unwrap();

    // The node goes away before settling anything more.
    drop(settlement);
    drop(node);

    // A new run resumes from the journal: the order commits once two deep, the orphan is
    // aborted after its deadline (none here), both without anyone asking again.
    let node = open(
        dir.path(),
        shop_side.clone(),
        SettlementConfig {
            orphan_after_ms: 0,
            ..policy(2)
        },
        "miner",
    );
    // (The settlement's own thread may be first; `sync` returns once all is settled.)
    node.settlement().unwrap().sync().unwrap();
    let orphan_op = PendingExternal {
        connector: "shop".into(),
        op: orphan.id,
    };
    assert_eq!(state_of(&node, &orphan_op), Some(OpState::Aborted));
    assert_eq!(shop_side.status(&orphan.id), Some(OpStatus::Aborted));
    assert_eq!(shop_side.status(&op.op), Some(OpStatus::Prepared));
    node.produce_block().unwrap();
    node.settlement().unwrap().sync().unwrap();
    assert_eq!(shop_side.status(&op.op), Some(OpStatus::Committed));
    assert_eq!(state_of(&node, &op), Some(OpState::Committed));
    // Nothing more to say.
    assert!(
        node.settlement()
            .unwrap()
            .sync()
            .unwrap()
            .settled
            .is_empty()
    );
}

#[test]
fn the_same_call_constructed_again_follows_both_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let shop_side = reserving();
    let node = open(dir.path(), shop_side.clone(), policy(1), "miner");
    let shop = deploy(&node);
    let (first, op) = order(&node, shop, coin(&node, 1), "item-7").unwrap();
    node.produce_block().unwrap();
    // A client retrying a block later: another validity window, another transaction, the
    // same call and so the same op (the connector answers it as before).
    let (second, again) = order(&node, shop, coin(&node, 1), "item-7").unwrap();
    assert_eq!(op, again);
    assert_ne!(first.tx.id(), second.tx.id());
    let record = |node: &TestNode| {
        let ops = node.settlement().unwrap().ops();
        ops.into_iter().find(|r| r.op == op).unwrap()
    };
    assert_eq!(record(&node).txs.len(), 2);

    // The first one is the one sent: committed, and never aborted when the second's window
    // passes (it can no longer be included, but its sibling was).
    node.submit(first).unwrap();
    node.produce_block().unwrap();
    node.settlement().unwrap().sync().unwrap();
    assert_eq!(shop_side.status(&op.op), Some(OpStatus::Committed));
    while node.status().height <= record(&node).valid_until().unwrap() + 3 {
        node.produce_block().unwrap();
    }
    node.settlement().unwrap().sync().unwrap();
    assert_eq!(record(&node).state, OpState::Committed);
    assert_eq!(shop_side.status(&op.op), Some(OpStatus::Committed));
}

#[test]
fn a_reorganisation_compensates_and_the_return_commits_again() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let shop_side = reserving();
    let a = open(dir_a.path(), shop_side.clone(), policy(1), "miner-a");
    let b = open(dir_b.path(), reserving(), policy(1), "miner-b");
    let shop = deploy(&a);
    let deployed = a.ledger().hash_at(1).unwrap().unwrap();
    b.import_block(a.ledger().block(&deployed).unwrap().unwrap())
        .unwrap();

    let (tx, op) = order(&a, shop, coin(&a, 1), "item-7").unwrap();
    a.submit(tx.clone()).unwrap();
    a.produce_block().unwrap();
    a.settlement().unwrap().sync().unwrap();
    assert_eq!(shop_side.status(&op.op), Some(OpStatus::Committed));

    // B mines a longer branch without the order; A follows it.
    for _ in 0..2 {
        let (height, hash, _) = b.produce_block().unwrap();
        a.import_block(b.ledger().block(&hash).unwrap().unwrap())
            .unwrap();
        assert_eq!(a.status().height, height);
    }
    assert_eq!(a.ledger().transaction_location(&tx.tx.id()).unwrap(), None);
    a.settlement().unwrap().sync().unwrap();
    assert_eq!(state_of(&a, &op), Some(OpState::Compensated));
    assert_eq!(shop_side.status(&op.op), Some(OpStatus::Compensated));

    // The order is still valid: it comes back in A's next block and commits again.
    let _ = a.submit(tx); // back in the pool after the reorganisation, or now
    let (_, _, included) = a.produce_block().unwrap();
    assert_eq!(included, 1);
    a.settlement().unwrap().sync().unwrap();
    assert_eq!(state_of(&a, &op), Some(OpState::Committed));
    assert_eq!(shop_side.status(&op.op), Some(OpStatus::Committed));
}

#[test]
fn abort_only_when_the_transaction_can_no_longer_be_included() {
    let dir = tempfile::tempdir().unwrap();
    let shop_side = reserving();
    let mut settlement = policy(2);
    settlement.orphan_after_ms = u64::MAX;
    let node = {
        let wasm = Arc::new(WasmExecutor::default());
        wasm.connectors().register("shop", shop_side.clone(), None);
        let contracts = Contracts::new(wasm);
        let mut config = Config::new(dir.path());
        config.settlement = settlement;
        config.call_validity_blocks = 3;
        NodeBuilder::new(config, genesis())
            .pow(
                PowParams::devnet(CHAIN),
                Some(SecretKey::dev("miner").public_key()),
            )
            .contracts(contracts.clone())
            .verifier(Arc::new(contracts.verifier()))
            .build()
            .unwrap()
    };
    let shop = deploy(&node);
    // `sync` returns once everything due is settled (by it or the settlement's thread).
    let settle = || node.settlement().unwrap().sync().unwrap();
    let state = |op: &PendingExternal| state_of(&node, op);

    // Never sent: it stays prepared while its window is open, even with blocks passing.
    let (_, unsent) = order(&node, shop, coin(&node, 1), "item-1").unwrap();
    // Its fee coin spent by another transaction: aborted once that is two deep.
    let (_, conflicted) = order(&node, shop, coin(&node, 2), "item-2").unwrap();
    let spend = Transaction {
        version: Transaction::VERSION,
        chain_id: CHAIN,
        inputs: vec![Input::spend(coin(&node, 2))],
        outputs: vec![Output::asset(
            Lock::key(alice().public_key()),
            TokenId::Native,
            999_000_000,
        )],
        validity: ValidityWindow::ALWAYS,
        execution: None,
    };
    node.submit(spend.sign(&[&alice()])).unwrap();
    node.produce_block().unwrap();
    settle();
    assert_eq!(shop_side.status(&conflicted.op), Some(OpStatus::Prepared));
    node.produce_block().unwrap();
    settle();
    assert_eq!(state(&conflicted), Some(OpState::Aborted));
    assert_eq!(shop_side.status(&conflicted.op), Some(OpStatus::Aborted));
    assert_eq!(shop_side.status(&unsent.op), Some(OpStatus::Prepared));

    // The unsent order's window (3 blocks from construction) ends, then 2 more blocks.
    let valid_until = node
        .settlement()
        .unwrap()
        .ops()
        .into_iter()
        .find(|r| r.op == unsent)
        .and_then(|r| r.valid_until())
        .unwrap();
    while node.status().height < valid_until + 1 {
        node.produce_block().unwrap();
        settle();
        assert_eq!(state(&unsent), Some(OpState::Prepared));
    }
    node.produce_block().unwrap();
    settle();
    assert_eq!(state(&unsent), Some(OpState::Aborted));
    assert_eq!(shop_side.status(&unsent.op), Some(OpStatus::Aborted));

    // A prepare the connector refused: the construction fails, the op is given up and
    // aborted (the service may have acted before failing).
    let err = order(&node, shop, coin(&node, 3), "nowhere").unwrap_err();
    assert!(err.to_string().contains("we do not ship there"), "{err}");
    settle();
    let states: Vec<OpState> = node
        .settlement()
        .unwrap()
        .ops()
        .iter()
        .map(|r| r.state)
        .collect();
    assert_eq!(states, vec![OpState::Aborted; 3]);
}

/// A connector whose commits fail until `failures` reaches zero.
struct Flaky {
    inner: MemoryConnector,
    failures: AtomicU32,
}

impl Connector for Flaky {
    fn prepare(&self, op: &ExternalOp) -> Result<Vec<u8>, ConnectorError> {
        self.inner.prepare(op)
    }
    fn commit(&self, id: &Hash) -> Result<(), ConnectorError> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(ConnectorError("503 service unavailable".into()));
        }
        self.inner.commit(id)
    }
    fn abort(&self, id: &Hash) -> Result<(), ConnectorError> {
        self.inner.abort(id)
    }
    fn compensate(&self, id: &Hash) -> Result<(), ConnectorError> {
        self.inner.compensate(id)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_calls_are_retried_and_stuck_ones_reported() {
    let dir = tempfile::tempdir().unwrap();
    let flaky = Arc::new(Flaky {
        inner: MemoryConnector::new(|_| Ok(b"ok".to_vec())),
        failures: AtomicU32::new(3),
    });
    let node = open(
        dir.path(),
        flaky.clone(),
        SettlementConfig {
            stuck_after_ms: 0,
            ..policy(1)
        },
        "miner",
    );
    // The settlement journal is an operator method: the client holds the node's token.
    let token = RpcToken::generate();
    let running = launch(
        node.clone(),
        LaunchOptions {
            rpc: Some("127.0.0.1:0".parse().unwrap()),
            produce: false,
            rpc_config: RpcConfig {
                token: Some(token.clone()),
                ..RpcConfig::default()
            },
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let url = format!("http://{}", running.rpc_addr.unwrap());
    let stranger = Client::new(&url).unwrap();
    let refused = stranger.api().settlements(None).await.unwrap_err();
    assert!(
        matches!(&refused, jsonrpsee::core::ClientError::Call(e) if e.code() == wes_node::rpc::code::UNAUTHORIZED),
        "{refused}"
    );
    let client = Client::with_token(&url, &token).unwrap();
    let n = node.clone();
    let op = tokio::task::spawn_blocking(move || {
        let shop = deploy(&n);
        let (tx, op) = order(&n, shop, coin(&n, 1), "item-7").unwrap();
        n.submit(tx).unwrap();
        n.produce_block().unwrap();
        op
    })
    .await
    .unwrap();
    let settlement = node.settlement().unwrap().clone();
    let sync = {
        let s = settlement.clone();
        move || {
            let s = s.clone();
            async move {
                tokio::task::spawn_blocking(move || s.sync().unwrap())
                    .await
                    .unwrap()
            }
        }
    };

    // The worker may have tried already; make sure at least one failure is on record.
    let mut report = sync().await;
    while report.failed.is_empty() && flaky.inner.status(&op.op) != Some(OpStatus::Committed) {
        report = sync().await;
    }
    // Three failures are needed and the worker, woken once by the block, makes at most one:
    // the op is failing now.
    assert_ne!(flaky.inner.status(&op.op), Some(OpStatus::Committed));
    let stuck = client.api().settlements(Some(true)).await.unwrap();
    assert_eq!(stuck.len(), 1);
    assert_eq!(stuck[0].op, op.op.to_hex());
    assert!(stuck[0].stuck && stuck[0].attempts >= 1);
    assert!(stuck[0].last_error.as_deref().unwrap().contains("503"));
    assert!(node.metrics().encode().contains("wes_settlement_stuck 1"));

    // Retried until the service answers; then nothing is stuck.
    while flaky.inner.status(&op.op) != Some(OpStatus::Committed) {
        sync().await;
    }
    sync().await;
    let all = client.api().settlements(None).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].state, OpState::Committed);
    assert!(!all[0].stuck);
    assert!(
        client
            .api()
            .settlements(Some(true))
            .await
            .unwrap()
            .is_empty()
    );
    let metrics = node.metrics().encode();
    assert!(metrics.contains("wes_settlement_stuck 0"), "{metrics}");
    assert!(
        metrics.contains(r#"wes_settlement_calls_total{outcome="commit",result="failed"} 3"#),
        "{metrics}"
    );
    running.stop().await;
}
