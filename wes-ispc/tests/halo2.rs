//! The `halo2-ipa` prover on a real model: a scikit-learn digits MLP (64-32-10) proven and
//! verified by a verifier that has only the circuit file and the public instance; changed
//! instances, another model's key and damaged proof bytes are rejected with errors.

use std::path::PathBuf;
use std::sync::OnceLock;

use wes_core::{Blame, Fault, ProofError};
use wes_ispc::halo2::{ModelCircuitFile, ModelKeys, ParamsCache, prepare_model};
use wes_ispc::onnx::{OnnxModel, QuantOp, QuantizedNet};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(".").join("tests/fixtures/onnx").join(name);
    std::fs::read(path).unwrap()
}

fn params() -> &'static ParamsCache {
    static P: OnceLock<ParamsCache> = OnceLock::new();
    P.get_or_init(ParamsCache::in_memory)
}

struct Proven {
    circuit_file: Vec<u8>,
    input: Vec<i64>,
    output: Vec<i64>,
    proof: Vec<u8>,
}

/// The digits model deployed (circuit file generated) and one test digit proven.
fn proven() -> &'static Proven {
    static P: OnceLock<Proven> = OnceLock::new();
    P.get_or_init(|| {
        let (keys, circuit_file) = prepare_model(&fixture("digits_mlp.onnx"), params()).unwrap();
        let cases: serde_json::Value = serde_json::from_slice(&fixture("digits_mlp.json")).unwrap();
        let x: Vec<f32> = cases["cases"][0]["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let input = keys.file.net.quantize_input(&x).unwrap();
        let (proof, output) = keys.prove(&input).unwrap();
        Proven {
            circuit_file,
            input,
            output,
            proof,
        }
    })
}

/// A verifier built from nothing but the circuit file (fresh parameters too).
fn fresh_verifier(circuit_file: &[u8]) -> ModelKeys {
    let file = ModelCircuitFile::from_bytes(circuit_file).unwrap();
    ModelKeys::from_file(file, &ParamsCache::in_memory(), false).unwrap()
}

fn assert_rejected(r: Result<(), ProofError>, what: &str) {
    let err = r.expect_err(what);
    assert_eq!(err.fault(), Fault::Input, "{what}: {err}");
}

#[test]
fn digits_proof_verifies_on_a_fresh_verifier() {
    let p = proven();
    let verifier = fresh_verifier(&p.circuit_file);
    verifier.verify(&p.input, &p.output, &p.proof).unwrap();
    // The proven outputs are the quantized network's, and the label its argmax.
    let net = &verifier.file.net;
    assert_eq!(net.evaluate(&p.input).unwrap().output(), p.output);
    assert!(net.label(&p.output).is_some());
    println!(
        "digits MLP: k = {}, proof {} bytes, circuit file {} bytes",
        verifier.file.k,
        p.proof.len(),
        p.circuit_file.len()
    );
    // 4,032 bytes for the dense-only circuit; the gates for convolutions and pooling (three
    // fixed columns, two advice cells read at the previous row) add 224 to every proof.
    assert!(p.proof.len() <= 4_352, "proof is {} bytes", p.proof.len());
}

