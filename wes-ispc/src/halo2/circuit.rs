//! The halo2 circuit of a [`QuantizedNet`]: dense layers with ReLU, in fixed point.
//!
//! Layout, one neuron after another in one region:
//!
//! ```text
//! row          a0..a7                      w0..w7 (fixed)   acc        selectors
//! dot t        x[8t..8t+8] (copied)        W[j][8t..8t+8]   acc_t      q_dot (+ q_init, bias, at t=0)
//! out          p n r p_lo p_hi n_lo n_hi out                acc_final  q_out (relu fixed)
//! ```
//!
//! - `q_init`: `acc = bias` (bias in a fixed column);
//! - `q_dot`: `acc(next) = acc + Σ a_i·w_i`; the weights are **fixed columns**, so the verifying
//!   key commits to the model;
//! - `q_out`: `acc = (p − n)·2^s + r`, `p·n = 0`, `p = p_lo + 2^8·p_hi`, `n = n_lo + 2^8·n_hi`,
//!   `out = p − (1 − relu)·n`, and `r, p_lo, p_hi, n_lo, n_hi` are looked up in one 8-bit
//!   table; so `0 ≤ r < 2^s`, `|y| = |p − n| < 2^16`, and `out` is `y` or `max(y, 0)`.
//!
//! Inputs are copied from the instance column (rows `0..n_in`), the last layer's outputs are
//! constrained to it (rows `n_in..n_in+n_out`). A value cannot wrap around the field: every
//! term is far below the Pasta modulus.

