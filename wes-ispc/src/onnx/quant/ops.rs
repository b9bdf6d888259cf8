//! The quantized layers beyond dense ones: convolutions (and folded batch normalisation),
//! pooling, row reorderings and tree ensembles, each in exact integer arithmetic at the
//! network's scale, with the checks a network decoded from an untrusted file needs.

use serde::{Deserialize, Serialize};

use super::{ACT_BITS, PARAM_BITS, TREE_EXTRA_BITS};

/// A window tap in the padding.
pub const PAD: u32 = u32::MAX;

/// A sliding window: for each output position and tap, the input position read (or [`PAD`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantWindow {
    /// Input positions per channel.
    pub in_len: u32,
    /// Output positions per channel.
    pub out_len: u32,
    /// Taps per window.
    pub taps: u32,
    /// `[position][tap]`.
    pub table: Vec<u32>,
}

impl QuantWindow {
    fn validate(&self) -> Result<(), String> {
        let n = u64::from(self.out_len) * u64::from(self.taps);
        if self.in_len == 0 || n == 0 || self.table.len() as u64 != n {
            return Err("an inconsistent window".into());
        }
        if self.table.iter().any(|&t| t != PAD && t >= self.in_len) {
            return Err("a window reads outside its input".into());
        }
        Ok(())
    }

    fn taps_of(&self, position: usize) -> &[u32] {
        let t = self.taps as usize;
        &self.table[position * t..(position + 1) * t]
    }
}

/// A quantized convolution: per filter, `acc = bias + Σ x·w` over its group's channels and
/// the window's taps (padding reads zero), then rescaled and range-checked as a dense layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantConv {
    /// The window over each channel.
    pub window: QuantWindow,
    /// Input channels.
    pub channels: u32,
    /// Channel groups (`channels` for a depthwise convolution).
    pub groups: u32,
    /// Output channels.
    pub filters: u32,
    /// `[filter][channel of its group][tap]`, at scale `2^s`.
    pub weights: Vec<i64>,
    /// At scale `2^2s`, the rounding term `2^(s-1)` included.
    pub bias: Vec<i64>,
    /// Whether a ReLU follows.
    pub relu: bool,
}

impl QuantConv {
    pub(super) fn widths(&self) -> (u64, u64) {
        (
            u64::from(self.channels) * u64::from(self.window.in_len),
            u64::from(self.filters) * u64::from(self.window.out_len),
        )
    }

    pub(super) fn validate(&self) -> Result<(), String> {
        self.window.validate()?;
        let g = self.groups;
        if g == 0
            || !self.channels.is_multiple_of(g)
            || !self.filters.is_multiple_of(g)
            || self.filters == 0
        {
            return Err("inconsistent groups".into());
        }
        let fan = u64::from(self.channels / g) * u64::from(self.window.taps);
        if self.weights.len() as u64 != fan * u64::from(self.filters)
            || self.bias.len() != self.filters as usize
        {
            return Err("inconsistent weight or bias counts".into());
        }
        params_in_range(self.weights.iter().chain(&self.bias))
    }

    /// `(acc, y, out)` per output, filter-major.
    pub(super) fn evaluate(
        &self,
        x: &[i64],
        scale_bits: u32,
    ) -> Result<Vec<(i128, i64, i64)>, i128> {
        let w = &self.window;
        let (in_len, out_len) = (w.in_len as usize, w.out_len as usize);
        let cg = (self.channels / self.groups) as usize;
        let mg = (self.filters / self.groups) as usize;
        let fan = cg * w.taps as usize;
        let mut out = vec![(0, 0, 0); self.filters as usize * out_len];
        for g in 0..self.groups as usize {
            for p in 0..out_len {
                let taps = w.taps_of(p);
                for m in g * mg..(g + 1) * mg {
                    let wm = &self.weights[m * fan..(m + 1) * fan];
                    let mut acc = i128::from(self.bias[m]);
                    for c in 0..cg {
                        let xc = &x[(g * cg + c) * in_len..(g * cg + c + 1) * in_len];
                        let wc = &wm[c * taps.len()..(c + 1) * taps.len()];
                        for (&t, &wt) in taps.iter().zip(wc) {
                            if t != PAD {
                                acc += i128::from(xc[t as usize]) * i128::from(wt);
                            }
                        }
                    }
                    out[m * out_len + p] = rescale(acc, scale_bits, self.relu)?;
                }
            }
        }
        Ok(out)
    }
}

