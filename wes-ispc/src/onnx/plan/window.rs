//! Sliding windows: the geometry of `Conv`, `MaxPool`, `AveragePool` and
//! `GlobalAveragePool` (kernel, strides, dilations, pads, `auto_pad`), compiled once into a
//! table of which input position each tap of each window reads, and the f32 kernels over it.
//! The same table is what a quantized or proven layer reads (im2col, without the copies).

use super::super::OnnxError;
use super::super::graph::Node;

/// A tap that falls in the padding.
pub(crate) const PAD: u32 = u32::MAX;

/// The attributes of a 2-D window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    pub dilations: [usize; 2],
    /// `[top, left, bottom, right]`.
    pub pads: [usize; 4],
}

fn ints(node: &Node, name: &str) -> Option<Vec<i64>> {
    node.attr(name).map(|a| a.ints.clone())
}

fn pair(node: &Node, name: &str, default: usize) -> Result<[usize; 2], OnnxError> {
    match ints(node, name).as_deref() {
        None | Some([]) => Ok([default; 2]),
        Some(&[a, b]) if a > 0 && b > 0 && a <= 1 << 16 && b <= 1 << 16 => {
            Ok([a as usize, b as usize])
        }
        Some(v) => Err(node.bad(format!(
            "{name} {v:?}: two positive values are expected (2-D only)"
        ))),
    }
}

impl Geometry {
    /// Reads the window attributes of `node` over an input of `[h, w]`; `kernel` is the
    /// kernel's size when the weights give it (a `Conv`), else `kernel_shape` must.
    pub fn parse(
        node: &Node,
        kernel: Option<[usize; 2]>,
        [h, w]: [usize; 2],
    ) -> Result<Geometry, OnnxError> {
        let declared = match ints(node, "kernel_shape") {
            None => None,
            Some(_) => Some(pair(node, "kernel_shape", 1)?),
        };
        let kernel = match (kernel, declared) {
            (Some(k), Some(d)) if k != d => {
                return Err(node.bad(format!(
                    "kernel_shape {d:?} disagrees with the weights' {k:?}"
                )));
            }
            (Some(k), _) | (None, Some(k)) => k,
            (None, None) => return Err(node.bad("kernel_shape is required")),
        };
        let strides = pair(node, "strides", 1)?;
        let dilations = pair(node, "dilations", 1)?;
        let extent = |i: usize| (kernel[i] - 1) * dilations[i] + 1;
        let auto = node
            .attr("auto_pad")
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
            .unwrap_or_default();
        let pads = match auto.as_str() {
            "" | "NOTSET" => match ints(node, "pads").as_deref() {
                None | Some([]) => [0; 4],
                Some(&[t, l, b, r]) if [t, l, b, r].iter().all(|&p| (0..=1 << 16).contains(&p)) => {
                    [t as usize, l as usize, b as usize, r as usize]
                }
                Some(v) => {
                    return Err(node.bad(format!(
                        "pads {v:?}: four non-negative values are expected (2-D only)"
                    )));
                }
            },
            "VALID" => [0; 4],
            "SAME_UPPER" | "SAME_LOWER" => {
                let total = |i: usize, n: usize| {
                    let out = n.div_ceil(strides[i]);
                    ((out - 1) * strides[i] + extent(i)).saturating_sub(n)
                };
                let (th, tw) = (total(0, h), total(1, w));
                if auto == "SAME_UPPER" {
                    [th / 2, tw / 2, th - th / 2, tw - tw / 2]
                } else {
                    [th - th / 2, tw - tw / 2, th / 2, tw / 2]
                }
            }
            other => return Err(node.bad(format!("auto_pad {other:?}"))),
        };
        if node.attr_i("ceil_mode", 0) != 0 {
            return Err(node.bad("ceil_mode = 1 is not supported"));
        }
        Ok(Geometry {
            kernel,
            strides,
            dilations,
            pads,
        })
    }

    /// A whole-input window (`GlobalAveragePool`), or a 1×1 one (a per-channel affine map).
    pub fn whole([h, w]: [usize; 2]) -> Geometry {
        Geometry {
            kernel: [h, w],
            strides: [1, 1],
            dilations: [1, 1],
            pads: [0; 4],
        }
    }
}

/// A compiled window: for each output position and tap, the input position it reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    /// Input positions per channel (`h · w`).
    pub in_len: usize,
    /// Output `[height, width]`.
    pub out: [usize; 2],
    /// Taps per window (`kh · kw`).
    pub taps: usize,
    /// `[position][tap]`: the input position read (`y · w + x`), or [`PAD`].
    pub table: Vec<u32>,
}

