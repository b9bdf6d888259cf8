//! The devnet mines real blocks into a sled ledger and continues where it stopped.

use wes_core::{Ledger, Lock, TokenId};
use wes_devnet::{DevnetConfig, TRANSFER, dev_key, run};

#[test]
fn mines_blocks_and_resumes_from_its_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let config = DevnetConfig {
        data_dir: dir.path().to_path_buf(),
        blocks: Some(3),
        block_time_ms: 1,
        verbose: false,
    };
    let first = run(&config).unwrap();
    assert_eq!((first.height, first.mined), (3, 3));
    let second = run(&DevnetConfig {
        blocks: Some(2),
        ..config
    })
    .unwrap();
    assert_eq!((second.height, second.mined), (5, 2));

    // The ledger on disk holds bob's five payments.
    let params = wes_consensus::PowParams::devnet(wes_devnet::CHAIN);
    let ledger = wes_ledger::EutxoLedger::open(
        wes_ledger::SledStore::open(dir.path().join("ledger")).unwrap(),
        wes_ledger::LedgerConfig::new(wes_devnet::CHAIN),
        &wes_devnet::genesis(&params),
        Default::default(),
    )
    .unwrap();
    let bob = Lock::key(dev_key("bob").public_key());
    let mut payments = 0;
    for height in 1..=5 {
        let block = ledger
            .block(&ledger.hash_at(height).unwrap().unwrap())
            .unwrap()
            .unwrap();
        let tx = &block.transactions[1];
        let out = &tx.tx.outputs[0];
        assert_eq!(out.lock, bob);
        assert_eq!(out.as_asset().unwrap().token, TokenId::Native);
        assert_eq!(out.as_asset().unwrap().amount, TRANSFER);
        assert!(ledger.unspent(&tx.tx.outpoint(0)).unwrap().is_some());
        payments += 1;
    }
    assert_eq!(payments, 5);
}
