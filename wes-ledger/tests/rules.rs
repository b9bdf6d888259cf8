//! One test per validation rule: a crafted transaction, and the error that names the rule.

mod common;

use common::*;
use wes_core::*;
use wes_ledger::*;

const FEE: u128 = 2_000;

#[test]
fn a_valid_transfer_is_accepted_and_its_fee_counted() {
    let ledger = memory_ledger();
    let t = alice_pays(lock("bob"), 100, FEE);
    let summary = check(&ledger, &t).unwrap();
    assert_eq!(summary.fees.get(&TokenId::Native), Some(&FEE));
    assert_eq!(summary.size, codec::encode(&t).len());
}

#[test]
fn wrong_chain_and_version_are_rejected() {
    let ledger = memory_ledger();
    let mut t = alice_pays(lock("bob"), 100, FEE).tx;
    t.chain_id = ChainId(7);
    assert_eq!(
        check(&ledger, &sign(t, &[&key("alice")])),
        Err(TxError::WrongChain {
            expected: CHAIN,
            got: ChainId(7)
        })
    );
    let mut t = alice_pays(lock("bob"), 100, FEE).tx;
    t.version = 9;
    assert!(matches!(
        check(&ledger, &sign(t, &[&key("alice")])),
        Err(TxError::WrongVersion { got: 9, .. })
    ));
}

#[test]
fn size_and_count_limits_are_enforced() {
    let mut config = config();
    config.limits.max_tx_bytes = 200;
    config.limits.max_outputs = 3;
    let ledger = EutxoLedger::open(MemoryStore::new(), config, &genesis(), verifiers()).unwrap();
    assert!(matches!(
        check(&ledger, &alice_pays(lock("bob"), 100, FEE)),
        Err(TxError::TooLarge { max: 200, .. })
    ));
    let outputs = vec![Output::asset(lock("bob"), TokenId::Native, 1); 4];
    assert_eq!(
        check(
            &ledger,
            &sign(
                tx(vec![Input::spend(genesis_out(0))], outputs),
                &[&key("alice")]
            )
        ),
        Err(TxError::TooManyOutputs { got: 4, max: 3 })
    );
}

#[test]
fn a_transaction_must_spend_something() {
    let ledger = memory_ledger();
    let t = tx(
        vec![Input::reference(genesis_out(0))],
        vec![Output::asset(lock("bob"), TokenId::Native, 1)],
    );
    assert_eq!(check(&ledger, &sign(t, &[])), Err(TxError::NoSpentInput));
}

#[test]
fn duplicate_and_overlapping_inputs_are_rejected() {
    let ledger = memory_ledger();
    let op = genesis_out(0);
    let t = tx(vec![Input::spend(op), Input::spend(op)], vec![]);
    assert_eq!(
        check(&ledger, &sign(t, &[&key("alice")])),
        Err(TxError::DuplicateInput {
            outpoint: op,
            first: 0,
            second: 1
        })
    );
    let t = tx(vec![Input::spend(op), Input::reference(op)], vec![]);
    assert_eq!(
        check(&ledger, &sign(t, &[&key("alice")])),
        Err(TxError::SpendAndReference { outpoint: op })
    );
}

#[test]
fn the_validity_window_must_contain_the_height() {
    let ledger = memory_ledger();
    let mut t = alice_pays(lock("bob"), 100, FEE).tx;
    t.validity = ValidityWindow {
        not_before: 5,
        not_after: 10,
    };
    assert!(matches!(
        check(&ledger, &sign(t, &[&key("alice")])),
        Err(TxError::OutsideValidityWindow { height: 1, .. })
    ));
}

#[test]
fn missing_and_already_spent_inputs_are_rejected() {
    let ledger = memory_ledger();
    let nowhere = OutPoint {
        tx: TxId(Hash::ZERO),
        index: 0,
    };
    let t = tx(vec![Input::spend(nowhere)], vec![]);
    assert_eq!(
        check(&ledger, &sign(t, &[&key("alice")])),
        Err(TxError::MissingInput {
            index: 0,
            outpoint: nowhere
        })
    );
    mine(&ledger, vec![alice_pays(lock("bob"), 100, FEE)]);
    assert_eq!(
        check(&ledger, &alice_pays(lock("carol"), 100, FEE)),
        Err(TxError::MissingInput {
            index: 0,
            outpoint: genesis_out(0)
        })
    );
}

