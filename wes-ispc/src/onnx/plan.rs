//! Compiling a decoded graph once into an execution plan on candle tensors: constants
//! uploaded once, `MatMul`/`Gemm` + bias + `Relu` fused into one dense step, shapes checked,
//! the cost of a row computed from the graph.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use super::graph::{Const, Graph, Node};
use super::{ModelOutput, OnnxError, OnnxLimits, OutputData};

/// Element type of a runtime value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    F32,
    I64,
}

/// A runtime value's static description: rows are the batch.
#[derive(Clone, Copy, Debug)]
struct Value {
    slot: usize,
    cols: usize,
    kind: Kind,
    /// Shape `[N]` rather than `[N, cols]` (only with `cols == 1`).
    rank1: bool,
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
    Gather {
        indices: usize,
        table: Tensor,
        labels: Vec<i64>,
        out: usize,
    },
    /// Same data, new name or shape (`Identity`, `Reshape`, `Flatten`, `Cast` to the same type).
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
    pub features: usize,
    pub slots: usize,
    pub steps: Vec<Step>,
    /// The graph outputs: name, slot, static description.
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
    /// One element of a cheap elementwise step (add, relu, argmax, copy).
    pub const ELEMENT: u64 = 1;
    /// One element of a transcendental step (exp in sigmoid, tanh, softmax).
    pub const TRANSCENDENTAL: u64 = 8;
}

/// A compiled binary operand: the operand, its runtime value (if not a constant), and the
/// constant's elements (if one).
type BinaryOperand = (Operand, Option<Value>, Option<Vec<f32>>);

struct Compiler<'g> {
    graph: &'g Graph,
    values: HashMap<String, Value>,
    uses: HashMap<&'g str, usize>,
    steps: Vec<Step>,
    slots: usize,
    cost: u64,
    max_features: usize,
    /// Constant elements copied into steps so far (a constant used by many nodes counts for
    /// each use: each use holds its own copy), against `max_parameters`.
    materialised: u64,
    max_parameters: u64,
}

pub(crate) fn compile(graph: &Graph, limits: &OnnxLimits) -> Result<Plan, OnnxError> {
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for n in &graph.nodes {
        for i in &n.inputs {
            *uses.entry(i.as_str()).or_default() += 1;
        }
    }
    for o in &graph.outputs {
        *uses.entry(o.as_str()).or_default() += 1;
    }
    let mut c = Compiler {
        graph,
        values: HashMap::new(),
        uses,
        steps: Vec::new(),
        slots: 1,
        cost: 0,
        max_features: limits.max_features,
        materialised: 0,
        max_parameters: limits.max_parameters,
    };
    c.values.insert(
        graph.input.clone(),
        Value {
            slot: 0,
            cols: graph.features,
            kind: Kind::F32,
            rank1: false,
        },
    );
    for node in &graph.nodes {
        c.node(node)?;
    }
    let mut outputs = Vec::new();
    for name in &graph.outputs {
        let v = c.values.get(name).copied().ok_or_else(|| {
            OnnxError::Malformed(format!("graph output {name:?} is not computed by any node"))
        })?;
        outputs.push((name.clone(), v));
    }
    Ok(Plan {
        features: graph.features,
        slots: c.slots,
        steps: c.steps,
        outputs,
        cu_per_row: c.cost,
    })
}

/// The operators the plan compiles (the `Constant` node is folded while decoding).
const SUPPORTED: &[(&str, &str)] = &[
    ("", "Identity"),
    ("", "Flatten"),
    ("", "Reshape"),
    ("", "Cast"),
    ("", "MatMul"),
    ("", "Gemm"),
    ("", "Add"),
    ("", "Sub"),
    ("", "Mul"),
    ("", "Div"),
    ("", "Relu"),
    ("", "Sigmoid"),
    ("", "Tanh"),
    ("", "Softmax"),
    ("", "ArgMax"),
    ("ai.onnx.ml", "ArrayFeatureExtractor"),
];

