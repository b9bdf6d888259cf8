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
//!
//! A convolution is the same arithmetic over each filter's window ([`QuantConv`]); pooling
//! takes the maximum or the rounded mean of integers ([`QuantPool`]); a tree compares the
//! quantized feature with a threshold turned into an integer bound, exactly
//! ([`QuantTrees`]). The halo2 circuit proves dense layers, convolutions, pooling and
//! reorderings; tree ensembles are recorded (and replayed) but not proven yet.

mod ops;

use serde::{Deserialize, Serialize};

pub use ops::{
    PAD, QuantAggregate, QuantConv, QuantPool, QuantPoolKind, QuantTreeNode, QuantTrees,
    QuantWindow,
};

use super::plan::trees::{Aggregate, Ensemble, Mode, Post, TreeNode};
use super::plan::window::{Conv, Pool, PoolKind, Window};
use super::plan::{Plan, Step};
use super::{OnnxError, OnnxModel};

/// Fractional bits of the fixed-point encoding.
pub const SCALE_BITS: u32 = 8;
/// Activations (and quantized inputs) lie in `(-2^ACT_BITS, 2^ACT_BITS)`.
pub const ACT_BITS: u32 = 16;
/// Quantized weights and biases must lie in `(-2^PARAM_BITS, 2^PARAM_BITS)`.
pub const PARAM_BITS: u32 = 40;
/// Extra fractional bits of trees' leaf and base values: they are summed at
/// `2^(s + TREE_EXTRA_BITS)` and the sum rounded once to `2^s`, so that twenty trees do not add
/// twenty roundings.
pub const TREE_EXTRA_BITS: u32 = 8;
/// The input of a network that starts with trees is its features' [`f32_key`]s, within
/// `±2^TREE_INPUT_BITS`.
pub const TREE_INPUT_BITS: u32 = 32;

/// The integer that orders like a float: `sign(x) · (bits of |x|)`. For finite `a`, `b`:
/// `a ≤ b ⇔ f32_key(a) ≤ f32_key(b)` and `a = b ⇔ f32_key(a) = f32_key(b)` (both zeros give
/// 0). Trees only compare their features with thresholds, so a tree network takes its input
/// as keys: every comparison is then decided exactly as in f32, at any magnitude (a feature
/// of 0.0974 equal to its threshold, an amount of 10⁹), where fixed point would round.
pub fn f32_key(x: f32) -> i64 {
    let magnitude = i64::from(x.to_bits() & 0x7fff_ffff);
    if x.is_sign_negative() {
        -magnitude
    } else {
        magnitude
    }
}

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

/// One layer of a quantized network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuantOp {
    /// A dense layer (`MatMul`/`Gemm`, bias, ReLU).
    Dense(QuantLayer),
    /// A convolution (a `BatchNormalization` folded in, or on its own as a per-channel map).
    Conv(QuantConv),
    /// Max or average pooling.
    Pool(QuantPool),
    /// A reordering of the row (`Transpose`, `Gather`): element `i` is input `index[i]`.
    Select {
        /// Input width.
        inputs: u32,
        /// The input element of each output.
        index: Vec<u32>,
    },
    /// A tree ensemble.
    Trees(QuantTrees),
}

impl QuantOp {
    /// `(input width, output width)`.
    fn widths(&self) -> (u64, u64) {
        match self {
            QuantOp::Dense(l) => (l.inputs.into(), l.outputs.into()),
            QuantOp::Conv(c) => c.widths(),
            QuantOp::Pool(p) => p.widths(),
            QuantOp::Select { inputs, index } => ((*inputs).into(), index.len() as u64),
            QuantOp::Trees(t) => t.widths(),
        }
    }

