//! Probe-batch statistics, as makemore part 3 draws them: histograms of the
//! hidden pre-activations and of tanh's outputs, the share of saturated units
//! (|h| > [`SATURATED`]) and their map, the logits' spread and the softmax's
//! confidence, per-parameter gradient histograms and the update:data ratio.
//!
//! They come from a CPU forward and backward pass over a fixed probe batch (the
//! first [`PROBE_ROWS`] training examples) through the layer functions of
//! [`crate::backend::cpu::layers`], from a copy of the parameters: the same
//! numbers whichever backend trains (the GPU backend's `params()` reads them back).

use serde::Serialize;

use crate::backend::cpu::gemm::Packs;
use crate::backend::cpu::layers::{
    embed_backward, embed_forward, linear_backward, linear_forward, softmax_xent, tanh_backward, tanh_forward,
};
use crate::data::Split;
use crate::model::{Params, Tensor};

/// Examples in the probe batch (fewer when the training split is smaller).
pub const PROBE_ROWS: usize = 256;
/// |tanh| above this counts as saturated: 1 − h² < 0.02, so the unit passes
/// under 2% of the gradient that reaches it.
pub const SATURATED: f32 = 0.99;
/// Bins of every histogram.
pub const BINS: usize = 40;
/// The update:data ratio makemore part 3 calls healthy: log10 of it is −3.
pub const UPDATE_RATIO_GUIDE: f64 = -3.0;

/// A fixed batch of examples: the first rows of a split.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    /// (rows, T)
    pub x: Vec<u32>,
    /// (rows)
    pub y: Vec<u32>,
}

impl Probe {
    /// The first `rows` examples of `split` (all of them if it has fewer).
    pub fn first(split: &Split, rows: usize) -> Probe {
        let n = rows.min(split.len());
        let t = if split.is_empty() { 0 } else { split.x.len() / split.len() };
        Probe { x: split.x[..n * t].to_vec(), y: split.y[..n].to_vec() }
    }

    pub fn rows(&self) -> usize {
        self.y.len()
    }
}

/// Counts of `values` in [`BINS`] equal bins over `[lo, hi]` (the last bin
/// includes `hi`; values outside are clamped into the end bins).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Histogram {
    pub lo: f32,
    pub hi: f32,
    pub counts: Vec<u32>,
}

impl Histogram {
    pub fn new(values: &[f32], lo: f32, hi: f32) -> Histogram {
        let mut counts = vec![0u32; BINS];
        let width = (hi - lo) / BINS as f32;
        for &v in values.iter().filter(|v| v.is_finite()) {
            let i = if width > 0.0 { ((v - lo) / width) as isize } else { 0 };
            counts[i.clamp(0, BINS as isize - 1) as usize] += 1;
        }
        Histogram { lo, hi, counts }
    }

    /// Over `[-m, m]`, m the largest |value| (1 when all are zero or none is finite).
    pub fn symmetric(values: &[f32]) -> Histogram {
        let m = values.iter().filter(|v| v.is_finite()).fold(0.0f32, |m, v| m.max(v.abs()));
        let m = if m > 0.0 { m } else { 1.0 };
        Histogram::new(values, -m, m)
    }
}

/// The logits before the softmax and what the softmax makes of them.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogitStats {
    /// Standard deviation of all logits: near 0 at a good init (every character equally likely).
    pub std: f32,
    /// The largest |logit|.
    pub max_abs: f32,
    /// Mean over the probe of the largest probability: 1/V means no opinion, near 1 overconfident.
    pub confidence: f32,
    /// Mean probability of the right character.
    pub target_prob: f32,
}

/// One parameter tensor's gradient on the probe and its update:data ratio.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TensorStats {
    pub name: &'static str,
    pub data_std: f32,
    pub grad_std: f32,
    pub grad: Histogram,
    /// log10(std(lr·grad) / std(param)); `None` when either std is 0.
    pub update_ratio: Option<f64>,
}

/// Everything drawn in the diagnostics panel, for one set of parameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostics {
    pub rows: usize,
    pub hidden: usize,
    /// Mean cross-entropy on the probe batch.
    pub loss: f32,
    /// Hidden pre-activations h = emb @ W1 + b1 (before tanh).
    pub preact: Histogram,
    /// tanh's outputs, over [−1, 1].
    pub act: Histogram,
    /// Share of the probe's hidden activations with |h| > [`SATURATED`].
    pub saturated: f32,
    /// Share of hidden units saturated on every probe example ("dead": they never pass a gradient).
    pub dead_units: f32,
    /// (rows, hidden), row-major: 1 where |h| > [`SATURATED`].
    pub saturation_map: Vec<u8>,
    pub logits: LogitStats,
    pub tensors: Vec<TensorStats>,
}

/// Activations and gradients of one forward and backward pass over the probe.
pub struct Pass {
    /// (rows, H) before tanh.
    pub pre: Vec<f32>,
    /// (rows, H) after tanh.
    pub h: Vec<f32>,
    /// (rows, V) before the softmax.
    pub logits: Vec<f32>,
    /// Mean cross-entropy.
    pub loss: f32,
    /// The gradient of the mean cross-entropy, laid out like the parameters.
    pub grads: Vec<f32>,
}

