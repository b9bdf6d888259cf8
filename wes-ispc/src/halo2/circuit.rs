//! The halo2 circuit of a [`QuantizedNet`]: dense layers, convolutions and pooling, in
//! fixed point.
//!
//! Every output of a dense layer, a convolution or an average pool is one *neuron*: a dot
//! product of input cells (copied into the rows that use them: a convolution's im2col window,
//! without copying anything but cells) with constant weights, then a division with a
//! range-checked remainder. Layout, one neuron after another in one region:
//!
//! ```text
//! row          a0..a7                      w0..w7 (fixed)   acc        selectors
//! input        x[8t..8t+8] from instance                                (none)
//! dot t        x[..] (copied)              W[j][8t..8t+8]   acc_t      q_dot (+ q_init, bias, at t=0)
//! out          p n r p_lo p_hi n_lo n_hi out                acc_final  q_out (div, relu fixed)
//! max tap      x out d0 d1 d2 prod                                     q_max (first, last fixed)
//! ```
//!
//! - `q_init`: `acc = bias` (bias in a fixed column);
//! - `q_dot`: `acc(next) = acc + Σ a_i·w_i`; the weights are **fixed columns**, so the verifying
//!   key commits to the model;
//! - `q_out`: `acc = (p − n)·div + r`, `p·n = 0`, `p = p_lo + 2^8·p_hi`, `n = n_lo + 2^8·n_hi`,
//!   `out = p − (1 − relu)·n`, and `r, div − 1 − r, p_lo, p_hi, n_lo, n_hi` are looked up in
//!   one 8-bit table; so `0 ≤ r < div`, `|y| = |p − n| < 2^16`, and `out` is `y` or
//!   `max(y, 0)`. `div` is `2^s` for a dense layer or a convolution (the rescale) and the
//!   window's count for an average pool (whose weights are ones and bias `⌊count/2⌋`);
//! - `q_max`, one row per tap of a max-pooling window read: `out − x = d0 + 2^8·d1 + 2^16·d2`
//!   with each `d` looked up (so every `out − x_i` is non-negative), and a running product of
//!   those differences (`first` starts it) that must be zero on the `last` row: `out` is one of
//!   the `x_i`. The `out` cells of a window are copies of one another.
//!
//! Reorderings (`Transpose`, `Gather`) take no rows: the next layer copies the cells they
//! name. Inputs are copied from the instance column (rows `0..n_in`), the last layer's outputs
//! are constrained to it (rows `n_in..n_in+n_out`). A value cannot wrap around the field: every
//! term is far below the Pasta modulus. Tree ensembles are not proven yet.