    /// Parameters (weights, biases, table entries, tree nodes), for the size limit.
    fn size(&self) -> u64 {
        match self {
            QuantOp::Dense(l) => (l.weights.len() + l.bias.len()) as u64,
            QuantOp::Conv(c) => (c.weights.len() + c.bias.len() + c.window.table.len()) as u64,
            QuantOp::Pool(p) => p.window.table.len() as u64,
            QuantOp::Select { index, .. } => index.len() as u64,
            QuantOp::Trees(t) => {
                (t.trees.iter().map(Vec::len).sum::<usize>() + t.weights.len()) as u64
            }
        }
    }

    /// The operator's name, for errors.
    pub fn name(&self) -> &'static str {
        match self {
            QuantOp::Dense(_) => "a dense layer",
            QuantOp::Conv(_) => "Conv",
            QuantOp::Pool(_) => "pooling",
            QuantOp::Select { .. } => "Transpose/Gather",
            QuantOp::Trees(_) => "a tree ensemble",
        }
    }
}

/// A model's quantized network: a chain of layers from the input to its outputs, and how
/// those outputs are read (class labels by argmax, or values).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantizedNet {
    /// Fractional bits.
    pub scale_bits: u32,
    /// The layers in order.
    pub ops: Vec<QuantOp>,
    /// For a classifier: the label of each output (the label is that of the first maximum).
    pub classes: Option<Vec<i64>>,
}