/// Checks every node's operator before anything else, so that the first error a model with
/// an unsupported operator gets names it.
pub(crate) fn check_operators(nodes: &[Node]) -> Result<(), OnnxError> {
    for node in nodes {
        let domain = if node.domain == "ai.onnx" {
            ""
        } else {
            node.domain.as_str()
        };
        if !SUPPORTED.contains(&(domain, node.op.as_str())) {
            return Err(unsupported(node));
        }
    }
    Ok(())
}

fn unsupported(node: &Node) -> OnnxError {
    OnnxError::UnsupportedOp {
        op: node.op.clone(),
        domain: if node.domain.is_empty() {
            String::new()
        } else {
            format!("{}.", node.domain)
        },
        node: node.name.clone(),
    }
}

fn cpu_f32(data: &[f32], shape: &[usize]) -> Result<Tensor, OnnxError> {
    Ok(Tensor::from_slice(data, shape, &Device::Cpu)?)
}

impl<'g> Compiler<'g> {
    fn fresh(
        &mut self,
        node: &Node,
        cols: usize,
        kind: Kind,
        rank1: bool,
    ) -> Result<Value, OnnxError> {
        if cols == 0 {
            return Err(node.bad("a value with no features"));
        }
        if cols > self.max_features {
            return Err(OnnxError::Limit {
                what: "features of a value",
                value: cols as u64,
                max: self.max_features as u64,
            });
        }
        let out = node.outputs.first().ok_or_else(|| node.bad("no output"))?;
        if out.is_empty() || self.values.contains_key(out) || self.graph.consts.contains_key(out) {
            return Err(node.bad(format!("output {out:?} is defined twice")));
        }
        let v = Value {
            slot: self.slots,
            cols,
            kind,
            rank1,
        };
        self.slots += 1;
        self.values.insert(out.clone(), v);
        Ok(v)
    }

    /// Counts `n` constant elements a step is about to copy, before copying them.
    fn materialise(&mut self, n: usize) -> Result<(), OnnxError> {
        self.materialised = self.materialised.saturating_add(n as u64);
        if self.materialised > self.max_parameters {
            return Err(OnnxError::Limit {
                what: "constant elements held by the plan (each use counted)",
                value: self.materialised,
                max: self.max_parameters,
            });
        }
        Ok(())
    }

    fn alias(&mut self, node: &Node, x: Value, cols: usize, rank1: bool) -> Result<(), OnnxError> {
        let v = self.fresh(node, cols, x.kind, rank1)?;
        self.steps.push(Step::Alias {
            x: x.slot,
            out: v.slot,
        });
        Ok(())
    }

