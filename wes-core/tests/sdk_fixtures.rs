//! The conformance fixtures of the TypeScript SDK (`sdk/ts/test/fixtures/codec.json`):
//! values of every type a client builds or reads, in every variant, with their canonical
//! encodings, ids, signatures and addresses as this crate computes them, and byte strings
//! this crate refuses. The SDK's tests decode, re-encode and hash each one, so the two
//! implementations cannot drift.
//!
//! This test fails when the committed file is not what the code computes; after a
//! deliberate change, write it again with `WES_BLESS=1 cargo test -p wes-core --test
//! sdk_fixtures`.

use std::path::PathBuf;

use serde_json::{Value, json};
use wes_core::{
    Block, BlockHash, ChainId, CompactTarget, ContentId, ContractId, Execution, Genesis, Guard,
    Hash, Input, Lock, LockTime, Output, OutputBody, ProofSystemId, ResourceBody, ResourceKind,
    ResourceMeta, SecretKey, SignedTransaction, SponsorPool, StateBody, TokenId, Transaction,
    ValidityWindow, Witness, codec,
};

fn h(byte: u8) -> Hash {
    Hash([byte; 32])
}

fn locks() -> Vec<(&'static str, Lock)> {
    let alice = SecretKey::dev("alice").public_key();
    let bob = SecretKey::dev("bob").public_key();
    let key_guard = Guard::Key(alice);
    vec![
        ("key", Lock::key(alice)),
        ("multisig", Lock::multisig(2, vec![alice, bob]).unwrap()),
        ("contract", Lock::contract(ContractId(h(5)))),
        (
            "time-locked height",
            Lock::TimeLocked {
                until: LockTime::Height(1_000),
                guard: key_guard.clone(),
            },
        ),
        (
            "time-locked time",
            Lock::TimeLocked {
                until: LockTime::TimeMs(1_767_225_600_000),
                guard: key_guard.clone(),
            },
        ),
        (
            "sponsor pool for a contract",
            Lock::SponsorPool(SponsorPool {
                owner: key_guard.clone(),
                contract: Some(ContractId(h(6))),
                max_fee_per_tx: 50_000,
            }),
        ),
        (
            "sponsor pool for any contract",
            Lock::SponsorPool(SponsorPool {
                owner: Guard::MultiSig(wes_core::MultiSig::new(1, vec![bob]).unwrap()),
                contract: None,
                max_fee_per_tx: u128::MAX,
            }),
        ),
    ]
}

fn issued() -> TokenId {
    TokenId::Issued {
        contract: ContractId(h(7)),
        tag: h(8),
    }
}

fn outputs() -> Vec<Output> {
    let alice = Lock::key(SecretKey::dev("alice").public_key());
    vec![
        Output::asset(alice.clone(), TokenId::Native, 12_345),
        Output::asset(alice.clone(), issued(), u128::MAX - 1),
        Output {
            lock: alice.clone(),
            body: OutputBody::Resource(ResourceBody {
                content: ContentId(h(9)),
                kind: ResourceKind::Wasm,
                size: 1_024,
                meta: ResourceMeta {
                    name: "token.wasm".into(),
                    mime: "application/wasm".into(),
                    verifying_key: None,
                },
            }),
        },
        Output {
            lock: alice.clone(),
            body: OutputBody::Resource(ResourceBody {
                content: ContentId(h(10)),
                kind: ResourceKind::Custom(7),
                size: 3,
                meta: ResourceMeta {
                    name: "model ✓".into(),
                    mime: String::new(),
                    verifying_key: Some(h(11)),
                },
            }),
        },
        Output {
            lock: Lock::contract(ContractId(h(12))),
            body: OutputBody::State(StateBody {
                contract: ContractId(h(12)),
                key: b"count".to_vec(),
                data: vec![1, 0, 0, 0, 0, 0, 0, 0],
                version: 3,
            }),
        },
    ]
}