/// The forward and backward pass over `probe` (no L2 terms).
pub fn pass(p: &Params, probe: &Probe) -> Pass {
    let c = &p.cfg;
    let (b, e, ti, h, v) = (probe.rows(), c.n_embd, c.n_in(), c.n_hidden, c.vocab_size);
    let packs = &mut Packs::default();
    let mut emb = vec![0.0; b * ti]; // (b, T*E)
    embed_forward(&mut emb, p.get(Tensor::C), &probe.x, e);
    let mut pre = vec![0.0; b * h]; // (b, H)
    linear_forward(packs, &mut pre, &emb, p.get(Tensor::W1), Some(p.get(Tensor::B1)), b, ti, h, false);
    let mut act = pre.clone();
    tanh_forward(&mut act);
    let mut logits = vec![0.0; b * v]; // (b, V)
    linear_forward(packs, &mut logits, &act, p.get(Tensor::W2), Some(p.get(Tensor::B2)), b, h, v, false);
    if c.direct {
        linear_forward(packs, &mut logits, &emb, p.get(Tensor::W3), None, b, ti, v, true);
    }
    let mut dlogits = logits.clone();
    let loss =
        if b == 0 { f32::NAN } else { (softmax_xent(&mut dlogits, &probe.y, v, 1.0 / b as f32) / b as f64) as f32 };
    let mut grads = vec![0.0; p.data.len()];
    let l = &p.layout;
    let (mut dh, mut demb) = (vec![0.0; b * h], vec![0.0; b * ti]);
    {
        let (lo, hi) = grads.split_at_mut(l.range(Tensor::B2).start);
        let (dw2, db2) = (&mut lo[l.range(Tensor::W2)], &mut hi[..v]);
        linear_backward(
            packs,
            Some(&mut dh),
            false,
            Some(dw2),
            Some(db2),
            &dlogits,
            &act,
            p.get(Tensor::W2),
            (b, h, v),
        );
    }
    if c.direct {
        let dw3 = &mut grads[l.range(Tensor::W3)];
        linear_backward(packs, Some(&mut demb), false, Some(dw3), None, &dlogits, &emb, p.get(Tensor::W3), (b, ti, v));
    }
    tanh_backward(&mut dh, &act);
    {
        let (lo, hi) = grads.split_at_mut(l.range(Tensor::B1).start);
        let (dw1, db1) = (&mut lo[l.range(Tensor::W1)], &mut hi[..h]);
        linear_backward(
            packs,
            Some(&mut demb),
            c.direct,
            Some(dw1),
            Some(db1),
            &dh,
            &emb,
            p.get(Tensor::W1),
            (b, ti, h),
        );
    }
    embed_backward(&mut grads[l.range(Tensor::C)], &demb, &probe.x, e);
    Pass { pre, h: act, logits, loss, grads }
}

/// Population standard deviation.
pub fn std(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    (x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt() as f32
}

/// log10(std(update) / std(data)), `None` when either is 0 or not finite.
pub fn log_ratio(update_std: f64, data_std: f64) -> Option<f64> {
    let r = (update_std / data_std).log10();
    r.is_finite().then_some(r)
}

/// The share of `h` with |h| > [`SATURATED`].
pub fn saturated_share(h: &[f32]) -> f32 {
    if h.is_empty() {
        return 0.0;
    }
    h.iter().filter(|v| v.abs() > SATURATED).count() as f32 / h.len() as f32
}

/// The share of hidden activations saturated on the probe, without the rest of the statistics.
pub fn saturation(p: &Params, probe: &Probe) -> f32 {
    saturated_share(&pass(p, probe).h)
}

/// The statistics of `p` on `probe`; `lr` scales the gradient in the update:data ratio.
pub fn diagnose(p: &Params, probe: &Probe, lr: f32) -> Diagnostics {
    let Pass { pre, h, logits, loss, grads } = pass(p, probe);
    let (rows, hidden, v) = (probe.rows(), p.cfg.n_hidden, p.cfg.vocab_size);
    let map: Vec<u8> = h.iter().map(|x| (x.abs() > SATURATED) as u8).collect();
    let dead = (0..hidden).filter(|&j| rows > 0 && (0..rows).all(|i| map[i * hidden + j] == 1)).count();
    let (mut confidence, mut target_prob) = (0.0f64, 0.0f64);
    for (row, &y) in logits.chunks_exact(v).zip(&probe.y) {
        let max = row.iter().fold(f32::NEG_INFINITY, |m, &z| m.max(z));
        let sum: f64 = row.iter().map(|&z| ((z - max) as f64).exp()).sum();
        confidence += 1.0 / sum;
        target_prob += ((row[y as usize] - max) as f64).exp() / sum;
    }
    let per_row = |x: f64| if rows > 0 { (x / rows as f64) as f32 } else { f32::NAN };
    let tensors = p
        .layout
        .tensors()
        .map(|(t, r)| {
            let g = &grads[r.clone()];
            let (data_std, grad_std) = (std(&p.data[r]), std(g));
            TensorStats {
                name: t.name(),
                data_std,
                grad_std,
                grad: Histogram::symmetric(g),
                update_ratio: log_ratio(lr as f64 * grad_std as f64, data_std as f64),
            }
        })
        .collect();
    Diagnostics {
        rows,
        hidden,
        loss,
        preact: Histogram::symmetric(&pre),
        act: Histogram::new(&h, -1.0, 1.0),
        saturated: saturated_share(&h),
        dead_units: if hidden > 0 { dead as f32 / hidden as f32 } else { 0.0 },
        saturation_map: map,
        logits: LogitStats {
            std: std(&logits),
            max_abs: logits.iter().fold(0.0f32, |m, z| m.max(z.abs())),
            confidence: per_row(confidence),
            target_prob: per_row(target_prob),
        },
        tensors,
    }
}
