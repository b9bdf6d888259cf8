//! Decoding an ONNX file into a checked graph: opsets, constants (decoded with bounds
//! checks, never by reinterpreting memory), the single input and the nodes.

use std::collections::HashMap;

use candle_onnx::onnx::{
    self, AttributeProto, ModelProto, NodeProto, TensorProto, tensor_shape_proto::dimension,
    type_proto,
};
use prost::Message;

use super::{OnnxError, OnnxLimits};

/// ONNX `TensorProto.DataType` codes this executor reads.
mod dtype {
    pub const FLOAT: i32 = 1;
    pub const INT32: i32 = 6;
    pub const INT64: i32 = 7;
    pub const DOUBLE: i32 = 11;
}

/// Default-domain (`ai.onnx`) opset versions the operators here are implemented for.
pub(crate) const DEFAULT_OPSETS: std::ops::RangeInclusive<i64> = 7..=21;
/// `ai.onnx.ml` opset versions (scikit-learn exports use 1–3).
pub(crate) const ML_OPSETS: std::ops::RangeInclusive<i64> = 1..=5;

/// A constant tensor (an initializer or a `Constant` node).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Const {
    pub dims: Vec<usize>,
    pub data: ConstData,
}

/// The elements of a constant.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ConstData {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

impl Const {
    pub fn len(&self) -> usize {
        match &self.data {
            ConstData::F32(v) => v.len(),
            ConstData::I64(v) => v.len(),
        }
    }

    /// The elements as f32 (integers converted).
    pub fn to_f32(&self) -> Vec<f32> {
        match &self.data {
            ConstData::F32(v) => v.clone(),
            ConstData::I64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// The elements as i64, when the constant is integral.
    pub fn as_i64(&self) -> Option<&[i64]> {
        match &self.data {
            ConstData::I64(v) => Some(v),
            ConstData::F32(_) => None,
        }
    }
}

/// One node, its attributes kept for the compiler.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub name: String,
    pub op: String,
    pub domain: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attrs: Vec<AttributeProto>,
}

impl Node {
    fn from_proto(n: NodeProto) -> Node {
        let name = if n.name.is_empty() {
            n.output.first().cloned().unwrap_or_default()
        } else {
            n.name
        };
        Node {
            name,
            op: n.op_type,
            domain: n.domain,
            inputs: n.input,
            outputs: n.output,
            attrs: n.attribute,
        }
    }

    pub fn bad(&self, reason: impl Into<String>) -> OnnxError {
        OnnxError::BadNode {
            node: self.name.clone(),
            op: self.op.clone(),
            reason: reason.into(),
        }
    }

    pub fn attr(&self, name: &str) -> Option<&AttributeProto> {
        self.attrs.iter().find(|a| a.name == name)
    }

    pub fn attr_i(&self, name: &str, default: i64) -> i64 {
        self.attr(name).map_or(default, |a| a.i)
    }

    pub fn attr_f(&self, name: &str, default: f32) -> f32 {
        self.attr(name).map_or(default, |a| a.f)
    }
}

/// The model's graph after decoding.
#[derive(Clone, Debug)]
pub(crate) struct Graph {
    pub name: String,
    /// The one runtime input: its name, its dimensions after the batch, and their product.
    pub input: String,
    pub input_dims: Vec<usize>,
    pub features: usize,
    pub outputs: Vec<String>,
    pub consts: HashMap<String, Const>,
    pub nodes: Vec<Node>,
}

/// Decodes and checks `bytes` as an ONNX model.
pub(crate) fn decode(bytes: &[u8], limits: &OnnxLimits) -> Result<Graph, OnnxError> {
    if bytes.len() > limits.max_model_bytes {
        return Err(OnnxError::TooLarge {
            size: bytes.len(),
            max: limits.max_model_bytes,
        });
    }
    let model =
        ModelProto::decode(bytes).map_err(|e| OnnxError::Malformed(format!("protobuf: {e}")))?;
    check_opsets(&model)?;
    let graph = model
        .graph
        .ok_or_else(|| OnnxError::Malformed("the model has no graph".into()))?;
    if graph.node.len() > limits.max_nodes {
        return Err(OnnxError::Limit {
            what: "nodes",
            value: graph.node.len() as u64,
            max: limits.max_nodes as u64,
        });
    }
    let mut consts = HashMap::new();
    let mut params: u64 = 0;
    for t in &graph.initializer {
        let c = decode_tensor(t)?;
        params = params.saturating_add(c.len() as u64);
        consts.insert(t.name.clone(), c);
    }
    let mut nodes = Vec::with_capacity(graph.node.len());
    for n in graph.node {
        let node = Node::from_proto(n);
        if node.op == "Constant" && node.domain.is_empty() {
            let value = node
                .attr("value")
                .and_then(|a| a.t.as_ref())
                .ok_or_else(|| node.bad("Constant without a tensor `value`"))?;
            let c = decode_tensor(value)?;
            params = params.saturating_add(c.len() as u64);
            let out = node.outputs.first().ok_or_else(|| node.bad("no output"))?;
            consts.insert(out.clone(), c);
            continue;
        }
        nodes.push(node);
    }
    if params > limits.max_parameters {
        return Err(OnnxError::Limit {
            what: "parameters",
            value: params,
            max: limits.max_parameters,
        });
    }
    super::plan::check_operators(&nodes)?;
    let runtime_inputs: Vec<&onnx::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !consts.contains_key(&i.name))
        .collect();
    let [input] = runtime_inputs.as_slice() else {
        return Err(OnnxError::Malformed(format!(
            "the graph has {} runtime inputs; one is supported",
            runtime_inputs.len()
        )));
    };
    let input_dims = input_dims(input)?;
    let features = input_dims.iter().product::<usize>();
    if features == 0 || features > limits.max_features {
        return Err(OnnxError::Limit {
            what: "input features",
            value: features as u64,
            max: limits.max_features as u64,
        });
    }
    if graph.output.is_empty() {
        return Err(OnnxError::Malformed("the graph has no outputs".into()));
    }
    Ok(Graph {
        name: graph.name,
        input: input.name.clone(),
        input_dims,
        features,
        outputs: graph.output.into_iter().map(|o| o.name).collect(),
        consts,
        nodes,
    })
}