fn transactions() -> Vec<(&'static str, SignedTransaction)> {
    let alice = SecretKey::dev("alice");
    let bob = SecretKey::dev("bob");
    let genesis_coin = genesis().coinbase().outpoint(0);
    let transfer = Transaction {
        version: Transaction::VERSION,
        chain_id: ChainId(7),
        inputs: vec![Input::spend(genesis_coin)],
        outputs: vec![
            Output::asset(Lock::key(bob.public_key()), TokenId::Native, 1_000),
            Output::asset(Lock::key(alice.public_key()), TokenId::Native, 989_000),
        ],
        validity: ValidityWindow::ALWAYS,
        execution: None,
    };
    let everything = Transaction {
        version: Transaction::VERSION,
        chain_id: ChainId(u32::MAX),
        inputs: vec![
            Input::spend(transfer.outpoint(1)),
            Input::reference(transfer.outpoint(0)),
        ],
        outputs: outputs(),
        validity: ValidityWindow {
            not_before: 5,
            not_after: 105,
        },
        execution: Some(Execution {
            contract: ContractId(h(12)),
            callees: vec![ContractId(h(13)), ContractId(h(14))],
            resource: ContentId(h(15)),
            entry: "transfer".into(),
            args: vec![0xde, 0xad, 0xbe, 0xef],
            cu_limit: 1_000_000,
            cu_used: 4_321,
            trace_root: h(16),
            proof_system: ProofSystemId::new("replay").unwrap(),
        }),
    };
    let mut with_proof = everything.clone().sign(&[&alice, &bob]);
    with_proof.witness.proof = vec![1, 2, 3, 4, 5];
    vec![
        ("transfer", transfer.sign(&[&alice])),
        ("every variant, two signatures and a proof", with_proof),
        (
            "unsigned",
            SignedTransaction {
                tx: everything,
                witness: Witness::default(),
            },
        ),
    ]
}

fn genesis() -> Genesis {
    Genesis {
        chain_id: ChainId(7),
        time_ms: 1_767_225_600_000,
        target: CompactTarget(0x2000_ffff),
        allocations: vec![Output::asset(
            Lock::key(SecretKey::dev("alice").public_key()),
            TokenId::Native,
            1_000_000,
        )],
        message: "sdk fixtures".into(),
    }
}

fn blocks() -> Vec<Block> {
    let genesis = genesis().block(h(20));
    let mut next = Block {
        header: wes_core::BlockHeader {
            version: wes_core::BlockHeader::VERSION,
            chain_id: ChainId(7),
            parent: genesis.hash(),
            height: 1,
            time_ms: 1_767_225_602_000,
            tx_root: Hash::default(),
            witness_root: Hash::default(),
            state_root: h(21),
            producer: SecretKey::dev("miner").public_key(),
            target: CompactTarget(0x1f00_ffff),
            nonce: 42,
            seal: vec![9; 64],
        },
        transactions: transactions().into_iter().map(|(_, t)| t).collect(),
    };
    next.seal_roots();
    vec![genesis, next]
}

fn hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(bytes)
}

