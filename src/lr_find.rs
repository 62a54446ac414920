//! makemore part 2's learning-rate finder: train from the current parameters
//! with a rate that grows exponentially each step (10^-3 → 10^0 over 1,000 steps
//! by default), record the loss against log10 of the rate, and suggest a rate
//! from the valley.
//!
//! How the suggestion is picked: the losses are smoothed with a centred moving
//! average (a window of [`SMOOTH_FRACTION`] of the steps), the rate at the
//! smoothed minimum is the valley, and the suggestion is the valley divided by
//! [`SAFETY`] (half a decade): at the valley itself the loss is about to turn
//! up, so training there for long is on the edge of diverging.
//!
//! The finder trains a scratch backend the caller builds from a copy of the
//! parameters, so the run it was asked about keeps its weights.

use serde::Serialize;

use crate::backend::Backend;
use crate::{Error, Result};

/// Steps of the default sweep.
pub const STEPS: usize = 1000;
/// The sweep's first and last rates.
pub const LR_LO: f32 = 1e-3;
pub const LR_HI: f32 = 1.0;
/// The suggestion is the valley's rate divided by this.
pub const SAFETY: f32 = 3.0;
/// The smoothing window, as a share of the steps.
pub const SMOOTH_FRACTION: f32 = 0.05;
/// Steps per call to the backend, so a sweep that has diverged stops early.
const CHUNK: usize = 100;
/// A loss this many times the smallest so far ends the sweep.
const STOP_FACTOR: f32 = 4.0;

/// What a sweep found. `lrs`, `losses` and `smoothed` run side by side, up to
/// the step where the loss stopped being finite or blew up.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LrFind {
    pub lrs: Vec<f32>,
    pub losses: Vec<f32>,
    pub smoothed: Vec<f32>,
    /// The rate at the smoothed loss's minimum.
    pub valley_lr: f32,
    /// `valley_lr / SAFETY`.
    pub suggested_lr: f32,
}

/// `steps` rates spaced evenly in log10 from `lo` to `hi`.
pub fn rates(steps: usize, lo: f32, hi: f32) -> Result<Vec<f32>> {
    if !(lo.is_finite() && hi.is_finite() && 0.0 < lo && lo < hi) {
        return Err(Error::config("lr", format!("the sweep needs 0 < lowest < highest rate, got {lo} and {hi}")));
    }
    if steps < 10 {
        return Err(Error::config("steps", format!("{steps} steps are too few for a sweep; use at least 10")));
    }
    let (a, b) = (lo.log10() as f64, hi.log10() as f64);
    Ok((0..steps).map(|i| 10f64.powf(a + (b - a) * i as f64 / (steps - 1) as f64) as f32).collect())
}

/// The centred moving average of `x` over `2·half + 1` points (fewer at the ends).
pub fn smooth(x: &[f32], half: usize) -> Vec<f32> {
    (0..x.len())
        .map(|i| {
            let w = &x[i.saturating_sub(half)..(i + half + 1).min(x.len())];
            w.iter().sum::<f32>() / w.len() as f32
        })
        .collect()
}

/// Smooths `losses` and picks the valley and the suggestion (see the module docs).
pub fn suggest(lrs: &[f32], losses: &[f32]) -> Result<LrFind> {
    let n = losses.len().min(lrs.len());
    if n == 0 {
        return Err(Error::config("lr", "the first step of the sweep already diverged; lower the lowest rate"));
    }
    let half = ((SMOOTH_FRACTION * n as f32) as usize / 2).max(1);
    let smoothed = smooth(&losses[..n], half);
    let best = (0..n).min_by(|&a, &b| smoothed[a].total_cmp(&smoothed[b])).unwrap_or(0);
    let valley_lr = lrs[best];
    Ok(LrFind {
        lrs: lrs[..n].to_vec(),
        losses: losses[..n].to_vec(),
        smoothed,
        valley_lr,
        suggested_lr: valley_lr / SAFETY,
    })
}

/// Runs the sweep on `backend` (a scratch copy: it is trained) from step 0.
pub async fn lr_find<B: Backend>(backend: &mut B, lrs: &[f32]) -> Result<LrFind> {
    let mut losses: Vec<f32> = Vec::with_capacity(lrs.len());
    let mut lowest = f32::INFINITY;
    for chunk in lrs.chunks(CHUNK) {
        let got = backend.train(losses.len() as u64, chunk).await?;
        let stop = got.iter().position(|&l| !(l.is_finite() && l <= STOP_FACTOR * lowest.min(l)));
        let keep = &got[..stop.unwrap_or(got.len())];
        lowest = keep.iter().fold(lowest, |m, &l| m.min(l));
        losses.extend_from_slice(keep);
        if stop.is_some() {
            break;
        }
    }
    suggest(lrs, &losses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_span_the_decades() {
        let r = rates(1000, 1e-3, 1.0).unwrap();
        assert!((r[0] - 1e-3).abs() < 1e-9 && (r[999] - 1.0).abs() < 1e-6);
        assert!(r.windows(2).all(|w| w[1] > w[0]));
        assert!(rates(5, 1e-3, 1.0).is_err() && rates(100, 1.0, 0.1).is_err());
    }

    #[test]
    fn the_valley_of_a_known_curve_is_found() {
        // Loss (log10 lr + 1)² + 2 has its valley at lr = 0.1, plus alternating noise the smoothing removes.
        let lrs = rates(400, 1e-3, 1.0).unwrap();
        let losses: Vec<f32> = lrs
            .iter()
            .enumerate()
            .map(|(i, l)| (l.log10() + 1.0).powi(2) + 2.0 + if i % 2 == 0 { 0.3 } else { -0.3 })
            .collect();
        let f = suggest(&lrs, &losses).unwrap();
        assert!((f.valley_lr.log10() + 1.0).abs() < 0.05, "valley {}", f.valley_lr);
        assert!((f.suggested_lr - f.valley_lr / SAFETY).abs() < 1e-9);
        assert!(suggest(&lrs, &[]).is_err());
    }
}