/// `(acc, y, out)` of an accumulator at scale `2^2s`: `y = floor(acc / 2^s)`, which must lie
/// within `±2^ACT_BITS` (the value is the error otherwise), and `out` after the ReLU.
pub(super) fn rescale(acc: i128, scale_bits: u32, relu: bool) -> Result<(i128, i64, i64), i128> {
    let y = acc >> scale_bits;
    if y.abs() >= 1i128 << ACT_BITS {
        return Err(y);
    }
    let y = y as i64;
    Ok((acc, y, if relu { y.max(0) } else { y }))
}

fn params_in_range<'a>(mut values: impl Iterator<Item = &'a i64>) -> Result<(), String> {
    let limit = 1i64 << PARAM_BITS;
    if values.any(|v| v.abs() >= limit) {
        return Err(format!("a parameter outside ±2^{PARAM_BITS}"));
    }
    Ok(())
}

/// How a quantized pool reduces its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuantPoolKind {
    /// The largest value read.
    Max,
    /// `floor((Σ + n/2) / n)` over the `n` values read, or over every tap with
    /// `include_pad` (padding reads zero).
    Avg {
        /// Whether padding counts in `n`.
        include_pad: bool,
    },
}

/// A quantized pooling layer, per channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantPool {
    /// The window over each channel.
    pub window: QuantWindow,
    /// Channels.
    pub channels: u32,
    /// The reduction.
    pub kind: QuantPoolKind,
}

impl QuantPool {
    pub(super) fn widths(&self) -> (u64, u64) {
        let c = u64::from(self.channels);
        (
            c * u64::from(self.window.in_len),
            c * u64::from(self.window.out_len),
        )
    }

    pub(super) fn validate(&self) -> Result<(), String> {
        self.window.validate()?;
        if self.channels == 0 {
            return Err("no channels".into());
        }
        for p in 0..self.window.out_len as usize {
            if self.window.taps_of(p).iter().all(|&t| t == PAD) {
                return Err("a pooling window reads nothing".into());
            }
        }
        Ok(())
    }

    pub(super) fn evaluate(&self, x: &[i64]) -> Vec<i64> {
        let w = &self.window;
        let in_len = w.in_len as usize;
        let mut out = Vec::with_capacity(self.channels as usize * w.out_len as usize);
        for xc in x.chunks_exact(in_len).take(self.channels as usize) {
            for p in 0..w.out_len as usize {
                let taps = w.taps_of(p);
                let read = taps.iter().filter(|&&t| t != PAD).map(|&t| xc[t as usize]);
                out.push(match self.kind {
                    QuantPoolKind::Max => read.max().unwrap_or(0),
                    QuantPoolKind::Avg { include_pad } => {
                        let n = if include_pad {
                            taps.len()
                        } else {
                            taps.iter().filter(|&&t| t != PAD).count()
                        } as i64;
                        (read.sum::<i64>() + n / 2).div_euclid(n.max(1))
                    }
                });
            }
        }
        out
    }
}

/// A quantized branch: the row goes to `yes` when `(x[feature] ≤ le) ≠ negate`, every ONNX
/// comparison of a quantized input with a threshold turned into one such test, exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuantTreeNode {
    /// A comparison.
    Branch {
        /// The feature compared.
        feature: u32,
        /// The bound, at scale `2^s`.
        le: i64,
        /// Whether the test is `x > le` rather than `x ≤ le`.
        negate: bool,
        /// Node indices within the tree.
        yes: u32,
        /// Node indices within the tree.
        no: u32,
    },
    /// A leaf: `weights[first .. first + count]` of the ensemble.
    Leaf {
        /// The first weight.
        first: u32,
        /// How many.
        count: u32,
    },
}

/// How a quantized ensemble combines its trees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuantAggregate {
    /// The sum of the leaves' values.
    Sum,
    /// The sum divided by the trees, rounded to the nearest (half up).
    Average,
    /// The smallest leaf value.
    Min,
    /// The largest leaf value.
    Max,
}

