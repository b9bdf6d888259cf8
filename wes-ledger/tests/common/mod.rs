//! Shared fixtures of the ledger tests: keys, a genesis with every kind of output, a test
//! proof verifier, and builders for transactions and blocks.
#![allow(dead_code)]

use std::sync::Arc;

use wes_core::*;
use wes_ledger::*;

pub const CHAIN: ChainId = ChainId(42);
pub const T0: u64 = 1_700_000_000_000;

pub fn key(name: &str) -> SecretKey {
    SecretKey::dev(name)
}

pub fn lock(name: &str) -> Lock {
    Lock::key(key(name).public_key())
}

pub fn contract(name: &str) -> ContractId {
    ContractId(hash(Domain::new("test/contract"), name))
}

pub fn gold() -> TokenId {
    TokenId::Issued {
        contract: contract("gold"),
        tag: Hash::ZERO,
    }
}

/// The test proof system: a proof is valid iff it is the bytes `valid`.
pub const TEST_SYSTEM: &str = "test";

pub struct TestVerifier;

impl ProofVerifier for TestVerifier {
    fn system(&self) -> ProofSystemId {
        ProofSystemId::new(TEST_SYSTEM).unwrap()
    }
    fn verify(&self, _: &Transaction, proof: &[u8], _: &SharedView) -> Result<(), ProofError> {
        if proof == b"valid" {
            Ok(())
        } else {
            Err(ProofError::Rejected {
                system: self.system(),
                reason: "test proof is not `valid`".into(),
            })
        }
    }
}

/// How many proofs a [`counting_ledger`] verified.
#[derive(Clone, Default)]
pub struct ProofCount(Arc<std::sync::atomic::AtomicUsize>);

