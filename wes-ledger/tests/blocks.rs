//! Block rules, the coinbase, exact reverts and reorgs.

mod common;

use common::*;
use wes_core::*;
use wes_ledger::*;

const FEE: u128 = 2_000;

fn block_error(result: Result<ChainTip, LedgerError>) -> BlockError {
    match result {
        Err(LedgerError::Block { source, .. }) => *source,
        other => panic!("expected a block error, got {other:?}"),
    }
}

/// Rebuilds the coinbase of `block` with `outputs`, fixing the roots and state root so that
/// only the coinbase amounts are wrong.
fn with_coinbase_outputs(
    ledger: &EutxoLedger<MemoryStore>,
    block: &Block,
    outputs: Vec<Output>,
) -> Block {
    let mut b = block.clone();
    b.transactions[0].tx.outputs = outputs;
    b.seal_roots();
    let _ = ledger;
    b
}

#[test]
fn blocks_apply_and_the_coinbase_collects_exactly_the_fees() {
    let ledger = memory_ledger();
    let t = alice_pays(lock("bob"), 100, FEE);
    let block = mine(&ledger, vec![t.clone()]);
    let coinbase = &block.transactions[0];
    assert_eq!(
        coinbase.tx.outputs,
        vec![Output::asset(lock("miner"), TokenId::Native, FEE)]
    );
    assert_eq!(ledger.tip().unwrap().hash, block.hash());
    assert_eq!(
        ledger.unspent(&coinbase.tx.outpoint(0)).unwrap(),
        Some(Output::asset(lock("miner"), TokenId::Native, FEE))
    );
    assert_eq!(ledger.unspent(&genesis_out(0)).unwrap(), None);
    assert_eq!(
        ledger
            .unspent(&t.tx.outpoint(0))
            .unwrap()
            .unwrap()
            .as_asset()
            .unwrap()
            .amount,
        100
    );
    assert_eq!(ledger.hash_at(1).unwrap(), Some(block.hash()));
}

#[test]
fn a_coinbase_claiming_one_unit_too_much_or_too_little_is_rejected() {
    let ledger = memory_ledger();
    let block = build(&ledger, vec![alice_pays(lock("bob"), 100, FEE)]);
    for claimed in [FEE + 1, FEE - 1] {
        let bad = with_coinbase_outputs(
            &ledger,
            &block,
            vec![Output::asset(lock("miner"), TokenId::Native, claimed)],
        );
        assert_eq!(
            block_error(ledger.apply_block(&bad)),
            BlockError::Coinbase(CoinbaseError::WrongAmount {
                token: TokenId::Native,
                fees: FEE,
                claimed
            })
        );
    }
    // Minting a token through the coinbase is inflation too.
    let bad = with_coinbase_outputs(
        &ledger,
        &block,
        vec![
            Output::asset(lock("miner"), TokenId::Native, FEE),
            Output::asset(lock("miner"), gold(), 1),
        ],
    );
    assert!(matches!(
        block_error(ledger.apply_block(&bad)),
        BlockError::Coinbase(CoinbaseError::WrongAmount {
            claimed: 1,
            fees: 0,
            ..
        })
    ));
    ledger.apply_block(&block).unwrap();
}

#[test]
fn malformed_coinbases_are_rejected() {
    let ledger = memory_ledger();
    let block = build(&ledger, vec![]);
    let mut with_input = block.clone();
    with_input.transactions[0]
        .tx
        .inputs
        .push(Input::spend(genesis_out(0)));
    with_input.seal_roots();
    assert!(matches!(
        block_error(ledger.apply_block(&with_input)),
        BlockError::Coinbase(CoinbaseError::Malformed(_))
    ));
    let mut wrong_height = block.clone();
    wrong_height.transactions[0].tx.validity = ValidityWindow::ALWAYS;
    wrong_height.seal_roots();
    assert!(matches!(
        block_error(ledger.apply_block(&wrong_height)),
        BlockError::Coinbase(CoinbaseError::Malformed(_))
    ));
    let mut empty = block.clone();
    empty.transactions.clear();
    empty.seal_roots();
    assert_eq!(
        block_error(ledger.apply_block(&empty)),
        BlockError::Coinbase(CoinbaseError::Missing)
    );
}

