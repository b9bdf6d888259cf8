//! The quantized network: what the halo2 circuit proves and what a chain records.
//!
//! Fixed point with [`SCALE_BITS`] fractional bits: an input or activation `a` is
//! `round(a·2^s)`, a weight `w` is `round(w·2^s)`, a bias `b` is `round(b·2^2s)`. A layer
//! computes, in exact integer arithmetic,
//!
//! ```text
//! acc_j = bias_j + 2^(s-1) + Σ_i x_i·w_ij          (scale 2^2s, the 2^(s-1) rounds)
//! y_j   = floor(acc_j / 2^s)                       (back to scale 2^s)
//! out_j = max(y_j, 0) after a ReLU, else y_j
//! ```
//!
//! and every `y` must satisfy `|y| < 2^ACT_BITS`: the circuit range-checks it. These integer
//! semantics are identical on every machine; the circuit enforces exactly them.

use serde::{Deserialize, Serialize};

use super::plan::{Plan, Step};
use super::{OnnxError, OnnxModel};

/// Fractional bits of the fixed-point encoding.
pub const SCALE_BITS: u32 = 8;
/// Activations (and quantized inputs) lie in `(-2^ACT_BITS, 2^ACT_BITS)`.
pub const ACT_BITS: u32 = 16;
/// Quantized weights and biases must lie in `(-2^PARAM_BITS, 2^PARAM_BITS)`.
pub const PARAM_BITS: u32 = 40;

/// One dense layer of the quantized network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantLayer {
    /// Input width.
    pub inputs: u32,
    /// Output width.
    pub outputs: u32,
    /// Quantized weights, row-major `[outputs][inputs]` (one row per neuron).
    pub weights: Vec<i64>,
    /// Quantized biases at scale `2^2s`, the rounding term `2^(s-1)` included.
    pub bias: Vec<i64>,
    /// Whether a ReLU follows.
    pub relu: bool,
}

/// A model's quantized network: a chain of dense layers from the input to its outputs, and how
/// those outputs are read (class labels by argmax, or values).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantizedNet {
    /// Fractional bits.
    pub scale_bits: u32,
    /// The layers in order.
    pub layers: Vec<QuantLayer>,
    /// For a classifier: the label of each output (the label is that of the first maximum).
    pub classes: Option<Vec<i64>>,
}

/// The quantized evaluation of one input row: every layer's outputs (the circuit's witness).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuantTrace {
    /// The quantized input.
    pub input: Vec<i64>,
    /// Per layer: `(acc, y, out)` for every neuron.
    pub layers: Vec<Vec<(i128, i64, i64)>>,
}

impl QuantTrace {
    /// The network's outputs (the last layer's).
    pub fn output(&self) -> Vec<i64> {
        self.layers
            .last()
            .map(|l| l.iter().map(|&(_, _, o)| o).collect())
            .unwrap_or_default()
    }
}

/// `round(x·2^bits)` (half away from zero; exact: scaling by a power of two is exact in f64),
/// when finite and inside `±2^limit_bits`.
fn quantize(x: f32, bits: u32, limit_bits: u32) -> Option<i64> {
    let q = (f64::from(x) * (1u64 << bits) as f64).round();
    (q.is_finite() && q.abs() < (1u64 << limit_bits) as f64).then_some(q as i64)
}

impl QuantizedNet {
    /// Extracts the quantized network from a compiled model: dense steps feeding each other
    /// from the input, then only the monotone read-out of a classifier (`Softmax`, `ArgMax`,
    /// label lookup) or a reshape. Anything else is not provable yet and named in the error.
    pub fn from_model(model: &OnnxModel) -> Result<QuantizedNet, OnnxError> {
        from_plan(&model.plan)
    }