/// Convolutional networks (Conv → Relu → MaxPool → Gemm; Conv with a folded
/// BatchNormalization → Relu → AveragePool → Gemm): proven by the executing node, verified
/// by one holding only the circuit file, and a changed output is refused.
#[test]
fn convolutional_networks_are_proven_and_verified() {
    for name in ["digits_cnn", "digits_cnn_bn"] {
        let (keys, circuit_file) =
            prepare_model(&fixture(&format!("{name}.onnx")), params()).unwrap();
        let cases: serde_json::Value =
            serde_json::from_slice(&fixture(&format!("{name}.json"))).unwrap();
        let verifier = fresh_verifier(&circuit_file);
        for case in cases["cases"].as_array().unwrap().iter().take(2) {
            let x: Vec<f32> = case["input"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            let input = keys.file.net.quantize_input(&x).unwrap();
            let started = std::time::Instant::now();
            let (proof, output) = keys.prove(&input).unwrap();
            let proving = started.elapsed();
            assert_eq!(output, keys.file.net.evaluate(&input).unwrap().output());
            verifier.verify(&input, &output, &proof).unwrap();
            let mut forged = output.clone();
            forged[3] += 1;
            assert_rejected(verifier.verify(&input, &forged, &proof), "changed logit");
            println!(
                "{name}: k = {}, proof {} bytes, circuit file {} bytes, proved in {proving:?}",
                keys.file.k,
                proof.len(),
                circuit_file.len()
            );
        }
    }
}

#[test]
fn changed_outputs_or_inputs_are_rejected() {
    let p = proven();
    let v = fresh_verifier(&p.circuit_file);
    let mut out = p.output.clone();
    out[0] += 1;
    assert_rejected(v.verify(&p.input, &out, &p.proof), "changed output");
    let mut out = p.output.clone();
    out.swap(0, 1);
    if out != p.output {
        assert_rejected(v.verify(&p.input, &out, &p.proof), "swapped outputs");
    }
    let mut input = p.input.clone();
    input[10] += 1;
    assert_rejected(v.verify(&input, &p.output, &p.proof), "changed input");
    assert_rejected(v.verify(&p.input[1..], &p.output, &p.proof), "short input");
}

#[test]
fn a_proof_for_one_model_fails_against_another_models_key() {
    let p = proven();
    // Model B: the same architecture, one weight different.
    let mut file = ModelCircuitFile::from_bytes(&p.circuit_file).unwrap();
    let mut net_b: QuantizedNet = file.net.clone();
    let QuantOp::Dense(layer) = &mut net_b.ops[0] else {
        panic!("a dense layer")
    };
    layer.weights[5] += 1;
    let b = ModelKeys::generate(net_b, params(), false).unwrap();
    assert_ne!(b.file.vk_digest, file.vk_digest);
    assert_rejected(b.verify(&p.input, &p.output, &p.proof), "model B's key");
    // A circuit file whose digest does not match its network is refused before any proof.
    file.vk_digest = b.file.vk_digest;
    assert!(ModelKeys::from_file(file, params(), false).is_err());
}

#[test]
fn damaged_proof_bytes_are_errors_not_panics() {
    let p = proven();
    let v = fresh_verifier(&p.circuit_file);
    for len in [0, 1, 32, p.proof.len() / 2, p.proof.len() - 1] {
        assert_rejected(v.verify(&p.input, &p.output, &p.proof[..len]), "truncated");
    }
    let mut longer = p.proof.clone();
    longer.push(0);
    assert_rejected(v.verify(&p.input, &p.output, &longer), "trailing byte");
    for i in (0..p.proof.len()).step_by(97) {
        let mut garbled = p.proof.clone();
        garbled[i] ^= 0x01;
        assert_rejected(v.verify(&p.input, &p.output, &garbled), "garbled");
    }
    assert_rejected(v.verify(&p.input, &p.output, &[0xff; 2048]), "garbage");
}

#[test]
fn models_outside_the_circuit_family_are_refused_with_the_reason() {
    // The hand-built graphs quantize; a graph with an unsupported op never loads.
    assert!(prepare_model(&fixture("unsupported_op.onnx"), params()).is_err());
    // A forest is recorded on chain but not proven yet: refused at deploy, saying so.
    let Err(err) = prepare_model(&fixture("forest_cancer.onnx"), params()) else {
        panic!("a forest is not provable yet");
    };
    let err = err.to_string();
    assert!(
        err.contains("tree ensemble") && err.contains("not proven yet"),
        "{err}"
    );
    let m = OnnxModel::load(&fixture("gemm_relu.onnx")).unwrap();
    assert!(QuantizedNet::from_model(&m).is_ok());
}

#[test]
fn parameters_are_cached_on_disk_and_regenerated_when_damaged() {
    let dir = std::env::temp_dir().join(format!("wes-ispc-params-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let first = ParamsCache::on_disk(&dir).get(5).unwrap();
    let file = dir.join("halo2-ipa-pasta-k5.params");
    assert!(file.exists());
    // A second cache (another process) reads the file: the same parameters.
    let second = ParamsCache::on_disk(&dir).get(5).unwrap();
    let written = std::fs::read(&file).unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    first.write(&mut a).unwrap();
    second.write(&mut b).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, written);
    // A damaged file is replaced by freshly generated parameters.
    std::fs::write(&file, b"damaged").unwrap();
    let third = ParamsCache::on_disk(&dir).get(5).unwrap();
    let mut c = Vec::new();
    third.write(&mut c).unwrap();
    assert_eq!(a, c);
    assert_eq!(std::fs::read(&file).unwrap(), written);
    assert!(
        ParamsCache::in_memory()
            .get(wes_ispc::halo2::MAX_K + 1)
            .is_err()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn malformed_circuit_files_are_errors() {
    let p = proven();
    assert!(ModelCircuitFile::from_bytes(&p.circuit_file[..100]).is_err());
    assert!(ModelCircuitFile::from_bytes(b"garbage").is_err());
    let mut file = ModelCircuitFile::from_bytes(&p.circuit_file).unwrap();
    if let QuantOp::Dense(layer) = &mut file.net.ops[1] {
        layer.weights.pop();
    }
    assert!(ModelKeys::from_file(file.clone(), params(), false).is_err());
    file.net.ops.clear();
    assert!(ModelKeys::from_file(file, params(), false).is_err());
}

/// Max pooling's gate: the claimed maximum must be one of the window's values and no smaller
/// than any (checked on a one-window network with halo2's mock prover and forged witnesses).
#[test]
fn a_max_pool_cannot_claim_another_maximum() {
    use halo2_proofs::dev::MockProver;
    use wes_ispc::halo2::circuit::{MlpCircuit, instance, min_k};
    use wes_ispc::onnx::{QuantPool, QuantPoolKind, QuantTrace, QuantWindow};
    let net = QuantizedNet {
        scale_bits: 8,
        ops: vec![QuantOp::Pool(QuantPool {
            window: QuantWindow {
                in_len: 4,
                out_len: 1,
                taps: 4,
                table: vec![0, 1, 2, 3],
            },
            channels: 1,
            kind: QuantPoolKind::Max,
        })],
        classes: None,
    };
    net.validate().unwrap();
    let input = vec![100, 500, -300, 200];
    assert_eq!(net.evaluate(&input).unwrap().output(), vec![500]);
    let k = min_k(&net);
    let run = |out: i64| {
        let trace = QuantTrace {
            input: input.clone(),
            layers: vec![vec![(out.into(), out, out)]],
        };
        let circuit = MlpCircuit {
            net: &net,
            witness: Some(&trace),
        };
        MockProver::run(k, &circuit, vec![instance(&input, &[out])])
            .unwrap()
            .verify()
    };
    assert_eq!(run(500), Ok(()));
    assert!(run(200).is_err(), "an element smaller than another");
    assert!(run(-300).is_err(), "the minimum");
    assert!(run(600).is_err(), "larger than all, but not one of them");
}