#[test]
fn header_fields_must_follow_the_tip() {
    let ledger = memory_ledger();
    let block = build(&ledger, vec![]);
    let mut b = block.clone();
    b.header.parent = BlockHash(Hash::ZERO);
    assert!(matches!(
        block_error(ledger.apply_block(&b)),
        BlockError::NotOnTip { .. }
    ));
    let mut b = block.clone();
    b.header.height = 2;
    assert!(matches!(
        block_error(ledger.apply_block(&b)),
        BlockError::WrongHeight {
            expected: 1,
            got: 2
        }
    ));
    let mut b = block.clone();
    b.header.chain_id = ChainId(1);
    assert!(matches!(
        block_error(ledger.apply_block(&b)),
        BlockError::WrongChain { .. }
    ));
    let mut b = block.clone();
    b.header.state_root = Hash::ZERO;
    assert!(matches!(
        block_error(ledger.apply_block(&b)),
        BlockError::StateRootMismatch { .. }
    ));
    let mut b = block.clone();
    b.header.tx_root = Hash::ZERO;
    assert!(matches!(
        block_error(ledger.apply_block(&b)),
        BlockError::Body(BodyError::TxRootMismatch { .. })
    ));
    ledger.apply_block(&block).unwrap();
}

#[test]
fn transactions_of_a_block_may_spend_earlier_ones_but_not_double_spend() {
    let ledger = memory_ledger();
    let first = alice_pays(lock("bob"), 100_000, FEE);
    let second = sign(
        tx(
            vec![Input::spend(first.tx.outpoint(0))],
            vec![Output::asset(lock("carol"), TokenId::Native, 100_000 - FEE)],
        ),
        &[&key("bob")],
    );
    let block = mine(&ledger, vec![first.clone(), second.clone()]);
    assert_eq!(
        block.transactions[0].tx.outputs[0]
            .as_asset()
            .unwrap()
            .amount,
        2 * FEE
    );
    // The intermediate output never reached the set.
    assert_eq!(ledger.unspent(&first.tx.outpoint(0)).unwrap(), None);
    assert!(ledger.unspent(&second.tx.outpoint(0)).unwrap().is_some());

    let ledger = memory_ledger();
    let a = alice_pays(lock("bob"), 100, FEE);
    let b = alice_pays(lock("carol"), 100, FEE);
    let mut block = build(&ledger, vec![a.clone()]);
    block.transactions.push(b);
    block.seal_roots();
    let err = block_error(ledger.apply_block(&block));
    assert!(matches!(err, BlockError::Transaction { index: 2, .. }));
    assert!(matches!(err.tx_error(), Some(TxError::MissingInput { .. })));
}

#[test]
fn a_bad_signature_anywhere_in_a_big_block_is_found() {
    let ledger = memory_ledger();
    // 300 transactions spread over several signature batches; the 250th is forged.
    let mut txs = Vec::new();
    let mut coin = (genesis_out(1), 1_000_000u128);
    for _ in 0..300 {
        let t = sign(
            tx(
                vec![Input::spend(coin.0)],
                vec![Output::asset(lock("bob"), TokenId::Native, coin.1 - FEE)],
            ),
            &[&key("bob")],
        );
        coin = (t.tx.outpoint(0), coin.1 - FEE);
        txs.push(t);
    }
    let good = build(&ledger, txs.clone());
    txs[249].witness.signatures[0].signature = key("bob").sign(b"forged");
    let mut bad = good.clone();
    bad.transactions[250] = txs[249].clone();
    bad.seal_roots();
    let err = block_error(ledger.apply_block(&bad));
    assert!(matches!(err, BlockError::Transaction { index: 250, .. }));
    assert!(matches!(err.tx_error(), Some(TxError::BadSignature { .. })));
    ledger.apply_block(&good).unwrap();
}

#[test]
fn reverting_a_block_restores_the_exact_previous_state() {
    let ledger = memory_ledger();
    let before = ledger.tip().unwrap();
    let t = alice_pays(lock("bob"), 100, FEE);
    let block = mine(&ledger, vec![t.clone()]);
    assert_ne!(ledger.tip().unwrap().state_root, before.state_root);
    let reverted = ledger.revert_tip().unwrap();
    assert_eq!(reverted, block);
    assert_eq!(ledger.tip().unwrap(), before);
    assert!(ledger.unspent(&genesis_out(0)).unwrap().is_some());
    assert_eq!(ledger.unspent(&t.tx.outpoint(0)).unwrap(), None);
    assert_eq!(ledger.hash_at(1).unwrap(), None);
    // The block stays stored and applies again.
    assert_eq!(ledger.block(&block.hash()).unwrap(), Some(block.clone()));
    ledger.apply_block(&block).unwrap();
    assert!(matches!(
        memory_ledger().revert_tip(),
        Err(LedgerError::RevertGenesis)
    ));
}