#[test]
fn reference_inputs_need_no_witness_and_must_exist() {
    let ledger = memory_ledger();
    let mut t = alice_pays(lock("bob"), 100, FEE).tx;
    t.inputs.push(Input::reference(genesis_out(1)));
    let t = sign(t, &[&key("alice")]);
    let summary = check(&ledger, &t).unwrap();
    // The reference adds no value: the fee is unchanged.
    assert_eq!(summary.fees[&TokenId::Native], FEE);
}

#[test]
fn outputs_must_be_well_formed() {
    let ledger = memory_ledger();
    let bad_lock = Lock::Guarded(Guard::MultiSig(MultiSig {
        threshold: 0,
        keys: vec![],
    }));
    let t = tx(
        vec![Input::spend(genesis_out(0))],
        vec![Output::asset(bad_lock, TokenId::Native, 1)],
    );
    assert!(matches!(
        check(&ledger, &sign(t, &[&key("alice")])),
        Err(TxError::InvalidLock { index: 0, .. })
    ));
    let t = tx(
        vec![Input::spend(genesis_out(0))],
        vec![Output::asset(lock("bob"), TokenId::Native, 0)],
    );
    assert_eq!(
        check(&ledger, &sign(t, &[&key("alice")])),
        Err(TxError::ZeroAmount {
            index: 0,
            token: TokenId::Native
        })
    );
}

#[test]
fn a_bad_signature_is_named() {
    let ledger = memory_ledger();
    let mut t = alice_pays(lock("bob"), 100, FEE);
    t.witness.signatures[0].signature = key("alice").sign(b"something else");
    assert!(matches!(
        check(&ledger, &t),
        Err(TxError::BadSignature {
            index: 0,
            source: SignatureError::Invalid(_)
        })
    ));
}

#[test]
fn signers_must_be_distinct_and_needed() {
    let ledger = memory_ledger();
    let mut t = alice_pays(lock("bob"), 100, FEE);
    t.witness.signatures.push(t.witness.signatures[0]);
    assert!(matches!(
        check(&ledger, &t),
        Err(TxError::DuplicateSigner { .. })
    ));
    let t = sign(
        alice_pays(lock("bob"), 100, FEE).tx,
        &[&key("alice"), &key("mallory")],
    );
    assert_eq!(
        check(&ledger, &t),
        Err(TxError::UnneededSignature {
            key: key("mallory").public_key()
        })
    );
}

#[test]
fn a_key_locked_input_needs_its_signature() {
    let ledger = memory_ledger();
    let t = sign(alice_pays(lock("bob"), 100, FEE).tx, &[]);
    assert_eq!(
        check(&ledger, &t),
        Err(TxError::MissingSignature {
            index: 0,
            key: key("alice").public_key()
        })
    );
}

#[test]
fn multisig_needs_its_threshold() {
    let ledger = memory_ledger();
    let spend = |keys: &[&SecretKey]| {
        sign(
            tx(
                vec![Input::spend(genesis_out(3))],
                vec![Output::asset(lock("bob"), TokenId::Native, 10_000 - FEE)],
            ),
            keys,
        )
    };
    assert_eq!(
        check(&ledger, &spend(&[&key("alice")])),
        Err(TxError::ThresholdNotMet {
            index: 0,
            need: 2,
            got: 1
        })
    );
    check(&ledger, &spend(&[&key("alice"), &key("carol")])).unwrap();
}

#[test]
fn height_and_time_locks_hold_until_their_time() {
    let ledger = memory_ledger();
    let spend = |index| {
        sign(
            tx(
                vec![Input::spend(genesis_out(index))],
                vec![Output::asset(lock("bob"), TokenId::Native, 10_000 - FEE)],
            ),
            &[&key("bob")],
        )
    };
    assert!(matches!(
        check(&ledger, &spend(4)),
        Err(TxError::TimeLocked {
            index: 0,
            until: LockTime::Height(5),
            height: 1,
            ..
        })
    ));
    assert!(matches!(
        check(&ledger, &spend(5)),
        Err(TxError::TimeLocked { index: 0, .. })
    ));
    for _ in 0..4 {
        mine(&ledger, vec![]);
    }
    check(&ledger, &spend(4)).unwrap();
    let late = BlockContext {
        height: 5,
        time_ms: T0 + 3_600_000,
    };
    ledger.check_transaction(&spend(5), &late).unwrap();
}