    fn input<'n>(&self, node: &'n Node, i: usize) -> Result<&'n str, OnnxError> {
        node.inputs
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| node.bad(format!("missing input {i}")))
    }

    fn value(&self, node: &Node, i: usize) -> Result<Value, OnnxError> {
        let name = self.input(node, i)?;
        self.values.get(name).copied().ok_or_else(|| {
            if self.graph.consts.contains_key(name) {
                node.bad(format!(
                    "input {name:?} must be a runtime value, not a constant"
                ))
            } else {
                node.bad(format!("input {name:?} is not defined before use"))
            }
        })
    }

    fn constant(&self, node: &Node, i: usize) -> Result<&'g Const, OnnxError> {
        let name = self.input(node, i)?;
        self.graph.consts.get(name).ok_or_else(|| {
            node.bad(format!(
                "input {name:?} must be a constant (an initializer)"
            ))
        })
    }

    fn f32_value(&self, node: &Node, i: usize) -> Result<Value, OnnxError> {
        let v = self.value(node, i)?;
        if v.kind != Kind::F32 {
            return Err(node.bad("expects a float tensor"));
        }
        Ok(v)
    }

    /// Whether `name` is the output of the last step, a dense step, used only once.
    fn last_dense_output(&self, name: &str) -> bool {
        let Some(v) = self.values.get(name) else {
            return false;
        };
        self.uses.get(name).copied() == Some(1)
            && matches!(self.steps.last(), Some(Step::Dense { out, .. }) if *out == v.slot)
    }

    fn node(&mut self, node: &Node) -> Result<(), OnnxError> {
        if node.outputs.len() != 1 {
            return Err(node.bad(format!("{} outputs; one is supported", node.outputs.len())));
        }
        match (node.domain.as_str(), node.op.as_str()) {
            ("" | "ai.onnx", "Identity") => {
                let x = self.value(node, 0)?;
                self.alias(node, x, x.cols, x.rank1)
            }
            ("" | "ai.onnx", "Flatten") => {
                let x = self.value(node, 0)?;
                if node.attr_i("axis", 1) != 1 {
                    return Err(node.bad("only axis = 1 is supported"));
                }
                self.alias(node, x, x.cols, false)
            }
            ("" | "ai.onnx", "Reshape") => self.reshape(node),
            ("" | "ai.onnx", "Cast") => {
                let x = self.value(node, 0)?;
                let to = match node.attr_i("to", 0) {
                    1 | 11 => Kind::F32,
                    6 | 7 => Kind::I64,
                    t => return Err(node.bad(format!("cast to element type {t}"))),
                };
                if to == x.kind {
                    return self.alias(node, x, x.cols, x.rank1);
                }
                let v = self.fresh(node, x.cols, to, x.rank1)?;
                self.cost += cost::ELEMENT * x.cols as u64;
                self.steps.push(Step::Cast {
                    x: x.slot,
                    to,
                    out: v.slot,
                });
                Ok(())
            }
            ("" | "ai.onnx", "MatMul") => {
                let x = self.f32_value(node, 0)?;
                let w = self.constant(node, 1)?;
                let [rows, cols] = w.dims[..] else {
                    return Err(node.bad("the weight must be a 2-D constant"));
                };
                // Three copies are kept (candle tensor, two layouts).
                self.materialise(3 * rows * cols)?;
                self.dense(node, x, w.to_f32(), rows, cols, None)
            }
            ("" | "ai.onnx", "Gemm") => self.gemm(node),
            ("" | "ai.onnx", op @ ("Add" | "Sub" | "Mul" | "Div")) => {
                let op = match op {
                    "Add" => BinOp::Add,
                    "Sub" => BinOp::Sub,
                    "Mul" => BinOp::Mul,
                    _ => BinOp::Div,
                };
                self.binary(node, op)
            }
            ("" | "ai.onnx", op @ ("Relu" | "Sigmoid" | "Tanh")) => {
                let x = self.f32_value(node, 0)?;
                if op == "Relu"
                    && self.last_dense_output(&node.inputs[0])
                    && let Some(Step::Dense { relu, out, .. }) = self.steps.last_mut()
                    && !*relu
                {
                    *relu = true;
                    let slot = *out;
                    self.cost += cost::ELEMENT * x.cols as u64;
                    return self.rename(node, slot, x);
                }
                let (op, per) = match op {
                    "Relu" => (UnOp::Relu, cost::ELEMENT),
                    "Sigmoid" => (UnOp::Sigmoid, cost::TRANSCENDENTAL),
                    _ => (UnOp::Tanh, cost::TRANSCENDENTAL),
                };
                let v = self.fresh(node, x.cols, Kind::F32, x.rank1)?;
                self.cost += per * x.cols as u64;
                self.steps.push(Step::Unary {
                    op,
                    x: x.slot,
                    out: v.slot,
                });
                Ok(())
            }
            ("" | "ai.onnx", "Softmax") => {
                let x = self.f32_value(node, 0)?;
                let axis = node.attr_i("axis", -1);
                if !(axis == -1 || axis == 1) || x.rank1 {
                    return Err(node.bad("only softmax over the features (axis 1 of [N, F])"));
                }
                let v = self.fresh(node, x.cols, Kind::F32, false)?;
                self.cost += cost::TRANSCENDENTAL * x.cols as u64;
                self.steps.push(Step::Softmax {
                    x: x.slot,
                    out: v.slot,
                });
                Ok(())
            }
            ("" | "ai.onnx", "ArgMax") => {
                let x = self.f32_value(node, 0)?;
                if node.attr_i("axis", 0) != 1 || x.rank1 {
                    return Err(node.bad("only argmax over the features (axis 1 of [N, F])"));
                }
                if node.attr_i("select_last_index", 0) != 0 {
                    return Err(node.bad("select_last_index = 1 is not supported"));
                }
                let keep = node.attr_i("keepdims", 1) != 0;
                let v = self.fresh(node, 1, Kind::I64, !keep)?;
                self.cost += cost::ELEMENT * x.cols as u64;
                self.steps.push(Step::ArgMax {
                    x: x.slot,
                    out: v.slot,
                });
                Ok(())
            }
            ("ai.onnx.ml", "ArrayFeatureExtractor") => {
                let table = self.constant(node, 0)?;
                let labels = table
                    .as_i64()
                    .ok_or_else(|| node.bad("only integer class labels are supported"))?
                    .to_vec();
                if table.dims.len() != 1 || labels.is_empty() {
                    return Err(node.bad("the label table must be a non-empty 1-D constant"));
                }
                let idx = self.value(node, 1)?;
                if idx.kind != Kind::I64 || idx.cols != 1 {
                    return Err(node.bad("indices must be one integer per row"));
                }
                let v = self.fresh(node, 1, Kind::I64, idx.rank1)?;
                self.cost += cost::ELEMENT;
                let table = Tensor::from_slice(&labels, labels.len(), &Device::Cpu)?;
                self.steps.push(Step::Gather {
                    indices: idx.slot,
                    table,
                    labels,
                    out: v.slot,
                });
                Ok(())
            }
            _ => Err(unsupported(node)),
        }
    }

    /// Gives `node`'s output the name of an existing slot (a fused step's).
    fn rename(&mut self, node: &Node, slot: usize, x: Value) -> Result<(), OnnxError> {
        let out = node.outputs[0].clone();
        if self.values.contains_key(&out) || self.graph.consts.contains_key(&out) {
            return Err(node.bad(format!("output {out:?} is defined twice")));
        }
        self.values.insert(out, Value { slot, ..x });
        Ok(())
    }

    fn reshape(&mut self, node: &Node) -> Result<(), OnnxError> {
        let x = self.value(node, 0)?;
        let shape = self
            .constant(node, 1)?
            .as_i64()
            .ok_or_else(|| node.bad("the shape must be an integer constant"))?;
        // Values here are `[N, F]` (or `[N]`): a reshape may only keep that shape.
        let features = i64::try_from(x.cols).unwrap_or(i64::MAX);
        match shape {
            [-1] if x.cols == 1 => self.alias(node, x, 1, true),
            [-1 | 0, f] if *f == features => self.alias(node, x, x.cols, false),
            _ => Err(node.bad(format!(
                "shape {shape:?}: only [N, {}]{} is supported",
                x.cols,
                if x.cols == 1 { " or [N]" } else { "" }
            ))),
        }
    }

    fn gemm(&mut self, node: &Node) -> Result<(), OnnxError> {
        let x = self.f32_value(node, 0)?;
        if node.attr_i("transA", 0) != 0 {
            return Err(node.bad("transA = 1 is not supported"));
        }
        let b = self.constant(node, 1)?;
        let [r, c] = b.dims[..] else {
            return Err(node.bad("B must be a 2-D constant"));
        };
        let alpha = node.attr_f("alpha", 1.0);
        let beta = node.attr_f("beta", 1.0);
        self.materialise(3 * r * c)?;
        let raw = b.to_f32();
        let (rows, cols, mut w) = if node.attr_i("transB", 0) != 0 {
            let mut t = vec![0f32; r * c];
            for i in 0..r {
                for j in 0..c {
                    t[j * r + i] = raw[i * c + j];
                }
            }
            (c, r, t)
        } else {
            (r, c, raw)
        };
        w.iter_mut().for_each(|v| *v *= alpha);
        let bias = match node.inputs.get(2).filter(|s| !s.is_empty()) {
            None => None,
            Some(_) => {
                let cst = self.constant(node, 2)?;
                if cst.dims.len() > 2 || (cst.dims.len() == 2 && cst.dims[0] != 1) {
                    return Err(node.bad(format!("C of shape {:?} is not a row", cst.dims)));
                }
                let v = cst.to_f32();
                let v = match v.len() {
                    1 => vec![v[0]; cols],
                    n if n == cols => v,
                    n => return Err(node.bad(format!("C has {n} elements for {cols} outputs"))),
                };
                Some(v.into_iter().map(|x| x * beta).collect())
            }
        };
        self.dense(node, x, w, rows, cols, bias)
    }

    fn dense(
        &mut self,
        node: &Node,
        x: Value,
        weights: Vec<f32>,
        inputs: usize,
        outputs: usize,
        bias: Option<Vec<f32>>,
    ) -> Result<(), OnnxError> {
        if x.cols != inputs || x.rank1 {
            return Err(node.bad(format!(
                "input has {} features, the weight expects {inputs}",
                x.cols
            )));
        }
        if weights
            .iter()
            .chain(bias.iter().flatten())
            .any(|v| !v.is_finite())
        {
            return Err(node.bad("non-finite weight"));
        }
        let v = self.fresh(node, outputs, Kind::F32, false)?;
        let w = cpu_f32(&weights, &[inputs, outputs])?;
        let b = bias
            .as_deref()
            .map(|b| cpu_f32(b, &[outputs]))
            .transpose()?;
        self.cost += cost::MAC * (inputs * outputs) as u64 + cost::ELEMENT * outputs as u64;
        let mut rows_major = vec![0f32; inputs * outputs];
        for i in 0..inputs {
            for j in 0..outputs {
                rows_major[j * inputs + i] = weights[i * outputs + j];
            }
        }
        self.steps.push(Step::Dense {
            x: x.slot,
            out: v.slot,
            w,
            b,
            relu: false,
            inputs,
            outputs,
            weights,
            bias,
            rows_major,
        });
        Ok(())
    }

    fn binary(&mut self, node: &Node, op: BinOp) -> Result<(), OnnxError> {
        let operand = |c: &Self, i: usize| -> Result<BinaryOperand, OnnxError> {
            let name = c.input(node, i)?;
            if let Some(cst) = c.graph.consts.get(name) {
                // A row broadcast over the batch: `[]`, `[1]`, `[F]` or `[1, F]`.
                if cst.dims.len() > 2 || (cst.dims.len() == 2 && cst.dims[0] != 1) {
                    return Err(node.bad(format!(
                        "constant of shape {:?} is not a row broadcast over the batch",
                        cst.dims
                    )));
                }
                let v = cst.to_f32();
                return Ok((Operand::Const(cpu_f32(&v, &[v.len()])?), None, Some(v)));
            }
            let v = c.f32_value(node, i)?;
            Ok((Operand::Slot(v.slot), Some(v), None))
        };
        for i in 0..2 {
            if let Some(cst) = self.graph.consts.get(self.input(node, i)?) {
                self.materialise(2 * cst.len())?;
            }
        }
        let (a, va, ca) = operand(self, 0)?;
        let (b, vb, cb) = operand(self, 1)?;
        let x = match (va, vb) {
            (Some(x), Some(y)) if x.cols == y.cols && x.rank1 == y.rank1 => x,
            (Some(_), Some(_)) => return Err(node.bad("operands of different shapes")),
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => return Err(node.bad("both operands are constants")),
        };
        let cst = ca.as_ref().or(cb.as_ref());
        if let Some(c) = cst
            && c.len() != 1
            && c.len() != x.cols
        {
            return Err(node.bad(format!(
                "a constant of {} elements does not broadcast over {} features",
                c.len(),
                x.cols
            )));
        }
        // `Add(dense, bias)`: fold the bias into the dense step.
        if op == BinOp::Add
            && let Some(c) = cst
            && self.last_dense_output(self.input(node, if va.is_some() { 0 } else { 1 })?)
            && let Some(Step::Dense {
                b,
                bias,
                outputs,
                out,
                relu: false,
                ..
            }) = self.steps.last_mut()
        {
            let add: Vec<f32> = if c.len() == 1 {
                vec![c[0]; *outputs]
            } else {
                c.clone()
            };
            let merged: Vec<f32> = match bias.take() {
                Some(old) => old.iter().zip(&add).map(|(p, q)| p + q).collect(),
                None => add,
            };
            *b = Some(cpu_f32(&merged, &[merged.len()])?);
            *bias = Some(merged);
            let slot = *out;
            self.cost += cost::ELEMENT * x.cols as u64;
            return self.rename(node, slot, x);
        }
        let v = self.fresh(node, x.cols, Kind::F32, x.rank1)?;
        self.cost += cost::ELEMENT * x.cols as u64;
        self.steps.push(Step::Binary {
            op,
            a,
            b,
            out: v.slot,
        });
        Ok(())
    }
}

