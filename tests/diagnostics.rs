#![cfg(not(target_arch = "wasm32"))]
//! The probe-batch diagnostics against a direct computation: a naive f64
//! forward pass over the same probe, histogram counts, the saturation map, the
//! softmax's confidence, gradients by finite differences, and the update:data
//! ratio from two parameter snapshots. Then the story: uniform inits
//! saturate every tanh unit and stall; the fix does not.

use makemore::backend::cpu::CpuBackend;
use makemore::backend::Backend;
use makemore::config::{Init, TrainConfig};
use makemore::data::{Dataset, SplitName};
use makemore::diagnostics::{diagnose, pass, saturation, Histogram, Probe, BINS, PROBE_ROWS, SATURATED};
use makemore::model::ModelConfig;
use makemore::model::{Params, Tensor};
use pollster::block_on;

const NAMES: &[u8] = include_bytes!("../data/names.txt");

fn setup(init: Init, direct: bool) -> (Dataset, Params, Probe) {
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    let m = ModelConfig { vocab_size: data.vocab.len(), block_size: 3, n_embd: 10, n_hidden: 64, direct };
    let p = Params::init(&m, init, 7).unwrap();
    let probe = Probe::first(&data.train, PROBE_ROWS);
    (data, p, probe)
}

/// Pre-activations (rows, H) and logits (rows, V) by the definition, in f64.
fn naive_forward(p: &Params, probe: &Probe) -> (Vec<f64>, Vec<f64>) {
    let c = &p.cfg;
    let (t, e, h, v) = (c.block_size, c.n_embd, c.n_hidden, c.vocab_size);
    let (cc, w1, b1, w2, b2, w3) = (
        p.get(Tensor::C),
        p.get(Tensor::W1),
        p.get(Tensor::B1),
        p.get(Tensor::W2),
        p.get(Tensor::B2),
        p.get(Tensor::W3),
    );
    let (mut pre, mut logits) = (Vec::new(), Vec::new());
    for r in 0..probe.rows() {
        let emb: Vec<f64> = (0..t * e).map(|k| cc[probe.x[r * t + k / e] as usize * e + k % e] as f64).collect();
        let row: Vec<f64> =
            (0..h).map(|j| b1[j] as f64 + (0..t * e).map(|k| emb[k] * w1[k * h + j] as f64).sum::<f64>()).collect();
        for o in 0..v {
            let mut z = b2[o] as f64 + (0..h).map(|j| row[j].tanh() * w2[j * v + o] as f64).sum::<f64>();
            if c.direct {
                z += (0..t * e).map(|k| emb[k] * w3[k * v + o] as f64).sum::<f64>();
            }
            logits.push(z);
        }
        pre.extend(row);
    }
    (pre, logits)
}

#[test]
fn the_probe_is_the_first_training_examples() {
    let (data, _, probe) = setup(Init::Naive, false);
    assert_eq!(probe.rows(), PROBE_ROWS);
    assert_eq!(probe.x, data.train.x[..PROBE_ROWS * 3]);
    assert_eq!(probe.y, data.train.y[..PROBE_ROWS]);
}