use halo2_proofs::arithmetic::Field;
use halo2_proofs::circuit::{AssignedCell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::pasta::Fp;
use halo2_proofs::plonk::{
    Advice, Circuit, Column, ConstraintSystem, Error, Expression, Fixed, Instance, Selector,
    TableColumn,
};
use halo2_proofs::poly::Rotation;

use crate::onnx::{ACT_BITS, QuantTrace, QuantizedNet, SCALE_BITS};

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
    instance: Column<Instance>,
    table: TableColumn,
    q_dot: Selector,
    q_init: Selector,
    q_out: Selector,
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

/// Rows the network's layout takes.
pub fn rows(net: &QuantizedNet) -> usize {
    net.dense_layers()
        .unwrap_or_default()
        .iter()
        .map(|l| l.outputs as usize * (l.inputs as usize).div_ceil(WIDTH) + l.outputs as usize)
        .sum()
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
        let instance = meta.instance_column();
        let table = meta.lookup_table_column();
        let q_dot = meta.selector();
        let q_init = meta.selector();
        let q_out = meta.complex_selector();
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
        meta.create_gate("rescale+relu", |m| {
            let q = m.query_selector(q_out);
            let mut cell = |i: usize| m.query_advice(a[i], Rotation::cur());
            let (p, n, r) = (cell(0), cell(1), cell(2));
            let (p_lo, p_hi, n_lo, n_hi, out) = (cell(3), cell(4), cell(5), cell(6), cell(7));
            let acc = m.query_advice(acc, Rotation::cur());
            let relu = m.query_fixed(relu);
            let limb = Expression::Constant(Fp::from(1u64 << LIMB_BITS));
            let scale = Expression::Constant(Fp::from(1u64 << SCALE_BITS));
            let one = Expression::Constant(Fp::ONE);
            vec![
                q.clone() * (acc - ((p.clone() - n.clone()) * scale + r)),
                q.clone() * (p.clone() * n.clone()),
                q.clone() * (p.clone() - (p_lo + limb.clone() * p_hi)),
                q.clone() * (n.clone() - (n_lo + limb * n_hi)),
                q * (out - (p - (one - relu) * n)),
            ]
        });
        // r, p_lo, p_hi, n_lo, n_hi: one 8-bit lookup each.
        for col in &a[2..7] {
            meta.lookup(|m| {
                let q = m.query_selector(q_out);
                vec![(q * m.query_advice(*col, Rotation::cur()), table)]
            });
        }
        MlpConfig {
            a,
            w,
            acc,
            bias,
            relu,
            instance,
            table,
            q_dot,
            q_init,
            q_out,
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
        let outputs = layouter.assign_region(
            || "network",
            |mut region| {
                let mut row = 0;
                // The current layer's input cells; `None` for the first layer (from instance).
                let mut prev: Option<Vec<AssignedCell<Fp, Fp>>> = None;
                let layers = net.dense_layers().map_err(|_| Error::Synthesis)?;
                for (l, layer) in layers.iter().enumerate() {
                    let n = layer.inputs as usize;
                    let mut outs = Vec::with_capacity(layer.outputs as usize);
                    for j in 0..layer.outputs as usize {
                        let weights = &layer.weights[j * n..(j + 1) * n];
                        let cell = self.witness.map(|t| t.layers[l][j]);
                        let mut acc = i128::from(layer.bias[j]);
                        cfg.q_init.enable(&mut region, row)?;
                        region.assign_fixed(|| "bias", cfg.bias, row, || Value::known(fe(acc)))?;
                        for t in 0..n.div_ceil(WIDTH) {
                            cfg.q_dot.enable(&mut region, row)?;
                            let known = |v: i128| {
                                self.witness
                                    .map_or(Value::unknown(), |_| Value::known(fe(v)))
                            };
                            region.assign_advice(|| "acc", cfg.acc, row, || known(acc))?;
                            for i in 0..WIDTH {
                                let k = t * WIDTH + i;
                                let wk = weights.get(k).copied().unwrap_or(0);
                                region.assign_fixed(
                                    || "w",
                                    cfg.w[i],
                                    row,
                                    || Value::known(fe(wk.into())),
                                )?;
                                if k < n {
                                    match &prev {
                                        None => {
                                            region.assign_advice_from_instance(
                                                || "x",
                                                cfg.instance,
                                                k,
                                                cfg.a[i],
                                                row,
                                            )?;
                                        }
                                        Some(cells) => {
                                            cells[k].copy_advice(
                                                || "x",
                                                &mut region,
                                                cfg.a[i],
                                                row,
                                            )?;
                                        }
                                    }
                                    if let Some(tr) = self.witness {
                                        let x = if l == 0 {
                                            tr.input[k]
                                        } else {
                                            tr.layers[l - 1][k].2
                                        };
                                        acc += i128::from(wk) * i128::from(x);
                                    }
                                } else {
                                    region.assign_advice(
                                        || "pad",
                                        cfg.a[i],
                                        row,
                                        || Value::known(Fp::ZERO),
                                    )?;
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
                            || Value::known(if layer.relu { Fp::ONE } else { Fp::ZERO }),
                        )?;
                        let parts: [Value<Fp>; 8] = match cell {
                            Some((acc_final, y, out)) => {
                                let (p, nn) = if y >= 0 { (y, 0) } else { (0, -y) };
                                let r = acc_final - (i128::from(y) << SCALE_BITS);
                                let mask = (1i64 << LIMB_BITS) - 1;
                                [
                                    p.into(),
                                    nn.into(),
                                    r,
                                    (p & mask).into(),
                                    (p >> LIMB_BITS).into(),
                                    (nn & mask).into(),
                                    (nn >> LIMB_BITS).into(),
                                    out.into(),
                                ]
                                .map(|v: i128| Value::known(fe(v)))
                            }
                            None => [Value::unknown(); 8],
                        };
                        region.assign_advice(
                            || "acc",
                            cfg.acc,
                            row,
                            || cell.map_or(Value::unknown(), |(a, _, _)| Value::known(fe(a))),
                        )?;
                        let mut last = None;
                        for (i, v) in parts.into_iter().enumerate() {
                            last = Some(region.assign_advice(|| "out", cfg.a[i], row, || v)?);
                        }
                        let Some(out_cell) = last else {
                            return Err(Error::Synthesis);
                        };
                        outs.push(out_cell);
                        row += 1;
                    }
                    prev = Some(outs);
                }
                Ok(prev.unwrap_or_default())
            },
        )?;
        let n_in = net.input_len();
        for (j, cell) in outputs.iter().enumerate() {
            layouter.constrain_instance(cell.cell(), cfg.instance, n_in + j)?;
        }
        Ok(())
    }
}
