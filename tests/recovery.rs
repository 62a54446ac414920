#![cfg(not(target_arch = "wasm32"))]
//! Recovery after divergence, on every backend with one test body each: a run
//! driven to NaN and reset to its last good checkpoint trains on with finite
//! losses, and Adam's first update after a restore is the size of a first step
//! (its bias correction restarts with its moments).

mod gpu_support;

use makemore::backend::cpu::CpuBackend;
use makemore::backend::gpu::GpuBackend;
use makemore::backend::Backend;
use makemore::config::{ModelConfig, Optimizer, Schedule, TrainConfig};
use makemore::data::Dataset;
use makemore::model::Params;
use makemore::train::Trainer;
use makemore::Error;
use pollster::block_on;

const NAMES: &[u8] = include_bytes!("../data/names.txt");

fn setup(hidden: usize, optimizer: Optimizer, lr: f32) -> (Dataset, Params, TrainConfig) {
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    let m = ModelConfig {
        vocab_size: data.vocab.len(),
        block_size: data.block_size,
        n_embd: 10,
        n_hidden: hidden,
        direct: false,
    };
    let cfg = TrainConfig {
        steps: 1000,
        batch_size: 32,
        lr,
        optimizer,
        lr_decay: Schedule::Constant,
        ..TrainConfig::default()
    };
    let params = Params::init(&m, cfg.init, cfg.seed).unwrap();
    (data, params, cfg)
}

fn cpu(data: &Dataset, params: Params, cfg: &TrainConfig) -> CpuBackend {
    CpuBackend::new(data, params, cfg).unwrap()
}

/// The page's flow: an absurd rate drives the loss to NaN, then "Reset to last
/// good checkpoint" with a sane rate must train on with finite losses.
fn nan_then_reset<B: Backend>(make: impl Fn(&Dataset, Params, &TrainConfig) -> B, hidden: usize, optimizer: Optimizer) {
    let (data, params, cfg) = setup(hidden, optimizer, 3e38);
    let mut tr = Trainer::new(make(&data, params, &cfg), cfg);
    block_on(tr.checkpoint()).unwrap();
    match block_on(tr.run(20)) {
        Err(Error::Diverged { loss, .. }) => assert!(!loss.is_finite(), "H={hidden} {optimizer:?}: diverged at {loss}"),
        other => panic!("H={hidden} {optimizer:?}: lr 3e38 should diverge to NaN, got {other:?}"),
    }
    assert_eq!(tr.restore().unwrap(), Some(0));
    tr.cfg.lr = if optimizer == Optimizer::Sgd { 0.1 } else { 0.001 };
    let losses =
        block_on(tr.run(100)).unwrap_or_else(|e| panic!("H={hidden} {optimizer:?} after the reset: {e}")).to_vec();
    assert!(losses.iter().all(|l| l.is_finite()), "H={hidden} {optimizer:?}: non-finite loss after the reset");
    let (head, tail) = (losses[..10].iter().sum::<f32>(), losses[90..].iter().sum::<f32>());
    assert!(
        tail < head,
        "H={hidden} {optimizer:?}: the loss did not fall after the reset ({head} → {tail} over 10 steps)"
    );
}

/// After training on and restoring the step-0 checkpoint, the next update (the
/// same batch as a fresh run's first) must equal a fresh run's first update.
fn adam_restarts_after_restore<B: Backend>(make: impl Fn(&Dataset, Params, &TrainConfig) -> B, tol: f32) {
    let (data, p0, cfg) = setup(64, Optimizer::Adam, 0.01);
    let mut fresh = make(&data, p0.clone(), &cfg);
    block_on(fresh.train(0, &[cfg.lr])).unwrap();
    let want = block_on(fresh.params()).unwrap();

    let mut tr = Trainer::new(make(&data, p0.clone(), &cfg), cfg);
    block_on(tr.checkpoint()).unwrap();
    block_on(tr.run(30)).unwrap();
    tr.restore().unwrap();
    block_on(tr.run(1)).unwrap();
    let got = block_on(tr.backend.params()).unwrap();
    let step = |p: &Params| p.data.iter().zip(&p0.data).map(|(a, b)| a - b).collect::<Vec<f32>>();
    let (dw, dg) = (step(&want), step(&got));
    let scale = dw.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    for (i, (w, g)) in dw.iter().zip(&dg).enumerate() {
        assert!((w - g).abs() <= tol * scale, "update[{i}] after the restore is {g}, a first update is {w}");
    }
}

#[test]
fn cpu_nan_then_reset_trains_on() {
    for hidden in [64, 100, 300] {
        for opt in [Optimizer::Sgd, Optimizer::Adam] {
            nan_then_reset(cpu, hidden, opt);
        }
    }
}

#[test]
fn gpu_nan_then_reset_trains_on() {
    for opt in [Optimizer::Sgd, Optimizer::Adam] {
        nan_then_reset(gpu_support::gpu, 100, opt);
    }
}

#[test]
fn cpu_adam_bias_correction_restarts_with_the_moments() {
    adam_restarts_after_restore(cpu, 0.0);
}

#[test]
fn gpu_adam_bias_correction_restarts_with_the_moments() {
    adam_restarts_after_restore(|d: &Dataset, p, c: &TrainConfig| -> GpuBackend { gpu_support::gpu(d, p, c) }, 1e-4);
}

/// A finite blow-up is applied like any step: the step count follows the
/// backend, so resuming never replays a batch on parameters that moved.
#[test]
fn a_finite_blowup_leaves_the_step_count_with_the_backend() {
    let (data, params, cfg) = setup(64, Optimizer::Sgd, 0.1);
    let mut tr = Trainer::new(cpu(&data, params, &cfg), cfg);
    block_on(tr.run(5)).unwrap();
    // A rate that multiplies the loss many times over but stays finite for a few steps.
    tr.cfg.lr = 50.0;
    let mut applied = 5;
    loop {
        match block_on(tr.run(10)) {
            Ok(l) => applied += l.len() as u64,
            Err(Error::Diverged { step, loss }) => {
                assert!(step >= applied, "the bad step {step} is before the {applied} already applied");
                assert!(tr.step >= step, "step {} behind the bad step {step} (loss {loss})", tr.step);
                assert_eq!(tr.history.len() as u64, tr.step, "history and step disagree");
                break;
            }
            Err(e) => panic!("{e}"),
        }
        assert!(applied < 1000, "lr 50 never diverged");
    }
}