impl ProofCount {
    pub fn get(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
    pub fn reset(&self) {
        self.0.store(0, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The test proof system, counting its verifications.
struct CountingVerifier(ProofCount);

impl ProofVerifier for CountingVerifier {
    fn system(&self) -> ProofSystemId {
        TestVerifier.system()
    }
    fn verify(&self, t: &Transaction, proof: &[u8], view: &SharedView) -> Result<(), ProofError> {
        self.0.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        TestVerifier.verify(t, proof, view)
    }
}

/// A ledger in memory on [`genesis`] whose test proofs are counted as they are verified.
pub fn counting_ledger() -> (EutxoLedger<MemoryStore>, ProofCount) {
    let count = ProofCount::default();
    let mut registry = VerifierRegistry::new();
    registry.register(Arc::new(CountingVerifier(count.clone())));
    let ledger = EutxoLedger::open(MemoryStore::new(), config(), &genesis(), registry).unwrap();
    (ledger, count)
}

pub fn verifiers() -> VerifierRegistry {
    let mut r = VerifierRegistry::new();
    r.register(Arc::new(TestVerifier));
    r
}

/// A pool that sponsors calls of `contract("app")` up to 5_000 per transaction.
pub fn pool_lock() -> Lock {
    Lock::SponsorPool(SponsorPool {
        owner: Guard::Key(key("sponsor").public_key()),
        contract: Some(contract("app")),
        max_fee_per_tx: 5_000,
    })
}

/// Genesis outputs, by index:
/// 0: alice 1_000_000 native; 1: bob 1_000_000 native; 2: carol 500 gold;
/// 3: 2-of-3 multisig (alice, bob, carol) 10_000 native; 4: bob, height-locked until 5,
/// 10_000 native; 5: bob, time-locked until T0 + 1h; 6: owned by contract("app"), 10_000
/// native; 7: sponsor pool 100_000 native; 8: state of contract("app") key "k".
pub fn genesis() -> Genesis {
    let multisig = Lock::multisig(
        2,
        vec![
            key("alice").public_key(),
            key("bob").public_key(),
            key("carol").public_key(),
        ],
    )
    .unwrap();
    Genesis {
        chain_id: CHAIN,
        time_ms: T0,
        target: CompactTarget(0),
        allocations: vec![
            Output::asset(lock("alice"), TokenId::Native, 1_000_000),
            Output::asset(lock("bob"), TokenId::Native, 1_000_000),
            Output::asset(lock("carol"), gold(), 500),
            Output::asset(multisig, TokenId::Native, 10_000),
            Output::asset(
                Lock::TimeLocked {
                    until: LockTime::Height(5),
                    guard: Guard::Key(key("bob").public_key()),
                },
                TokenId::Native,
                10_000,
            ),
            Output::asset(
                Lock::TimeLocked {
                    until: LockTime::TimeMs(T0 + 3_600_000),
                    guard: Guard::Key(key("bob").public_key()),
                },
                TokenId::Native,
                10_000,
            ),
            Output::asset(Lock::contract(contract("app")), TokenId::Native, 10_000),
            Output::asset(pool_lock(), TokenId::Native, 100_000),
            Output {
                lock: Lock::contract(contract("app")),
                body: OutputBody::State(StateBody {
                    contract: contract("app"),
                    key: b"k".to_vec(),
                    data: b"v1".to_vec(),
                    version: 1,
                }),
            },
        ],
        message: "wes-ledger tests".into(),
    }
}

pub fn genesis_out(index: u32) -> OutPoint {
    genesis().coinbase().outpoint(index)
}

/// A config with fees of 1 per byte and per CU in native, or 1 per byte in gold.
pub fn config() -> LedgerConfig {
    let mut c = LedgerConfig::new(CHAIN);
    c.fees = FeePolicy::native(TokenFee {
        per_byte: 1,
        per_cu: 1,
    })
    .accept(
        gold(),
        TokenFee {
            per_byte: 1,
            per_cu: 0,
        },
    );
    c
}

pub fn memory_ledger() -> EutxoLedger<MemoryStore> {
    EutxoLedger::open(MemoryStore::new(), config(), &genesis(), verifiers()).unwrap()
}

/// A transaction skeleton for this chain.
pub fn tx(inputs: Vec<Input>, outputs: Vec<Output>) -> Transaction {
    Transaction {
        version: Transaction::VERSION,
        chain_id: CHAIN,
        inputs,
        outputs,
        validity: ValidityWindow::ALWAYS,
        execution: None,
    }
}

/// An execution record of `contract` in the test proof system.
pub fn execution(contract: ContractId) -> Execution {
    Execution {
        contract,
        callees: Vec::new(),
        resource: ContentId(Hash::ZERO),
        entry: "call".into(),
        args: vec![],
        cu_limit: 1_000,
        cu_used: 100,
        trace_root: Hash::ZERO,
        proof_system: ProofSystemId::new(TEST_SYSTEM).unwrap(),
    }
}

/// Signs with `keys` and attaches a valid test proof when the transaction executes.
pub fn sign(t: Transaction, keys: &[&SecretKey]) -> SignedTransaction {
    let has_execution = t.execution.is_some();
    let mut s = t.sign(keys);
    if has_execution {
        s.witness.proof = b"valid".to_vec();
    }
    s
}

/// Alice pays `amount` of her genesis output to `to`, the change minus `fee` back to her.
pub fn alice_pays(to: Lock, amount: u128, fee: u128) -> SignedTransaction {
    sign(
        tx(
            vec![Input::spend(genesis_out(0))],
            vec![
                Output::asset(to, TokenId::Native, amount),
                Output::asset(lock("alice"), TokenId::Native, 1_000_000 - amount - fee),
            ],
        ),
        &[&key("alice")],
    )
}

/// The context of the next block.
pub fn next_ctx<L: Ledger>(ledger: &L) -> BlockContext {
    let tip = ledger.tip().unwrap();
    BlockContext {
        height: tip.height + 1,
        time_ms: T0 + (tip.height + 1) * 1_000,
    }
}

/// Checks `t` as the next block would.
pub fn check<S: KvStore>(
    ledger: &EutxoLedger<S>,
    t: &SignedTransaction,
) -> Result<TxSummary, TxError> {
    ledger
        .check_transaction(t, &next_ctx(ledger))
        .map_err(|e| match e {
            LedgerError::Transaction { source, .. } => *source,
            other => panic!("not a transaction error: {other}"),
        })
}

/// Builds the next block from `txs` (coinbase paying the miner) and applies it.
pub fn mine<S: KvStore>(ledger: &EutxoLedger<S>, txs: Vec<SignedTransaction>) -> Block {
    let block = build(ledger, txs);
    ledger.apply_block(&block).unwrap();
    block
}

/// Builds the next block without applying it.
pub fn build<S: KvStore>(ledger: &EutxoLedger<S>, txs: Vec<SignedTransaction>) -> Block {
    let ctx = next_ctx(ledger);
    ledger
        .build_block(txs, &lock("miner"), key("miner").public_key(), ctx.time_ms)
        .unwrap()
}