/// Products up to this many multiply-accumulates run in [`dense_small`]: candle's matmul
/// hands every product to the rayon pool, which costs ≈ 35 µs of wake-ups on a 1×64×32
/// product that takes ≈ 1 µs on one core.
const SMALL_PRODUCT: usize = 1 << 18;

/// `y = act(x · Wᵀ + b)` for rows of `x`, with `w` row-major `[outputs][inputs]`: eight
/// independent partial sums per dot product so the compiler vectorises it.
fn dense_small(x: &[f32], inputs: usize, w: &[f32], bias: Option<&[f32]>, relu: bool) -> Vec<f32> {
    let outputs = w.len() / inputs.max(1);
    let mut y = Vec::with_capacity(x.len() / inputs.max(1) * outputs);
    let split = inputs - inputs % 8;
    for row in x.chunks_exact(inputs) {
        let (xc, xr) = row.split_at(split);
        for (j, wj) in w.chunks_exact(inputs).enumerate() {
            let (wc, wr) = wj.split_at(split);
            let mut lanes = [0f32; 8];
            for (xs, ws) in xc.chunks_exact(8).zip(wc.chunks_exact(8)) {
                for ((lane, a), b) in lanes.iter_mut().zip(xs).zip(ws) {
                    *lane += a * b;
                }
            }
            let mut v: f32 = lanes.iter().sum::<f32>()
                + xr.iter().zip(wr).map(|(a, b)| a * b).sum::<f32>()
                + bias.map_or(0.0, |b| b[j]);
            if relu && v < 0.0 {
                v = 0.0;
            }
            y.push(v);
        }
    }
    y
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
                        let xs = x.flatten_all()?.to_vec1::<f32>()?;
                        let y = dense_small(&xs, *inputs, rows_major, bias.as_deref(), *relu);
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
                Step::Gather {
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
            let shape = if v.rank1 {
                vec![rows]
            } else {
                vec![rows, v.cols]
            };
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

    /// The slot description of a graph output, for the quantizer.
    pub(crate) fn output_slots(&self) -> impl Iterator<Item = (&str, usize, usize)> {
        self.outputs
            .iter()
            .map(|(n, v)| (n.as_str(), v.slot, v.cols))
    }
}
