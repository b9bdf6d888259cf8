//! Behaviour of the data model: blocks commit to their bodies, genesis is reproducible, locks
//! are checked, signatures cover the whole transaction, verifiers are found by id.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use wes_core::*;

fn key(i: u8) -> SecretKey {
    SecretKey::from_seed([i; 32])
}

fn transfer(chain: u32) -> Transaction {
    Transaction {
        version: Transaction::VERSION,
        chain_id: ChainId(chain),
        inputs: vec![Input::spend(OutPoint {
            tx: TxId(hash(Domain::TX, b"funding")),
            index: 0,
        })],
        outputs: vec![Output::asset(
            Lock::key(key(2).public_key()),
            TokenId::Native,
            10,
        )],
        validity: ValidityWindow::ALWAYS,
        execution: None,
    }
}

fn genesis() -> Genesis {
    Genesis {
        chain_id: ChainId(1),
        time_ms: 1_000,
        target: CompactTarget(0x207f_ffff),
        allocations: vec![Output::asset(
            Lock::key(key(1).public_key()),
            TokenId::Native,
            1_000_000,
        )],
        message: "test".into(),
    }
}

#[test]
fn genesis_block_is_reproducible_and_consistent() {
    let a = genesis().block(Hash::ZERO);
    let b = genesis().block(Hash::ZERO);
    assert_eq!(a.hash(), b.hash());
    a.check_body().unwrap();
    assert_eq!(a.header.height, 0);
    assert_eq!(a.coinbase().unwrap().tx.outputs, genesis().allocations);
    let mut other = genesis();
    other.message = "other".into();
    assert_ne!(other.block(Hash::ZERO).hash(), a.hash());
}

#[test]
fn block_header_commits_to_witnesses() {
    let mut block = genesis().block(Hash::ZERO);
    block.transactions.push(transfer(1).sign(&[&key(1)]));
    block.seal_roots();
    block.check_body().unwrap();

    // Swapping a signature leaves the tx root alone but breaks the witness root.
    let mut tampered = block.clone();
    tampered.transactions[1].witness.signatures[0].signature = key(3).sign(b"x");
    assert_eq!(tampered.compute_tx_root(), block.header.tx_root);
    assert!(matches!(
        tampered.check_body(),
        Err(BodyError::WitnessRootMismatch { .. })
    ));

    // Changing a transaction breaks the tx root.
    let mut tampered = block.clone();
    tampered.transactions[1].tx.outputs.clear();
    assert!(matches!(
        tampered.check_body(),
        Err(BodyError::TxRootMismatch { .. })
    ));

    // Reordering transactions changes the root.
    let mut reordered = block.clone();
    reordered.transactions.swap(0, 1);
    assert!(reordered.check_body().is_err());

    let mut long_seal = block;
    long_seal.header.seal = vec![0; MAX_SEAL_LEN + 1];
    assert!(matches!(
        long_seal.check_body(),
        Err(BodyError::SealTooLong { .. })
    ));
}

#[test]
fn the_seal_changes_the_block_hash_but_not_the_seal_hash() {
    let block = genesis().block(Hash::ZERO);
    let mut sealed = block.header.clone();
    sealed.seal = key(1).sign(block.header.seal_hash().as_bytes()).0.to_vec();
    assert_ne!(sealed.hash(), block.header.hash());
    assert_eq!(sealed.seal_hash(), block.header.seal_hash());
}

#[test]
fn signatures_cover_the_chain_id_and_every_field() {
    let signed = transfer(1).sign(&[&key(1)]);
    let sig = signed.witness.signatures[0];
    verify(&sig.key, signed.tx.sighash().as_bytes(), &sig.signature).unwrap();
    // Replaying on another chain: the sighash differs, the signature fails.
    let replayed = transfer(2);
    assert!(verify(&sig.key, replayed.sighash().as_bytes(), &sig.signature).is_err());
    let mut changed = transfer(1);
    changed.validity.not_after = 5;
    assert!(verify(&sig.key, changed.sighash().as_bytes(), &sig.signature).is_err());
}

#[test]
fn lock_validation_catches_unsatisfiable_multisig() {
    let keys: Vec<PublicKey> = (1..=3).map(|i| key(i).public_key()).collect();
    assert!(Lock::multisig(2, keys.clone()).is_ok());
    assert_eq!(
        Lock::multisig(0, keys.clone()),
        Err(LockError::BadThreshold {
            threshold: 0,
            keys: 3
        })
    );
    assert_eq!(
        Lock::multisig(4, keys.clone()),
        Err(LockError::BadThreshold {
            threshold: 4,
            keys: 3
        })
    );
    assert_eq!(
        Lock::multisig(1, vec![keys[0], keys[1], keys[0]]),
        Err(LockError::DuplicateKey(keys[0]))
    );
    let many = (0..=MAX_MULTISIG_KEYS as u8)
        .map(|i| key(i).public_key())
        .collect();
    assert!(matches!(
        Lock::multisig(1, many),
        Err(LockError::TooManyKeys { .. })
    ));
    // A sponsor pool is checked through its owner.
    let pool = Lock::SponsorPool(SponsorPool {
        owner: Guard::MultiSig(MultiSig {
            threshold: 5,
            keys: keys.clone(),
        }),
        contract: None,
        max_fee_per_tx: 1,
    });
    assert!(pool.validate().is_err());
}