#[test]
fn a_contract_owned_input_is_spent_only_by_executing_the_contract() {
    let ledger = memory_ledger();
    let outputs = vec![Output::asset(lock("bob"), TokenId::Native, 10_000 - FEE)];
    let t = sign(tx(vec![Input::spend(genesis_out(6))], outputs.clone()), &[]);
    assert_eq!(
        check(&ledger, &t),
        Err(TxError::ContractNotExecuted {
            index: 0,
            contract: contract("app"),
            executed: None
        })
    );
    let mut other = tx(vec![Input::spend(genesis_out(6))], outputs.clone());
    other.execution = Some(execution(contract("other")));
    assert!(matches!(
        check(&ledger, &sign(other, &[])),
        Err(TxError::ContractNotExecuted { .. })
    ));
    let mut good = tx(vec![Input::spend(genesis_out(6))], outputs);
    good.execution = Some(execution(contract("app")));
    check(&ledger, &sign(good.clone(), &[])).unwrap();
    // The proof is what makes it so: a bad proof is rejected.
    let mut bad_proof = sign(good, &[]);
    bad_proof.witness.proof = b"forged".to_vec();
    assert!(matches!(
        check(&ledger, &bad_proof),
        Err(TxError::Proof(ProofError::Rejected { .. }))
    ));
}

#[test]
fn executions_name_a_registered_proof_system() {
    let ledger = memory_ledger();
    let mut t = tx(
        vec![Input::spend(genesis_out(6))],
        vec![Output::asset(lock("bob"), TokenId::Native, 10_000 - FEE)],
    );
    let mut exec = execution(contract("app"));
    exec.proof_system = ProofSystemId::new("unregistered").unwrap();
    t.execution = Some(exec);
    let refused = check(&ledger, &sign(t, &[])).unwrap_err();
    assert!(
        matches!(refused, TxError::Proof(ProofError::UnknownSystem(_))),
        "{refused}"
    );
    // The chain's proof systems are its rules: a peer relaying it is charged.
    assert!(refused.invalid_everywhere());
}

#[test]
fn unreadable_proofs_hold_everywhere_and_rejected_ones_may_not() {
    let system = ProofSystemId::new(TEST_SYSTEM).unwrap();
    let malformed = TxError::Proof(ProofError::Malformed {
        system: system.clone(),
        reason: "truncated".into(),
    });
    assert!(malformed.invalid_everywhere());
    // A replay's rejection can depend on the block it is checked for (its time bounds).
    let rejected = TxError::Proof(ProofError::Rejected {
        system: system.clone(),
        reason: "trace mismatch".into(),
    });
    assert!(!rejected.invalid_everywhere());
    let unavailable = TxError::Proof(ProofError::Unavailable {
        system,
        what: "the module".into(),
    });
    assert!(!unavailable.invalid_everywhere());
}

#[test]
fn proofs_and_compute_limits_are_consistent() {
    let ledger = memory_ledger();
    let mut t = alice_pays(lock("bob"), 100, FEE);
    t.witness.proof = b"valid".to_vec();
    assert_eq!(check(&ledger, &t), Err(TxError::UnexpectedProof));
    let mut t = tx(
        vec![Input::spend(genesis_out(6))],
        vec![Output::asset(lock("bob"), TokenId::Native, 10_000 - FEE)],
    );
    let mut exec = execution(contract("app"));
    exec.cu_used = exec.cu_limit + 1;
    t.execution = Some(exec);
    assert_eq!(
        check(&ledger, &sign(t, &[])),
        Err(TxError::CuOverLimit {
            used: 1_001,
            limit: 1_000
        })
    );
}

