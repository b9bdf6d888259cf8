//! Verifiable AI end to end through two ledgers: a scikit-learn digits classifier deployed
//! (model + circuit file in URES, a Resource output naming the circuit), a proven inference
//! constructed on node A, verified with halo2 and applied by node B, which never runs the
//! model; forged results rejected. And a WASM contract calling `model_infer`, verified by
//! replay.

mod common;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use common::*;
use wes_core::*;
use wes_ispc::halo2::{Halo2Prover, Halo2Verifier, ParamsCache, model_resource, prepare_model};
use wes_ispc::onnx::{INFER_ENTRY, InferenceResult, OnnxExecutor, encode_input};
use wes_ispc::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(".").join("tests/fixtures/onnx").join(name);
    std::fs::read(path).unwrap()
}

fn params() -> Arc<ParamsCache> {
    static P: OnceLock<Arc<ParamsCache>> = OnceLock::new();
    P.get_or_init(|| Arc::new(ParamsCache::in_memory())).clone()
}

fn digit(i: usize) -> (Vec<f32>, i64) {
    let cases: serde_json::Value = serde_json::from_slice(&fixture("digits_mlp.json")).unwrap();
    let case = &cases["cases"][i];
    let x = case["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    (x, case["outputs"]["label"][0].as_f64().unwrap() as i64)
}

fn genesis() -> Genesis {
    testchain::genesis_with(vec![
        Output::asset(lock("alice"), TokenId::Native, 10_000_000),
        Output::asset(lock("bob"), TokenId::Native, 10_000_000),
    ])
}

struct Node {
    chain: testchain::Chain,
    onnx: Arc<OnnxExecutor>,
    prover: Halo2Prover,
}

fn node(codes: &[&[u8]]) -> Node {
    let onnx = Arc::new(OnnxExecutor::new());
    let prover = Halo2Prover::new(params(), onnx.clone());
    // Node B gets a verifier of its own (own caches): it shares nothing with A's prover.
    let verifier = Halo2Verifier::new(
        Arc::new(ParamsCache::in_memory()),
        Arc::new(OnnxExecutor::new()),
    );
    let chain = testchain::Chain::open_with(&genesis(), codes, vec![Arc::new(verifier)]);
    Node {
        chain,
        onnx,
        prover,
    }
}

struct Deployed {
    model: ContentId,
    at: OutPoint,
    alice: OutPoint,
}

/// Alice deploys the model: a transaction creating its Resource output.
fn deploy(a: &Node, b: &Node, model: &[u8], circuit: &[u8]) -> Deployed {
    let model_id = wes_ures::content_id(model);
    let circuit_id = wes_ures::content_id(circuit);
    let body = model_resource(model_id, model.len() as u64, "digits", circuit_id);
    let coin = genesis().coinbase().outpoint(0);
    let tx = Transaction {
        version: Transaction::VERSION,
        chain_id: CHAIN,
        inputs: vec![Input::spend(coin)],
        outputs: vec![
            Output {
                lock: lock("alice"),
                body: OutputBody::Resource(body),
            },
            Output::asset(lock("alice"), TokenId::Native, 9_000_000),
        ],
        validity: ValidityWindow {
            not_before: 0,
            not_after: 100,
        },
        execution: None,
    };
    let signed = tx.sign(&[&key("alice")]);
    let block = a.chain.block(vec![signed.clone()]);
    a.chain.ledger.apply_block(&block).unwrap();
    b.chain.ledger.apply_block(&block).unwrap();
    Deployed {
        model: model_id,
        at: signed.tx.outpoint(0),
        alice: signed.tx.outpoint(1),
    }
}

fn infer(a: &Node, d: &Deployed, x: &[f32], fee_input: OutPoint) -> ConstructedCall {
    let mut req = a.chain.request(
        d.model,
        INFER_ENTRY,
        encode_input(x),
        vec![fee_input],
        "alice",
    );
    req.cu_limit = 10_000;
    req.fee = 20_000;
    construct_inference(&a.onnx, &a.prover, &req, d.at, &a.chain.view()).unwrap()
}

#[test]
fn proven_inference_is_verified_and_applied_by_another_node() {
    let model = fixture("digits_mlp.onnx");
    let (keys, circuit) = prepare_model(&model, &params()).unwrap();
    let a = node(&[&model, &circuit]);
    let b = node(&[&model, &circuit]);
    let d = deploy(&a, &b, &model, &circuit);
    a.prover
        .insert_keys(d.model, wes_ures::content_id(&circuit), keys);

    let (x, label) = digit(0);
    let call = infer(&a, &d, &x, d.alice);
    let exec = call.tx.execution.clone().unwrap();
    assert_eq!(exec.proof_system.as_str(), "halo2-ipa");
    assert_eq!(call.tx.inputs.last().unwrap(), &Input::reference(d.at));
    let result: InferenceResult = codec::decode(&call.outcome.return_data).unwrap();
    assert_eq!(
        result.labels,
        vec![label],
        "the quantized label is onnxruntime's"
    );

    let signed = call.sign(&[&key("alice")]);
    let change = testchain::change_of(&signed.tx, "alice");
    let block = a.chain.block(vec![signed.clone()]);
    a.chain.ledger.apply_block(&block).unwrap();
    b.chain.ledger.apply_block(&block).unwrap(); // B checks the halo2 proof, never runs the model.
    let state_key = call_id(
        CHAIN,
        &signed.tx.inputs[0].prev,
        &exec.contract,
        INFER_ENTRY,
        &exec.args,
    );
    let on_b: InferenceResult =
        codec::decode(&b.chain.state(&exec.contract, state_key.as_bytes()).unwrap()).unwrap();
    assert_eq!(on_b, result);

    // A second inference, on another digit, from the change.
    let (x, label) = digit(5);
    let call = infer(&a, &d, &x, change);
    let block = a.chain.block(vec![call.sign(&[&key("alice")])]);
    a.chain.ledger.apply_block(&block).unwrap();
    b.chain.ledger.apply_block(&block).unwrap();
    let _ = label;
    assert_eq!(a.chain.ledger.tip().unwrap(), b.chain.ledger.tip().unwrap());
}

/// The digits CNN the same way: deployed with its circuit file, one row proven by node A,
/// the block verified and applied by node B, which never runs the model.
#[test]
fn a_proven_cnn_inference_is_verified_and_applied_by_another_node() {
    let model = fixture("digits_cnn.onnx");
    let (keys, circuit) = prepare_model(&model, &params()).unwrap();
    let a = node(&[&model, &circuit]);
    let b = node(&[&model, &circuit]);
    let d = deploy(&a, &b, &model, &circuit);
    a.prover
        .insert_keys(d.model, wes_ures::content_id(&circuit), keys);
    let cases: serde_json::Value = serde_json::from_slice(&fixture("digits_cnn.json")).unwrap();
    let case = &cases["cases"][0];
    let x: Vec<f32> = case["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let logits: Vec<f64> = case["outputs"]["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let want = (0..logits.len()).fold(0, |b, i| if logits[i] > logits[b] { i } else { b });
    let call = infer(&a, &d, &x, d.alice);
    let result: InferenceResult = codec::decode(&call.outcome.return_data).unwrap();
    // The graph ends with its logits (as torch.onnx.export writes it): no labels, and the
    // proven logits' first maximum is onnxruntime's.
    assert!(result.labels.is_empty());
    let q = &result.outputs;
    let got = (0..q.len()).fold(0, |b, i| if q[i] > q[b] { i } else { b });
    assert_eq!(got, want, "onnxruntime's argmax");
    let block = a.chain.block(vec![call.sign(&[&key("alice")])]);
    a.chain.ledger.apply_block(&block).unwrap();
    b.chain.ledger.apply_block(&block).unwrap();
    assert_eq!(a.chain.ledger.tip().unwrap(), b.chain.ledger.tip().unwrap());
}

#[test]
fn forged_inference_results_are_rejected() {
    let model = fixture("digits_mlp.onnx");
    let (keys, circuit) = prepare_model(&model, &params()).unwrap();
    let a = node(&[&model, &circuit]);
    let b = node(&[&model, &circuit]);
    let d = deploy(&a, &b, &model, &circuit);
    a.prover
        .insert_keys(d.model, wes_ures::content_id(&circuit), keys);
    let (x, _) = digit(1);
    let call = infer(&a, &d, &x, d.alice);
    let verifier = Halo2Verifier::new(params(), Arc::new(OnnxExecutor::new()));
    let view = b.chain.view();
    verifier.verify(&call.tx, &call.proof, &view).unwrap();

    // The recorded result changed: another label, outputs patched consistently.
    let mut forged = call.tx.clone();
    let OutputBody::State(s) = &mut forged.outputs[0].body else {
        panic!()
    };
    let mut r: InferenceResult = codec::decode(&s.data).unwrap();
    r.outputs[0] += 5_000;
    r.labels = vec![0]; // digits' classes are 0..9: label = index of the maximum
    s.data = codec::encode(&r);
    // … and the trace root patched to match, so only the proof stands in the way.
    let data = s.data.clone();
    let exec = forged.execution.as_mut().unwrap();
    exec.trace_root = trace_root(&[TraceEntry {
        call: "model_infer".into(),
        input: exec.args.clone(),
        output: data,
        cu: exec.cu_used,
    }]);
    let err = verifier.verify(&forged, &call.proof, &view).unwrap_err();
    assert!(err.to_string().contains("does not verify"), "{err}");

    // The input changed.
    let mut forged = call.tx.clone();
    forged.execution.as_mut().unwrap().args = encode_input(&digit(2).0);
    assert!(verifier.verify(&forged, &call.proof, &view).is_err());

    // The caller's input referenced instead of spent (the call id would not be unique).
    let mut forged = call.tx.clone();
    forged.inputs[0].mode = InputMode::Reference;
    assert!(matches!(
        verifier.verify(&forged, &call.proof, &view),
        Err(ProofError::Rejected { .. })
    ));

    // No reference to the model's Resource output.
    let mut forged = call.tx.clone();
    forged.inputs.pop();
    assert!(matches!(
        verifier.verify(&forged, &call.proof, &view),
        Err(ProofError::Rejected { .. })
    ));

    // The ledger refuses a block with the forged transaction.
    let mut forged = call.tx.clone();
    let OutputBody::State(s) = &mut forged.outputs[0].body else {
        panic!()
    };
    let mut r: InferenceResult = codec::decode(&s.data).unwrap();
    r.outputs[3] -= 1;
    s.data = codec::encode(&r);
    let mut signed = forged.sign(&[&key("alice")]);
    signed.witness.proof = call.proof.clone();
    let height = a.chain.next_height();
    let err = a
        .chain
        .ledger
        .build_block(
            vec![signed],
            &lock("miner"),
            key("miner").public_key(),
            T0 + height * 1000,
        )
        .unwrap_err();
    assert!(err.to_string().contains("halo2-ipa"), "{err}");
}

/// A contract classifies a digit with `model_infer` (quantized input in, quantized logits
/// out) and stores the logits; node B verifies the call by replay, re-running the quantized
/// network (exact integer arithmetic, so every node gets the same bytes).
/// A contract whose `classify(model id ‖ i32le inputs)` runs the model through
/// `model_infer`, stores the outputs and returns them.
fn classifier_contract() -> Vec<u8> {
    wasm(
        r#"(module
          (import "wes" "args" (func $args (param i32 i32) (result i32)))
          (import "wes" "model_infer" (func $infer (param i32 i32 i32 i32 i32) (result i32)))
          (import "wes" "state_set" (func $set (param i32 i32 i32 i32)))
          (import "wes" "set_return" (func $ret (param i32 i32)))
          (memory (export "memory") 1 1)
          (data (i32.const 9000) "logits")
          (func (export "classify")
            (local $n i32) (local $k i32)
            (local.set $n (call $args (i32.const 0) (i32.const 4096)))
            (local.set $k (call $infer (i32.const 0) (i32.const 32)
                (i32.sub (local.get $n) (i32.const 32)) (i32.const 8192) (i32.const 1024)))
            (call $set (i32.const 9000) (i32.const 6) (i32.const 8192) (i32.mul (local.get $k) (i32.const 4)))
            (call $ret (i32.const 8192) (i32.mul (local.get $k) (i32.const 4)))))"#,
    )
}

/// A contract calls `model_infer` on an MLP, a convolutional network and a random forest:
/// the executing node records the outputs, another node's replay re-runs contract and model
/// and accepts the block, and a trace whose `model_infer` output was changed fails replay.
#[test]
fn contract_calls_model_infer_and_is_verified_by_replay() {
    let contract = classifier_contract();
    for name in ["digits_mlp", "digits_cnn", "forest_cancer"] {
        let model = fixture(&format!("{name}.onnx"));
        let a = testchain::Chain::open(&genesis(), &[&contract, &model]);
        let b = testchain::Chain::open(&genesis(), &[&contract, &model]);
        let model_id = wes_ures::content_id(&model);
        let net = OnnxExecutor::new()
            .load(&model_id, &model)
            .unwrap()
            .net
            .clone()
            .unwrap();
        let cases: serde_json::Value =
            serde_json::from_slice(&fixture(&format!("{name}.json"))).unwrap();
        let case = &cases["cases"][3];
        let x: Vec<f32> = case["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        // The contract passes the features at 2^8, as i32.
        let q: Vec<i32> = x.iter().map(|v| (v * 256.0).round() as i32).collect();
        let mut args = model_id.0.0.to_vec();
        for v in &q {
            args.extend_from_slice(&v.to_le_bytes());
        }
        let mut req = a.request(
            wes_ures::content_id(&contract),
            "classify",
            args,
            vec![genesis().coinbase().outpoint(0)],
            "alice",
        );
        req.cu_limit = 100_000;
        let call = a.construct(&req).unwrap();
        let outputs: Vec<i64> = call
            .outcome
            .return_data
            .chunks_exact(4)
            .map(|c| i64::from(i32::from_le_bytes(c.try_into().unwrap())))
            .collect();
        let input = net.input_from_fixed(&q.iter().map(|&v| i64::from(v)).collect::<Vec<_>>());
        assert_eq!(outputs, net.evaluate(&input).unwrap().output(), "{name}");
        if let Some(label) = case["outputs"].get("label") {
            let label = label[0].as_f64().unwrap() as i64;
            assert_eq!(
                net.label(&outputs),
                Some(label),
                "{name}: onnxruntime's label"
            );
        }
        assert!(call.outcome.trace.iter().any(|e| e.call == "model_infer"));
        let block = a.block(vec![call.sign(&[&key("alice")])]);
        a.ledger.apply_block(&block).unwrap();
        // Node B replays the contract and the model, and accepts the block.
        b.ledger.apply_block(&block).unwrap();

        // A trace whose model_infer output was changed fails replay.
        let mut req = b.request(
            wes_ures::content_id(&contract),
            "classify",
            req.args.clone(),
            vec![genesis().coinbase().outpoint(1)],
            "bob",
        );
        req.cu_limit = 100_000;
        let call = b.construct(&req).unwrap();
        let mut trace = decode_replay_proof(&call.proof).unwrap();
        let entry = trace.iter_mut().find(|e| e.call == "model_infer").unwrap();
        entry.output[0] ^= 1;
        let verifier = ReplayVerifier::new(b.executor.clone());
        assert!(
            verifier
                .verify(&call.tx, &encode_replay_proof(&trace), &b.view())
                .is_err(),
            "{name}"
        );
    }
}

/// The public proof-system conformance suite on `halo2-ipa`: the honest proof of an
/// inference verifies on another node; mangled proofs and false claims do not.
#[test]
fn halo2_passes_the_proof_system_conformance_suite() {
    let model = fixture("digits_mlp.onnx");
    let (keys, circuit) = prepare_model(&model, &params()).unwrap();
    let a = node(&[&model, &circuit]);
    let b = node(&[&model, &circuit]);
    let d = deploy(&a, &b, &model, &circuit);
    a.prover
        .insert_keys(d.model, wes_ures::content_id(&circuit), keys);
    let (x, _) = digit(2);
    let call = infer(&a, &d, &x, d.alice);
    let verifier = Halo2Verifier::new(params(), Arc::new(OnnxExecutor::new()));
    wes_core::conformance::check_proof_system(
        &a.prover,
        &verifier,
        &call.tx,
        &call.outcome,
        &b.chain.view(),
    );
}
