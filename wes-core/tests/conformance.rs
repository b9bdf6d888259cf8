//! Golden encodings and hashes of every consensus-visible type.
//!
//! A change to any encoding, hash domain or id derivation changes a line of
//! `tests/fixtures/conformance.txt` and fails this test. If the change is deliberate (a new
//! format version), regenerate the file in the same commit:
//!
//! ```text
//! WES_BLESS_FIXTURES=1 cargo test -p wes-core --test conformance
//! ```

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use wes_core::*;

fn key(i: u8) -> SecretKey {
    SecretKey::from_seed([i; 32])
}

fn h(tag: &str) -> Hash {
    hash(Domain::new("test/fixture"), tag.as_bytes())
}

fn samples() -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    let mut enc = |name: &'static str, value: &dyn erased::Encode| {
        out.push((name, hex::encode(value.encode())));
    };

    let contract = ContractId(h("contract"));
    let issued = TokenId::Issued {
        contract,
        tag: h("tag"),
    };
    enc("token.native", &TokenId::Native);
    enc("token.issued", &issued);

    let key_lock = Lock::key(key(1).public_key());
    let multisig = Lock::multisig(
        2,
        vec![
            key(1).public_key(),
            key(2).public_key(),
            key(3).public_key(),
        ],
    )
    .unwrap();
    let time_locked = Lock::TimeLocked {
        until: LockTime::Height(100),
        guard: Guard::Key(key(2).public_key()),
    };
    let time_locked_ms = Lock::TimeLocked {
        until: LockTime::TimeMs(1_700_000_000_000),
        guard: Guard::Contract(contract),
    };
    let sponsor = Lock::SponsorPool(SponsorPool {
        owner: Guard::Key(key(4).public_key()),
        contract: Some(contract),
        max_fee_per_tx: 1_000,
    });
    let sponsor_any = Lock::SponsorPool(SponsorPool {
        owner: Guard::MultiSig(MultiSig {
            threshold: 1,
            keys: vec![key(5).public_key()],
        }),
        contract: None,
        max_fee_per_tx: u128::MAX,
    });
    for (name, lock) in [
        ("lock.key", &key_lock),
        ("lock.multisig", &multisig),
        ("lock.time_height", &time_locked),
        ("lock.time_ms", &time_locked_ms),
        ("lock.contract", &Lock::contract(contract)),
        ("lock.sponsor", &sponsor),
        ("lock.sponsor_any", &sponsor_any),
    ] {
        enc(name, lock);
    }
    let addresses: Vec<(&'static str, String)> = vec![
        ("address.key", key_lock.address().to_string()),
        ("address.multisig", multisig.address().to_string()),
        ("address.sponsor", sponsor.address().to_string()),
    ];

    let asset = Output::asset(key_lock.clone(), TokenId::Native, 1_000_000);
    let issued_asset = Output::asset(multisig.clone(), issued, 7);
    let resource = Output {
        lock: key_lock.clone(),
        body: OutputBody::Resource(ResourceBody {
            content: ContentId(h("content")),
            kind: ResourceKind::Onnx,
            size: 123_456,
            meta: ResourceMeta {
                name: "mlp.onnx".into(),
                mime: "application/onnx".into(),
                verifying_key: Some(h("vk")),
            },
        }),
    };
    let wasm = Output {
        lock: key_lock.clone(),
        body: OutputBody::Resource(ResourceBody {
            content: ContentId(h("wasm")),
            kind: ResourceKind::Wasm,
            size: 42,
            meta: ResourceMeta::default(),
        }),
    };
    let state = Output {
        lock: Lock::contract(contract),
        body: OutputBody::State(StateBody {
            contract,
            key: b"counter".to_vec(),
            data: 5u64.to_le_bytes().to_vec(),
            version: 3,
        }),
    };
    enc("output.asset", &asset);
    enc("output.asset_issued", &issued_asset);
    enc("output.resource_onnx", &resource);
    enc("output.resource_wasm", &wasm);
    enc("output.state", &state);

    let prev = OutPoint {
        tx: TxId(h("prev")),
        index: 2,
    };
    enc("outpoint", &prev);
    enc("input.spend", &Input::spend(prev));
    enc("input.reference", &Input::reference(prev));

    let execution = Execution {
        contract,
        callees: vec![ContractId(h("callee"))],
        resource: ContentId(h("wasm")),
        entry: "transfer".into(),
        args: vec![1, 2, 3],
        cu_limit: 1_000_000,
        cu_used: 12_345,
        trace_root: h("trace"),
        proof_system: ProofSystemId::new("replay").unwrap(),
    };
    enc("execution", &execution);

    let transfer = Transaction {
        version: Transaction::VERSION,
        chain_id: ChainId(7),
        inputs: vec![
            Input::spend(prev),
            Input::reference(OutPoint {
                tx: TxId(h("ref")),
                index: 0,
            }),
        ],
        outputs: vec![
            asset.clone(),
            Output::asset(multisig.clone(), TokenId::Native, 5),
        ],
        validity: ValidityWindow {
            not_before: 10,
            not_after: 1_000,
        },
        execution: None,
    };
    let call = Transaction {
        execution: Some(execution.clone()),
        outputs: vec![state.clone()],
        ..transfer.clone()
    };
    enc("tx.transfer", &transfer);
    enc("tx.call", &call);
    let signed = transfer.clone().sign(&[&key(1), &key(2)]);
    let mut signed_call = call.clone().sign(&[&key(1)]);
    signed_call.witness.proof = vec![0xaa; 8];
    enc("witness.transfer", &signed.witness);
    enc("signed_tx.transfer", &signed);
    enc("signed_tx.call", &signed_call);

    let trace = vec![
        TraceEntry {
            call: "chain_height".into(),
            input: vec![],
            output: 10u64.to_le_bytes().to_vec(),
            cu: 5,
        },
        TraceEntry {
            call: "external_call".into(),
            input: b"GET /price".to_vec(),
            output: b"42".to_vec(),
            cu: 1_000,
        },
    ];
    enc("trace_entry", &trace[1]);

    let genesis = Genesis {
        chain_id: ChainId(7),
        time_ms: 1_700_000_000_000,
        target: CompactTarget(0x207f_ffff),
        allocations: vec![asset.clone(), issued_asset.clone()],
        message: "WES-rs conformance".into(),
    };
    enc("genesis", &genesis);
    let genesis_block = genesis.block(h("state"));
    enc("block.genesis", &genesis_block);

    let mut header = BlockHeader {
        version: BlockHeader::VERSION,
        chain_id: ChainId(7),
        parent: genesis_block.hash(),
        height: 1,
        time_ms: 1_700_000_005_000,
        tx_root: Hash::ZERO,
        witness_root: Hash::ZERO,
        state_root: h("state1"),
        producer: key(9).public_key(),
        target: CompactTarget(0x1d00_ffff),
        nonce: 0xdead_beef,
        seal: vec![],
    };
    let coinbase = Transaction {
        version: Transaction::VERSION,
        chain_id: ChainId(7),
        inputs: vec![],
        outputs: vec![Output::asset(
            Lock::key(key(9).public_key()),
            TokenId::Native,
            5,
        )],
        validity: ValidityWindow {
            not_before: 1,
            not_after: 1,
        },
        execution: None,
    };
    let mut block = Block {
        header: header.clone(),
        transactions: vec![
            SignedTransaction {
                tx: coinbase,
                witness: Witness::default(),
            },
            signed.clone(),
            signed_call.clone(),
        ],
    };
    block.seal_roots();
    header = block.header.clone();
    enc("header", &header);
    enc("block", &block);
    header.seal = vec![0x55; 64];
    enc("header.sealed", &header);

    let tree = MerkleTree::new(&[h("a"), h("b"), h("c")]);
    enc("merkle_proof", &tree.proof(2).unwrap());

    // Hashes and ids.
    let mut ids: Vec<(&'static str, String)> = vec![
        ("id.tx.transfer", transfer.id().to_string()),
        ("id.tx.call", call.id().to_string()),
        ("id.sighash.transfer", transfer.sighash().to_string()),
        (
            "id.witness_commitment.transfer",
            signed.witness_commitment().to_string(),
        ),
        ("id.genesis", genesis.hash().to_string()),
        ("id.block.genesis", genesis_block.hash().to_string()),
        ("id.block", block.hash().to_string()),
        ("id.header.sealed", header.hash().to_string()),
        ("id.header.seal_hash", header.seal_hash().to_string()),
        ("root.tx", block.header.tx_root.to_string()),
        ("root.witness", block.header.witness_root.to_string()),
        ("root.trace", trace_root(&trace).to_string()),
        ("root.merkle.empty", merkle_root(&[]).to_string()),
        ("root.merkle.3", tree.root().to_string()),
        ("hash.domain.tx.empty", hash(Domain::TX, []).to_string()),
        (
            "sig.key1.sighash",
            hex::encode(key(1).sign(transfer.sighash().as_bytes()).0),
        ),
    ];
    ids.extend(addresses);
    out.extend(ids);
    out
}