fn fixtures() -> Value {
    let keys: Vec<Value> = ["alice", "bob", "miner"]
        .iter()
        .map(|name| {
            let k = SecretKey::dev(name);
            json!({
                "name": name,
                "seed": hex(k.to_seed()),
                "public_key": hex(k.public_key().0),
                "address": Lock::key(k.public_key()).address().to_string(),
            })
        })
        .collect();
    let message = b"sign me".to_vec();
    let signature = SecretKey::dev("alice").sign(&message);
    let locks: Vec<Value> = locks()
        .into_iter()
        .map(|(name, l)| json!({"name": name, "encoded": hex(codec::encode(&l)), "address": l.address().to_string()}))
        .collect();
    let tokens: Vec<Value> = [TokenId::Native, issued()]
        .iter()
        .map(|t| json!({"encoded": hex(codec::encode(t))}))
        .collect();
    let outputs: Vec<Value> = outputs()
        .iter()
        .map(|o| json!({"encoded": hex(codec::encode(o)), "owner": o.lock.address().to_string()}))
        .collect();
    let txs: Vec<Value> = transactions()
        .into_iter()
        .map(|(name, t)| {
            json!({
                "name": name,
                "signed": hex(codec::encode(&t)),
                "tx": hex(codec::encode(&t.tx)),
                "txid": t.id().to_string(),
                "sighash": hex(t.tx.sighash().as_bytes()),
                "witness_commitment": hex(t.witness_commitment().as_bytes()),
                "signatures": t.witness.signatures.len(),
                "outputs": t.tx.outputs.len(),
            })
        })
        .collect();
    let blocks: Vec<Value> = blocks()
        .iter()
        .map(|b| {
            json!({
                "encoded": hex(codec::encode(b)),
                "header": hex(codec::encode(&b.header)),
                "hash": b.hash().to_string(),
                "txids": b.tx_ids().iter().map(ToString::to_string).collect::<Vec<_>>(),
            })
        })
        .collect();
    // Byte strings this crate refuses; the SDK must refuse them too.
    let transfer = codec::encode(&transactions()[0].1);
    let mut trailing = transfer.clone();
    trailing.push(0);
    let mut bad_tag = codec::encode(&Lock::key(SecretKey::dev("alice").public_key()));
    bad_tag[0] = 3;
    let mut bad_option = codec::encode(&transactions()[0].1.tx);
    let last = bad_option.len() - 1;
    bad_option[last] = 2;
    let invalid = json!([
        {"name": "trailing byte", "type": "SignedTransaction", "hex": hex(&trailing)},
        {"name": "truncated", "type": "SignedTransaction", "hex": hex(&transfer[..transfer.len() - 1])},
        {"name": "unknown lock variant", "type": "Lock", "hex": hex(&bad_tag)},
        {"name": "option tag 2", "type": "Transaction", "hex": hex(&bad_option)},
        {"name": "huge length", "type": "Transaction", "hex": hex({
            let mut b = codec::encode(&transactions()[0].1.tx);
            b[6..14].copy_from_slice(&u64::MAX.to_le_bytes());
            b
        })},
    ]);
    let check_invalid = |name: &str, r: bool| assert!(r, "{name} decodes in Rust");
    check_invalid(
        "trailing",
        codec::decode::<SignedTransaction>(&trailing).is_err(),
    );
    check_invalid("bad tag", codec::decode::<Lock>(&bad_tag).is_err());
    check_invalid(
        "bad option",
        codec::decode::<Transaction>(&bad_option).is_err(),
    );
    json!({
        "about": "Written by wes-core/tests/sdk_fixtures.rs (WES_BLESS=1 cargo test -p wes-core --test sdk_fixtures); checked by the TypeScript SDK's tests.",
        "dev_keys": keys,
        "signature": {"key": "alice", "message": hex(&message), "signature": hex(signature.0)},
        "locks": locks,
        "tokens": tokens,
        "outputs": outputs,
        "transactions": txs,
        "blocks": blocks,
        "invalid": invalid,
        "zero_block_hash": BlockHash::default().to_string(),
        "greeter_wasm": hex(wat::parse_file("../sdk/ts/test/fixtures/greeter.wat").unwrap()),
    })
}

#[test]
fn the_typescript_sdk_fixtures_are_current() {
    // Relative to the package directory, where cargo runs tests.
    let path = PathBuf::from("../sdk/ts/test/fixtures/codec.json");
    let want = serde_json::to_string_pretty(&fixtures()).unwrap() + "\n";
    if std::env::var_os("WES_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is not what wes-core computes: if the change is deliberate, run \
         WES_BLESS=1 cargo test -p wes-core --test sdk_fixtures",
        path.display()
    );
}