use halo2_proofs::arithmetic::Field;
use halo2_proofs::circuit::{AssignedCell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::pasta::Fp;
use halo2_proofs::plonk::{
    Advice, Circuit, Column, ConstraintSystem, Error, Expression, Fixed, Instance, Selector,
    TableColumn,
};
use halo2_proofs::poly::Rotation;

use crate::onnx::{
    ACT_BITS, PAD, QuantOp, QuantPoolKind, QuantTrace, QuantWindow, QuantizedNet, SCALE_BITS,
};

/// Advice/fixed column pairs of the dot-product gate.
pub const WIDTH: usize = 8;
/// Bits of the lookup table (limbs of range checks).
pub const LIMB_BITS: u32 = 8;
/// Rows kept free for halo2's blinding factors.
const BLINDING_MARGIN: usize = 16;

const _: () = assert!(SCALE_BITS == LIMB_BITS && ACT_BITS == 2 * LIMB_BITS);

/// The circuit's columns and selectors.
#[derive(Clone, Debug)]
pub struct MlpConfig {
    a: [Column<Advice>; WIDTH],
    w: [Column<Fixed>; WIDTH],
    acc: Column<Advice>,
    bias: Column<Fixed>,
    relu: Column<Fixed>,
    div: Column<Fixed>,
    first: Column<Fixed>,
    last: Column<Fixed>,
    instance: Column<Instance>,
    table: TableColumn,
    q_dot: Selector,
    q_init: Selector,
    q_out: Selector,
    q_max: Selector,
    q_rem: Selector,
}

/// A field element from a signed integer.
pub fn fe(v: i128) -> Fp {
    let m = v.unsigned_abs();
    let f = Fp::from((m >> 64) as u64) * Fp::from(1u64 << 32) * Fp::from(1u64 << 32)
        + Fp::from(m as u64);
    if v < 0 { -f } else { f }
}

/// The public instance of one proof: the quantized inputs, then the outputs.
pub fn instance(input: &[i64], output: &[i64]) -> Vec<Fp> {
    input.iter().chain(output).map(|&v| fe(v.into())).collect()
}

/// One output computed as a dot product: `acc = bias + Σ w·x[i]`, `acc = y·div + r` with
/// `0 ≤ r < div`, `out = y` or `max(y, 0)`.
struct Neuron {
    terms: Vec<(u32, i64)>,
    bias: i64,
    div: i64,
    relu: bool,
}

/// A layer as the circuit lays it out.
enum Layer<'a> {
    Neurons(Vec<Neuron>),
    Max {
        channels: usize,
        window: &'a QuantWindow,
    },
    Select(&'a [u32]),
}

/// The windows' valid taps at position `p`, with their tap index.
fn taps(w: &QuantWindow, p: usize) -> impl Iterator<Item = (usize, u32)> + '_ {
    let t = w.taps as usize;
    w.table[p * t..(p + 1) * t]
        .iter()
        .copied()
        .enumerate()
        .filter(|&(_, x)| x != PAD)
}

fn layer(op: &QuantOp, scale_bits: u32) -> Result<Layer<'_>, String> {
    let rescale = 1i64 << scale_bits;
    Ok(match op {
        QuantOp::Dense(l) => {
            let n = l.inputs as usize;
            Layer::Neurons(
                (0..l.outputs as usize)
                    .map(|j| Neuron {
                        terms: (0..n).map(|i| (i as u32, l.weights[j * n + i])).collect(),
                        bias: l.bias[j],
                        div: rescale,
                        relu: l.relu,
                    })
                    .collect(),
            )
        }
        QuantOp::Conv(c) => {
            let w = &c.window;
            let (cg, mg) = (
                (c.channels / c.groups) as usize,
                (c.filters / c.groups) as usize,
            );
            let fan = cg * w.taps as usize;
            let mut neurons = Vec::with_capacity(c.filters as usize * w.out_len as usize);
            for m in 0..c.filters as usize {
                let g = m / mg;
                for p in 0..w.out_len as usize {
                    let mut terms = Vec::new();
                    for ch in 0..cg {
                        let base = ((g * cg + ch) * w.in_len as usize) as u32;
                        for (t, x) in taps(w, p) {
                            terms.push((base + x, c.weights[m * fan + ch * w.taps as usize + t]));
                        }
                    }
                    neurons.push(Neuron {
                        terms,
                        bias: c.bias[m],
                        div: rescale,
                        relu: c.relu,
                    });
                }
            }
            Layer::Neurons(neurons)
        }
        QuantOp::Pool(pool) => match pool.kind {
            QuantPoolKind::Max => Layer::Max {
                channels: pool.channels as usize,
                window: &pool.window,
            },
            QuantPoolKind::Avg { include_pad } => {
                let w = &pool.window;
                let mut neurons = Vec::new();
                for ch in 0..pool.channels as usize {
                    let base = (ch * w.in_len as usize) as u32;
                    for p in 0..w.out_len as usize {
                        let terms: Vec<(u32, i64)> =
                            taps(w, p).map(|(_, x)| (base + x, 1)).collect();
                        let n = if include_pad {
                            w.taps as i64
                        } else {
                            terms.len() as i64
                        };
                        if n > 1 << LIMB_BITS {
                            return Err(format!(
                                "an average over {n} values (at most {} are proven)",
                                1 << LIMB_BITS
                            ));
                        }
                        neurons.push(Neuron {
                            terms,
                            bias: n / 2,
                            div: n,
                            relu: false,
                        });
                    }
                }
                Layer::Neurons(neurons)
            }
        },
        QuantOp::Select { index, .. } => Layer::Select(index),
        QuantOp::Trees(_) => return Err("a tree ensemble is recorded but not proven yet".into()),
    })
}

