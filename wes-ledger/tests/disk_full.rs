//! A full disk, on a real (tmpfs) file system of a few MiB: the sled store refuses a block
//! that would eat into its reserve before writing any of it, the ledger stays usable and
//! takes the block once space is freed; and a disk filled to the last byte loses nothing the
//! ledger acknowledged.

mod common;

use std::path::Path;

use common::*;
use wes_core::testing::SmallDisk;
use wes_core::*;
use wes_ledger::*;

const MIB: u64 = 1 << 20;

fn open(dir: &Path, reserve: u64) -> EutxoLedger<SledStore> {
    let store = SledStore::open(dir).unwrap().with_reserve(reserve);
    EutxoLedger::open(store, config(), &genesis(), verifiers()).unwrap()
}

fn is_disk_full(e: &LedgerError) -> bool {
    matches!(e, LedgerError::Store(StoreError::DiskFull { .. })) && e.rule() == Some("disk_full")
}

#[test]
fn a_block_that_would_eat_into_the_reserve_is_refused_unwritten_and_applies_once_space_is_freed() {
    let disk = SmallDisk::mount(16 * MIB).unwrap();
    let dir = disk.path().join("ledger");
    let ledger = open(&dir, 2 * MIB);
    mine(&ledger, vec![alice_pays(lock("bob"), 10, 1_000)]);
    let before = ledger.tip().unwrap();

    disk.fill(MIB).unwrap();
    let refused = ledger.writable().unwrap_err();
    assert!(is_disk_full(&refused), "{refused}");
    let block = build(&ledger, vec![]);
    let refused = ledger.apply_block(&block).unwrap_err();
    assert!(is_disk_full(&refused), "{refused}");
    assert_eq!(ledger.tip().unwrap(), before, "nothing was applied");

    // Space freed: the same ledger, not reopened, takes the block.
    disk.free().unwrap();
    ledger.writable().unwrap();
    ledger.apply_block(&block).unwrap();
    drop(ledger);
    let ledger = open(&dir, 2 * MIB);
    assert_eq!(ledger.tip().unwrap().hash, block.hash());
    mine(&ledger, vec![]);
}

#[test]
fn a_disk_filled_to_the_last_byte_loses_no_acknowledged_block() {
    let disk = SmallDisk::mount(16 * MIB).unwrap();
    let dir = disk.path().join("ledger");
    // No reserve: the store writes until the file system itself says no.
    let ledger = open(&dir, 0);
    mine(&ledger, vec![]);
    disk.fill(256 << 10).unwrap();
    let mut acknowledged = ledger.tip().unwrap();
    let failure = loop {
        let block = build(&ledger, vec![]);
        match ledger.apply_block(&block) {
            Ok(tip) => {
                assert_eq!(tip.hash, block.hash());
                acknowledged = tip;
            }
            Err(e) => break e,
        }
        assert!(acknowledged.height < 10_000, "the disk never filled");
    };
    // Refused before writing, or failed in the write: a typed store error either way, and
    // the ledger's tip is the last block it acknowledged.
    assert!(matches!(failure, LedgerError::Store(_)), "{failure}");
    assert_eq!(ledger.tip().unwrap(), acknowledged);
    if !is_disk_full(&failure) {
        // A write that failed leaves the ledger refusing writes until reopened.
        let again = ledger.apply_block(&build(&ledger, vec![])).unwrap_err();
        assert_eq!(again, LedgerError::Store(StoreError::Poisoned));
        assert!(ledger.writable().is_err());
    }
    drop(ledger);

    // Space freed and the ledger reopened: at the last acknowledged block, and going on.
    disk.free().unwrap();
    let ledger = open(&dir, 0);
    assert_eq!(ledger.tip().unwrap(), acknowledged, "after {failure}");
    mine(&ledger, vec![]);
    eprintln!("filled at height {} with: {failure}", acknowledged.height);
}
