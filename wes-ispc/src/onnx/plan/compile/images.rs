//! Operators over images `[N, C, H, W]`: `Conv`, `BatchNormalization` (folded into the
//! layer before it where it can be), `MaxPool`, `AveragePool`, `GlobalAveragePool`.

use super::super::super::OnnxError;
use super::super::super::graph::Node;
use super::super::shape::Dims;
use super::super::window::{Conv, Geometry, Pool, PoolKind, Window};
use super::super::{Kind, Step, Value, cost, cpu_f32};
use super::Compiler;

impl Compiler<'_> {
    /// `[C, H, W]` of an image input.
    pub(super) fn image(node: &Node, x: &Value) -> Result<[usize; 3], OnnxError> {
        match *x.dims.as_slice() {
            [c, h, w] => Ok([c, h, w]),
            _ => Err(node.bad(format!(
                "input of shape {:?}: [N, C, H, W] is expected (2-D only)",
                x.dims
            ))),
        }
    }

    pub(super) fn conv(&mut self, node: &Node) -> Result<(), OnnxError> {
        let x = self.f32_value(node, 0)?;
        let [c, h, w] = Self::image(node, &x)?;
        let k = self.constant(node, 1)?;
        let [m, cg, kh, kw] = k.dims[..] else {
            return Err(node.bad("the weight must be a [M, C/group, kH, kW] constant"));
        };
        let groups = usize::try_from(node.attr_i("group", 1))
            .ok()
            .filter(|&g| g > 0 && c.is_multiple_of(g) && m.is_multiple_of(g) && c / g == cg)
            .ok_or_else(|| {
                node.bad(format!(
                    "group {} does not divide {c} input channels into groups of {cg} and {m} filters",
                    node.attr_i("group", 1)
                ))
            })?;
        let geo = Geometry::parse(node, Some([kh, kw]), [h, w])?;
        let window = Window::new(node, [h, w], &geo, false)?;
        let weights = k.to_f32();
        let bias = match node.inputs.get(2).filter(|s| !s.is_empty()) {
            None => vec![0.0; m],
            Some(_) => {
                let b = self.constant(node, 2)?;
                if b.len() != m {
                    return Err(node.bad(format!("{} biases for {m} filters", b.len())));
                }
                b.to_f32()
            }
        };
        if weights.iter().chain(&bias).any(|v| !v.is_finite()) {
            return Err(node.bad("non-finite weight"));
        }
        self.materialise(weights.len() + bias.len() + window.table.len())?;
        let conv = Conv {
            window,
            channels: c,
            groups,
            filters: m,
            weights,
            bias,
            relu: false,
        };
        self.push_conv(node, x, conv)
    }

    pub(super) fn push_conv(&mut self, node: &Node, x: Value, conv: Conv) -> Result<(), OnnxError> {
        let [oh, ow] = conv.window.out;
        let positions = (conv.filters * oh * ow) as u64;
        let v = self.fresh(
            node,
            Dims::new(&[conv.filters, oh, ow]).unwrap_or(Dims::SCALAR),
            Kind::F32,
        )?;
        self.cost += cost::MAC * positions * conv.fan_in() as u64 + cost::ELEMENT * positions;
        self.steps.push(Step::Conv {
            x: x.slot,
            out: v.slot,
            conv: Box::new(conv),
        });
        Ok(())
    }

    /// `BatchNormalization` (inference): `y = a·x + b` per channel, with
    /// `a = scale / √(var + ε)` and `b = B − a·mean`, folded into the convolution or dense
    /// layer before it when nothing else reads that layer, else a per-channel (depthwise 1×1)
    /// convolution of its own.
    pub(super) fn batch_norm(&mut self, node: &Node) -> Result<(), OnnxError> {
        if node.attr_i("training_mode", 0) != 0 {
            return Err(node.bad("training_mode = 1 is not supported"));
        }
        let x = self.f32_value(node, 0)?;
        let row = x.dims.as_slice();
        let Some(&channels) = row.first() else {
            return Err(node.bad("input of shape [N]: channels are expected"));
        };
        let mut p = Vec::with_capacity(4);
        for i in 1..5 {
            let c = self.constant(node, i)?;
            if c.len() != channels {
                return Err(node.bad(format!("{} values for {channels} channels", c.len())));
            }
            p.push(c.to_f32());
        }
        let eps = f64::from(node.attr_f("epsilon", 1e-5));
        let (mut a, mut b) = (Vec::with_capacity(channels), Vec::with_capacity(channels));
        let [scale, shift, mean, var] = &p[..] else {
            return Err(node.bad("four parameters are expected"));
        };
        for (ch, (((&scale, &shift), &mean), &var)) in
            scale.iter().zip(shift).zip(mean).zip(var).enumerate()
        {
            let ai = f64::from(scale) / (f64::from(var) + eps).sqrt();
            let bi = f64::from(shift) - ai * f64::from(mean);
            if !ai.is_finite() || !bi.is_finite() {
                return Err(node.bad(format!("channel {ch} has a non-finite scale or shift")));
            }
            a.push(ai as f32);
            b.push(bi as f32);
        }
        self.materialise(2 * channels)?;
        self.cost += cost::ELEMENT * x.cols() as u64;
        if self.last_output(&node.inputs[0]) {
            match self.steps.last_mut() {
                Some(Step::Conv { conv, out, .. }) if !conv.relu => {
                    let fan = conv.fan_in();
                    for m in 0..conv.filters {
                        conv.weights[m * fan..(m + 1) * fan]
                            .iter_mut()
                            .for_each(|w| *w *= a[m]);
                        conv.bias[m] = conv.bias[m] * a[m] + b[m];
                    }
                    let slot = *out;
                    return self.rename(node, slot, x);
                }
                Some(Step::Dense {
                    w,
                    b: bt,
                    relu: false,
                    inputs,
                    outputs,
                    weights,
                    bias,
                    rows_major,
                    out,
                    ..
                }) if row.len() == 1 => {
                    for i in 0..*inputs {
                        for j in 0..*outputs {
                            weights[i * *outputs + j] *= a[j];
                            rows_major[j * *inputs + i] *= a[j];
                        }
                    }
                    let merged: Vec<f32> = (0..*outputs)
                        .map(|j| bias.as_ref().map_or(0.0, |old| old[j]) * a[j] + b[j])
                        .collect();
                    *w = cpu_f32(weights, &[*inputs, *outputs])?;
                    *bt = Some(cpu_f32(&merged, &[merged.len()])?);
                    *bias = Some(merged);
                    let slot = *out;
                    return self.rename(node, slot, x);
                }
                _ => {}
            }
        }
        // On its own: a depthwise 1×1 convolution over the positions of each channel.
        let positions = x.cols() / channels;
        let window = Window::new(node, [positions, 1], &Geometry::whole([1, 1]), false)?;
        let conv = Conv {
            window,
            channels,
            groups: channels,
            filters: channels,
            weights: a,
            bias: b,
            relu: false,
        };
        let (slot, dims) = (self.slots, x.dims);
        self.push_conv(node, x, conv)?;
        // The row keeps its shape.
        if let Some(v) = self.values.get_mut(&node.outputs[0]) {
            debug_assert_eq!(v.slot, slot);
            v.dims = dims;
        }
        Ok(())
    }

    pub(super) fn pool(&mut self, node: &Node, op: &str) -> Result<(), OnnxError> {
        let x = self.f32_value(node, 0)?;
        let [c, h, w] = Self::image(node, &x)?;
        let (geo, kind) = match op {
            "GlobalAveragePool" => (
                Geometry::whole([h, w]),
                PoolKind::Avg { include_pad: false },
            ),
            "MaxPool" => {
                if node.attr_i("storage_order", 0) != 0 {
                    return Err(node.bad("storage_order = 1 is not supported"));
                }
                (Geometry::parse(node, None, [h, w])?, PoolKind::Max)
            }
            _ => (
                Geometry::parse(node, None, [h, w])?,
                PoolKind::Avg {
                    include_pad: node.attr_i("count_include_pad", 0) != 0,
                },
            ),
        };
        let window = Window::new(node, [h, w], &geo, true)?;
        self.materialise(window.table.len())?;
        let [oh, ow] = window.out;
        let dims = Dims::new(&[c, oh, ow]).ok_or_else(|| node.bad("result shape"))?;
        let v = self.fresh(node, dims, Kind::F32)?;
        self.cost += cost::ELEMENT * (c * window.table.len()) as u64;
        self.steps.push(Step::Pool {
            x: x.slot,
            out: v.slot,
            pool: Box::new(Pool {
                window,
                channels: c,
                kind,
            }),
        });
        Ok(())
    }
}