/// The quantized evaluation of one input row: every layer's outputs (the circuit's witness).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuantTrace {
    /// The quantized input.
    pub input: Vec<i64>,
    /// Per layer: `(acc, y, out)` for every output of a dense layer or convolution (the
    /// accumulator, the rescaled value, after the ReLU); `(out, out, out)` for the others.
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
        if self.ops.is_empty() || self.ops.len() > 64 {
            return Err(bad(format!("{} layers", self.ops.len())));
        }
        let mut width = self.ops[0].widths().0;
        let mut params: u64 = 0;
        for (i, op) in self.ops.iter().enumerate() {
            params = params.saturating_add(op.size());
            let (inputs, outputs) = op.widths();
            let checked = match op {
                QuantOp::Dense(l) => {
                    let n = u64::from(l.inputs) * u64::from(l.outputs);
                    let limit = 1i64 << PARAM_BITS;
                    if l.weights.len() as u64 != n || l.bias.len() != l.outputs as usize {
                        Err("inconsistent weight or bias counts".to_string())
                    } else if l.weights.iter().chain(&l.bias).any(|v| v.abs() >= limit) {
                        Err(format!("a parameter outside ±2^{PARAM_BITS}"))
                    } else {
                        Ok(())
                    }
                }
                QuantOp::Conv(c) => c.validate(),
                QuantOp::Pool(p) => p.validate(),
                QuantOp::Select { inputs, index } => {
                    if index.iter().any(|&x| x >= *inputs) {
                        Err("a reordering reads outside its input".into())
                    } else {
                        Ok(())
                    }
                }
                QuantOp::Trees(_) if i > 0 => {
                    Err("trees read the network's input only".to_string())
                }
                QuantOp::Trees(t) => t.validate(),
            };
            checked.map_err(|why| bad(format!("layer {i} ({}): {why}", op.name())))?;
            if inputs == 0
                || outputs == 0
                || inputs != width
                || outputs > 1 << 24
                || params > 1 << 24
            {
                return Err(bad(format!("layer {i} has an inconsistent shape")));
            }
            width = outputs;
        }
        if let Some(c) = &self.classes
            && c.len() as u64 != width
        {
            return Err(bad(format!("{} class labels for {width} outputs", c.len())));
        }
        Ok(())
    }

    /// Bits of the quantized input's range: [`ACT_BITS`], or [`TREE_INPUT_BITS`] for a
    /// network that starts with trees.
    pub fn input_bits(&self) -> u32 {
        match self.ops.first() {
            Some(QuantOp::Trees(_)) => TREE_INPUT_BITS,
            _ => ACT_BITS,
        }
    }

    /// Whether the input is given as [`f32_key`]s (a network starting with trees) rather
    /// than in fixed point at `scale_bits`.
    pub fn takes_keys(&self) -> bool {
        matches!(self.ops.first(), Some(QuantOp::Trees(_)))
    }

    /// The network's input from values in fixed point at `scale_bits` (what a contract passes
    /// to `model_infer`): the same values, or their keys for a tree network.
    pub fn input_from_fixed(&self, fixed: &[i64]) -> Vec<i64> {
        if !self.takes_keys() {
            return fixed.to_vec();
        }
        let scale = f64::from(1u32 << self.scale_bits);
        fixed
            .iter()
            .map(|&v| f32_key((v as f64 / scale) as f32))
            .collect()
    }

    /// The input width.
    pub fn input_len(&self) -> usize {
        self.ops.first().map_or(0, |op| op.widths().0 as usize)
    }

    /// The output width.
    pub fn output_len(&self) -> usize {
        self.ops.last().map_or(0, |op| op.widths().1 as usize)
    }

    /// Multiply-accumulates of one evaluation (of dense layers and convolutions).
    pub fn macs(&self) -> u64 {
        self.ops
            .iter()
            .map(|op| match op {
                QuantOp::Dense(l) => u64::from(l.inputs) * u64::from(l.outputs),
                QuantOp::Conv(c) => {
                    u64::from(c.filters)
                        * u64::from(c.window.out_len)
                        * u64::from(c.channels / c.groups.max(1))
                        * u64::from(c.window.taps)
                }
                _ => 0,
            })
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
        if self.takes_keys() {
            return input
                .iter()
                .map(|&x| {
                    x.is_finite()
                        .then(|| f32_key(x))
                        .ok_or_else(|| OnnxError::Input(format!("input {x} is not finite")))
                })
                .collect();
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
        let bits = self.input_bits();
        if let Some(&v) = input
            .iter()
            .find(|&&v| i128::from(v).abs() >= 1i128 << bits)
        {
            return Err(OnnxError::OutOfRange {
                layer: 0,
                value: v.into(),
                bits,
            });
        }
        let mut x: Vec<i64> = input.to_vec();
        let mut layers = Vec::with_capacity(self.ops.len());
        for (index, op) in self.ops.iter().enumerate() {
            let out_of_range = |value: i128| OnnxError::OutOfRange {
                layer: index + 1,
                value,
                bits: ACT_BITS,
            };
            let same = |v: Vec<i64>| v.into_iter().map(|o| (i128::from(o), o, o)).collect();
            let rows: Vec<(i128, i64, i64)> = match op {
                QuantOp::Dense(layer) => {
                    let n = layer.inputs as usize;
                    (0..layer.outputs as usize)
                        .map(|j| {
                            let w = &layer.weights[j * n..(j + 1) * n];
                            let acc: i128 = i128::from(layer.bias[j])
                                + w.iter()
                                    .zip(&x)
                                    .map(|(&w, &x)| i128::from(w) * i128::from(x))
                                    .sum::<i128>();
                            ops::rescale(acc, self.scale_bits, layer.relu)
                        })
                        .collect::<Result<_, _>>()
                        .map_err(out_of_range)?
                }
                QuantOp::Conv(c) => c.evaluate(&x, self.scale_bits).map_err(out_of_range)?,
                QuantOp::Pool(p) => same(p.evaluate(&x)),
                QuantOp::Select { index, .. } => {
                    same(index.iter().map(|&i| x[i as usize]).collect())
                }
                QuantOp::Trees(t) => {
                    let out = t.evaluate(&x, self.scale_bits);
                    // Scores are read out, not multiplied: a wider range (regression targets).
                    if let Some(&v) = out.iter().find(|v| v.unsigned_abs() >= 1u64 << PARAM_BITS) {
                        return Err(OnnxError::OutOfRange {
                            layer: index + 1,
                            value: v.into(),
                            bits: PARAM_BITS,
                        });
                    }
                    same(out)
                }
            };
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
    let mut ops = Vec::new();
    let mut classes = None;
    // Slots holding the current activation (aliases included).
    let mut current = vec![0usize];
    let mut label_slots: Vec<usize> = Vec::new();
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
                        w[j * n + i] = weight(weights[i * m + j], s)?;
                    }
                }
                let b = (0..m)
                    .map(|j| bias_term(bias.as_ref().map_or(0.0, |b| b[j]), s))
                    .collect::<Result<Vec<_>, _>>()?;
                ops.push(QuantOp::Dense(QuantLayer {
                    inputs: n as u32,
                    outputs: m as u32,
                    weights: w,
                    bias: b,
                    relu: *relu,
                }));
                current = vec![*out];
            }
            Step::Conv { x, out, conv } if current.contains(x) => {
                ops.push(QuantOp::Conv(quant_conv(conv, s)?));
                current = vec![*out];
            }
            Step::Pool { x, out, pool } if current.contains(x) => {
                ops.push(QuantOp::Pool(quant_pool(pool)));
                current = vec![*out];
            }
            Step::Select { x, out, index } if current.contains(x) => {
                let inputs = plan
                    .width(*x)
                    .ok_or_else(|| not("a reordering of nothing".into()))?;
                ops.push(QuantOp::Select {
                    inputs: inputs as u32,
                    index: index.clone(),
                });
                current = vec![*out];
            }
            Step::Trees {
                x,
                out,
                labels,
                ensemble,
            } if current.contains(x) && ops.is_empty() => {
                ops.push(QuantOp::Trees(quant_trees(ensemble, s)?));
                classes = ensemble.labels.clone();
                label_slots.extend(labels);
                current = vec![*out];
                // The scores' post-transform is monotone: a read-out, like Softmax.
                steps.next();
                break;
            }
            _ => break,
        }
        steps.next();
    }
    if ops.is_empty() {
        let first = plan
            .steps
            .iter()
            .find(|s| !matches!(s, Step::Alias { .. }))
            .map_or("nothing", step_name);
        return Err(not(format!(
            "the model starts with {first}, which cannot be recorded yet (recorded: dense layers, Conv, pooling, Transpose/Gather, tree ensembles)"
        )));
    }
    // The read-out: everything after the network must be a classifier's or a reshape.
    let logits = current.clone();
    let mut derived = current; // slots derived from the logits by order-preserving steps
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
                    "{} after the network cannot be recorded yet: the network must be one chain of layers (recorded: dense layers, Conv, pooling, Transpose/Gather, tree ensembles; read-out: Softmax, ArgMax, label lookup)",
                    step_name(other)
                )));
            }
        }
    }
    let width = ops.last().map_or(0, |op| op.widths().1);
    if !label_slots.is_empty() && classes.is_none() {
        classes = Some((0..width as i64).collect());
    }
    for (name, slot, _) in plan.output_slots() {
        if !derived.contains(&slot) && !label_slots.contains(&slot) && !logits.contains(&slot) {
            return Err(not(format!(
                "output {name:?} is not derived from the network"
            )));
        }
    }
    let net = QuantizedNet {
        scale_bits: s,
        ops,
        classes,
    };
    net.validate()?;
    Ok(net)
}