    /// Checks the network's shape (as decoded from an untrusted file): a non-empty chain of
    /// layers whose widths connect, weight and bias counts that match, parameters in range,
    /// and this crate's scale.
    pub fn validate(&self) -> Result<(), OnnxError> {
        let bad = |why: String| OnnxError::NotQuantizable(why);
        if self.scale_bits != SCALE_BITS {
            return Err(bad(format!(
                "scale {} bits, not {SCALE_BITS}",
                self.scale_bits
            )));
        }
        if self.layers.is_empty() || self.layers.len() > 64 {
            return Err(bad(format!("{} layers", self.layers.len())));
        }
        let mut width = self.layers[0].inputs;
        let mut params: u64 = 0;
        for (i, l) in self.layers.iter().enumerate() {
            let n = u64::from(l.inputs) * u64::from(l.outputs);
            params = params.saturating_add(n);
            if l.inputs == 0
                || l.outputs == 0
                || l.inputs != width
                || l.weights.len() as u64 != n
                || l.bias.len() != l.outputs as usize
                || params > 1 << 24
            {
                return Err(bad(format!("layer {i} has an inconsistent shape")));
            }
            let limit = 1i64 << PARAM_BITS;
            if l.weights.iter().chain(&l.bias).any(|v| v.abs() >= limit) {
                return Err(bad(format!(
                    "layer {i} has a parameter outside ±2^{PARAM_BITS}"
                )));
            }
            width = l.outputs;
        }
        if let Some(c) = &self.classes
            && c.len() != width as usize
        {
            return Err(bad(format!("{} class labels for {width} outputs", c.len())));
        }
        Ok(())
    }

    /// The input width.
    pub fn input_len(&self) -> usize {
        self.layers.first().map_or(0, |l| l.inputs as usize)
    }

    /// The output width.
    pub fn output_len(&self) -> usize {
        self.layers.last().map_or(0, |l| l.outputs as usize)
    }

    /// Multiply-accumulates of one evaluation.
    pub fn macs(&self) -> u64 {
        self.layers
            .iter()
            .map(|l| u64::from(l.inputs) * u64::from(l.outputs))
            .sum()
    }

    /// Quantizes one row of f32 input.
    pub fn quantize_input(&self, input: &[f32]) -> Result<Vec<i64>, OnnxError> {
        if input.len() != self.input_len() {
            return Err(OnnxError::Input(format!(
                "{} values for a model with {} inputs",
                input.len(),
                self.input_len()
            )));
        }
        input
            .iter()
            .map(|&x| {
                quantize(x, self.scale_bits, ACT_BITS).ok_or_else(|| {
                    OnnxError::Input(format!(
                        "input {x} is not finite or outside ±2^{}",
                        ACT_BITS - self.scale_bits
                    ))
                })
            })
            .collect()
    }

    /// Evaluates the network on a quantized input, with exactly the circuit's semantics.
    pub fn evaluate(&self, input: &[i64]) -> Result<QuantTrace, OnnxError> {
        self.validate()?;
        if input.len() != self.input_len() {
            return Err(OnnxError::Input(format!(
                "{} values for a model with {} inputs",
                input.len(),
                self.input_len()
            )));
        }
        let bound = 1i128 << ACT_BITS;
        if let Some(&v) = input.iter().find(|&&v| i128::from(v).abs() >= bound) {
            return Err(OnnxError::OutOfRange {
                layer: 0,
                value: v.into(),
                bits: ACT_BITS,
            });
        }
        let mut x: Vec<i64> = input.to_vec();
        let mut layers = Vec::with_capacity(self.layers.len());
        for (index, layer) in self.layers.iter().enumerate() {
            let n = layer.inputs as usize;
            let mut rows = Vec::with_capacity(layer.outputs as usize);
            for j in 0..layer.outputs as usize {
                let w = &layer.weights[j * n..(j + 1) * n];
                let acc: i128 = i128::from(layer.bias[j])
                    + w.iter()
                        .zip(&x)
                        .map(|(&w, &x)| i128::from(w) * i128::from(x))
                        .sum::<i128>();
                let y = acc >> self.scale_bits;
                if y.abs() >= bound {
                    return Err(OnnxError::OutOfRange {
                        layer: index + 1,
                        value: y,
                        bits: ACT_BITS,
                    });
                }
                let y = y as i64;
                let out = if layer.relu { y.max(0) } else { y };
                rows.push((acc, y, out));
            }
            x = rows.iter().map(|&(_, _, o)| o).collect();
            layers.push(rows);
        }
        Ok(QuantTrace {
            input: input.to_vec(),
            layers,
        })
    }

    /// The label of an output row: that of its first maximum (ONNX `ArgMax` semantics).
    pub fn label(&self, output: &[i64]) -> Option<i64> {
        let classes = self.classes.as_ref()?;
        let mut best = 0;
        for (i, v) in output.iter().enumerate() {
            if *v > output[best] {
                best = i;
            }
        }
        classes.get(best).copied()
    }

    /// A quantized value as a float.
    pub fn dequantize(&self, v: i64) -> f32 {
        (v as f64 / f64::from(1u32 << self.scale_bits)) as f32
    }
}

