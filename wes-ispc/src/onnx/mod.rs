//! ONNX models on candle.
//!
//! - [`OnnxModel::load`] decodes a model (protobuf types from `candle-onnx`, tensors decoded
//!   here with bounds checks), checks it at deploy (opsets, operators, shapes, size limits; an
//!   unsupported operator is named in [`OnnxError::UnsupportedOp`]) and compiles it once into an
//!   execution plan on candle-core tensors (`MatMul`/`Gemm` + bias + `Relu` fused);
//! - [`OnnxModel::run`] evaluates the plan in f32 on the CPU;
//! - [`OnnxModel::cost`] is the deterministic compute-unit cost, from the graph (multiply-
//!   accumulates and elements), never from time;
//! - [`QuantizedNet`] is the model in fixed point, the semantics a chain records and the halo2
//!   circuit proves (f32 results differ in the last bits between CPUs, so they are not what
//!   consensus compares).
//!
//! Operators: `MatMul`, `Gemm`, `Add`, `Sub`, `Mul`, `Div`, `Relu`, `Sigmoid`, `Tanh`,
//! `Softmax`, `ArgMax`, `Identity`, `Reshape`, `Flatten`, `Cast`, `Constant` and
//! `ai.onnx.ml.ArrayFeatureExtractor` (what scikit-learn MLP exports contain); for
//! convolutional networks on NCHW images, `Conv` (2-D: pads, strides, dilations, groups and
//! depthwise), `MaxPool`, `AveragePool`, `GlobalAveragePool`, `BatchNormalization` (folded
//! into the convolution or dense layer before it), `Transpose`, `Concat`, `Squeeze`,
//! `Unsqueeze` and `Gather` with constant indices; and `ai.onnx.ml.TreeEnsembleClassifier` /
//! `TreeEnsembleRegressor` (random forests and gradient boosting as skl2onnx exports them).

mod error;
mod executor;
mod graph;
mod plan;
mod quant;

pub use error::OnnxError;
pub use executor::{
    INFER_ENTRY, InferenceResult, LoadedModel, MODEL_INFER_CALL, OnnxExecutor, decode_input,
    encode_input,
};
pub use quant::{
    ACT_BITS, PAD, PARAM_BITS, QuantAggregate, QuantConv, QuantLayer, QuantOp, QuantPool,
    QuantPoolKind, QuantTrace, QuantTreeNode, QuantTrees, QuantWindow, QuantizedNet, SCALE_BITS,
    TREE_EXTRA_BITS, TREE_INPUT_BITS, f32_key,
};

use serde::{Deserialize, Serialize};

/// Deploy-time limits of ONNX models (consensus parameters: every node must use the same).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnnxLimits {
    /// Largest model file.
    pub max_model_bytes: usize,
    /// Most graph nodes.
    pub max_nodes: usize,
    /// Most constant elements (weights): in the file, and again in the compiled plan, where
    /// every use of a constant counts with each copy the plan keeps.
    pub max_parameters: u64,
    /// Widest value (features per row).
    pub max_features: usize,
    /// Most rows in one inference.
    pub max_rows: usize,
}

impl Default for OnnxLimits {
    fn default() -> Self {
        OnnxLimits {
            max_model_bytes: 64 << 20,
            max_nodes: 4_096,
            max_parameters: 16 << 20,
            max_features: 1 << 16,
            max_rows: 1_024,
        }
    }
}

/// The elements of one model output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OutputData {
    /// Float values.
    F32(Vec<f32>),
    /// Integer values (class labels, indices).
    I64(Vec<i64>),
}

/// One named output of an inference.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelOutput {
    /// The graph output's name.
    pub name: String,
    /// Its shape; the first dimension is the batch.
    pub shape: Vec<usize>,
    /// Its elements, row-major.
    pub data: OutputData,
}

/// A validated, compiled ONNX model.
#[derive(Clone, Debug)]
pub struct OnnxModel {
    name: String,
    input: String,
    plan: plan::Plan,
    limits: OnnxLimits,
}

impl OnnxModel {
    /// Decodes, validates and compiles `bytes` under the default limits.
    pub fn load(bytes: &[u8]) -> Result<OnnxModel, OnnxError> {
        Self::load_with(bytes, &OnnxLimits::default())
    }

    /// Decodes, validates and compiles `bytes` under `limits`.
    pub fn load_with(bytes: &[u8], limits: &OnnxLimits) -> Result<OnnxModel, OnnxError> {
        let graph = graph::decode(bytes, limits)?;
        let plan = plan::compile(&graph, limits)?;
        Ok(OnnxModel {
            name: graph.name,
            input: graph.input,
            plan,
            limits: limits.clone(),
        })
    }

    /// The graph's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The input's name.
    pub fn input_name(&self) -> &str {
        &self.input
    }

    /// Features per input row (the elements of the input's row shape).
    pub fn features(&self) -> usize {
        self.plan.features
    }

    /// The shape of one input row, the batch dimension left out: `[64]` for rows of 64
    /// features, `[1, 8, 8]` for one-channel 8×8 images (given flat, row-major, as NCHW).
    pub fn input_dims(&self) -> &[usize] {
        self.plan.input.as_slice()
    }

    /// Compute units of an inference over `rows` rows.
    pub fn cost(&self, rows: usize) -> u64 {
        plan::cost::BASE.saturating_add(self.plan.cu_per_row.saturating_mul(rows as u64))
    }

    /// The number of rows in `input`, checked against the model and the limits.
    pub fn rows(&self, input: &[f32]) -> Result<usize, OnnxError> {
        let f = self.features();
        if input.is_empty() || !input.len().is_multiple_of(f) {
            return Err(OnnxError::Input(format!(
                "{} values are not whole rows of {f} features",
                input.len()
            )));
        }
        let rows = input.len() / f;
        if rows > self.limits.max_rows {
            return Err(OnnxError::Limit {
                what: "rows",
                value: rows as u64,
                max: self.limits.max_rows as u64,
            });
        }
        Ok(rows)
    }

    /// Runs the model in f32 on `input` (row-major `[rows, features]`).
    pub fn run(&self, input: &[f32]) -> Result<Vec<ModelOutput>, OnnxError> {
        let rows = self.rows(input)?;
        if let Some(x) = input.iter().find(|x| !x.is_finite()) {
            return Err(OnnxError::Input(format!("non-finite input {x}")));
        }
        self.plan.run(input, rows)
    }
}