#[test]
fn activations_saturation_and_histograms_match_a_direct_computation() {
    for (init, direct) in [(Init::Naive, true), (Init::Kaiming, false), (Init::UniformSmallOutput, true)] {
        let (_, p, probe) = setup(init, direct);
        let d = diagnose(&p, &probe, 0.1);
        let (pre, logits) = naive_forward(&p, &probe);
        let h: Vec<f64> = pre.iter().map(|x| x.tanh()).collect();
        let what = init.name();
        assert_eq!((d.rows, d.hidden), (PROBE_ROWS, 64));

        // Saturation: the share and the map, up to values within float error of the threshold.
        let near = h.iter().filter(|x| (x.abs() - SATURATED as f64).abs() < 1e-5).count();
        let sat: Vec<u8> = h.iter().map(|x| (x.abs() > SATURATED as f64) as u8).collect();
        let mismatched = sat.iter().zip(&d.saturation_map).filter(|(a, b)| a != b).count();
        assert!(mismatched <= near, "{what}: {mismatched} map cells differ ({near} near the threshold)");
        let share = sat.iter().map(|&s| s as f64).sum::<f64>() / sat.len() as f64;
        assert!(
            (d.saturated as f64 - share).abs() <= (near as f64 + 0.5) / sat.len() as f64,
            "{what}: {} vs {share}",
            d.saturated
        );
        let dead = (0..64).filter(|&j| (0..PROBE_ROWS).all(|i| sat[i * 64 + j] == 1)).count();
        assert!((d.dead_units - dead as f32 / 64.0).abs() <= near as f32 / 64.0, "{what}: dead units");

        // Histograms: counts in BINS equal bins, each value in its bin (ties at an edge may fall either side).
        let count = |values: &[f64], lo: f64, hi: f64| {
            let mut c = vec![0u32; BINS];
            let w = (hi - lo) / BINS as f64;
            values.iter().for_each(|x| c[(((x - lo) / w) as usize).min(BINS - 1)] += 1);
            c
        };
        let max_pre = pre.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!((d.preact.hi as f64 - max_pre).abs() < 1e-4 * max_pre.max(1.0) && d.preact.lo == -d.preact.hi);
        let close = |a: &[u32], b: &[u32]| a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).sum::<u32>();
        let want_pre = count(&pre, -max_pre, max_pre);
        assert_eq!(d.preact.counts.iter().sum::<u32>(), (PROBE_ROWS * 64) as u32);
        assert!(close(&d.preact.counts, &want_pre) <= 4, "{what}: {:?} vs {want_pre:?}", d.preact.counts);
        let want_act = count(&h, -1.0, 1.0);
        assert_eq!((d.act.lo, d.act.hi), (-1.0, 1.0));
        assert!(close(&d.act.counts, &want_act) <= 4, "{what}: {:?} vs {want_act:?}", d.act.counts);

        // Logits and the softmax's confidence.
        let v = p.cfg.vocab_size;
        let (mut conf, mut right) = (0.0, 0.0);
        for (r, row) in logits.chunks(v).enumerate() {
            let m = row.iter().cloned().fold(f64::MIN, f64::max);
            let s: f64 = row.iter().map(|z| (z - m).exp()).sum();
            conf += 1.0 / s;
            right += (row[probe.y[r] as usize] - m).exp() / s;
        }
        let n = PROBE_ROWS as f64;
        assert!((d.logits.confidence as f64 - conf / n).abs() < 1e-4, "{what}: confidence");
        assert!((d.logits.target_prob as f64 - right / n).abs() < 1e-4, "{what}: target prob");
        let loss: f64 = logits
            .chunks(v)
            .enumerate()
            .map(|(r, row)| {
                let m = row.iter().cloned().fold(f64::MIN, f64::max);
                (row.iter().map(|z| (z - m).exp()).sum::<f64>()).ln() + m - row[probe.y[r] as usize]
            })
            .sum::<f64>()
            / n;
        assert!((d.loss as f64 - loss).abs() < 1e-4 * loss.max(1.0), "{what}: loss {} vs {loss}", d.loss);
        let mean = logits.iter().sum::<f64>() / logits.len() as f64;
        let std = (logits.iter().map(|z| (z - mean).powi(2)).sum::<f64>() / logits.len() as f64).sqrt();
        assert!((d.logits.std as f64 - std).abs() < 1e-4 * std.max(1.0), "{what}: logits std");
    }
}

#[test]
fn histogram_bins_are_equal_and_clamped() {
    let h = Histogram::new(&[-2.0, -1.0, -0.99, 0.0, 0.5, 1.0, 3.0, f32::NAN], -1.0, 1.0);
    assert_eq!(h.counts.len(), BINS);
    assert_eq!(h.counts.iter().sum::<u32>(), 7, "NaN is left out");
    assert_eq!(h.counts[0], 3, "-2 clamps into the first bin with -1 and -0.99");
    assert_eq!(h.counts[BINS / 2], 1);
    assert_eq!(h.counts[BINS - 1], 2, "1 and 3 land in the last bin");
    assert_eq!(Histogram::symmetric(&[0.0, 0.0]).hi, 1.0);
}