fn from_plan(plan: &Plan) -> Result<QuantizedNet, OnnxError> {
    let not = |why: String| OnnxError::NotQuantizable(why);
    let s = SCALE_BITS;
    let mut layers = Vec::new();
    // Slots holding the current activation (aliases included).
    let mut current = vec![0usize];
    let mut steps = plan.steps.iter().peekable();
    while let Some(step) = steps.peek() {
        match step {
            Step::Alias { x, out } if current.contains(x) => current.push(*out),
            Step::Dense {
                x,
                out,
                relu,
                inputs,
                outputs,
                weights,
                bias,
                ..
            } if current.contains(x) => {
                let (n, m) = (*inputs, *outputs);
                let mut w = vec![0i64; n * m];
                for i in 0..n {
                    for j in 0..m {
                        w[j * n + i] =
                            quantize(weights[i * m + j], s, PARAM_BITS).ok_or_else(|| {
                                not(format!("weight {} is out of range", weights[i * m + j]))
                            })?;
                    }
                }
                let b = (0..m)
                    .map(|j| {
                        let v = bias.as_ref().map_or(0.0, |b| b[j]);
                        quantize(v, 2 * s, PARAM_BITS)
                            .map(|q| q + (1i64 << (s - 1)))
                            .ok_or_else(|| not(format!("bias {v} is out of range")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                layers.push(QuantLayer {
                    inputs: n as u32,
                    outputs: m as u32,
                    weights: w,
                    bias: b,
                    relu: *relu,
                });
                current = vec![*out];
            }
            _ => break,
        }
        steps.next();
    }
    if layers.is_empty() {
        let first = plan
            .steps
            .iter()
            .find(|s| !matches!(s, Step::Alias { .. }))
            .map_or("nothing", step_name);
        return Err(not(format!(
            "the model does not start with a dense layer (MatMul or Gemm) but with {first}, which is not proven yet"
        )));
    }
    // The read-out: everything after the network must be a classifier's or a reshape.
    let logits = current.clone();
    let mut classes = None;
    let mut derived = current; // slots derived from the logits by order-preserving steps
    let mut label_slots: Vec<usize> = Vec::new();
    for step in steps {
        match step {
            Step::Alias { x, out } | Step::Softmax { x, out } if derived.contains(x) => {
                derived.push(*out)
            }
            Step::ArgMax { x, out } if derived.contains(x) => label_slots.push(*out),
            Step::Alias { x, out } | Step::Cast { x, out, .. } if label_slots.contains(x) => {
                label_slots.push(*out)
            }
            Step::LabelLookup {
                indices,
                labels,
                out,
                ..
            } if label_slots.contains(indices) => {
                classes = Some(labels.clone());
                label_slots.push(*out);
            }
            other => {
                return Err(not(format!(
                    "{} after the dense layers is not proven yet (proven: MatMul/Gemm, Add, Relu; read-out: Softmax, ArgMax, label lookup)",
                    step_name(other)
                )));
            }
        }
    }
    if !label_slots.is_empty() && classes.is_none() {
        classes = Some((0..i64::from(layers.last().map_or(0, |l| l.outputs))).collect());
    }
    for (name, slot, _) in plan.output_slots() {
        if !derived.contains(&slot) && !label_slots.contains(&slot) && !logits.contains(&slot) {
            return Err(not(format!(
                "output {name:?} is not derived from the network"
            )));
        }
    }
    Ok(QuantizedNet {
        scale_bits: s,
        layers,
        classes,
    })
}

fn step_name(step: &Step) -> &'static str {
    match step {
        Step::Dense { .. } => "a dense layer not fed by the previous one",
        Step::Binary { .. } => "an elementwise Add/Sub/Mul/Div",
        Step::Unary { .. } => "Sigmoid/Tanh (or a ReLU not after a dense layer)",
        Step::Softmax { .. } => "Softmax",
        Step::ArgMax { .. } => "ArgMax",
        Step::LabelLookup { .. } => "ArrayFeatureExtractor",
        Step::Conv { .. } => "Conv (or a BatchNormalization on its own)",
        Step::Pool { .. } => "MaxPool/AveragePool",
        Step::Select { .. } => "Transpose/Gather",
        Step::Concat { .. } => "Concat",
        Step::Trees { .. } => "a tree ensemble",
        Step::Alias { .. } => "a reshape",
        Step::Cast { .. } => "Cast",
    }
}