#[test]
fn one_transaction_may_not_use_more_compute_than_the_chain_allows() {
    // Whatever the sender pays (a producer paying fees to itself, say), every verifier
    // replays at most `max_tx_cu` for one transaction.
    let mut config = config();
    config.limits.max_tx_cu = 99;
    let ledger = EutxoLedger::open(MemoryStore::new(), config, &genesis(), verifiers()).unwrap();
    let mut t = tx(
        vec![Input::spend(genesis_out(6))],
        vec![Output::asset(lock("bob"), TokenId::Native, 10_000 - FEE)],
    );
    let exec = execution(contract("app"));
    assert_eq!(exec.cu_used, 100);
    t.execution = Some(exec);
    let e = check(&ledger, &sign(t.clone(), &[])).unwrap_err();
    assert_eq!(e, TxError::ComputeOverChainLimit { used: 100, max: 99 });
    assert!(e.invalid_everywhere());
    // At the limit, it is allowed.
    let mut config = common::config();
    config.limits.max_tx_cu = 100;
    let ledger = EutxoLedger::open(MemoryStore::new(), config, &genesis(), verifiers()).unwrap();
    check(&ledger, &sign(t, &[])).unwrap();
}

/// The sponsored call: a user with no native token at all gets a call of the sponsored
/// contract in, its fee paid by the pool, the change back in the pool.
fn sponsored_call(taken: u128, called: ContractId, change_to: Lock) -> SignedTransaction {
    let mut t = tx(
        vec![Input::spend(genesis_out(7))],
        vec![Output::asset(change_to, TokenId::Native, 100_000 - taken)],
    );
    t.execution = Some(execution(called));
    sign(t, &[])
}

#[test]
fn a_sponsor_pool_pays_the_fee_of_a_user_without_tokens() {
    let ledger = memory_ledger();
    let t = sponsored_call(3_000, contract("app"), pool_lock());
    let summary = check(&ledger, &t).unwrap();
    assert_eq!(summary.fees[&TokenId::Native], 3_000);
    mine(&ledger, vec![t]);
}

#[test]
fn a_sponsor_pool_refuses_abuse() {
    let ledger = memory_ledger();
    // Over the per-transaction cap.
    assert_eq!(
        check(
            &ledger,
            &sponsored_call(6_000, contract("app"), pool_lock())
        ),
        Err(TxError::SponsorOverCap {
            token: TokenId::Native,
            taken: 6_000,
            cap: 5_000
        })
    );
    // A contract the pool does not sponsor.
    assert_eq!(
        check(
            &ledger,
            &sponsored_call(3_000, contract("other"), pool_lock())
        ),
        Err(TxError::SponsorWrongContract {
            index: 0,
            sponsored: contract("app"),
            executed: contract("other")
        })
    );
    // Change not returned to the pool: everything is taken, far over the cap.
    assert!(matches!(
        check(
            &ledger,
            &sponsored_call(3_000, contract("app"), lock("mallory"))
        ),
        Err(TxError::SponsorOverCap { taken: 100_000, .. })
    ));
    // Pool money paid to the user instead of the fee, within the cap.
    let mut t = tx(
        vec![Input::spend(genesis_out(7))],
        vec![
            Output::asset(pool_lock(), TokenId::Native, 96_000),
            Output::asset(lock("mallory"), TokenId::Native, 3_000),
        ],
    );
    t.execution = Some(execution(contract("app")));
    assert_eq!(
        check(&ledger, &sign(t, &[])),
        Err(TxError::SponsorFundsDiverted {
            token: TokenId::Native,
            taken: 4_000,
            fee: 1_000
        })
    );
    // No execution at all.
    let t = sign(
        tx(
            vec![Input::spend(genesis_out(7))],
            vec![Output::asset(pool_lock(), TokenId::Native, 97_000)],
        ),
        &[],
    );
    assert_eq!(
        check(&ledger, &t),
        Err(TxError::SponsorWithoutExecution { index: 0 })
    );
}

#[test]
fn the_pool_owner_withdraws_freely() {
    let ledger = memory_ledger();
    let t = sign(
        tx(
            vec![Input::spend(genesis_out(7))],
            vec![Output::asset(
                lock("sponsor"),
                TokenId::Native,
                100_000 - FEE,
            )],
        ),
        &[&key("sponsor")],
    );
    check(&ledger, &t).unwrap();
}