#[test]
fn state_index_follows_reverts() {
    let ledger = memory_ledger();
    let mut t = tx(
        vec![Input::spend(genesis_out(0)), Input::spend(genesis_out(8))],
        vec![
            Output::asset(lock("alice"), TokenId::Native, 1_000_000 - 5_000),
            Output {
                lock: Lock::contract(contract("app")),
                body: OutputBody::State(StateBody {
                    contract: contract("app"),
                    key: b"k".to_vec(),
                    data: b"v2".to_vec(),
                    version: 2,
                }),
            },
        ],
    );
    t.execution = Some(execution(contract("app")));
    let t = sign(t, &[&key("alice")]);
    mine(&ledger, vec![t.clone()]);
    assert_eq!(
        ledger.state(&contract("app"), b"k").unwrap().unwrap().0,
        t.tx.outpoint(1)
    );
    ledger.revert_tip().unwrap();
    assert_eq!(
        ledger.state(&contract("app"), b"k").unwrap().unwrap().0,
        genesis_out(8)
    );
}

#[test]
fn reorg_switches_branches_and_a_bad_branch_leaves_the_old_chain_intact() {
    let ledger = memory_ledger();
    let genesis_hash = ledger.tip().unwrap().hash;
    // Branch A: one block paying bob.
    let a1 = mine(&ledger, vec![alice_pays(lock("bob"), 100, FEE)]);
    let tip_a = ledger.tip().unwrap();

    // Branch B, built on genesis by a second ledger: two blocks paying carol.
    let other = memory_ledger();
    let b1 = mine(&other, vec![alice_pays(lock("carol"), 100, FEE)]);
    let b2 = mine(&other, vec![]);

    // A bad branch: b2 with a wrong state root. The ledger must come back to A.
    let mut bad_b2 = b2.clone();
    bad_b2.header.state_root = Hash::ZERO;
    let err = ledger
        .reorg(&genesis_hash, &[b1.clone(), bad_b2])
        .unwrap_err();
    assert!(matches!(
        err.block_error(),
        Some(BlockError::StateRootMismatch { .. })
    ));
    assert_eq!(ledger.tip().unwrap(), tip_a);
    assert_eq!(ledger.hash_at(1).unwrap(), Some(a1.hash()));

    let tip = ledger
        .reorg(&genesis_hash, &[b1.clone(), b2.clone()])
        .unwrap();
    assert_eq!(tip, other.tip().unwrap());
    assert_eq!(ledger.hash_at(1).unwrap(), Some(b1.hash()));
    // And back again: A's block is still stored.
    ledger.insert_block(&a1).unwrap();
    ledger.reorg(&genesis_hash, &[a1]).unwrap();
    assert_eq!(ledger.tip().unwrap(), tip_a);
    assert!(matches!(
        ledger.reorg(&b2.hash(), &[]),
        Err(LedgerError::NotOnChain(_))
    ));
}

#[test]
fn reopening_with_another_genesis_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        EutxoLedger::open(
            SledStore::open(dir.path()).unwrap(),
            config(),
            &genesis(),
            verifiers(),
        )
        .unwrap();
    }
    let mut other = genesis();
    other.message = "another chain".into();
    assert!(matches!(
        EutxoLedger::open(
            SledStore::open(dir.path()).unwrap(),
            config(),
            &other,
            verifiers()
        ),
        Err(LedgerError::GenesisMismatch { .. })
    ));
}

#[test]
fn a_block_over_the_compute_limit_is_invalid_and_the_pool_fills_blocks_up_to_it() {
    let mut limited = config();
    limited.limits.max_block_cu = 150;
    let ledger = EutxoLedger::open(MemoryStore::new(), limited, &genesis(), verifiers()).unwrap();
    // Two calls of 100 compute units each.
    let calls: Vec<SignedTransaction> = [(0, "alice"), (1, "bob")]
        .into_iter()
        .map(|(i, who)| {
            let mut t = tx(
                vec![Input::spend(genesis_out(i))],
                vec![Output::asset(lock(who), TokenId::Native, 1_000_000 - 5_000)],
            );
            t.execution = Some(execution(contract("app")));
            sign(t, &[&key(who)])
        })
        .collect();
    let ctx = next_ctx(&ledger);
    for t in &calls {
        ledger.check_transaction(t, &ctx).unwrap();
    }
    match ledger.build_block(
        calls.clone(),
        &lock("miner"),
        key("miner").public_key(),
        ctx.time_ms,
    ) {
        Err(LedgerError::Block { source, .. }) => assert!(
            matches!(
                *source,
                BlockError::TooMuchCompute {
                    used: 200,
                    max: 150
                }
            ),
            "{source}"
        ),
        other => panic!("expected the compute limit, got {other:?}"),
    }
    // The pool's selection keeps within the chain's limits: one call per block.
    let mut pool = Mempool::new(MempoolConfig::default(), config().fees);
    for t in &calls {
        pool.insert(&ledger, t.clone(), &ctx).unwrap();
    }
    let budget = BlockBudget::of(&ledger.config().limits);
    assert_eq!(budget.cu, 150);
    let selected: Vec<SignedTransaction> = pool
        .select(budget)
        .into_iter()
        .map(|p| p.tx.clone())
        .collect();
    assert_eq!(selected.len(), 1);
    mine(&ledger, selected);
}