fn weight(w: f32, s: u32) -> Result<i64, OnnxError> {
    quantize(w, s, PARAM_BITS)
        .ok_or_else(|| OnnxError::NotQuantizable(format!("weight {w} is out of range")))
}

/// A bias at scale `2^2s` with the rounding term `2^(s-1)`.
fn bias_term(b: f32, s: u32) -> Result<i64, OnnxError> {
    quantize(b, 2 * s, PARAM_BITS)
        .map(|q| q + (1i64 << (s - 1)))
        .ok_or_else(|| OnnxError::NotQuantizable(format!("bias {b} is out of range")))
}

fn quant_window(w: &Window) -> QuantWindow {
    QuantWindow {
        in_len: w.in_len as u32,
        out_len: w.out_len() as u32,
        taps: w.taps as u32,
        table: w.table.clone(),
    }
}

fn quant_conv(c: &Conv, s: u32) -> Result<QuantConv, OnnxError> {
    Ok(QuantConv {
        window: quant_window(&c.window),
        channels: c.channels as u32,
        groups: c.groups as u32,
        filters: c.filters as u32,
        weights: c
            .weights
            .iter()
            .map(|&w| weight(w, s))
            .collect::<Result<_, _>>()?,
        bias: c
            .bias
            .iter()
            .map(|&b| bias_term(b, s))
            .collect::<Result<_, _>>()?,
        relu: c.relu,
    })
}

