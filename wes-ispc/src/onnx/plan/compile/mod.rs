//! Compiling a decoded graph into a [`Plan`]: one step per node (or none, where a node
//! folds into the step before it), shapes checked, constants counted against the limits.

use std::collections::HashMap;

use candle_core::{Device, Tensor};

mod images;
mod reshape;

use super::super::graph::{Const, Graph, Node};
use super::super::{OnnxError, OnnxLimits};
use super::shape::{self, Dims};
use super::trees::Ensemble;
use super::{BinOp, Kind, Operand, Plan, Step, UnOp, Value, cost, cpu_f32};

struct Compiler<'g> {
    graph: &'g Graph,
    values: HashMap<String, Value>,
    uses: HashMap<&'g str, usize>,
    steps: Vec<Step>,
    slots: usize,
    /// Elements per row of each slot so far.
    widths: Vec<usize>,
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
        widths: vec![graph.features],
        cost: 0,
        max_features: limits.max_features,
        materialised: 0,
        max_parameters: limits.max_parameters,
    };
    let input = Dims::new(&graph.input_dims).ok_or_else(|| {
        OnnxError::Malformed(format!(
            "input {:?}: {} dimensions after the batch; at most {} are supported",
            graph.input,
            graph.input_dims.len(),
            shape::MAX_RANK
        ))
    })?;
    c.values.insert(
        graph.input.clone(),
        Value {
            slot: 0,
            kind: Kind::F32,
            dims: input,
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
        input,
        slots: c.slots,
        widths: c.widths,
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
    ("", "Conv"),
    ("", "MaxPool"),
    ("", "AveragePool"),
    ("", "GlobalAveragePool"),
    ("", "BatchNormalization"),
    ("", "Transpose"),
    ("", "Concat"),
    ("", "Squeeze"),
    ("", "Unsqueeze"),
    ("", "Gather"),
    ("ai.onnx.ml", "ArrayFeatureExtractor"),
    ("ai.onnx.ml", "TreeEnsembleClassifier"),
    ("ai.onnx.ml", "TreeEnsembleRegressor"),
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

impl<'g> Compiler<'g> {
    /// A new runtime value for `node`'s first output.
    fn fresh(&mut self, node: &Node, dims: Dims, kind: Kind) -> Result<Value, OnnxError> {
        self.fresh_output(node, 0, dims, kind)
    }

    /// A new runtime value for `node`'s output `index`.
    fn fresh_output(
        &mut self,
        node: &Node,
        index: usize,
        dims: Dims,
        kind: Kind,
    ) -> Result<Value, OnnxError> {
        let cols = dims.elements();
        if cols > self.max_features {
            return Err(OnnxError::Limit {
                what: "features of a value",
                value: cols as u64,
                max: self.max_features as u64,
            });
        }
        let out = node
            .outputs
            .get(index)
            .ok_or_else(|| node.bad(format!("no output {index}")))?;
        if out.is_empty() || self.values.contains_key(out) || self.graph.consts.contains_key(out) {
            return Err(node.bad(format!("output {out:?} is defined twice")));
        }
        let v = Value {
            slot: self.slots,
            kind,
            dims,
        };
        self.widths.push(cols);
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

    fn alias(&mut self, node: &Node, x: Value, dims: Dims) -> Result<(), OnnxError> {
        let v = self.fresh(node, dims, x.kind)?;
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
        self.last_output(name) && matches!(self.steps.last(), Some(Step::Dense { .. }))
    }

    /// Whether `name` is the output of the last step, used only once (so that a following
    /// node may fold into that step).
    fn last_output(&self, name: &str) -> bool {
        let Some(v) = self.values.get(name) else {
            return false;
        };
        let last = match self.steps.last() {
            Some(Step::Dense { out, .. } | Step::Conv { out, .. }) => *out,
            _ => return false,
        };
        self.uses.get(name).copied() == Some(1) && last == v.slot
    }

    fn node(&mut self, node: &Node) -> Result<(), OnnxError> {
        let outputs = node.outputs.iter().filter(|o| !o.is_empty()).count();
        let classifier = node.op == "TreeEnsembleClassifier" && node.domain == "ai.onnx.ml";
        if outputs != 1 && !(classifier && outputs == 2)
            || node.outputs.first().is_none_or(|o| o.is_empty())
        {
            return Err(node.bad(format!("{} outputs; one is supported", node.outputs.len())));
        }
        match (node.domain.as_str(), node.op.as_str()) {
            ("" | "ai.onnx", "Identity") => {
                let x = self.value(node, 0)?;
                self.alias(node, x, x.dims)
            }
            ("" | "ai.onnx", "Flatten") => {
                let x = self.value(node, 0)?;
                let axis = node.attr_i("axis", 1);
                if axis != 1 && axis != -(x.dims.rank() as i64) {
                    return Err(node.bad("only axis = 1 (keeping the batch) is supported"));
                }
                self.alias(node, x, Dims::row(x.cols()))
            }
            ("" | "ai.onnx", "Squeeze" | "Unsqueeze") => self.squeeze(node),
            ("" | "ai.onnx", "Transpose") => self.transpose(node),
            ("" | "ai.onnx", "Concat") => self.concat(node),
            ("" | "ai.onnx", "Gather") => self.gather(node),
            ("" | "ai.onnx", "Conv") => self.conv(node),
            ("" | "ai.onnx", "BatchNormalization") => self.batch_norm(node),
            ("" | "ai.onnx", op @ ("MaxPool" | "AveragePool" | "GlobalAveragePool")) => {
                self.pool(node, op)
            }
            ("ai.onnx.ml", op @ ("TreeEnsembleClassifier" | "TreeEnsembleRegressor")) => {
                self.trees(node, op == "TreeEnsembleClassifier")
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
                    return self.alias(node, x, x.dims);
                }
                let v = self.fresh(node, x.dims, to)?;
                self.cost += cost::ELEMENT * x.cols() as u64;
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
                    self.cost += cost::ELEMENT * x.cols() as u64;
                    return self.rename(node, slot, x);
                }
                if op == "Relu"
                    && self.last_output(&node.inputs[0])
                    && let Some(Step::Conv { conv, out, .. }) = self.steps.last_mut()
                    && !conv.relu
                {
                    conv.relu = true;
                    let slot = *out;
                    self.cost += cost::ELEMENT * x.cols() as u64;
                    return self.rename(node, slot, x);
                }
                let (op, per) = match op {
                    "Relu" => (UnOp::Relu, cost::ELEMENT),
                    "Sigmoid" => (UnOp::Sigmoid, cost::TRANSCENDENTAL),
                    _ => (UnOp::Tanh, cost::TRANSCENDENTAL),
                };
                let v = self.fresh(node, x.dims, Kind::F32)?;
                self.cost += per * x.cols() as u64;
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
                if !(axis == -1 || axis == 1) || x.dims.rank() != 1 {
                    return Err(node.bad("only softmax over the features (axis 1 of [N, F])"));
                }
                let v = self.fresh(node, x.dims, Kind::F32)?;
                self.cost += cost::TRANSCENDENTAL * x.cols() as u64;
                self.steps.push(Step::Softmax {
                    x: x.slot,
                    out: v.slot,
                });
                Ok(())
            }
            ("" | "ai.onnx", "ArgMax") => {
                let x = self.f32_value(node, 0)?;
                if node.attr_i("axis", 0) != 1 || x.dims.rank() != 1 {
                    return Err(node.bad("only argmax over the features (axis 1 of [N, F])"));
                }
                if node.attr_i("select_last_index", 0) != 0 {
                    return Err(node.bad("select_last_index = 1 is not supported"));
                }
                let keep = node.attr_i("keepdims", 1) != 0;
                let dims = if keep { Dims::row(1) } else { Dims::SCALAR };
                let v = self.fresh(node, dims, Kind::I64)?;
                self.cost += cost::ELEMENT * x.cols() as u64;
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
                if idx.kind != Kind::I64 || idx.cols() != 1 {
                    return Err(node.bad("indices must be one integer per row"));
                }
                let v = self.fresh(node, idx.dims, Kind::I64)?;
                self.cost += cost::ELEMENT;
                let table = Tensor::from_slice(&labels, labels.len(), &Device::Cpu)?;
                self.steps.push(Step::LabelLookup {
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

    fn trees(&mut self, node: &Node, classifier: bool) -> Result<(), OnnxError> {
        let x = self.f32_value(node, 0)?;
        if x.dims.rank() != 1 {
            return Err(node.bad(format!("input of shape {:?}: [N, F] is expected", x.dims)));
        }
        let room = self.max_parameters.saturating_sub(self.materialised);
        let ensemble = Ensemble::compile(node, classifier, x.cols(), room)?;
        self.materialise(
            ensemble.trees.iter().map(|t| t.nodes.len()).sum::<usize>() + ensemble.weights.len(),
        )?;
        // Classifier outputs: the label, then the scores; a regressor's: the scores.
        let (labels, scores_at) = if classifier {
            let l = self.fresh_output(node, 0, Dims::SCALAR, Kind::I64)?;
            (Some(l.slot), 1)
        } else {
            (None, 0)
        };
        let out = if node.outputs.get(scores_at).is_some_and(|o| !o.is_empty()) {
            self.fresh_output(node, scores_at, Dims::row(ensemble.targets), Kind::F32)?
                .slot
        } else {
            // Scores nobody reads still have a slot to be written to.
            self.widths.push(ensemble.targets);
            self.slots += 1;
            self.slots - 1
        };
        self.cost +=
            cost::BRANCH * ensemble.max_branches() + cost::TRANSCENDENTAL * ensemble.targets as u64;
        self.steps.push(Step::Trees {
            x: x.slot,
            out,
            labels,
            ensemble: Box::new(ensemble),
        });
        Ok(())
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
        if x.dims.rank() != 1 || x.cols() != inputs {
            return Err(node.bad(format!(
                "input of shape {:?}, the weight expects [N, {inputs}]",
                x.dims
            )));
        }
        if weights
            .iter()
            .chain(bias.iter().flatten())
            .any(|v| !v.is_finite())
        {
            return Err(node.bad("non-finite weight"));
        }
        let v = self.fresh(node, Dims::row(outputs), Kind::F32)?;
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
        let names = [self.input(node, 0)?, self.input(node, 1)?];
        let runtime: Vec<Value> = names
            .iter()
            .enumerate()
            .filter(|(_, n)| !self.graph.consts.contains_key(**n))
            .map(|(i, _)| self.f32_value(node, i))
            .collect::<Result<_, _>>()?;
        let x = match runtime[..] {
            [x, y] if x.dims == y.dims => x,
            [_, _] => return Err(node.bad("operands of different shapes")),
            [x] => x,
            _ => return Err(node.bad("both operands are constants")),
        };
        // A constant is broadcast over a row (NumPy rules) once, here.
        let mut cst = None;
        let mut operands = Vec::with_capacity(2);
        for name in names {
            match self.graph.consts.get(name) {
                Some(c) => {
                    let row = shape::broadcast_row(&c.to_f32(), &c.dims, x.dims.as_slice())
                        .ok_or_else(|| {
                            node.bad(format!(
                                "a constant of shape {:?} does not broadcast over rows of {:?}",
                                c.dims, x.dims
                            ))
                        })?;
                    self.materialise(2 * row.len())?;
                    operands.push(Operand::Const(cpu_f32(&row, &[row.len()])?));
                    cst = Some(row);
                }
                None => operands.push(Operand::Slot(self.values[name].slot)),
            }
        }
        let runtime_input = names
            .iter()
            .find(|n| !self.graph.consts.contains_key(**n))
            .copied()
            .unwrap_or_default();
        // `x · 1`, `x / 1`, `x + 0`, `x − 0` (exporters write them): the same values.
        let neutral = if matches!(op, BinOp::Mul | BinOp::Div) {
            1.0
        } else {
            0.0
        };
        let const_second = self.graph.consts.contains_key(names[1]);
        if let Some(c) = &cst
            && c.iter().all(|&v| v == neutral)
            && (const_second || matches!(op, BinOp::Mul | BinOp::Add))
        {
            return self.alias(node, x, x.dims);
        }
        // `Add(dense, bias)`: fold the bias into the dense step.
        if op == BinOp::Add
            && let Some(add) = cst
            && self.last_dense_output(runtime_input)
            && let Some(Step::Dense {
                b,
                bias,
                out,
                relu: false,
                ..
            }) = self.steps.last_mut()
        {
            let merged: Vec<f32> = match bias.take() {
                Some(old) => old.iter().zip(&add).map(|(p, q)| p + q).collect(),
                None => add,
            };
            *b = Some(cpu_f32(&merged, &[merged.len()])?);
            *bias = Some(merged);
            let slot = *out;
            self.cost += cost::ELEMENT * x.cols() as u64;
            return self.rename(node, slot, x);
        }
        let v = self.fresh(node, x.dims, Kind::F32)?;
        self.cost += cost::ELEMENT * x.cols() as u64;
        let [a, b]: [Operand; 2] = operands
            .try_into()
            .map_err(|_| node.bad("two operands are expected"))?;
        self.steps.push(Step::Binary {
            op,
            a,
            b,
            out: v.slot,
        });
        Ok(())
    }
}