#[test]
fn a_producer_leaves_invalid_candidates_out_in_one_pass() {
    let (ledger, count) = counting_ledger();

    let mut call = tx(
        vec![Input::spend(genesis_out(6))],
        vec![Output::asset(lock("bob"), TokenId::Native, 10_000 - 5_000)],
    );
    call.execution = Some(execution(contract("app")));
    let call = sign(call, &[]);
    let nowhere = OutPoint {
        tx: TxId(Hash([9; 32])),
        index: 0,
    };
    let bad = sign(
        tx(
            vec![Input::spend(nowhere)],
            vec![Output::asset(lock("bob"), TokenId::Native, 1)],
        ),
        &[&key("alice")],
    );
    let child_of_bad = sign(
        tx(
            vec![Input::spend(bad.tx.outpoint(0))],
            vec![Output::asset(lock("carol"), TokenId::Native, 1)],
        ),
        &[&key("bob")],
    );
    let mut forged = tx(
        vec![Input::spend(genesis_out(1))],
        vec![Output::asset(
            lock("carol"),
            TokenId::Native,
            1_000_000 - FEE,
        )],
    );
    forged.execution = None;
    let mut forged = sign(forged, &[&key("bob")]);
    forged.witness.signatures[0].signature = key("bob").sign(b"not the sighash");
    let transfer = alice_pays(lock("carol"), 100, FEE);
    let candidates = vec![
        bad.clone(),
        call.clone(),
        child_of_bad.clone(),
        forged.clone(),
        transfer.clone(),
    ];

    // The strict builder refuses the whole for one.
    let ctx = next_ctx(&ledger);
    let producer = key("miner").public_key();
    assert!(
        ledger
            .build_block(candidates.clone(), &lock("miner"), producer, ctx.time_ms)
            .is_err()
    );
    count.reset();

    let (block, invalid) = ledger
        .build_block_skipping(candidates, &lock("miner"), producer, ctx.time_ms)
        .unwrap();
    let included: Vec<TxId> = block.transactions[1..].iter().map(|t| t.id()).collect();
    assert_eq!(included, [call.id(), transfer.id()]);
    let invalid: Vec<(TxId, bool)> = invalid
        .iter()
        .map(|(id, e)| (*id, matches!(e, TxError::BadSignature { .. })))
        .collect();
    // The child of the bad one is left out, not blamed: its parent was.
    assert_eq!(invalid, [(bad.id(), false), (forged.id(), true)]);
    assert_eq!(count.get(), 1, "each proof verified once");
    ledger.apply_block(&block).unwrap();
}

#[test]
fn a_candidate_over_the_block_compute_limit_waits_for_a_later_block() {
    let mut config = config();
    config.limits.max_block_cu = 150;
    let ledger = EutxoLedger::open(MemoryStore::new(), config, &genesis(), verifiers()).unwrap();
    let call = |from: &str, input: u32| {
        let mut t = tx(
            vec![Input::spend(genesis_out(input))],
            vec![Output::asset(
                lock(from),
                TokenId::Native,
                1_000_000 - 5_000,
            )],
        );
        t.execution = Some(execution(contract("app"))); // 100 CU each
        sign(t, &[&key(from)])
    };
    let (first, second) = (call("alice", 0), call("bob", 1));
    let ctx = next_ctx(&ledger);
    let (block, invalid) = ledger
        .build_block_skipping(
            vec![first.clone(), second.clone()],
            &lock("miner"),
            key("miner").public_key(),
            ctx.time_ms,
        )
        .unwrap();
    assert_eq!(
        block.transactions.len(),
        2,
        "the coinbase and the first call"
    );
    assert_eq!(block.transactions[1].id(), first.id());
    assert!(
        invalid.is_empty(),
        "the second is valid, only too much for this block"
    );
    ledger.apply_block(&block).unwrap();
    check(&ledger, &second).unwrap();
}
