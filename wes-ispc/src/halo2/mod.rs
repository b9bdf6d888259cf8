//! `halo2-ipa`: zero-knowledge proofs that a quantized model maps an input to its outputs.
//!
//! halo2 (`halo2_proofs`, IPA commitments over the Pasta curves: no trusted setup). The
//! circuit ([`circuit`]) proves the [`QuantizedNet`](crate::onnx::QuantizedNet) of an ONNX
//! model — dense layers (`MatMul`/`Gemm` + bias), convolutions, max and average pooling, with
//! ReLU, in fixed point — with the weights in
//! fixed columns, so a verifying key belongs to one model. The public instance is the
//! quantized input and outputs; a classifier's label is the first maximum of the proven
//! outputs, which every verifier computes itself.
//!
//! Binding a proof to a model: at deploy, [`ModelCircuitFile`] (the quantized network, the
//! circuit size and the digest of the verifying key) is stored in URES and its content id is
//! recorded as `verifying_key` in the model's Resource metadata. A verifier reads that
//! metadata through the transaction's reference input to the model's Resource output, checks
//! once per model that the file is the canonical quantization of the model bytes, derives the
//! verifying key (halo2's keys are not serialisable; derivation is deterministic and its
//! digest is checked against the file's) and calls only `verify_proof`.

pub mod circuit;
mod params;
mod system;

pub use params::{MAX_K, ParamsCache};
pub use system::{
    CIRCUIT_FILE_VERSION, HALO2_SYSTEM, Halo2Prover, Halo2Verifier, ModelCircuitFile, ModelKeys,
    halo2_system, model_resource, prepare_model,
};