struct CountingVerifier {
    id: ProofSystemId,
    calls: AtomicUsize,
}

impl ProofVerifier for CountingVerifier {
    fn system(&self) -> ProofSystemId {
        self.id.clone()
    }
    fn verify(&self, tx: &Transaction, proof: &[u8], _: &SharedView) -> Result<(), ProofError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let expected = tx.execution.as_ref().unwrap().trace_root;
        if proof == expected.as_bytes() {
            Ok(())
        } else {
            Err(ProofError::Rejected {
                system: self.id.clone(),
                reason: "trace root".into(),
            })
        }
    }
}

struct NoChain;

impl ChainView for NoChain {
    fn unspent(&self, _: &OutPoint) -> Result<Option<Output>, ViewError> {
        Ok(None)
    }
    fn state(&self, _: &ContractId, _: &[u8]) -> Result<Option<(OutPoint, Output)>, ViewError> {
        Ok(None)
    }
    fn resource(&self, _: &ContentId) -> Result<Option<Vec<u8>>, ViewError> {
        Ok(None)
    }
}

#[test]
fn registry_dispatches_by_proof_system_and_rejects_unknown_ones() {
    let test_system = ProofSystemId::new("test-system").unwrap();
    let verifier = Arc::new(CountingVerifier {
        id: test_system.clone(),
        calls: AtomicUsize::new(0),
    });
    let mut registry = VerifierRegistry::new();
    assert!(registry.register(verifier.clone()).is_none());
    assert_eq!(registry.systems().collect::<Vec<_>>(), vec![&test_system]);

    let no_chain: SharedView = Arc::new(NoChain);
    let mut tx = transfer(1);
    assert!(matches!(
        registry.verify(&tx, &[], &no_chain),
        Err(ProofError::NoExecution(_))
    ));
    let trace_root = hash(Domain::TRACE_ENTRY, b"t");
    tx.execution = Some(Execution {
        contract: ContractId(Hash::ZERO),
        callees: Vec::new(),
        resource: ContentId(Hash::ZERO),
        entry: "run".into(),
        args: vec![],
        cu_limit: 10,
        cu_used: 1,
        trace_root,
        proof_system: test_system.clone(),
    });
    registry
        .verify(&tx, trace_root.as_bytes(), &no_chain)
        .unwrap();
    let err = registry.verify(&tx, b"wrong", &no_chain).unwrap_err();
    assert_eq!(err.fault(), Fault::Input);
    assert_eq!(verifier.calls.load(Ordering::SeqCst), 2);

    tx.execution.as_mut().unwrap().proof_system = ProofSystemId::new("halo2").unwrap();
    assert_eq!(
        registry.verify(&tx, &[], &no_chain),
        Err(ProofError::UnknownSystem(
            ProofSystemId::new("halo2").unwrap()
        ))
    );
}

#[test]
fn work_adds_up_and_saturates() {
    assert_eq!(Work(2) + Work(3), Work(5));
    assert_eq!(Work(u128::MAX) + Work(1), Work(u128::MAX));
}

#[test]
fn validity_window_is_inclusive() {
    let w = ValidityWindow {
        not_before: 5,
        not_after: 7,
    };
    assert!(!w.contains(4) && w.contains(5) && w.contains(7) && !w.contains(8));
    assert!(ValidityWindow::ALWAYS.contains(u64::MAX));
}

#[test]
fn token_issuer_is_the_contract() {
    let c = ContractId(hash(Domain::TX, b"c"));
    assert_eq!(TokenId::Native.issuer(), None);
    assert_eq!(
        TokenId::Issued {
            contract: c,
            tag: Hash::ZERO
        }
        .issuer(),
        Some(&c)
    );
}

/// The traits a chain picks at run time are usable as trait objects.
#[test]
fn module_traits_are_object_safe() {
    type Objects<'a> = (
        Option<&'a dyn ConsensusEngine>,
        Option<&'a dyn Prover>,
        Option<&'a dyn ProofVerifier>,
        Option<&'a dyn ChainView>,
        Option<&'a dyn HeaderSource>,
        Option<&'a dyn Ledger<Error = CodecError>>,
        Option<&'a dyn ResourceStore<Error = CodecError>>,
        Option<&'a dyn Executor<Error = CodecError>>,
    );
    let objects: Objects<'_> = (None, None, None, Some(&NoChain), None, None, None, None);
    assert!(objects.3.is_some());
}
