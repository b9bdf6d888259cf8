//! # wes-ispc
//!
//! ISPC, execute once and verify everywhere: WASM contracts on wasmer with deterministic metering and HostABI v1, ONNX models on candle, the replay prover/verifier, and zero-knowledge proofs of inference with halo2.
//!
//! **Status: skeleton.** This crate is reserved in the workspace so that the layout and the
//! dependency direction (every crate depends on `wes-core` only) are fixed from the start;
//! its implementation is tracked in issue #6 and #7. It implements `Executor`, `Prover` and `ProofVerifier` from `wes-core`, and a
//! chain that wants something else implements that trait instead of using this crate.
