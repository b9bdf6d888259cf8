//! Verifiable AI: candle inference latency, the quantized network, and halo2 proving and
//! verification on the scikit-learn digits MLP (64-32-10). Compare with onnxruntime and ezkl
//! through `scripts/bench_python.py`; results in BENCHMARKS.md.
//!
//! `cargo bench -p wes-ispc --bench inference`

use std::hint::black_box;
use std::path::PathBuf;

use criterion::Criterion;
use wes_ispc::halo2::{ModelCircuitFile, ModelKeys, ParamsCache, prepare_model};
use wes_ispc::onnx::OnnxModel;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(".").join("tests/fixtures/onnx").join(name)).unwrap()
}

fn digit() -> Vec<f32> {
    first_case("digits_mlp")
}

/// The first input row of a fixture's cases.
fn first_case(model: &str) -> Vec<f32> {
    let cases: serde_json::Value =
        serde_json::from_slice(&fixture(&format!("{model}.json"))).unwrap();
    cases["cases"][0]["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

fn inference(c: &mut Criterion) {
    let bytes = fixture("digits_mlp.onnx");
    let model = OnnxModel::load(&bytes).unwrap();
    let x = digit();
    c.bench_function("onnx/load+compile digits_mlp", |b| {
        b.iter(|| OnnxModel::load(black_box(&bytes)).unwrap())
    });
    c.bench_function("onnx/candle f32 digits_mlp (1 row)", |b| {
        b.iter(|| model.run(black_box(&x)).unwrap())
    });
    // A convolutional network and a random forest, one row each (onnxruntime's figures come
    // from `scripts/bench_python.py --ort-only --model … --input-json …`).
    for name in ["digits_cnn", "forest_cancer"] {
        let m = OnnxModel::load(&fixture(&format!("{name}.onnx"))).unwrap();
        let x = first_case(name);
        c.bench_function(&format!("onnx/candle f32 {name} (1 row)"), |b| {
            b.iter(|| m.run(black_box(&x)).unwrap())
        });
        let net = wes_ispc::onnx::QuantizedNet::from_model(&m).unwrap();
        let q = net.quantize_input(&x).unwrap();
        c.bench_function(&format!("onnx/quantized {name} (1 row)"), |b| {
            b.iter(|| net.evaluate(black_box(&q)).unwrap())
        });
    }
    let net = wes_ispc::onnx::QuantizedNet::from_model(&model).unwrap();
    let q = net.quantize_input(&x).unwrap();
    c.bench_function("onnx/quantized digits_mlp (1 row)", |b| {
        b.iter(|| net.evaluate(black_box(&q)).unwrap())
    });
}

fn halo2(c: &mut Criterion) {
    let params = ParamsCache::in_memory();
    let bytes = fixture("digits_mlp.onnx");
    let (keys, file) = prepare_model(&bytes, &params).unwrap();
    let input = keys.file.net.quantize_input(&digit()).unwrap();
    let (proof, output) = keys.prove(&input).unwrap();
    let verifier =
        ModelKeys::from_file(ModelCircuitFile::from_bytes(&file).unwrap(), &params, false).unwrap();
    let mut g = c.benchmark_group("halo2-ipa");
    g.sample_size(10);
    g.bench_function("keygen (vk + pk) digits_mlp", |b| {
        b.iter(|| ModelKeys::generate(keys.file.net.clone(), &params, true).unwrap())
    });
    g.bench_function("prove digits_mlp", |b| {
        b.iter(|| keys.prove(black_box(&input)).unwrap())
    });
    g.bench_function("verify digits_mlp", |b| {
        b.iter(|| verifier.verify(black_box(&input), &output, &proof).unwrap())
    });
    // The digits CNN (Conv → Relu → MaxPool → Gemm), the same way.
    let (cnn, cnn_file) = prepare_model(&fixture("digits_cnn.onnx"), &params).unwrap();
    let x = first_case("digits_cnn");
    let cnn_input = cnn.file.net.quantize_input(&x).unwrap();
    let (cnn_proof, cnn_output) = cnn.prove(&cnn_input).unwrap();
    let cnn_verifier = ModelKeys::from_file(
        ModelCircuitFile::from_bytes(&cnn_file).unwrap(),
        &params,
        false,
    )
    .unwrap();
    g.bench_function("keygen (vk + pk) digits_cnn", |b| {
        b.iter(|| ModelKeys::generate(cnn.file.net.clone(), &params, true).unwrap())
    });
    g.bench_function("prove digits_cnn", |b| {
        b.iter(|| cnn.prove(black_box(&cnn_input)).unwrap())
    });
    g.bench_function("verify digits_cnn", |b| {
        b.iter(|| {
            cnn_verifier
                .verify(black_box(&cnn_input), &cnn_output, &cnn_proof)
                .unwrap()
        })
    });
    println!(
        "halo2-ipa digits_cnn: k = {}, proof {} bytes, circuit file {} bytes",
        cnn.file.k,
        cnn_proof.len(),
        cnn_file.len()
    );
    g.finish();
    println!(
        "halo2-ipa digits_mlp: k = {}, proof {} bytes, circuit file {} bytes, peak RSS {} MiB",
        keys.file.k,
        proof.len(),
        file.len(),
        peak_rss_kib() / 1024
    );
}

/// The process's peak resident set (Linux `VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    inference(&mut c);
    halo2(&mut c);
    c.final_summary();
}
