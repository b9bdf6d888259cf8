//! `ai.onnx.ml` `TreeEnsembleClassifier` and `TreeEnsembleRegressor`, as skl2onnx and
//! onnxmltools export random forests and gradient boosting: the node lists compiled once into
//! trees (checked to be trees: every node reached from its root by one path), evaluated with
//! ONNX's comparison modes, aggregated and post-transformed as onnxruntime does.

use std::collections::HashMap;

use super::super::OnnxError;
use super::super::graph::Node;

/// A branch's comparison: true sends the row to the `yes` child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
}

impl Mode {
    fn test(self, x: f32, t: f32) -> bool {
        match self {
            Mode::Leq => x <= t,
            Mode::Lt => x < t,
            Mode::Gte => x >= t,
            Mode::Gt => x > t,
            Mode::Eq => x == t,
            Mode::Neq => x != t,
        }
    }
}

/// One node of a tree.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TreeNode {
    Branch {
        feature: u32,
        threshold: f32,
        mode: Mode,
        /// Indices into the tree's nodes.
        yes: u32,
        no: u32,
    },
    /// `weights[first .. first + count]` of the ensemble.
    Leaf { first: u32, count: u32 },
}

/// One tree: its nodes (the root first) and its depth (branches on the longest path).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Tree {
    pub nodes: Vec<TreeNode>,
    pub depth: u32,
}

/// How the trees' leaf values are combined (regressors; classifiers sum).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Aggregate {
    Sum,
    Average,
    Min,
    Max,
}

/// The transformation of the aggregated scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Post {
    None,
    Softmax,
    Logistic,
}

/// A compiled tree ensemble.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Ensemble {
    /// Features per row read by the branches (all below this).
    pub features: usize,
    pub trees: Vec<Tree>,
    /// Leaf contributions: `(target or class index, weight)`.
    pub weights: Vec<(u32, f32)>,
    /// Targets (regressor) or classes (classifier).
    pub targets: usize,
    /// Added to the aggregated scores (zeros if the model has none).
    pub base: Vec<f32>,
    pub aggregate: Aggregate,
    pub post: Post,
    /// A classifier's class labels.
    pub labels: Option<Vec<i64>>,
    /// A two-class classifier whose leaves score only class 0 (one score `s` per row).
    pub binary: Option<Binary>,
}

/// onnxruntime's binary case: the label is the second class's when `s` passes the middle
/// (0.5 when every weight is non-negative, a probability; else 0, a margin), and the scores
/// written are `[1 − s, s]` or `[−s, s]` (then the post-transform).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Binary {
    pub all_positive: bool,
}

fn ints(node: &Node, name: &str) -> Vec<i64> {
    node.attr(name).map(|a| a.ints.clone()).unwrap_or_default()
}

fn floats(node: &Node, name: &str) -> Vec<f32> {
    node.attr(name)
        .map(|a| a.floats.clone())
        .unwrap_or_default()
}

fn string(node: &Node, name: &str, default: &str) -> String {
    node.attr(name)
        .map(|a| String::from_utf8_lossy(&a.s).into_owned())
        .unwrap_or_else(|| default.to_owned())
}