#[test]
fn outputs_may_not_exceed_inputs_unless_the_issuer_mints() {
    let ledger = memory_ledger();
    let inflate = sign(
        tx(
            vec![Input::spend(genesis_out(0))],
            vec![Output::asset(lock("alice"), TokenId::Native, 1_000_001)],
        ),
        &[&key("alice")],
    );
    assert_eq!(
        check(&ledger, &inflate),
        Err(TxError::UnauthorizedMint {
            token: TokenId::Native,
            inputs: 1_000_000,
            outputs: 1_000_001
        })
    );
    // Gold is minted only by executing the gold contract.
    let mint = |by: ContractId| {
        let mut t = tx(
            vec![Input::spend(genesis_out(0))],
            vec![
                Output::asset(lock("alice"), TokenId::Native, 1_000_000 - FEE),
                Output::asset(lock("alice"), gold(), 50),
            ],
        );
        t.execution = Some(execution(by));
        sign(t, &[&key("alice")])
    };
    assert_eq!(
        check(&ledger, &mint(contract("app"))),
        Err(TxError::UnauthorizedMint {
            token: gold(),
            inputs: 0,
            outputs: 50
        })
    );
    check(&ledger, &mint(contract("gold"))).unwrap();
}

#[test]
fn amounts_that_overflow_are_rejected() {
    let ledger = memory_ledger();
    let t = sign(
        tx(
            vec![Input::spend(genesis_out(0))],
            vec![
                Output::asset(lock("bob"), TokenId::Native, u128::MAX),
                Output::asset(lock("bob"), TokenId::Native, 2),
            ],
        ),
        &[&key("alice")],
    );
    assert_eq!(
        check(&ledger, &t),
        Err(TxError::AmountOverflow {
            token: TokenId::Native
        })
    );
}

#[test]
fn fees_are_paid_in_any_accepted_token_and_meet_the_minimum() {
    let ledger = memory_ledger();
    let low = alice_pays(lock("bob"), 100, 1);
    assert!(matches!(
        check(&ledger, &low),
        Err(TxError::FeeTooLow { .. })
    ));
    // Carol pays in gold: 1 per byte.
    let gold_fee = |fee: u128| {
        sign(
            tx(
                vec![Input::spend(genesis_out(2))],
                vec![Output::asset(lock("bob"), gold(), 500 - fee)],
            ),
            &[&key("carol")],
        )
    };
    let summary = check(&ledger, &gold_fee(400)).unwrap();
    assert_eq!(summary.fees[&gold()], 400);
    assert!(matches!(
        check(&ledger, &gold_fee(10)),
        Err(TxError::FeeTooLow { .. })
    ));
}

#[test]
fn a_surplus_in_a_token_not_accepted_is_rejected() {
    let mut config = config();
    config.fees = FeePolicy::native(TokenFee {
        per_byte: 1,
        per_cu: 1,
    });
    let ledger = EutxoLedger::open(MemoryStore::new(), config, &genesis(), verifiers()).unwrap();
    let t = sign(
        tx(
            vec![Input::spend(genesis_out(2)), Input::spend(genesis_out(0))],
            vec![
                Output::asset(lock("bob"), gold(), 400),
                Output::asset(lock("alice"), TokenId::Native, 1_000_000 - FEE),
            ],
        ),
        &[&key("carol"), &key("alice")],
    );
    assert_eq!(
        check(&ledger, &t),
        Err(TxError::FeeTokenNotAccepted {
            token: gold(),
            amount: 100
        })
    );
}

fn state_output(contract_name: &str, key_name: &[u8]) -> Output {
    Output {
        lock: Lock::contract(contract(contract_name)),
        body: OutputBody::State(StateBody {
            contract: contract(contract_name),
            key: key_name.to_vec(),
            data: b"v2".to_vec(),
            version: 2,
        }),
    }
}