#[test]
fn gradients_match_finite_differences() {
    let (_, p, probe) = setup(Init::Kaiming, true);
    let g = pass(&p, &probe).grads;
    let loss_at = |i: usize, dx: f32| {
        let mut q = p.clone();
        q.data[i] += dx;
        pass(&q, &probe).loss as f64
    };
    for t in Tensor::ALL {
        let r = p.layout.range(t);
        // The coordinate with the largest gradient, and one more.
        let i = r.clone().max_by(|&a, &b| g[a].abs().total_cmp(&g[b].abs())).unwrap();
        for i in [i, r.start + r.len() / 3] {
            let eps = 1e-2;
            let fd = (loss_at(i, eps) - loss_at(i, -eps)) / (2.0 * eps as f64);
            let scale = g[r.clone()].iter().fold(0.0f32, |m, x| m.max(x.abs())) as f64;
            assert!(
                (g[i] as f64 - fd).abs() < 0.03 * scale + 1e-4,
                "{}[{i}]: {} vs finite difference {fd}",
                t.name(),
                g[i]
            );
        }
    }
}

#[test]
fn the_update_ratio_is_the_step_between_two_snapshots() {
    let (_, p, probe) = setup(Init::Naive, true);
    let lr = 0.1;
    let d = diagnose(&p, &probe, lr);
    // One SGD step on the probe batch: the second snapshot.
    let g = pass(&p, &probe).grads;
    let mut after = p.clone();
    after.data.iter_mut().zip(&g).for_each(|(w, g)| *w -= lr * g);
    let std = |x: &[f64]| {
        let m = x.iter().sum::<f64>() / x.len() as f64;
        (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    };
    assert_eq!(d.tensors.len(), 6);
    for (t, stats) in p.layout.tensors().map(|(t, _)| t).zip(&d.tensors) {
        assert_eq!(stats.name, t.name());
        let before: Vec<f64> = p.get(t).iter().map(|&x| x as f64).collect();
        let step: Vec<f64> = after.get(t).iter().zip(p.get(t)).map(|(a, b)| (a - b) as f64).collect();
        let want = (std(&step) / std(&before)).log10();
        let got = stats.update_ratio.expect("naive init: every tensor moves");
        assert!((got - want).abs() < 1e-3, "{}: {got} vs {want} from the snapshots", t.name());
        assert!((stats.data_std as f64 - std(&before)).abs() < 1e-5 * std(&before));
    }
    // A tensor that is all zero has no ratio.
    let zero = diagnose(&setup(Init::UniformZeroOutput, true).1, &probe, lr);
    assert_eq!(zero.tensors.iter().find(|t| t.name == "b2").unwrap().update_ratio, None);
}

/// The story at a small budget: all-positive uniform weights saturate
/// every tanh unit from the first step to the last and the loss stalls; the fix trains.
#[test]
fn uniform_inits_saturate_and_stall_where_the_fix_trains() {
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    let m = ModelConfig { vocab_size: data.vocab.len(), block_size: 3, n_embd: 50, n_hidden: 100, direct: false };
    let probe = Probe::first(&data.train, PROBE_ROWS);
    let run = |init: Init| {
        let cfg = TrainConfig { init, batch_size: 256, steps: 400, lr: 0.1, ..TrainConfig::default() };
        let p = Params::init(&m, init, cfg.seed).unwrap();
        let before = saturation(&p, &probe);
        let mut b = CpuBackend::new(&data, p, &cfg).unwrap();
        block_on(b.train(0, &[0.1; 400])).unwrap();
        let after = saturation(&block_on(b.params()).unwrap(), &probe);
        (before, after, block_on(b.evaluate(SplitName::Dev)).unwrap())
    };
    let fix = run(Init::SmallOutput);
    for init in [Init::UniformZeroOutput, Init::UniformSmallOutput] {
        let (before, after, dev) = run(init);
        assert!(before > 0.99 && after > 0.99, "{}: saturated {before} → {after}", init.name());
        assert!(dev > fix.2 + 0.2, "{}: dev {dev} should stall above the fix's {}", init.name(), fix.2);
    }
    assert!(fix.0 < 0.95, "the fix starts with some units free: {}", fix.0);
}
