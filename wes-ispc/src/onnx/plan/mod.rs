//! A decoded graph compiled once into an execution plan: constants uploaded once,
//! `MatMul`/`Gemm` + bias + `Relu` fused into one dense step (and `Conv` + `Relu`), a
//! `BatchNormalization` folded into the layer before it, windows and reorderings turned into
//! index tables, tree ensembles into trees; shapes checked, the cost of a row computed from
//! the graph.

mod compile;
mod shape;
pub(crate) mod trees;
pub(crate) mod window;

use candle_core::{DType, Device, Tensor};

pub(crate) use compile::{check_operators, compile};
pub(crate) use shape::Dims;

use super::{ModelOutput, OnnxError, OutputData};
use trees::Ensemble;
use window::{Conv, Pool, dot};

/// Element type of a runtime value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    F32,
    I64,
}

/// A runtime value's static description: rows are the batch; every slot holds its value as
/// a `[rows, elements]` tensor, whatever its row shape.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Value {
    pub slot: usize,
    pub kind: Kind,
    pub dims: Dims,
}

impl Value {
    /// Elements per row.
    pub fn cols(&self) -> usize {
        self.dims.elements()
    }
}

/// An elementwise binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// An elementwise unary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnOp {
    Relu,
    Sigmoid,
    Tanh,
}

/// A binary operand: a runtime value or a constant row broadcast over the batch.
#[derive(Clone, Debug)]
pub(crate) enum Operand {
    Slot(usize),
    Const(Tensor),
}

/// One step of the plan.
#[derive(Clone, Debug)]
pub(crate) enum Step {
    /// `out = act(x · W + b)`; `weights` row-major `[inputs][outputs]` kept for quantization.
    Dense {
        x: usize,
        out: usize,
        w: Tensor,
        b: Option<Tensor>,
        relu: bool,
        inputs: usize,
        outputs: usize,
        weights: Vec<f32>,
        bias: Option<Vec<f32>>,
        /// `weights` transposed, `[outputs][inputs]`, for the small-product kernel.
        rows_major: Vec<f32>,
    },
    /// A 2-D convolution (grouped, depthwise, or a per-channel affine map), ReLU fused.
    Conv {
        x: usize,
        out: usize,
        conv: Box<Conv>,
    },
    /// Max or average pooling.
    Pool {
        x: usize,
        out: usize,
        pool: Box<Pool>,
    },
    /// `out[i] = x[index[i]]` within each row (`Transpose`, `Gather` with constant indices).
    Select {
        x: usize,
        out: usize,
        index: Vec<u32>,
    },
    /// Rows joined: for each of `outer` blocks, `block` elements of each part in turn.
    Concat {
        parts: Vec<(usize, usize)>,
        outer: usize,
        out: usize,
    },
    /// A tree ensemble: scores into `out`, a classifier's labels into `labels`.
    Trees {
        x: usize,
        out: usize,
        labels: Option<usize>,
        ensemble: Box<Ensemble>,
    },
    Binary {
        op: BinOp,
        a: Operand,
        b: Operand,
        out: usize,
    },
    Unary {
        op: UnOp,
        x: usize,
        out: usize,
    },
    /// Softmax over the features of each row.
    Softmax {
        x: usize,
        out: usize,
    },
    /// Index of the first maximum of each row (as i64, one column).
    ArgMax {
        x: usize,
        out: usize,
    },
    /// `ai.onnx.ml.ArrayFeatureExtractor` of a constant row by runtime indices (class labels).
    LabelLookup {
        indices: usize,
        table: Tensor,
        labels: Vec<i64>,
        out: usize,
    },
    /// Same data, new name or shape (`Identity`, `Reshape`, `Flatten`, `Squeeze`,
    /// `Unsqueeze`, `Cast` to the same type).
    Alias {
        x: usize,
        out: usize,
    },
    /// Element type conversion.
    Cast {
        x: usize,
        to: Kind,
        out: usize,
    },
}

/// A compiled model: run it as many times as needed.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Elements per input row.
    pub features: usize,
    /// The input's row shape.
    pub input: Dims,
    pub slots: usize,
    /// Elements per row of each slot.
    pub widths: Vec<usize>,
    pub steps: Vec<Step>,
    /// The graph outputs: name and static description.
    outputs: Vec<(String, Value)>,
    /// Compute units per input row.
    pub cu_per_row: u64,
}

