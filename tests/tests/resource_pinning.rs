//! The ledger and URES together: content registered by a live `Resource` output is pinned and
//! survives garbage collection; when the output is spent the content is unpinned and
//! collected; reverting the spend pins it again. Pins a crash left behind are reconciled
//! from the ledger's index of live resources.

use std::sync::Arc;

use wes_core::*;
use wes_ledger::{
    EutxoLedger, KvStore, LedgerConfig, MemoryStore, PinChanges, ResourcePins, SledStore,
};
use wes_ures::DiskStore;

const CHAIN: ChainId = ChainId(5);

fn alice() -> SecretKey {
    SecretKey::from_seed([7; 32])
}

/// A genesis funding alice with 1,000,000 native.
fn genesis(message: &str) -> Genesis {
    Genesis {
        chain_id: CHAIN,
        time_ms: 0,
        target: CompactTarget(0),
        allocations: vec![Output::asset(
            Lock::key(alice().public_key()),
            TokenId::Native,
            1_000_000,
        )],
        message: message.into(),
    }
}

fn transfer(inputs: Vec<OutPoint>, outputs: Vec<Output>) -> SignedTransaction {
    Transaction {
        version: Transaction::VERSION,
        chain_id: CHAIN,
        inputs: inputs.into_iter().map(Input::spend).collect(),
        outputs,
        validity: ValidityWindow::ALWAYS,
        execution: None,
    }
    .sign(&[&alice()])
}

fn mine<S: KvStore>(ledger: &EutxoLedger<S>, txs: Vec<SignedTransaction>) -> Block {
    let tip = ledger.tip().unwrap();
    let block = ledger
        .build_block(
            txs,
            &Lock::key(alice().public_key()),
            alice().public_key(),
            tip.height + 1,
        )
        .unwrap();
    ledger.apply_block(&block).unwrap();
    block
}

#[test]
fn live_resource_outputs_pin_their_content() {
    let dir = tempfile::tempdir().unwrap();
    let pins = Arc::new(ResourcePins::new(DiskStore::open(dir.path()).unwrap()));
    let store = pins.store();
    let lock = Lock::key(alice().public_key());
    let genesis = genesis("pinning");
    let ledger = EutxoLedger::open(
        MemoryStore::new(),
        LedgerConfig::new(CHAIN),
        &genesis,
        VerifierRegistry::new(),
    )
    .unwrap()
    .with_observer(pins.clone());

    let meta = ResourceMeta {
        name: "contract.wasm".into(),
        mime: "application/wasm".into(),
        verifying_key: None,
    };
    let wasm = vec![0x42u8; 300_000];
    let stat = store
        .put(ResourceKind::Wasm, &meta, &mut wasm.as_slice())
        .unwrap();
    let stray = store
        .put(
            ResourceKind::File,
            &meta,
            &mut b"nobody refers to me".as_slice(),
        )
        .unwrap();

    // Register the contract on chain.
    let register = transfer(
        vec![genesis.coinbase().outpoint(0)],
        vec![
            Output {
                lock: lock.clone(),
                body: OutputBody::Resource(stat.body()),
            },
            Output::asset(lock.clone(), TokenId::Native, 990_000),
        ],
    );
    mine(&ledger, vec![register.clone()]);
    assert!(store.stat(&stat.id).unwrap().unwrap().pinned);
    let report = store.collect_garbage().unwrap();
    assert_eq!(report.removed, 1, "only the unreferenced content goes");
    assert!(!store.has(&stray.id).unwrap());
    assert!(ResourceStore::open(store, &stat.id).is_ok());

    // Spending the registration unpins it; reverting the spend pins it again.
    let retire = transfer(
        vec![register.tx.outpoint(0), register.tx.outpoint(1)],
        vec![Output::asset(lock.clone(), TokenId::Native, 980_000)],
    );
    mine(&ledger, vec![retire]);
    assert!(!store.stat(&stat.id).unwrap().unwrap().pinned);
    ledger.revert_tip().unwrap();
    assert!(store.stat(&stat.id).unwrap().unwrap().pinned);
    assert_eq!(store.collect_garbage().unwrap().removed, 0);
    assert!(store.has(&stat.id).unwrap());
    assert_eq!(pins.last_error(), None);
}

fn resource(lock: &Lock, content: ContentId) -> Output {
    Output {
        lock: lock.clone(),
        body: OutputBody::Resource(ResourceBody {
            content,
            kind: ResourceKind::File,
            size: 1,
            meta: ResourceMeta::default(),
        }),
    }
}

#[test]
fn pins_a_crash_left_behind_are_reconciled_from_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let lock = Lock::key(alice().public_key());
    let genesis = genesis("reconcile");
    let open = || {
        EutxoLedger::open(
            SledStore::open(dir.path().join("ledger")).unwrap(),
            LedgerConfig::new(CHAIN),
            &genesis,
            VerifierRegistry::new(),
        )
        .unwrap()
    };
    let (a, b, c) = (
        wes_ures::content_id(b"a"),
        wes_ures::content_id(b"b"),
        wes_ures::content_id(b"c"),
    );
    // Blocks applied with no pins following, as when the node died after each commit:
    // content `a` held twice, `b` once, then `c` registered and retired.
    {
        let ledger = open();
        let first = transfer(
            vec![genesis.coinbase().outpoint(0)],
            vec![
                resource(&lock, a),
                resource(&lock, a),
                resource(&lock, b),
                resource(&lock, c),
                Output::asset(lock.clone(), TokenId::Native, 990_000),
            ],
        );
        mine(&ledger, vec![first.clone()]);
        let retire = transfer(
            vec![first.tx.outpoint(3), first.tx.outpoint(4)],
            vec![Output::asset(lock.clone(), TokenId::Native, 980_000)],
        );
        mine(&ledger, vec![retire]);
    }

    // The index survives the restart and counts only live outputs.
    let ledger = open();
    let live = ledger.live_resources().unwrap();
    assert_eq!(live.into_iter().collect::<Vec<_>>(), {
        let mut want = vec![(a, 2), (b, 1)];
        want.sort();
        want
    });

    // The store is behind on `a` and `b`, and still pins the retired `c`.
    let pins = Arc::new(ResourcePins::new(wes_ures::MemoryStore::new()));
    pins.store().pin(&a).unwrap();
    pins.store().pin(&c).unwrap();
    let changes = pins.reconcile(&ledger.live_resources().unwrap()).unwrap();
    assert_eq!(
        changes,
        PinChanges {
            pinned: 2,
            unpinned: 1
        }
    );
    let mut now = pins.store().pins().unwrap();
    now.sort();
    let mut want = vec![(a, 2), (b, 1)];
    want.sort();
    assert_eq!(now, want);
    // Reconciling again changes nothing.
    assert_eq!(
        pins.reconcile(&ledger.live_resources().unwrap()).unwrap(),
        PinChanges::default()
    );

    // Reverting the retirement brings `c` back to the index; the observer, now attached,
    // pins it.
    let ledger = ledger.with_observer(pins.clone());
    ledger.revert_tip().unwrap();
    assert_eq!(ledger.live_resources().unwrap().get(&c), Some(&1));
    assert!(pins.store().pins().unwrap().contains(&(c, 1)));
    assert_eq!(pins.last_error(), None);
}
