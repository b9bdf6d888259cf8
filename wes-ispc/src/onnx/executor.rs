//! [`OnnxExecutor`]: model inference as an [`Executor`] — the result a chain records.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use wes_core::{
    ContentId, ExecutionOutcome, ExecutionRequest, Executor, Lock, Output, OutputBody,
    ResourceKind, SharedView, StateBody, TraceEntry, codec,
};

use super::{OnnxError, OnnxLimits, OnnxModel, QuantizedNet};

/// The entry point of a direct inference transaction.
pub const INFER_ENTRY: &str = "infer";
/// The trace entry of an inference (and the HostABI function a contract calls).
pub const MODEL_INFER_CALL: &str = "model_infer";
/// Most compiled models kept in memory.
const CACHE: usize = 32;

/// What an inference transaction records in its State output (and returns): the quantized
/// network's outputs, exact and identical on every machine, and what the halo2 circuit proves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InferenceResult {
    /// The model.
    pub model: ContentId,
    /// Rows evaluated.
    pub rows: u32,
    /// Fractional bits of `outputs`.
    pub scale_bits: u32,
    /// The quantized network outputs, row-major `[rows, outputs]`; value = `q / 2^scale_bits`.
    pub outputs: Vec<i64>,
    /// For a classifier: the label of each row; empty otherwise.
    pub labels: Vec<i64>,
}

impl InferenceResult {
    /// The outputs of `row` as floats.
    pub fn row_f32(&self, row: usize) -> Vec<f32> {
        let width = self.outputs.len() / (self.rows.max(1) as usize);
        let scale = (1u64 << self.scale_bits) as f64;
        self.outputs[row * width..(row + 1) * width]
            .iter()
            .map(|&q| (q as f64 / scale) as f32)
            .collect()
    }
}

/// Encodes an inference input: little-endian f32 values, row-major.
pub fn encode_input(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Decodes an inference input written by [`encode_input`].
pub fn decode_input(bytes: &[u8]) -> Result<Vec<f32>, OnnxError> {
    if !bytes.len().is_multiple_of(4) {
        return Err(OnnxError::Input(format!(
            "{} bytes are not a whole number of f32 values",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// A compiled model and its quantized network (or why it has none).
#[derive(Debug)]
pub struct LoadedModel {
    /// The f32 plan.
    pub model: OnnxModel,
    /// The quantized network.
    pub net: Result<QuantizedNet, OnnxError>,
}

/// Runs ONNX models for transactions.
///
/// The recorded result is the [`QuantizedNet`]'s, evaluated in exact integer arithmetic, so
/// every node computes the same bytes and the halo2 circuit proves exactly them; the f32 plan
/// ([`OnnxModel::run`]) is for answers off chain. The cost is the graph's
/// ([`OnnxModel::cost`]). Compiled models are cached by content id.
#[derive(Debug, Default)]
pub struct OnnxExecutor {
    limits: OnnxLimits,
    cache: Mutex<HashMap<ContentId, Arc<LoadedModel>>>,
}

impl OnnxExecutor {
    /// An executor with the default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// An executor with `limits`.
    pub fn with_limits(limits: OnnxLimits) -> Self {
        OnnxExecutor {
            limits,
            cache: Mutex::default(),
        }
    }

    /// The compiled model `id`, if it is in the cache (no need to read its bytes).
    pub fn cached(&self, id: &ContentId) -> Option<Arc<LoadedModel>> {
        self.cache.lock().ok()?.get(id).cloned()
    }

    /// The compiled model `id` whose bytes are `code` (compiled on first use).
    pub fn load(&self, id: &ContentId, code: &[u8]) -> Result<Arc<LoadedModel>, OnnxError> {
        if let Some(m) = self.cached(id) {
            return Ok(m);
        }
        let model = OnnxModel::load_with(code, &self.limits)?;
        let net = QuantizedNet::from_model(&model);
        let loaded = Arc::new(LoadedModel { model, net });
        let mut cache = self.cache.lock().map_err(poisoned)?;
        if cache.len() >= CACHE {
            cache.clear();
        }
        cache.insert(*id, loaded.clone());
        Ok(loaded)
    }

    /// Runs the quantized network of model `id` on `input` (rows of f32) within `cu_limit`.
    /// Returns the result and its cost.
    pub fn infer(
        &self,
        id: &ContentId,
        code: &[u8],
        input: &[f32],
        cu_limit: u64,
    ) -> Result<(InferenceResult, u64), OnnxError> {
        let loaded = self.load(id, code)?;
        let rows = loaded.model.rows(input)?;
        let cost = loaded.model.cost(rows);
        if cost > cu_limit {
            return Err(OnnxError::OutOfCompute {
                cost,
                limit: cu_limit,
            });
        }
        let net = loaded.net.as_ref().map_err(Clone::clone)?;
        let width = loaded.model.features();
        let mut outputs = Vec::new();
        let mut labels = Vec::new();
        for row in input.chunks_exact(width) {
            let q = net.quantize_input(row)?;
            let out = net.evaluate(&q)?.output();
            labels.extend(net.label(&out));
            outputs.extend(out);
        }
        let result = InferenceResult {
            model: *id,
            rows: rows as u32,
            scale_bits: net.scale_bits,
            outputs,
            labels,
        };
        Ok((result, cost))
    }
}

fn poisoned<T>(_: T) -> OnnxError {
    OnnxError::Engine("model cache lock poisoned".into())
}

impl Executor for OnnxExecutor {
    type Error = OnnxError;

    fn kind(&self) -> ResourceKind {
        ResourceKind::Onnx
    }

    fn validate(&self, code: &[u8]) -> Result<(), OnnxError> {
        OnnxModel::load_with(code, &self.limits).map(|_| ())
    }

    /// Evaluates the model on `request.args` (see [`encode_input`]) and records the
    /// [`InferenceResult`] in a State output of the model's contract under the call id.
    fn execute(
        &self,
        code: &[u8],
        request: &ExecutionRequest,
        _view: &SharedView,
    ) -> Result<ExecutionOutcome, OnnxError> {
        if request.entry != INFER_ENTRY {
            return Err(OnnxError::Input(format!(
                "entry {:?}: a model has the one entry {INFER_ENTRY:?}",
                request.entry
            )));
        }
        let input = decode_input(&request.args)?;
        let (result, cost) = self.infer(&request.resource, code, &input, request.cu_limit)?;
        let data = codec::encode(&result);
        let contract = request.context.contract;
        Ok(ExecutionOutcome {
            cu_used: cost,
            inputs: Vec::new(),
            outputs: vec![Output {
                lock: Lock::contract(contract),
                body: OutputBody::State(StateBody {
                    contract,
                    key: request.context.request.as_bytes().to_vec(),
                    data: data.clone(),
                    version: 0,
                }),
            }],
            return_data: data.clone(),
            events: Vec::new(),
            trace: vec![TraceEntry {
                call: MODEL_INFER_CALL.into(),
                input: request.args.clone(),
                output: data,
                cu: cost,
            }],
        })
    }
}
