//! Errors of the ONNX executor.

use wes_core::{Blame, Fault};

/// Why a model was refused at deploy, or an inference failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OnnxError {
    /// The file is larger than the limits allow.
    #[error("model is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not an ONNX model (protobuf decoding or structure).
    #[error("malformed ONNX model: {0}")]
    Malformed(String),
    /// The model imports an operator set this executor does not implement.
    #[error("unsupported opset {domain:?} version {version} (supported: {supported})")]
    Opset {
        /// The opset domain (`""` is the default `ai.onnx`).
        domain: String,
        /// The version imported.
        version: i64,
        /// What is supported.
        supported: &'static str,
    },
    /// A node uses an operator this executor does not run.
    #[error("unsupported operator {domain}{op} in node {node:?}")]
    UnsupportedOp {
        /// The operator type, e.g. `Conv`.
        op: String,
        /// Its domain with a trailing `.` (empty for `ai.onnx`).
        domain: String,
        /// The node's name (or its first output when unnamed).
        node: String,
    },
    /// A node is well-formed protobuf but not a valid use of its operator here.
    #[error("node {node:?} ({op}): {reason}")]
    BadNode {
        /// The node.
        node: String,
        /// Its operator.
        op: String,
        /// What is wrong.
        reason: String,
    },
    /// The model exceeds a deploy-time limit.
    #[error("model exceeds a limit: {what} is {value}, at most {max}")]
    Limit {
        /// What is limited.
        what: &'static str,
        /// The model's value.
        value: u64,
        /// The limit.
        max: u64,
    },
    /// The inference input does not fit the model.
    #[error("bad model input: {0}")]
    Input(String),
    /// Not enough compute units for the inference.
    #[error("inference costs {cost} CU, more than the limit of {limit}")]
    OutOfCompute {
        /// The inference's cost.
        cost: u64,
        /// The limit.
        limit: u64,
    },
    /// The model cannot be expressed as the quantized network the circuit proves.
    #[error("model is not provable as a quantized network: {0}")]
    NotQuantizable(String),
    /// A value of the quantized evaluation leaves the range the circuit can hold.
    #[error("quantized value {value} at layer {layer} is outside ±2^{bits}")]
    OutOfRange {
        /// The layer (0 = the input).
        layer: usize,
        /// The value.
        value: i128,
        /// The bound's bits.
        bits: u32,
    },
    /// The model resource is not available to this node.
    #[error("model resource {0} is not available")]
    Unavailable(String),
    /// The tensor engine failed on a validated plan (a bug or resource exhaustion).
    #[error("tensor engine: {0}")]
    Engine(String),
}

impl Blame for OnnxError {
    fn fault(&self) -> Fault {
        match self {
            OnnxError::Engine(_) => Fault::Local,
            OnnxError::Unavailable(_) => Fault::Unavailable,
            _ => Fault::Input,
        }
    }
}

impl From<candle_core::Error> for OnnxError {
    fn from(e: candle_core::Error) -> Self {
        OnnxError::Engine(e.to_string())
    }
}