impl Ensemble {
    /// Compiles a `TreeEnsembleClassifier` (`classifier`) or `TreeEnsembleRegressor` node
    /// reading rows of `features` values; `max_nodes` bounds the nodes and leaf weights.
    pub fn compile(
        node: &Node,
        classifier: bool,
        features: usize,
        max_nodes: u64,
    ) -> Result<Ensemble, OnnxError> {
        for unsupported in ["nodes_values_as_tensor", "base_values_as_tensor"] {
            if node.attr(unsupported).is_some() {
                return Err(node.bad(format!("{unsupported} is not supported")));
            }
        }
        let tree_ids = ints(node, "nodes_treeids");
        let node_ids = ints(node, "nodes_nodeids");
        let feature_ids = ints(node, "nodes_featureids");
        let values = floats(node, "nodes_values");
        let yes_ids = ints(node, "nodes_truenodeids");
        let no_ids = ints(node, "nodes_falsenodeids");
        let modes: Vec<String> = node
            .attr("nodes_modes")
            .map(|a| {
                a.strings
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let n = tree_ids.len();
        if n == 0 {
            return Err(node.bad("the ensemble has no nodes"));
        }
        if [
            node_ids.len(),
            feature_ids.len(),
            values.len(),
            yes_ids.len(),
            no_ids.len(),
            modes.len(),
        ]
        .iter()
        .any(|&l| l != n)
        {
            return Err(node.bad("the nodes_* attributes have different lengths"));
        }
        let (prefix, label_attr) = if classifier {
            ("class", "classlabels_int64s")
        } else {
            ("target", "")
        };
        let w_trees = ints(node, &format!("{prefix}_treeids"));
        let w_nodes = ints(node, &format!("{prefix}_nodeids"));
        let w_ids = ints(node, &format!("{prefix}_ids"));
        let w_values = floats(node, &format!("{prefix}_weights"));
        let m = w_trees.len();
        if [w_nodes.len(), w_ids.len(), w_values.len()]
            .iter()
            .any(|&l| l != m)
        {
            return Err(node.bad(format!("the {prefix}_* attributes have different lengths")));
        }
        if (n + m) as u64 > max_nodes {
            return Err(OnnxError::Limit {
                what: "tree nodes and leaf weights",
                value: (n + m) as u64,
                max: max_nodes,
            });
        }
        let (labels, targets) = if classifier {
            if node.attr("classlabels_strings").is_some() {
                return Err(node.bad("string class labels are not supported"));
            }
            let labels = ints(node, label_attr);
            if labels.is_empty() {
                return Err(node.bad("classlabels_int64s is empty"));
            }
            let t = labels.len();
            (Some(labels), t)
        } else {
            let t = node.attr_i("n_targets", 1);
            if !(1..=1 << 16).contains(&t) {
                return Err(node.bad(format!("n_targets {t}")));
            }
            (None, t as usize)
        };
        let mut ids: Vec<i64> = w_ids.clone();
        ids.sort_unstable();
        ids.dedup();
        let binary = (classifier && targets == 2 && ids.len() == 1).then_some(Binary {
            all_positive: w_values.iter().all(|&w| w >= 0.0),
        });
        if binary.is_some() && ids != [0] {
            return Err(
                node.bad("a binary classifier whose leaves score class 1 only is not supported")
            );
        }

        // Trees in order of first appearance; a tree's root is its first node listed.
        let mut tree_index: HashMap<i64, usize> = HashMap::new();
        let mut local: HashMap<(i64, i64), (usize, u32, usize)> = HashMap::new();
        let mut sizes: Vec<u32> = Vec::new();
        for i in 0..n {
            let t = *tree_index.entry(tree_ids[i]).or_insert_with(|| {
                sizes.push(0);
                sizes.len() - 1
            });
            if local
                .insert((tree_ids[i], node_ids[i]), (t, sizes[t], i))
                .is_some()
            {
                return Err(node.bad(format!(
                    "node {} of tree {} is listed twice",
                    node_ids[i], tree_ids[i]
                )));
            }
            sizes[t] += 1;
        }
        let mut leaf_weights: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
        for k in 0..m {
            let &(_, _, global) = local.get(&(w_trees[k], w_nodes[k])).ok_or_else(|| {
                node.bad(format!(
                    "a weight names node {} of tree {}, which does not exist",
                    w_nodes[k], w_trees[k]
                ))
            })?;
            let id = usize::try_from(w_ids[k])
                .ok()
                .filter(|&c| c < targets)
                .ok_or_else(|| node.bad(format!("{prefix} id {} out of range", w_ids[k])))?;
            if !w_values[k].is_finite() {
                return Err(node.bad("a non-finite leaf weight"));
            }
            leaf_weights[global].push((id as u32, w_values[k]));
        }
        let mut trees: Vec<Tree> = sizes
            .iter()
            .map(|&s| Tree {
                nodes: Vec::with_capacity(s as usize),
                depth: 0,
            })
            .collect();
        let mut weights = Vec::with_capacity(m);
        let mut parents: Vec<Vec<u8>> = sizes.iter().map(|&s| vec![0u8; s as usize]).collect();
        for i in 0..n {
            let (t, _, _) = local[&(tree_ids[i], node_ids[i])];
            let child = |id: i64| -> Result<u32, OnnxError> {
                match local.get(&(tree_ids[i], id)) {
                    Some(&(ct, c, _)) if ct == t => Ok(c),
                    _ => Err(node.bad(format!(
                        "node {} of tree {} has a child {id} that does not exist",
                        node_ids[i], tree_ids[i]
                    ))),
                }
            };
            let mode = match modes[i].as_str() {
                "LEAF" => None,
                "BRANCH_LEQ" => Some(Mode::Leq),
                "BRANCH_LT" => Some(Mode::Lt),
                "BRANCH_GTE" => Some(Mode::Gte),
                "BRANCH_GT" => Some(Mode::Gt),
                "BRANCH_EQ" => Some(Mode::Eq),
                "BRANCH_NEQ" => Some(Mode::Neq),
                other => return Err(node.bad(format!("node mode {other:?}"))),
            };
            let tree_node = match mode {
                None => {
                    let first = weights.len() as u32;
                    weights.extend_from_slice(&leaf_weights[i]);
                    TreeNode::Leaf {
                        first,
                        count: leaf_weights[i].len() as u32,
                    }
                }
                Some(mode) => {
                    if !leaf_weights[i].is_empty() {
                        return Err(node.bad(format!(
                            "branch node {} of tree {} carries leaf weights",
                            node_ids[i], tree_ids[i]
                        )));
                    }
                    let feature = usize::try_from(feature_ids[i])
                        .ok()
                        .filter(|&f| f < features)
                        .ok_or_else(|| {
                            node.bad(format!(
                                "feature {} outside the {features} input features",
                                feature_ids[i]
                            ))
                        })?;
                    if !values[i].is_finite() {
                        return Err(node.bad("a non-finite threshold"));
                    }
                    let (yes, no) = (child(yes_ids[i])?, child(no_ids[i])?);
                    for c in [yes, no] {
                        let p = &mut parents[t][c as usize];
                        *p = p.saturating_add(1);
                    }
                    TreeNode::Branch {
                        feature: feature as u32,
                        threshold: values[i],
                        mode,
                        yes,
                        no,
                    }
                }
            };
            trees[t].nodes.push(tree_node);
        }
        // Every node has at most one parent and the root none: what the root reaches is a
        // tree, so every walk ends within `depth` branches.
        for (t, tree) in trees.iter_mut().enumerate() {
            if parents[t][0] != 0 || parents[t].iter().any(|&p| p > 1) {
                return Err(node.bad(format!("tree {t} is not a tree (a node has two parents)")));
            }
            tree.depth = depth(&tree.nodes);
        }
        let base = floats(node, "base_values");
        let base = match base.len() {
            0 => vec![0.0; targets],
            l if (l == targets && binary.is_none() || binary.is_some() && l == 1)
                && base.iter().all(|v| v.is_finite()) =>
            {
                base
            }
            l => {
                return Err(node.bad(format!("{l} base values for {targets} targets")));
            }
        };
        let aggregate = match string(node, "aggregate_function", "SUM").as_str() {
            "SUM" => Aggregate::Sum,
            "AVERAGE" => Aggregate::Average,
            "MIN" => Aggregate::Min,
            "MAX" => Aggregate::Max,
            other => return Err(node.bad(format!("aggregate_function {other:?}"))),
        };
        let post = match string(node, "post_transform", "NONE").as_str() {
            "NONE" => Post::None,
            "SOFTMAX" => Post::Softmax,
            "LOGISTIC" => Post::Logistic,
            other => return Err(node.bad(format!("post_transform {other:?} is not supported"))),
        };
        if let Some(b) = binary
            && b.all_positive
            && post != Post::None
        {
            return Err(node.bad(
                "a binary classifier of probabilities with a post_transform is not supported",
            ));
        }
        Ok(Ensemble {
            features,
            trees,
            weights,
            targets,
            base,
            aggregate,
            post,
            labels,
            binary,
        })
    }

    /// Branches a row passes at most: the cost's measure.
    pub fn max_branches(&self) -> u64 {
        self.trees.iter().map(|t| u64::from(t.depth)).sum()
    }

    /// The leaf `row` reaches in `tree`.
    fn leaf(tree: &Tree, row: &[f32]) -> (u32, u32) {
        let mut i = 0usize;
        loop {
            match &tree.nodes[i] {
                TreeNode::Leaf { first, count } => return (*first, *count),
                TreeNode::Branch {
                    feature,
                    threshold,
                    mode,
                    yes,
                    no,
                } => {
                    i = if mode.test(row[*feature as usize], *threshold) {
                        *yes
                    } else {
                        *no
                    } as usize;
                }
            }
        }
    }

    /// Evaluates rows of `features` values: the scores (after the post-transform) of each
    /// row, and a classifier's labels.
    pub fn run(&self, x: &[f32], rows: usize) -> (Vec<f32>, Vec<i64>) {
        let mut scores = Vec::with_capacity(rows * self.targets);
        let mut labels = Vec::with_capacity(rows);
        let mut s = vec![0f32; self.targets];
        let mut seen = vec![false; self.targets];
        for row in x.chunks_exact(self.features).take(rows) {
            s.iter_mut().for_each(|v| *v = 0.0);
            seen.iter_mut().for_each(|v| *v = false);
            for tree in &self.trees {
                let (first, count) = Self::leaf(tree, row);
                for &(id, w) in &self.weights[first as usize..(first + count) as usize] {
                    let (v, seen) = (&mut s[id as usize], &mut seen[id as usize]);
                    *v = match self.aggregate {
                        Aggregate::Sum | Aggregate::Average => *v + w,
                        Aggregate::Min if *seen => v.min(w),
                        Aggregate::Max if *seen => v.max(w),
                        Aggregate::Min | Aggregate::Max => w,
                    };
                    *seen = true;
                }
            }
            if self.aggregate == Aggregate::Average {
                let n = self.trees.len() as f32;
                s.iter_mut().for_each(|v| *v /= n);
            }
            for (v, b) in s.iter_mut().zip(&self.base) {
                *v += b;
            }
            if let (Some(b), Some(l)) = (self.binary, &self.labels) {
                let v = s[0];
                let middle = if b.all_positive { 0.5 } else { 0.0 };
                labels.push(if v > middle { l[1] } else { l[0] });
                let first = if b.all_positive { 1.0 - v } else { -v };
                s.copy_from_slice(&[first, v]);
                if self.post == Post::Logistic {
                    s.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp()));
                }
                scores.extend_from_slice(&s);
                continue;
            }
            if let Some(l) = &self.labels {
                let mut best = 0;
                for (i, v) in s.iter().enumerate() {
                    if *v > s[best] {
                        best = i;
                    }
                }
                labels.push(l[best]);
            }
            match self.post {
                Post::None => {}
                Post::Logistic => s.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp())),
                Post::Softmax => {
                    let mx = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    s.iter_mut().for_each(|v| *v = (*v - mx).exp());
                    let sum: f32 = s.iter().sum();
                    s.iter_mut().for_each(|v| *v /= sum);
                }
            }
            scores.extend_from_slice(&s);
        }
        (scores, labels)
    }
}

/// The branches on the longest path from the root (node 0) of a tree whose nodes have at
/// most one parent each.
fn depth(nodes: &[TreeNode]) -> u32 {
    let mut best = 0;
    let mut stack = vec![(0u32, 0u32)];
    while let Some((i, d)) = stack.pop() {
        match &nodes[i as usize] {
            TreeNode::Leaf { .. } => best = best.max(d),
            TreeNode::Branch { yes, no, .. } => {
                stack.push((*yes, d + 1));
                stack.push((*no, d + 1));
            }
        }
    }
    best
}