/// A quantized tree ensemble: leaf values and base values at scale `2^(s + TREE_EXTRA_BITS)`,
/// the aggregate rounded (half up) to `2^s` (divided by the trees for an average); for a binary
/// classifier scoring one margin `m`, the scores are `[2^s − m, m]` (probabilities) or
/// `[−m, m]` (margins), so that the label is always that of the first maximum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantTrees {
    /// Features per row.
    pub features: u32,
    /// Each tree's nodes, the root first.
    pub trees: Vec<Vec<QuantTreeNode>>,
    /// Leaf contributions: `(target, value)`.
    pub weights: Vec<(u32, i64)>,
    /// Scores written per row.
    pub targets: u32,
    /// Added to the aggregate, per target.
    pub base: Vec<i64>,
    /// How trees combine.
    pub aggregate: QuantAggregate,
    /// `Some(all_positive)` for onnxruntime's binary case.
    pub binary: Option<bool>,
}

impl QuantTrees {
    pub(super) fn widths(&self) -> (u64, u64) {
        (u64::from(self.features), u64::from(self.targets))
    }

    pub(super) fn validate(&self) -> Result<(), String> {
        let scored = if self.binary.is_some() {
            1
        } else {
            self.targets
        };
        if self.features == 0
            || self.targets == 0
            || self.trees.is_empty()
            || self.base.len() != self.targets as usize
            || self.binary.is_some() && self.targets != 2
        {
            return Err("an inconsistent tree ensemble".into());
        }
        if self.weights.iter().any(|&(t, _)| t >= scored) {
            return Err("a leaf scores a target outside the ensemble".into());
        }
        params_in_range(self.weights.iter().map(|(_, w)| w).chain(&self.base))?;
        for tree in &self.trees {
            let mut parents = vec![0u8; tree.len()];
            for node in tree {
                match *node {
                    QuantTreeNode::Branch {
                        feature, yes, no, ..
                    } => {
                        if feature >= self.features {
                            return Err("a branch reads outside the row".into());
                        }
                        for c in [yes, no] {
                            let p = parents
                                .get_mut(c as usize)
                                .ok_or("a branch names a missing node")?;
                            *p = p.saturating_add(1);
                        }
                    }
                    QuantTreeNode::Leaf { first, count } => {
                        if u64::from(first) + u64::from(count) > self.weights.len() as u64 {
                            return Err("a leaf names missing weights".into());
                        }
                    }
                }
            }
            // Every node has at most one parent and the root none: walks end.
            if parents.first() != Some(&0) || parents.iter().any(|&p| p > 1) {
                return Err("a tree is not a tree".into());
            }
        }
        Ok(())
    }

    pub(super) fn evaluate(&self, x: &[i64], scale_bits: u32) -> Vec<i64> {
        let scored = if self.binary.is_some() {
            1
        } else {
            self.targets as usize
        };
        let mut s: Vec<Option<i64>> = vec![None; scored];
        for tree in &self.trees {
            let mut i = 0usize;
            let (first, count) = loop {
                match tree[i] {
                    QuantTreeNode::Leaf { first, count } => break (first, count),
                    QuantTreeNode::Branch {
                        feature,
                        le,
                        negate,
                        yes,
                        no,
                    } => {
                        i = if (x[feature as usize] <= le) != negate {
                            yes
                        } else {
                            no
                        } as usize;
                    }
                }
            };
            for &(t, w) in &self.weights[first as usize..(first + count) as usize] {
                let v = &mut s[t as usize];
                *v = Some(match (self.aggregate, *v) {
                    (_, None) => w,
                    (QuantAggregate::Sum | QuantAggregate::Average, Some(a)) => a.saturating_add(w),
                    (QuantAggregate::Min, Some(a)) => a.min(w),
                    (QuantAggregate::Max, Some(a)) => a.max(w),
                });
            }
        }
        let trees = if self.aggregate == QuantAggregate::Average {
            self.trees.len() as i64
        } else {
            1
        };
        let mut out: Vec<i64> = s
            .iter()
            .zip(&self.base)
            .map(|(v, b)| {
                let sum = i128::from(v.unwrap_or(0)) + i128::from(*b) * i128::from(trees);
                let d = i128::from(trees) << TREE_EXTRA_BITS;
                (sum + d / 2).div_euclid(d) as i64
            })
            .collect();
        if let Some(all_positive) = self.binary {
            let m = out[0];
            let first = if all_positive {
                (1i64 << scale_bits) - m
            } else {
                -m
            };
            out = vec![first, m];
        }
        out
    }
}