#[test]
fn contract_state_is_written_only_by_its_contract() {
    let ledger = memory_ledger();
    let change = Output::asset(lock("alice"), TokenId::Native, 1_000_000 - 5_000);
    // Creating state of "app" without executing it.
    let t = sign(
        tx(
            vec![Input::spend(genesis_out(0))],
            vec![change.clone(), state_output("app", b"new")],
        ),
        &[&key("alice")],
    );
    assert!(matches!(
        check(&ledger, &t),
        Err(TxError::StateNotExecuted { .. })
    ));
    // Executing "app" creates it.
    let mut t = tx(
        vec![Input::spend(genesis_out(0))],
        vec![change.clone(), state_output("app", b"new")],
    );
    t.execution = Some(execution(contract("app")));
    check(&ledger, &sign(t.clone(), &[&key("alice")])).unwrap();
    // So does an execution of another contract that called "app" (a callee acts for itself).
    let mut exec = execution(contract("flow"));
    exec.callees = vec![contract("app")];
    t.execution = Some(exec.clone());
    check(&ledger, &sign(t.clone(), &[&key("alice")])).unwrap();
    // The callee list is well formed: no repeats, not the called contract, bounded.
    for callees in [
        vec![contract("app"), contract("app")],
        vec![contract("flow")],
        (0..=Execution::MAX_CALLEES as u8)
            .map(|i| contract(&format!("c{i}")))
            .collect(),
    ] {
        exec.callees = callees;
        t.execution = Some(exec.clone());
        assert!(matches!(
            check(&ledger, &sign(t.clone(), &[&key("alice")])),
            Err(TxError::BadCallees { .. })
        ));
    }
    // A second live entry under an existing key is refused.
    let mut t = tx(
        vec![Input::spend(genesis_out(0))],
        vec![change.clone(), state_output("app", b"k")],
    );
    t.execution = Some(execution(contract("app")));
    assert!(matches!(
        check(&ledger, &sign(t, &[&key("alice")])),
        Err(TxError::DuplicateStateKey { index: 1, .. })
    ));
    // Replacing it (spend the old entry, create the new) is how state changes.
    let mut t = tx(
        vec![Input::spend(genesis_out(0)), Input::spend(genesis_out(8))],
        vec![change, state_output("app", b"k")],
    );
    t.execution = Some(execution(contract("app")));
    let replace = sign(t, &[&key("alice")]);
    check(&ledger, &replace).unwrap();
    mine(&ledger, vec![replace.clone()]);
    let (op, out) = ledger.state(&contract("app"), b"k").unwrap().unwrap();
    assert_eq!(op, replace.tx.outpoint(1));
    assert_eq!(out.as_state().unwrap().version, 2);
}

#[test]
fn stateless_checks_judge_the_transaction_alone() {
    let ledger = memory_ledger();
    // Valid on its own, and whatever the UTXO set holds: an input nobody created passes
    // the stateless phases and fails only against the state.
    let good = alice_pays(lock("bob"), 100, FEE);
    ledger.check_stateless(&good).unwrap();
    let unknown_input = sign(
        tx(
            vec![Input::spend(OutPoint {
                tx: TxId(Hash::ZERO),
                index: 7,
            })],
            vec![Output::asset(lock("bob"), TokenId::Native, 1)],
        ),
        &[&key("alice")],
    );
    ledger.check_stateless(&unknown_input).unwrap();
    assert!(
        ledger
            .check_transaction(&unknown_input, &next_ctx(&ledger))
            .is_err()
    );
    // A forged signature, or another chain: invalid on every chain. (A *missing* signature
    // shows only against the inputs' locks, i.e. the state.) The stateless check is cheap and
    // verifies no signature: the full check finds the forgery once the inputs, locks and fee
    // allow the transaction, and says it holds on every chain.
    let mut forged = alice_pays(lock("bob"), 1, FEE);
    forged.witness.signatures[0].signature = key("alice").sign(b"forged");
    ledger.check_stateless(&forged).unwrap();
    let err = ledger
        .check_transaction(&forged, &next_ctx(&ledger))
        .unwrap_err();
    assert!(matches!(err.tx_error(), Some(TxError::BadSignature { .. })));
    assert!(err.invalid_everywhere());
    let mut other_chain = alice_pays(lock("bob"), 1, FEE).tx;
    other_chain.chain_id = ChainId(other_chain.chain_id.0 + 1);
    let other_chain = sign(other_chain, &[&key("alice")]);
    assert!(ledger.check_stateless(&other_chain).is_err());
}