/// Whether the circuit proves `net`, and why not.
pub fn provable(net: &QuantizedNet) -> Result<(), String> {
    net.ops
        .iter()
        .try_for_each(|op| layer(op, net.scale_bits).map(|_| ()))
}

/// Rows the network's layout takes.
pub fn rows(net: &QuantizedNet) -> usize {
    let mut rows = net.input_len().div_ceil(WIDTH);
    for op in &net.ops {
        rows += match layer(op, net.scale_bits) {
            Ok(Layer::Neurons(ns)) => ns
                .iter()
                .map(|n| {
                    n.terms.len().div_ceil(WIDTH).max(1)
                        + 1
                        + usize::from(n.div != 1 << net.scale_bits)
                })
                .sum(),
            Ok(Layer::Max { channels, window }) => {
                channels
                    * (0..window.out_len as usize)
                        .map(|p| taps(window, p).count())
                        .sum::<usize>()
            }
            Ok(Layer::Select(_)) | Err(_) => 0,
        };
    }
    rows
}

/// The smallest circuit size `k` (2^k rows) that holds the network, the table and the
/// instance.
pub fn min_k(net: &QuantizedNet) -> u32 {
    let need = rows(net)
        .max(1 << LIMB_BITS)
        .max(net.input_len() + net.output_len())
        + BLINDING_MARGIN;
    need.next_power_of_two().trailing_zeros()
}

/// The circuit for `net`, with a witness when proving.
#[derive(Clone, Debug)]
pub struct MlpCircuit<'a> {
    /// The network (its weights become fixed columns).
    pub net: &'a QuantizedNet,
    /// The evaluation to prove; `None` for key generation.
    pub witness: Option<&'a QuantTrace>,
}

