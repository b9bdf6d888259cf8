//! The SDK's executors as node components: WASM contracts (with the `replay` proof system;
//! the node settles their external calls, see [`crate::settlement`]) and ONNX models (with the `halo2-ipa` proof
//! system). A chain adds them with [`NodeBuilder::contracts`](crate::NodeBuilder::contracts)
//! and [`NodeBuilder::models`](crate::NodeBuilder::models); the RPC's construction methods
//! use them.

use std::sync::Arc;

use wes_ispc::halo2::{Halo2Prover, Halo2Verifier, ParamsCache};
use wes_ispc::onnx::OnnxExecutor;
use wes_ispc::{ReplayProver, ReplayVerifier, WasmExecutor};

/// WASM contracts: the executor and the `replay` prover.
#[derive(Clone)]
pub struct Contracts {
    /// The metered wasmer executor (its connectors answer external calls).
    pub wasm: Arc<WasmExecutor>,
    /// The prover calls are constructed with (`replay`).
    pub prover: Arc<ReplayProver>,
}

impl Contracts {
    /// Contracts run by `wasm`, proven and verified by replay.
    pub fn new(wasm: Arc<WasmExecutor>) -> Self {
        Contracts {
            wasm,
            prover: Arc::new(ReplayProver),
        }
    }

    /// The `replay` verifier of these contracts.
    pub fn verifier(&self) -> ReplayVerifier {
        ReplayVerifier::new(self.wasm.clone())
    }
}

/// ONNX models: the candle executor and the halo2 prover of quantized inference.
#[derive(Clone)]
pub struct Models {
    /// The executor.
    pub onnx: Arc<OnnxExecutor>,
    /// IPA parameters, cached (on disk under the node's data directory by default).
    pub params: Arc<ParamsCache>,
    /// Proves inferences (`halo2-ipa`).
    pub prover: Arc<Halo2Prover>,
}

impl Models {
    /// Models run by `onnx`, proven with parameters from `params`.
    pub fn new(onnx: Arc<OnnxExecutor>, params: Arc<ParamsCache>) -> Self {
        Models {
            prover: Arc::new(Halo2Prover::new(params.clone(), onnx.clone())),
            onnx,
            params,
        }
    }

    /// The `halo2-ipa` verifier of these models.
    pub fn verifier(&self) -> Halo2Verifier {
        Halo2Verifier::new(self.params.clone(), self.onnx.clone())
    }
}

impl core::fmt::Debug for Contracts {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Contracts(wasm, replay)")
    }
}

impl core::fmt::Debug for Models {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Models(onnx, halo2-ipa)")
    }
}