fn quant_pool(p: &Pool) -> QuantPool {
    QuantPool {
        window: quant_window(&p.window),
        channels: p.channels as u32,
        kind: match p.kind {
            PoolKind::Max => QuantPoolKind::Max,
            PoolKind::Avg { include_pad } => QuantPoolKind::Avg { include_pad },
        },
    }
}

/// Trees over features given as [`f32_key`]s: each threshold `t` becomes the integer bound
/// of the same test on the key `k`, exactly: `x ≤ t ⇔ k ≤ key(t)`, `x < t ⇔ k ≤ key(t) − 1`,
/// and `>`/`≥` their negations. Leaf and base values are quantized at
/// `2^(s + TREE_EXTRA_BITS)`.
fn quant_trees(e: &Ensemble, s: u32) -> Result<QuantTrees, OnnxError> {
    let not = |why: String| OnnxError::NotQuantizable(why);
    if e.post != Post::None && e.labels.is_none() {
        return Err(not(
            "a regressor's post_transform cannot be recorded yet".into()
        ));
    }
    let trees = e
        .trees
        .iter()
        .map(|t| {
            t.nodes
                .iter()
                .map(|n| match *n {
                    TreeNode::Leaf { first, count } => Ok(QuantTreeNode::Leaf { first, count }),
                    TreeNode::Branch {
                        feature,
                        threshold,
                        mode,
                        yes,
                        no,
                    } => {
                        let t = f32_key(threshold);
                        let (le, negate) = match mode {
                            Mode::Leq => (t, false),
                            Mode::Gt => (t, true),
                            Mode::Lt => (t - 1, false),
                            Mode::Gte => (t - 1, true),
                            Mode::Eq | Mode::Neq => {
                                return Err(not(
                                    "BRANCH_EQ/BRANCH_NEQ cannot be recorded yet".into()
                                ));
                            }
                        };
                        Ok(QuantTreeNode::Branch {
                            feature,
                            le,
                            negate,
                            yes,
                            no,
                        })
                    }
                })
                .collect::<Result<Vec<_>, OnnxError>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let value = |v: f32| {
        quantize(v, s + TREE_EXTRA_BITS, PARAM_BITS)
            .ok_or_else(|| not(format!("tree value {v} is out of range")))
    };
    let weights = e
        .weights
        .iter()
        .map(|&(t, w)| Ok((t, value(w)?)))
        .collect::<Result<Vec<_>, OnnxError>>()?;
    let mut base = e
        .base
        .iter()
        .map(|&b| value(b))
        .collect::<Result<Vec<_>, _>>()?;
    base.resize(e.targets, 0);
    Ok(QuantTrees {
        features: e.features as u32,
        trees,
        weights,
        targets: e.targets as u32,
        base,
        aggregate: match e.aggregate {
            Aggregate::Sum => QuantAggregate::Sum,
            Aggregate::Average => QuantAggregate::Average,
            Aggregate::Min => QuantAggregate::Min,
            Aggregate::Max => QuantAggregate::Max,
        },
        binary: e.binary.map(|b| b.all_positive),
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
