//! Operators that reshape or reorder a row: `Reshape`, `Squeeze`, `Unsqueeze` (aliases: no
//! data moves), `Transpose`, `Gather` (index tables), `Concat`.

use super::super::super::OnnxError;
use super::super::super::graph::Node;
use super::super::shape::{self, Dims};
use super::super::{Step, Value, cost};
use super::Compiler;

impl Compiler<'_> {
    pub(super) fn reshape(&mut self, node: &Node) -> Result<(), OnnxError> {
        let x = self.value(node, 0)?;
        let shape = self
            .constant(node, 1)?
            .as_i64()
            .ok_or_else(|| node.bad("the shape must be an integer constant"))?;
        if node.attr_i("allowzero", 0) != 0 {
            return Err(node.bad("allowzero = 1 is not supported"));
        }
        // The first dimension is the batch: -1, 0 (copied) or 1 (a graph exported for one row).
        let Some((&batch, rest)) = shape.split_first() else {
            return Err(node.bad("an empty shape drops the batch"));
        };
        if !matches!(batch, -1..=1) {
            return Err(node.bad(format!(
                "shape {shape:?}: the first dimension must keep the batch (-1, 0 or 1)"
            )));
        }
        let cols = x.cols();
        let mut dims = Vec::with_capacity(rest.len());
        let mut infer = None;
        for (i, &d) in rest.iter().enumerate() {
            match d {
                0 => dims.push(*x.dims.as_slice().get(i).ok_or_else(|| {
                    node.bad(format!(
                        "shape {shape:?} copies a dimension the input lacks"
                    ))
                })?),
                -1 if infer.is_none() && batch != -1 => {
                    infer = Some(i);
                    dims.push(1);
                }
                d if d > 0 => dims.push(d as usize),
                _ => return Err(node.bad(format!("shape {shape:?}"))),
            }
        }
        let known: usize = dims.iter().product();
        if let Some(i) = infer
            && known > 0
            && cols.is_multiple_of(known)
        {
            dims[i] = cols / known;
        }
        if dims.iter().product::<usize>() != cols {
            return Err(node.bad(format!(
                "shape {shape:?} does not hold the {cols} elements of a row of {:?}",
                x.dims
            )));
        }
        let dims = Dims::new(&dims).ok_or_else(|| node.bad(format!("shape {shape:?}")))?;
        self.alias(node, x, dims)
    }

    /// Axes from the `axes` attribute (before opset 13) or the constant input 1.
    pub(super) fn axes(&self, node: &Node) -> Result<Option<Vec<i64>>, OnnxError> {
        if let Some(a) = node.attr("axes") {
            return Ok(Some(a.ints.clone()));
        }
        match node.inputs.get(1).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(_) => Ok(Some(
                self.constant(node, 1)?
                    .as_i64()
                    .ok_or_else(|| node.bad("axes must be an integer constant"))?
                    .to_vec(),
            )),
        }
    }

    /// `axis` of a value of `rank` dimensions (the batch included) as a row axis (the
    /// batch's is refused).
    pub(super) fn row_axis(node: &Node, axis: i64, rank: usize) -> Result<usize, OnnxError> {
        let a = if axis < 0 { axis + rank as i64 } else { axis };
        if a < 1 || a >= rank as i64 {
            return Err(node.bad(format!(
                "axis {axis} of a rank-{rank} value: only axes after the batch are supported"
            )));
        }
        Ok(a as usize - 1)
    }

    pub(super) fn squeeze(&mut self, node: &Node) -> Result<(), OnnxError> {
        let x = self.value(node, 0)?;
        let axes = self.axes(node)?;
        let row = x.dims.as_slice();
        let dims: Vec<usize> = if node.op == "Squeeze" {
            let drop: Vec<usize> = match axes {
                None => (0..row.len()).filter(|&i| row[i] == 1).collect(),
                Some(a) => a
                    .iter()
                    .map(|&a| Self::row_axis(node, a, row.len() + 1))
                    .collect::<Result<_, _>>()?,
            };
            if let Some(&i) = drop.iter().find(|&&i| row[i] != 1) {
                return Err(node.bad(format!("dimension {} is {}, not 1", i + 1, row[i])));
            }
            (0..row.len())
                .filter(|i| !drop.contains(i))
                .map(|i| row[i])
                .collect()
        } else {
            let a = axes.ok_or_else(|| node.bad("Unsqueeze without axes"))?;
            let rank = row.len() + 1 + a.len();
            let mut add: Vec<usize> = a
                .iter()
                .map(|&a| Self::row_axis(node, a, rank))
                .collect::<Result<_, _>>()?;
            add.sort_unstable();
            add.dedup();
            let mut dims = Vec::with_capacity(rank - 1);
            let mut it = row.iter();
            for i in 0..rank - 1 {
                if add.contains(&i) {
                    dims.push(1);
                } else if let Some(&d) = it.next() {
                    dims.push(d);
                }
            }
            dims
        };
        let dims = Dims::new(&dims)
            .ok_or_else(|| node.bad(format!("a result of {} dimensions", dims.len() + 1)))?;
        self.alias(node, x, dims)
    }

    /// A reordering of each row through an index table.
    pub(super) fn select(
        &mut self,
        node: &Node,
        x: Value,
        dims: &[usize],
        index: Vec<u32>,
    ) -> Result<(), OnnxError> {
        let dims = Dims::new(dims).ok_or_else(|| node.bad(format!("result shape {dims:?}")))?;
        self.materialise(index.len())?;
        let v = self.fresh(node, dims, x.kind)?;
        self.cost += cost::ELEMENT * index.len() as u64;
        self.steps.push(Step::Select {
            x: x.slot,
            out: v.slot,
            index,
        });
        Ok(())
    }

    pub(super) fn transpose(&mut self, node: &Node) -> Result<(), OnnxError> {
        let x = self.value(node, 0)?;
        let row = x.dims.as_slice();
        let perm: Vec<i64> = node
            .attr("perm")
            .map(|a| a.ints.clone())
            .unwrap_or_else(|| (0..=row.len() as i64).rev().collect());
        let mut seen = vec![false; row.len() + 1];
        let ok = perm.len() == row.len() + 1
            && perm.iter().all(|&p| {
                usize::try_from(p)
                    .ok()
                    .and_then(|p| seen.get_mut(p))
                    .is_some_and(|s| !std::mem::replace(s, true))
            });
        if !ok || perm[0] != 0 {
            return Err(node.bad(format!(
                "perm {perm:?}: a permutation keeping the batch first is expected"
            )));
        }
        let p: Vec<usize> = perm[1..].iter().map(|&p| p as usize - 1).collect();
        if p.iter().enumerate().all(|(i, &q)| i == q) {
            return self.alias(node, x, x.dims);
        }
        let dims: Vec<usize> = p.iter().map(|&q| row[q]).collect();
        let index = shape::transpose_table(row, &p);
        self.select(node, x, &dims, index)
    }

    pub(super) fn gather(&mut self, node: &Node) -> Result<(), OnnxError> {
        let x = self.value(node, 0)?;
        let row = x.dims.as_slice();
        let axis = Self::row_axis(node, node.attr_i("axis", 0), row.len() + 1)?;
        let idx = self.constant(node, 1)?;
        let raw = idx
            .as_i64()
            .ok_or_else(|| node.bad("indices must be an integer constant"))?;
        let n = row[axis] as i64;
        let indices = raw
            .iter()
            .map(|&i| {
                let j = if i < 0 { i + n } else { i };
                (0..n)
                    .contains(&j)
                    .then_some(j as usize)
                    .ok_or_else(|| node.bad(format!("index {i} outside a dimension of {n}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (dims, index) = shape::gather_table(row, axis, &indices, &idx.dims);
        self.select(node, x, &dims, index)
    }

    pub(super) fn concat(&mut self, node: &Node) -> Result<(), OnnxError> {
        let parts: Vec<Value> = (0..node.inputs.len())
            .map(|i| self.value(node, i))
            .collect::<Result<_, _>>()?;
        let first = *parts.first().ok_or_else(|| node.bad("no inputs"))?;
        let row = first.dims.as_slice();
        let axis = Self::row_axis(node, node.attr_i("axis", 0), row.len() + 1)?;
        let mut total = 0;
        for p in &parts {
            let d = p.dims.as_slice();
            let same = d.len() == row.len()
                && (0..row.len()).all(|i| i == axis || d[i] == row[i])
                && p.kind == first.kind;
            if !same {
                return Err(node.bad(format!(
                    "inputs of shapes {:?} and {:?} do not join on axis {}",
                    first.dims,
                    p.dims,
                    axis + 1
                )));
            }
            total += d[axis];
        }
        let mut dims = row.to_vec();
        dims[axis] = total;
        let dims = Dims::new(&dims).ok_or_else(|| node.bad("result shape"))?;
        let outer: usize = row[..axis].iter().product();
        let v = self.fresh(node, dims, first.kind)?;
        self.cost += cost::ELEMENT * dims.elements() as u64;
        self.steps.push(Step::Concat {
            parts: parts
                .iter()
                .map(|p| (p.slot, p.cols() / outer.max(1)))
                .collect(),
            outer,
            out: v.slot,
        });
        Ok(())
    }
}