impl Window {
    /// Compiles `geo` over an input of `[h, w]`. With `every_window_reads`, a window lying
    /// wholly in the padding is an error (pooling has nothing to take there).
    pub fn new(
        node: &Node,
        [h, w]: [usize; 2],
        geo: &Geometry,
        every_window_reads: bool,
    ) -> Result<Window, OnnxError> {
        let [kh, kw] = geo.kernel;
        let [sh, sw] = geo.strides;
        let [dh, dw] = geo.dilations;
        let [pt, pl, pb, pr] = geo.pads;
        let (eh, ew) = ((kh - 1) * dh + 1, (kw - 1) * dw + 1);
        let (ph, pw) = (h + pt + pb, w + pl + pr);
        if ph < eh || pw < ew {
            return Err(node.bad(format!(
                "a window of {eh}×{ew} does not fit the padded input {ph}×{pw}"
            )));
        }
        let out = [(ph - eh) / sh + 1, (pw - ew) / sw + 1];
        let taps = kh * kw;
        let len = out[0]
            .checked_mul(out[1])
            .and_then(|n| n.checked_mul(taps))
            .filter(|&n| n <= 1 << 28)
            .ok_or_else(|| node.bad("the window table is too large"))?;
        let mut table = Vec::with_capacity(len);
        for oy in 0..out[0] {
            for ox in 0..out[1] {
                let mut reads = false;
                for i in 0..kh {
                    for j in 0..kw {
                        let y = (oy * sh + i * dh) as isize - pt as isize;
                        let x = (ox * sw + j * dw) as isize - pl as isize;
                        if (0..h as isize).contains(&y) && (0..w as isize).contains(&x) {
                            table.push((y as usize * w + x as usize) as u32);
                            reads = true;
                        } else {
                            table.push(PAD);
                        }
                    }
                }
                if every_window_reads && !reads {
                    return Err(node.bad(format!(
                        "the window at ({oy}, {ox}) lies wholly in the padding"
                    )));
                }
            }
        }
        Ok(Window {
            in_len: h * w,
            out,
            taps,
            table,
        })
    }

    /// Output positions per channel.
    pub fn out_len(&self) -> usize {
        self.out[0] * self.out[1]
    }
}

/// A convolution's compiled form (also a folded or standalone `BatchNormalization`).
#[derive(Clone, Debug)]
pub(crate) struct Conv {
    pub window: Window,
    /// Input channels.
    pub channels: usize,
    pub groups: usize,
    /// Output channels.
    pub filters: usize,
    /// `[filter][channel of its group][tap]`, as ONNX stores them.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    pub relu: bool,
}

impl Conv {
    /// Inputs of each filter (`channels / groups · taps`).
    pub fn fan_in(&self) -> usize {
        self.channels / self.groups * self.window.taps
    }

    /// Evaluates `rows` rows of `[channels, h, w]` into `[filters, oh, ow]`.
    pub fn run(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let win = &self.window;
        let (cg, mg) = (self.channels / self.groups, self.filters / self.groups);
        let (in_row, out_len) = (self.channels * win.in_len, win.out_len());
        let fan = self.fan_in();
        let mut y = vec![0f32; rows * self.filters * out_len];
        let mut patch = vec![0f32; fan];
        for r in 0..rows {
            let xr = &x[r * in_row..(r + 1) * in_row];
            let yr = &mut y[r * self.filters * out_len..(r + 1) * self.filters * out_len];
            for g in 0..self.groups {
                for p in 0..out_len {
                    let taps = &win.table[p * win.taps..(p + 1) * win.taps];
                    for c in 0..cg {
                        let xc = &xr[(g * cg + c) * win.in_len..(g * cg + c + 1) * win.in_len];
                        for (slot, &t) in
                            patch[c * win.taps..(c + 1) * win.taps].iter_mut().zip(taps)
                        {
                            *slot = if t == PAD { 0.0 } else { xc[t as usize] };
                        }
                    }
                    for m in g * mg..(g + 1) * mg {
                        let mut v =
                            self.bias[m] + dot(&patch, &self.weights[m * fan..(m + 1) * fan]);
                        if self.relu && v < 0.0 {
                            v = 0.0;
                        }
                        yr[m * out_len + p] = v;
                    }
                }
            }
        }
        y
    }
}

/// How a pooling window is reduced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PoolKind {
    /// The largest value read (padding is never read).
    Max,
    /// The mean: over the values read, or over every tap (padding as zeros) with `include_pad`.
    Avg { include_pad: bool },
}

/// A pooling layer's compiled form.
#[derive(Clone, Debug)]
pub(crate) struct Pool {
    pub window: Window,
    pub channels: usize,
    pub kind: PoolKind,
}

impl Pool {
    /// Evaluates `rows` rows of `[channels, h, w]` into `[channels, oh, ow]`.
    pub fn run(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let win = &self.window;
        let out_len = win.out_len();
        let mut y = Vec::with_capacity(rows * self.channels * out_len);
        for xc in x.chunks_exact(win.in_len).take(rows * self.channels) {
            for taps in win.table.chunks_exact(win.taps) {
                let read = taps.iter().filter(|&&t| t != PAD).map(|&t| xc[t as usize]);
                y.push(match self.kind {
                    PoolKind::Max => read.fold(f32::NEG_INFINITY, f32::max),
                    PoolKind::Avg { include_pad } => {
                        let n = if include_pad {
                            win.taps
                        } else {
                            taps.iter().filter(|&&t| t != PAD).count()
                        };
                        read.sum::<f32>() / n as f32
                    }
                });
            }
        }
        y
    }
}

/// A dot product with eight independent partial sums, so the compiler vectorises it.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let split = a.len() - a.len() % 8;
    let (ac, ar) = a.split_at(split);
    let (bc, br) = b.split_at(split);
    let mut lanes = [0f32; 8];
    for (xs, ws) in ac.chunks_exact(8).zip(bc.chunks_exact(8)) {
        for ((lane, x), w) in lanes.iter_mut().zip(xs).zip(ws) {
            *lane += x * w;
        }
    }
    lanes.iter().sum::<f32>() + ar.iter().zip(br).map(|(x, w)| x * w).sum::<f32>()
}