mod erased {
    /// Object-safe encoding, so samples of different types share one list.
    pub trait Encode {
        fn encode(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Encode for T {
        fn encode(&self) -> Vec<u8> {
            wes_core::codec::encode(self)
        }
    }
}

fn render() -> String {
    let mut text = String::from(
        "# Golden encodings (hex of wes_core::codec::encode) and hashes. Regenerate only on\n\
         # purpose: WES_BLESS_FIXTURES=1 cargo test -p wes-core --test conformance\n",
    );
    for (name, value) in samples() {
        writeln!(text, "{name} {value}").unwrap();
    }
    text
}

#[test]
fn encodings_and_hashes_match_the_golden_fixtures() {
    // Relative: cargo runs tests in the package's directory, and a path compiled in goes stale
    // when checkouts share a target directory.
    let path = PathBuf::from(".").join("tests/fixtures/conformance.txt");
    let actual = render();
    if std::env::var_os("WES_BLESS_FIXTURES").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "read {}: {e} (bless with WES_BLESS_FIXTURES=1)",
            path.display()
        )
    });
    let changed: Vec<String> = expected
        .lines()
        .zip(actual.lines())
        .filter(|(e, a)| e != a)
        .map(|(e, a)| format!("  expected {e}\n  got      {a}"))
        .collect();
    assert!(
        changed.is_empty() && expected.lines().count() == actual.lines().count(),
        "consensus encoding changed ({} lines differ):\n{}",
        changed.len(),
        changed.join("\n")
    );
}

#[test]
fn every_sample_decodes_back() {
    fn check<T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(v: T) {
        assert_eq!(codec::decode::<T>(&codec::encode(&v)).unwrap(), v);
    }
    check(Genesis {
        chain_id: ChainId(1),
        time_ms: 0,
        target: CompactTarget(0),
        allocations: vec![],
        message: String::new(),
    });
    // The golden strings themselves decode (spot-check of the types most exchanged).
    let samples = samples();
    let get = |n: &str| hex::decode(&samples.iter().find(|(k, _)| *k == n).unwrap().1).unwrap();
    codec::decode::<Block>(&get("block")).unwrap();
    codec::decode::<SignedTransaction>(&get("signed_tx.call")).unwrap();
    codec::decode::<Lock>(&get("lock.sponsor")).unwrap();
}
