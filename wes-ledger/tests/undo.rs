//! Undo data is always readable: a block whose undo record is larger than the codec's
//! 32 MiB network limit (it spends 32,000 outputs under 32-key multisig locks) applies, and
//! can be reverted — after the store is reopened too. Before, such a block became
//! irrevertible (its undo record failed to decode as corrupt).

mod common;

use common::*;
use wes_core::*;
use wes_ledger::*;

const OUTPUTS: usize = 32_000;
const PER_TX: usize = 900;

fn genesis_rich() -> Genesis {
    Genesis {
        chain_id: CHAIN,
        time_ms: T0,
        target: CompactTarget(0),
        allocations: vec![Output::asset(lock("alice"), TokenId::Native, 1 << 100)],
        message: "undo test".into(),
    }
}

fn open(dir: &std::path::Path) -> EutxoLedger<SledStore> {
    EutxoLedger::open(
        SledStore::open(dir).unwrap(),
        config(),
        &genesis_rich(),
        verifiers(),
    )
    .unwrap()
}

/// A 1-of-32 multisig whose first key is `k0`: about a kilobyte encoded.
fn big_lock() -> Lock {
    let keys = (0..32)
        .map(|i| key(&format!("k{i}")).public_key())
        .collect();
    Lock::multisig(1, keys).unwrap()
}

#[test]
fn a_block_whose_undo_record_exceeds_the_decode_limit_can_be_reverted() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let alice = key("alice");
    let k0 = key("k0");
    let big = big_lock();
    assert!(codec::encode(&big).len() > 1_000);

    // Alice creates the outputs, a few blocks' worth of transactions, each spending her change.
    let mut coin = (genesis_rich().coinbase().outpoint(0), 1u128 << 100);
    let mut created: Vec<OutPoint> = Vec::new();
    while created.len() < OUTPUTS {
        let mut txs = Vec::new();
        for _ in 0..6 {
            if created.len() >= OUTPUTS {
                break;
            }
            let n = PER_TX.min(OUTPUTS - created.len());
            let mut outputs: Vec<Output> = (0..n)
                .map(|_| Output::asset(big.clone(), TokenId::Native, 1_000))
                .collect();
            let fee = 2_000_000;
            let change = coin.1 - 1_000 * n as u128 - fee;
            outputs.push(Output::asset(lock("alice"), TokenId::Native, change));
            let t = tx(vec![Input::spend(coin.0)], outputs);
            let id = t.id();
            created.extend((0..n as u32).map(|i| OutPoint { tx: id, index: i }));
            coin = (
                OutPoint {
                    tx: id,
                    index: n as u32,
                },
                change,
            );
            txs.push(sign(t, &[&alice]));
        }
        mine(&ledger, txs);
    }

    // One block spends them all: 1,000 inputs per transaction, one signature each.
    let txs: Vec<SignedTransaction> = created
        .chunks(1_000)
        .map(|chunk| {
            let t = tx(
                chunk.iter().map(|op| Input::spend(*op)).collect(),
                vec![Output::asset(
                    lock("bob"),
                    TokenId::Native,
                    1_000 * chunk.len() as u128 - 100_000,
                )],
            );
            sign(t, &[&k0])
        })
        .collect();
    let before = ledger.tip().unwrap();
    let block = mine(&ledger, txs);
    assert_eq!(ledger.tip().unwrap().hash, block.hash());
    assert!(ledger.unspent(&created[0]).unwrap().is_none());

    // Reopened, and reverted: every spent output is back.
    drop(ledger);
    let ledger = open(dir.path());
    let reverted = ledger.revert_tip().unwrap();
    assert_eq!(reverted.hash(), block.hash());
    assert_eq!(ledger.tip().unwrap(), before);
    for op in [created[0], created[OUTPUTS / 2], created[OUTPUTS - 1]] {
        assert_eq!(ledger.unspent(&op).unwrap().unwrap().lock, big);
    }
    // And the same block applies again.
    ledger.apply_block(&block).unwrap();
    assert_eq!(ledger.tip().unwrap().hash, block.hash());
}