/// Per-element costs: the cost model is part of consensus (see the crate README).
pub(crate) mod cost {
    /// Fixed cost of an inference.
    pub const BASE: u64 = 1_000;
    /// One multiply-accumulate.
    pub const MAC: u64 = 1;
    /// One element of a cheap elementwise step (add, relu, argmax, copy, a pooled tap).
    pub const ELEMENT: u64 = 1;
    /// One element of a transcendental step (exp in sigmoid, tanh, softmax).
    pub const TRANSCENDENTAL: u64 = 8;
    /// One branch of a tree walked by a row.
    pub const BRANCH: u64 = 2;
}

pub(crate) fn cpu_f32(data: &[f32], shape: &[usize]) -> Result<Tensor, OnnxError> {
    Ok(Tensor::from_slice(data, shape, &Device::Cpu)?)
}

/// Products up to this many multiply-accumulates run in [`dense_small`]: candle's matmul
/// hands every product to the rayon pool, which costs ≈ 35 µs of wake-ups on a 1×64×32
/// product that takes ≈ 1 µs on one core.
const SMALL_PRODUCT: usize = 1 << 18;

/// `y = act(x · Wᵀ + b)` for rows of `x`, with `w` row-major `[outputs][inputs]`.
fn dense_small(x: &[f32], inputs: usize, w: &[f32], bias: Option<&[f32]>, relu: bool) -> Vec<f32> {
    let outputs = w.len() / inputs.max(1);
    let mut y = Vec::with_capacity(x.len() / inputs.max(1) * outputs);
    for row in x.chunks_exact(inputs) {
        for (j, wj) in w.chunks_exact(inputs).enumerate() {
            let mut v = dot(row, wj) + bias.map_or(0.0, |b| b[j]);
            if relu && v < 0.0 {
                v = 0.0;
            }
            y.push(v);
        }
    }
    y
}