fn check_opsets(model: &ModelProto) -> Result<(), OnnxError> {
    if model.opset_import.is_empty() {
        return Err(OnnxError::Malformed("no opset imports".into()));
    }
    for o in &model.opset_import {
        let (supported_here, supported) = match o.domain.as_str() {
            "" | "ai.onnx" => (DEFAULT_OPSETS.contains(&o.version), "ai.onnx 7–21"),
            "ai.onnx.ml" => (ML_OPSETS.contains(&o.version), "ai.onnx.ml 1–5"),
            _ => (false, "ai.onnx 7–21, ai.onnx.ml 1–5"),
        };
        if !supported_here {
            return Err(OnnxError::Opset {
                domain: o.domain.clone(),
                version: o.version,
                supported,
            });
        }
    }
    Ok(())
}

/// The dimensions of one row of the input `[batch, d1, d2…]`: the fixed dims after the first,
/// which may be symbolic (the batch).
fn input_dims(input: &onnx::ValueInfoProto) -> Result<Vec<usize>, OnnxError> {
    let bad = |why: &str| OnnxError::Malformed(format!("input {:?}: {why}", input.name));
    let Some(type_proto::Value::TensorType(t)) =
        input.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Err(bad("not a tensor"));
    };
    if t.elem_type != dtype::FLOAT {
        return Err(bad("element type is not float32"));
    }
    let dims = &t.shape.as_ref().ok_or_else(|| bad("no shape"))?.dim;
    if dims.len() < 2 {
        return Err(bad("rank below 2: expected [batch, features…]"));
    }
    let mut features: usize = 1;
    let mut row = Vec::with_capacity(dims.len() - 1);
    for d in &dims[1..] {
        match d.value {
            Some(dimension::Value::DimValue(v)) if v > 0 => {
                features = features
                    .checked_mul(v as usize)
                    .ok_or_else(|| bad("feature count overflows"))?;
                row.push(v as usize);
            }
            _ => return Err(bad("a feature dimension is not a fixed positive size")),
        }
    }
    Ok(row)
}

fn decode_tensor(t: &TensorProto) -> Result<Const, OnnxError> {
    let bad = |why: String| OnnxError::Malformed(format!("tensor {:?}: {why}", t.name));
    if t.data_location != 0 || !t.external_data.is_empty() {
        return Err(bad("external data is not supported".into()));
    }
    let mut dims = Vec::with_capacity(t.dims.len());
    let mut len: usize = 1;
    for &d in &t.dims {
        let d = usize::try_from(d)
            .ok()
            .filter(|&d| d > 0)
            .ok_or_else(|| bad(format!("dimension {d} is not positive")))?;
        len = len
            .checked_mul(d)
            .filter(|&l| l <= 1 << 28)
            .ok_or_else(|| bad("too many elements".into()))?;
        dims.push(d);
    }
    let raw = |width: usize| -> Result<Vec<[u8; 8]>, OnnxError> {
        if t.raw_data.len() != len * width {
            return Err(bad(format!(
                "raw data is {} bytes, {} elements of {width} bytes need {}",
                t.raw_data.len(),
                len,
                len * width
            )));
        }
        Ok(t.raw_data
            .chunks_exact(width)
            .map(|c| {
                let mut b = [0u8; 8];
                b[..width].copy_from_slice(c);
                b
            })
            .collect())
    };
    let check = |n: usize| {
        if n == len {
            Ok(())
        } else {
            Err(bad(format!("{n} elements for dims {dims:?}")))
        }
    };
    let data = match t.data_type {
        dtype::FLOAT if !t.float_data.is_empty() => {
            check(t.float_data.len())?;
            ConstData::F32(t.float_data.clone())
        }
        dtype::FLOAT => ConstData::F32(
            raw(4)?
                .iter()
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        ),
        dtype::DOUBLE if !t.double_data.is_empty() => {
            check(t.double_data.len())?;
            ConstData::F32(t.double_data.iter().map(|&x| x as f32).collect())
        }
        dtype::DOUBLE => ConstData::F32(
            raw(8)?
                .iter()
                .map(|b| f64::from_le_bytes(*b) as f32)
                .collect(),
        ),
        dtype::INT64 if !t.int64_data.is_empty() => {
            check(t.int64_data.len())?;
            ConstData::I64(t.int64_data.clone())
        }
        dtype::INT64 => ConstData::I64(raw(8)?.iter().map(|b| i64::from_le_bytes(*b)).collect()),
        dtype::INT32 if !t.int32_data.is_empty() => {
            check(t.int32_data.len())?;
            ConstData::I64(t.int32_data.iter().map(|&x| i64::from(x)).collect())
        }
        dtype::INT32 => ConstData::I64(
            raw(4)?
                .iter()
                .map(|b| i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                .collect(),
        ),
        other => return Err(bad(format!("element type {other} is not supported"))),
    };
    let c = Const { dims, data };
    if c.len() != len {
        return Err(bad(format!("{} elements for {len}", c.len())));
    }
    Ok(c)
}