impl Circuit<Fp> for MlpCircuit<'_> {
    type Config = MlpConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        MlpCircuit {
            net: self.net,
            witness: None,
        }
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> MlpConfig {
        let a = [(); WIDTH].map(|_| meta.advice_column());
        let w = [(); WIDTH].map(|_| meta.fixed_column());
        let acc = meta.advice_column();
        let bias = meta.fixed_column();
        let relu = meta.fixed_column();
        let div = meta.fixed_column();
        let first = meta.fixed_column();
        let last = meta.fixed_column();
        let instance = meta.instance_column();
        let table = meta.lookup_table_column();
        let q_dot = meta.selector();
        let q_init = meta.selector();
        let q_out = meta.complex_selector();
        let q_max = meta.complex_selector();
        let q_rem = meta.complex_selector();
        for col in a {
            meta.enable_equality(col);
        }
        meta.enable_equality(instance);

        meta.create_gate("dot", |m| {
            let q = m.query_selector(q_dot);
            let acc_cur = m.query_advice(acc, Rotation::cur());
            let acc_next = m.query_advice(acc, Rotation::next());
            let mut sum = acc_cur;
            for i in 0..WIDTH {
                sum = sum + m.query_advice(a[i], Rotation::cur()) * m.query_fixed(w[i]);
            }
            vec![q * (acc_next - sum)]
        });
        meta.create_gate("init", |m| {
            let q = m.query_selector(q_init);
            vec![q * (m.query_advice(acc, Rotation::cur()) - m.query_fixed(bias))]
        });
        meta.create_gate("divide+relu", |m| {
            let q = m.query_selector(q_out);
            let mut cell = |i: usize| m.query_advice(a[i], Rotation::cur());
            let (p, n, r) = (cell(0), cell(1), cell(2));
            let (p_lo, p_hi, n_lo, n_hi, out) = (cell(3), cell(4), cell(5), cell(6), cell(7));
            let acc = m.query_advice(acc, Rotation::cur());
            let relu = m.query_fixed(relu);
            let div = m.query_fixed(div);
            let limb = Expression::Constant(Fp::from(1u64 << LIMB_BITS));
            let one = Expression::Constant(Fp::ONE);
            vec![
                q.clone() * (acc - ((p.clone() - n.clone()) * div + r)),
                q.clone() * (p.clone() * n.clone()),
                q.clone() * (p.clone() - (p_lo + limb.clone() * p_hi)),
                q.clone() * (n.clone() - (n_lo + limb * n_hi)),
                q * (out - (p - (one - relu) * n)),
            ]
        });
        // After a division by less than 2^8 (an average), a row of its own holds
        // `div − 1 − r` in a2, looked up below: so `r < div`.
        meta.create_gate("remainder", |m| {
            let q = m.query_selector(q_rem);
            let rest = m.query_advice(a[2], Rotation::cur());
            let r = m.query_advice(a[2], Rotation::prev());
            // The divisor is repeated on this row (fixed columns are read at the current one).
            let div = m.query_fixed(div);
            vec![q * (rest - (div - Expression::Constant(Fp::ONE) - r))]
        });
        // One 8-bit lookup per column, shared by the rows that need one (their selectors are
        // never on together): r, p_lo, p_hi, n_lo, n_hi of a division; d0, d1, d2 of a max
        // tap; `div − 1 − r` of a remainder row.
        for (i, col) in a[2..7].iter().enumerate() {
            meta.lookup(|m| {
                let mut q = m.query_selector(q_out);
                if i < 3 {
                    q = q + m.query_selector(q_max);
                }
                if i == 0 {
                    q = q + m.query_selector(q_rem);
                }
                vec![(q * m.query_advice(*col, Rotation::cur()), table)]
            });
        }
        meta.create_gate("max", |m| {
            let q = m.query_selector(q_max);
            let mut cell = |i: usize| m.query_advice(a[i], Rotation::cur());
            let (x, out, d0, d1, d2, prod) = (cell(0), cell(1), cell(2), cell(3), cell(4), cell(5));
            let prod_prev = m.query_advice(a[5], Rotation::prev());
            let first = m.query_fixed(first);
            let last = m.query_fixed(last);
            let limb = Expression::Constant(Fp::from(1u64 << LIMB_BITS));
            let one = Expression::Constant(Fp::ONE);
            let d = out - x;
            vec![
                q.clone() * (d.clone() - (d0 + limb.clone() * (d1 + limb * d2))),
                q.clone()
                    * (prod.clone() - first.clone() * d.clone() - (one - first) * prod_prev * d),
                q * last * prod,
            ]
        });
        MlpConfig {
            a,
            w,
            acc,
            bias,
            relu,
            div,
            first,
            last,
            instance,
            table,
            q_dot,
            q_init,
            q_out,
            q_max,
            q_rem,
        }
    }

    fn synthesize(&self, cfg: MlpConfig, mut layouter: impl Layouter<Fp>) -> Result<(), Error> {
        layouter.assign_table(
            || "8-bit range",
            |mut t| {
                for v in 0..(1usize << LIMB_BITS) {
                    t.assign_cell(|| "limb", cfg.table, v, || Value::known(Fp::from(v as u64)))?;
                }
                Ok(())
            },
        )?;
        let net = self.net;
        let known = |v: i128| {
            self.witness
                .map_or(Value::unknown(), |_| Value::known(fe(v)))
        };
        let outputs = layouter.assign_region(
            || "network",
            |mut region| {
                let mut row = 0;
                // The input, from the instance, WIDTH cells a row.
                let n_in = net.input_len();
                let mut prev: Vec<AssignedCell<Fp, Fp>> = Vec::with_capacity(n_in);
                for k in 0..n_in {
                    prev.push(region.assign_advice_from_instance(
                        || "x",
                        cfg.instance,
                        k,
                        cfg.a[k % WIDTH],
                        row + k / WIDTH,
                    )?);
                }
                // The rest of the last input row is zeros: every cell a next row's gate may
                // read at its previous row (a max window's product) is assigned.
                for k in n_in..n_in.div_ceil(WIDTH) * WIDTH {
                    region.assign_advice(
                        || "pad",
                        cfg.a[k % WIDTH],
                        row + k / WIDTH,
                        || Value::known(Fp::ZERO),
                    )?;
                }
                row += n_in.div_ceil(WIDTH);
                for (l, op) in net.ops.iter().enumerate() {
                    // The witness values of this layer's input and output.
                    let xs: Option<Vec<i64>> = self.witness.map(|t| {
                        if l == 0 {
                            t.input.clone()
                        } else {
                            t.layers[l - 1].iter().map(|&(_, _, o)| o).collect()
                        }
                    });
                    let outs_w: Option<Vec<i64>> = self
                        .witness
                        .map(|t| t.layers[l].iter().map(|&(_, _, o)| o).collect());
                    let x_at = |i: usize| xs.as_ref().map_or(0, |v| v[i]);
                    let outs = match layer(op, net.scale_bits).map_err(|_| Error::Synthesis)? {
                        Layer::Select(index) => index
                            .iter()
                            .map(|&i| prev.get(i as usize).cloned().ok_or(Error::Synthesis))
                            .collect::<Result<Vec<_>, _>>()?,
                        Layer::Neurons(neurons) => {
                            let mut outs = Vec::with_capacity(neurons.len());
                            for neuron in &neurons {
                                let mut acc = i128::from(neuron.bias);
                                cfg.q_init.enable(&mut region, row)?;
                                region.assign_fixed(
                                    || "bias",
                                    cfg.bias,
                                    row,
                                    || Value::known(fe(acc)),
                                )?;
                                let chunks = neuron.terms.len().div_ceil(WIDTH).max(1);
                                for t in 0..chunks {
                                    cfg.q_dot.enable(&mut region, row)?;
                                    region.assign_advice(|| "acc", cfg.acc, row, || known(acc))?;
                                    for i in 0..WIDTH {
                                        let term = neuron.terms.get(t * WIDTH + i);
                                        let wk = term.map_or(0, |&(_, w)| w);
                                        region.assign_fixed(
                                            || "w",
                                            cfg.w[i],
                                            row,
                                            || Value::known(fe(wk.into())),
                                        )?;
                                        match term {
                                            Some(&(k, w)) => {
                                                prev.get(k as usize)
                                                    .ok_or(Error::Synthesis)?
                                                    .copy_advice(
                                                        || "x",
                                                        &mut region,
                                                        cfg.a[i],
                                                        row,
                                                    )?;
                                                acc += i128::from(w) * i128::from(x_at(k as usize));
                                            }
                                            None => {
                                                region.assign_advice(
                                                    || "pad",
                                                    cfg.a[i],
                                                    row,
                                                    || Value::known(Fp::ZERO),
                                                )?;
                                            }
                                        }
                                    }
                                    row += 1;
                                }
                                // The output row.
                                cfg.q_out.enable(&mut region, row)?;
                                region.assign_fixed(
                                    || "relu",
                                    cfg.relu,
                                    row,
                                    || Value::known(if neuron.relu { Fp::ONE } else { Fp::ZERO }),
                                )?;
                                region.assign_fixed(
                                    || "div",
                                    cfg.div,
                                    row,
                                    || Value::known(fe(neuron.div.into())),
                                )?;
                                let parts: [Value<Fp>; 8] = match self.witness {
                                    Some(_) => {
                                        let d = i128::from(neuron.div);
                                        let y = acc.div_euclid(d);
                                        let r = acc - y * d;
                                        let (p, nn) = if y >= 0 { (y, 0) } else { (0, -y) };
                                        let out = if neuron.relu { p } else { y };
                                        let mask = (1i128 << LIMB_BITS) - 1;
                                        [
                                            p,
                                            nn,
                                            r,
                                            p & mask,
                                            p >> LIMB_BITS,
                                            nn & mask,
                                            nn >> LIMB_BITS,
                                            out,
                                        ]
                                        .map(|v| Value::known(fe(v)))
                                    }
                                    None => [Value::unknown(); 8],
                                };
                                region.assign_advice(|| "acc", cfg.acc, row, || known(acc))?;
                                let mut last = None;
                                for (i, v) in parts.into_iter().enumerate() {
                                    last = Some(region.assign_advice(
                                        || "out",
                                        cfg.a[i],
                                        row,
                                        || v,
                                    )?);
                                }
                                outs.push(last.ok_or(Error::Synthesis)?);
                                row += 1;
                                if neuron.div != 1 << net.scale_bits {
                                    cfg.q_rem.enable(&mut region, row)?;
                                    region.assign_fixed(
                                        || "div",
                                        cfg.div,
                                        row,
                                        || Value::known(fe(neuron.div.into())),
                                    )?;
                                    let d = i128::from(neuron.div);
                                    let rest = d - 1 - (acc - acc.div_euclid(d) * d);
                                    region.assign_advice(
                                        || "rest",
                                        cfg.a[2],
                                        row,
                                        || known(rest),
                                    )?;
                                    region.assign_advice(
                                        || "pad",
                                        cfg.a[5],
                                        row,
                                        || Value::known(Fp::ZERO),
                                    )?;
                                    row += 1;
                                }
                            }
                            outs
                        }
                        Layer::Max { channels, window } => {
                            let in_len = window.in_len as usize;
                            let mut outs = Vec::new();
                            for ch in 0..channels {
                                for p in 0..window.out_len as usize {
                                    let o = outs.len();
                                    let out_v = outs_w.as_ref().map_or(0, |v| v[o]);
                                    let read: Vec<usize> = taps(window, p)
                                        .map(|(_, x)| ch * in_len + x as usize)
                                        .collect();
                                    let mut prod = Fp::ONE;
                                    let mut out_cell: Option<AssignedCell<Fp, Fp>> = None;
                                    for (i, &k) in read.iter().enumerate() {
                                        cfg.q_max.enable(&mut region, row)?;
                                        let flag = |b: bool| {
                                            Value::known(if b { Fp::ONE } else { Fp::ZERO })
                                        };
                                        region.assign_fixed(
                                            || "first",
                                            cfg.first,
                                            row,
                                            || flag(i == 0),
                                        )?;
                                        region.assign_fixed(
                                            || "last",
                                            cfg.last,
                                            row,
                                            || flag(i + 1 == read.len()),
                                        )?;
                                        prev.get(k).ok_or(Error::Synthesis)?.copy_advice(
                                            || "x",
                                            &mut region,
                                            cfg.a[0],
                                            row,
                                        )?;
                                        let cell = region.assign_advice(
                                            || "max",
                                            cfg.a[1],
                                            row,
                                            || known(out_v.into()),
                                        )?;
                                        match &out_cell {
                                            Some(c) => {
                                                region.constrain_equal(c.cell(), cell.cell())?
                                            }
                                            None => out_cell = Some(cell),
                                        }
                                        let d = i128::from(out_v) - i128::from(x_at(k));
                                        let mask = (1i128 << LIMB_BITS) - 1;
                                        for (j, limb) in [
                                            d & mask,
                                            (d >> LIMB_BITS) & mask,
                                            d >> (2 * LIMB_BITS),
                                        ]
                                        .into_iter()
                                        .enumerate()
                                        {
                                            region.assign_advice(
                                                || "d",
                                                cfg.a[2 + j],
                                                row,
                                                || known(limb),
                                            )?;
                                        }
                                        prod = if i == 0 { fe(d) } else { prod * fe(d) };
                                        region.assign_advice(
                                            || "prod",
                                            cfg.a[5],
                                            row,
                                            || {
                                                self.witness.map_or(Value::unknown(), |_| {
                                                    Value::known(prod)
                                                })
                                            },
                                        )?;
                                        row += 1;
                                    }
                                    outs.push(out_cell.ok_or(Error::Synthesis)?);
                                }
                            }
                            outs
                        }
                    };
                    prev = outs;
                }
                Ok(prev)
            },
        )?;
        let n_in = net.input_len();
        for (j, cell) in outputs.iter().enumerate() {
            layouter.constrain_instance(cell.cell(), cfg.instance, n_in + j)?;
        }
        Ok(())
    }
}