fn flat(t: &Tensor) -> Result<Vec<f32>, OnnxError> {
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

fn rows_of(v: Vec<f32>, rows: usize) -> Result<Tensor, OnnxError> {
    let cols = v.len() / rows.max(1);
    Ok(Tensor::from_vec(v, (rows, cols), &Device::Cpu)?)
}

impl Plan {
    /// Runs the plan on `rows` rows of `features` values each.
    pub(crate) fn run(&self, input: &[f32], rows: usize) -> Result<Vec<ModelOutput>, OnnxError> {
        let mut slots: Vec<Option<Tensor>> = vec![None; self.slots];
        slots[0] = Some(cpu_f32(input, &[rows, self.features])?);
        let get = |slots: &[Option<Tensor>], i: usize| -> Result<Tensor, OnnxError> {
            slots[i]
                .clone()
                .ok_or_else(|| OnnxError::Engine(format!("slot {i} read before it is written")))
        };
        for step in &self.steps {
            let (out, t) = match step {
                Step::Dense {
                    x,
                    out,
                    w,
                    b,
                    relu,
                    inputs,
                    outputs,
                    bias,
                    rows_major,
                    ..
                } => {
                    let x = get(&slots, *x)?;
                    let t = if rows * inputs * outputs <= SMALL_PRODUCT {
                        let y =
                            dense_small(&flat(&x)?, *inputs, rows_major, bias.as_deref(), *relu);
                        Tensor::from_vec(y, (rows, *outputs), &Device::Cpu)?
                    } else {
                        let mut t = x.matmul(w)?;
                        if let Some(b) = b {
                            t = t.broadcast_add(b)?;
                        }
                        if *relu {
                            t = t.relu()?;
                        }
                        t
                    };
                    (*out, t)
                }
                Step::Conv { x, out, conv } => (
                    *out,
                    rows_of(conv.run(&flat(&get(&slots, *x)?)?, rows), rows)?,
                ),
                Step::Pool { x, out, pool } => (
                    *out,
                    rows_of(pool.run(&flat(&get(&slots, *x)?)?, rows), rows)?,
                ),
                Step::Select { x, out, index } => {
                    let xs = flat(&get(&slots, *x)?)?;
                    let cols = xs.len() / rows.max(1);
                    let mut y = Vec::with_capacity(rows * index.len());
                    for row in xs.chunks_exact(cols.max(1)).take(rows) {
                        y.extend(index.iter().map(|&i| row[i as usize]));
                    }
                    (*out, rows_of(y, rows)?)
                }
                Step::Concat { parts, outer, out } => {
                    let data = parts
                        .iter()
                        .map(|&(s, block)| Ok((flat(&get(&slots, s)?)?, block)))
                        .collect::<Result<Vec<_>, OnnxError>>()?;
                    let mut y = Vec::new();
                    for r in 0..rows {
                        for o in 0..*outer {
                            for (d, block) in &data {
                                let at = (r * outer + o) * block;
                                y.extend_from_slice(&d[at..at + block]);
                            }
                        }
                    }
                    (*out, rows_of(y, rows)?)
                }
                Step::Trees {
                    x,
                    out,
                    labels,
                    ensemble,
                } => {
                    let (scores, l) = ensemble.run(&flat(&get(&slots, *x)?)?, rows);
                    if let Some(ls) = labels {
                        slots[*ls] = Some(Tensor::from_vec(l, (rows, 1), &Device::Cpu)?);
                    }
                    (*out, rows_of(scores, rows)?)
                }
                Step::Binary { op, a, b, out } => {
                    let operand = |o: &Operand| match o {
                        Operand::Slot(s) => get(&slots, *s),
                        Operand::Const(t) => Ok(t.clone()),
                    };
                    let (a, b) = (operand(a)?, operand(b)?);
                    let t = match op {
                        BinOp::Add => a.broadcast_add(&b)?,
                        BinOp::Sub => a.broadcast_sub(&b)?,
                        BinOp::Mul => a.broadcast_mul(&b)?,
                        BinOp::Div => a.broadcast_div(&b)?,
                    };
                    (*out, t)
                }
                Step::Unary { op, x, out } => {
                    let x = get(&slots, *x)?;
                    let t = match op {
                        UnOp::Relu => x.relu()?,
                        UnOp::Tanh => x.tanh()?,
                        UnOp::Sigmoid => (x.neg()?.exp()? + 1.0)?.recip()?,
                    };
                    (*out, t)
                }
                Step::Softmax { x, out } => {
                    let x = get(&slots, *x)?;
                    let e = x.broadcast_sub(&x.max_keepdim(1)?)?.exp()?;
                    (*out, e.broadcast_div(&e.sum_keepdim(1)?)?)
                }
                Step::ArgMax { x, out } => (
                    *out,
                    get(&slots, *x)?.argmax_keepdim(1)?.to_dtype(DType::I64)?,
                ),
                Step::LabelLookup {
                    indices,
                    table,
                    labels,
                    out,
                } => {
                    let idx = get(&slots, *indices)?.flatten_all()?;
                    let bad = idx
                        .to_vec1::<i64>()?
                        .into_iter()
                        .find(|&i| i < 0 || i as usize >= labels.len());
                    if let Some(i) = bad {
                        return Err(OnnxError::Input(format!(
                            "class index {i} outside the {} labels",
                            labels.len()
                        )));
                    }
                    (*out, table.index_select(&idx, 0)?.reshape((rows, 1))?)
                }
                Step::Alias { x, out } => (*out, get(&slots, *x)?),
                Step::Cast { x, to, out } => {
                    let dt = match to {
                        Kind::F32 => DType::F32,
                        Kind::I64 => DType::I64,
                    };
                    (*out, get(&slots, *x)?.to_dtype(dt)?)
                }
            };
            slots[out] = Some(t);
        }
        let mut outputs = Vec::with_capacity(self.outputs.len());
        for (name, v) in &self.outputs {
            let t = get(&slots, v.slot)?;
            let mut shape = vec![rows];
            shape.extend_from_slice(v.dims.as_slice());
            let data = match v.kind {
                Kind::F32 => OutputData::F32(t.flatten_all()?.to_vec1::<f32>()?),
                Kind::I64 => OutputData::I64(t.flatten_all()?.to_vec1::<i64>()?),
            };
            outputs.push(ModelOutput {
                name: name.clone(),
                shape,
                data,
            });
        }
        Ok(outputs)
    }

    /// Elements per row of `slot`.
    pub(crate) fn width(&self, slot: usize) -> Option<usize> {
        self.widths.get(slot).copied()
    }

    /// The slot description of a graph output, for the quantizer.
    pub(crate) fn output_slots(&self) -> impl Iterator<Item = (&str, usize, usize)> {
        self.outputs
            .iter()
            .map(|(n, v)| (n.as_str(), v.slot, v.cols()))
    }
}
