//! The sled backend: state survives reopening, and a process killed (SIGKILL) in the middle
//! of importing blocks, many times over, always reopens at a whole block with nothing it had
//! acknowledged lost.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use wes_core::*;
use wes_ledger::*;

/// Coins in the crash chain's genesis; every block spends all of them once.
const COINS: u32 = 40;
const FEE: u128 = 1_000;

fn crash_genesis() -> Genesis {
    Genesis {
        chain_id: CHAIN,
        time_ms: T0,
        target: CompactTarget(0),
        allocations: (0..COINS)
            .map(|_| Output::asset(lock("alice"), TokenId::Native, 1_000_000_000))
            .collect(),
        message: "crash test".into(),
    }
}

fn open(dir: &std::path::Path) -> EutxoLedger<SledStore> {
    EutxoLedger::open(
        SledStore::open(dir).unwrap(),
        config(),
        &crash_genesis(),
        verifiers(),
    )
    .unwrap()
}

/// The current coins: the outputs of the tip block's transactions (or genesis).
fn coins(ledger: &EutxoLedger<SledStore>) -> Vec<(OutPoint, u128)> {
    let tip = ledger.tip().unwrap();
    let block = ledger.block(&tip.hash).unwrap().unwrap();
    let txs: Vec<&SignedTransaction> = if tip.height == 0 {
        vec![&block.transactions[0]]
    } else {
        block.transactions.iter().skip(1).collect()
    };
    txs.iter()
        .flat_map(|t| {
            t.tx.outputs
                .iter()
                .enumerate()
                .map(|(i, o)| (t.tx.outpoint(i as u32), o.as_asset().unwrap().amount))
        })
        .collect()
}

/// The next block of the deterministic crash chain.
fn next_block(ledger: &EutxoLedger<SledStore>) -> Block {
    let txs = coins(ledger)
        .into_iter()
        .map(|(op, amount)| {
            sign(
                tx(
                    vec![Input::spend(op)],
                    vec![Output::asset(lock("alice"), TokenId::Native, amount - FEE)],
                ),
                &[&key("alice")],
            )
        })
        .collect();
    build(ledger, txs)
}

/// Checks that the store is at a whole block: every coin of the tip exists, the chain index
/// is continuous, and the next block applies.
fn assert_whole(ledger: &EutxoLedger<SledStore>) {
    let tip = ledger.tip().unwrap();
    assert_eq!(ledger.hash_at(tip.height).unwrap(), Some(tip.hash));
    let mut hash = tip.hash;
    for height in (1..=tip.height).rev() {
        let block = ledger
            .block(&hash)
            .unwrap()
            .expect("every applied block is stored");
        assert_eq!(block.header.height, height);
        assert_eq!(ledger.hash_at(height).unwrap(), Some(hash));
        hash = block.header.parent;
    }
    assert_eq!(hash, ledger.genesis_hash());
    for (op, amount) in coins(ledger) {
        let out = ledger.unspent(&op).unwrap().expect("tip coins are unspent");
        assert_eq!(out.as_asset().unwrap().amount, amount);
    }
    let block = next_block(ledger);
    ledger.apply_block(&block).unwrap();
}

#[test]
fn reopening_gives_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let (tip, block) = {
        let ledger = open(dir.path());
        let b1 = next_block(&ledger);
        ledger.apply_block(&b1).unwrap();
        let b2 = next_block(&ledger);
        ledger.apply_block(&b2).unwrap();
        (ledger.tip().unwrap(), b2)
    };
    let ledger = open(dir.path());
    assert_eq!(ledger.tip().unwrap(), tip);
    assert_eq!(ledger.block(&block.hash()).unwrap(), Some(block));
    ledger.revert_tip().unwrap();
    assert_eq!(ledger.tip().unwrap().height, 1);
    assert_whole(&ledger);
}

/// Run by the crash test in a child process: imports blocks forever, printing each height
/// once `apply_block` has returned.
#[test]
#[ignore = "child process of sigkill_during_import_never_loses_a_whole_block"]
fn crash_child() {
    let Some(dir) = std::env::var_os("WES_CRASH_DIR") else {
        return;
    };
    let ledger = open(std::path::Path::new(&dir));
    loop {
        let block = next_block(&ledger);
        let tip = ledger.apply_block(&block).unwrap();
        println!("applied {}", tip.height);
    }
}

#[test]
fn sigkill_during_import_never_loses_a_whole_block() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acknowledged = 0u64;
    for round in 0..8u64 {
        let mut child = Command::new(&exe)
            .args([
                "crash_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("WES_CRASH_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let it import a few blocks, then kill it at a point that varies per round.
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut last = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(h) = line.strip_prefix("applied ") {
                    last = h.trim().parse::<u64>().ok();
                }
            }
            last
        });
        std::thread::sleep(Duration::from_millis(300 + 137 * round));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        if let Some(h) = reader.join().unwrap() {
            acknowledged = acknowledged.max(h);
        }
        let ledger = open(dir.path());
        let tip = ledger.tip().unwrap();
        assert!(
            tip.height >= acknowledged,
            "round {round}: reopened at height {}, but {acknowledged} was acknowledged",
            tip.height
        );
        assert_whole(&ledger);
        acknowledged = acknowledged.max(tip.height + 1);
    }
    assert!(
        acknowledged > 8,
        "the child imported too few blocks to test anything"
    );
}
