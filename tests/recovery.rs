#![cfg(not(target_arch = "wasm32"))]
//! Recovery after divergence, on every backend with one test body each: a run
//! driven to NaN and reset to its last good checkpoint trains on with finite
//! losses, and Adam's first update after a restore is the size of a first step
//! (its bias correction restarts with its moments).

mod gpu_support;

use makemore::backend::cpu::CpuBackend;
use makemore::backend::gpu::GpuBackend;
use makemore::backend::Backend;
use makemore::config::{Optimizer, Schedule, TrainConfig};
use makemore::data::Dataset;
use makemore::model::ModelConfig;
use makemore::model::Params;
use makemore::session::Session;
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
    let mut tr = Session::new(make(&data, params, &cfg), cfg);
    block_on(tr.checkpoint()).unwrap();
    match block_on(tr.run(20)) {
        Err(Error::Diverged { loss, .. }) => assert!(!loss.is_finite(), "H={hidden} {optimizer:?}: diverged at {loss}"),
        other => panic!("H={hidden} {optimizer:?}: lr 3e38 should diverge to NaN, got {other:?}"),
    }
    let sane = if optimizer == Optimizer::Sgd { 0.1 } else { 0.001 };
    assert_eq!(tr.restore(Some(sane)).unwrap(), Some(0));
    assert_eq!(tr.cfg.lr, sane);
    let losses =
        block_on(tr.run(100)).unwrap_or_else(|e| panic!("H={hidden} {optimizer:?} after the reset: {e}")).to_vec();
    assert!(losses.iter().all(|l| l.is_finite()), "H={hidden} {optimizer:?}: non-finite loss after the reset");
    let (head, tail) = (losses[..10].iter().sum::<f32>(), losses[90..].iter().sum::<f32>());
    assert!(
        tail < head,
        "H={hidden} {optimizer:?}: the loss did not fall after the reset ({head} → {tail} over 10 steps)"
    );
}

/// Adam's first update from zeroed moments is lr·g/(|g| + ε) ≈ ±lr for every
/// entry with a gradient (m̂ = g, v̂ = g²): an independent check of its size. A
/// restore to a checkpoint at step 30 zeroes the moments, so the next update
/// must have that size, not the one of a 31st update.
fn adam_restarts_after_restore<B: Backend>(make: impl Fn(&Dataset, Params, &TrainConfig) -> B) {
    let (data, p0, cfg) = setup(64, Optimizer::Adam, 0.01);
    let lr = cfg.lr;
    let mut tr = Session::new(make(&data, p0, &cfg), cfg);
    block_on(tr.run(30)).unwrap();
    block_on(tr.checkpoint()).unwrap();
    let before = block_on(tr.backend.params()).unwrap();
    block_on(tr.run(20)).unwrap();
    assert_eq!(tr.restore(None).unwrap(), Some(30));
    block_on(tr.run(1)).unwrap();
    let after = block_on(tr.backend.params()).unwrap();
    let largest = after.data.iter().zip(&before.data).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        (largest - lr).abs() < 0.01 * lr,
        "the first update after the restore moved a parameter by at most {largest}; a first Adam update moves by lr = {lr}"
    );
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
    adam_restarts_after_restore(cpu);
}

#[test]
fn gpu_adam_bias_correction_restarts_with_the_moments() {
    adam_restarts_after_restore(|d: &Dataset, p, c: &TrainConfig| -> GpuBackend { gpu_support::gpu(d, p, c) });
}

/// A finite blow-up is applied like any step: afterwards the trainer's step
/// count must be the number of steps the backend applied, so that resuming
/// never replays a batch on parameters that already moved. Checked against a
/// second backend that trains exactly `step` steps with the same rates.
#[test]
fn a_finite_blowup_leaves_the_step_count_with_the_backend() {
    let (data, p0, cfg) = setup(64, Optimizer::Sgd, 0.1);
    let mut tr = Session::new(cpu(&data, p0.clone(), &cfg), cfg.clone());
    block_on(tr.run(5)).unwrap();
    // Large enough to multiply the loss many times over in a step, small enough to stay finite.
    let high = 20.0;
    tr.cfg.lr = high;
    match block_on(tr.run(10)) {
        Err(Error::Diverged { loss, .. }) => assert!(loss.is_finite(), "this test needs a finite blow-up, got {loss}"),
        other => panic!("lr {high} should blow up within 10 steps: {other:?}"),
    }
    assert_eq!(tr.history.len() as u64, tr.step, "history and step disagree");
    let mut reference = cpu(&data, p0, &cfg);
    block_on(reference.train(0, &[0.1; 5])).unwrap();
    block_on(reference.train(5, &vec![high; tr.step as usize - 5])).unwrap();
    assert_eq!(
        block_on(tr.backend.params()).unwrap().data,
        block_on(reference.params()).unwrap().data,
        "the backend is not at step {}",
        tr.step
    );
}
