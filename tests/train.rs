#![cfg(not(target_arch = "wasm32"))]
//! Training on the CPU backend end to end: loss falls, inits start where the
//! notebook says, divergence keeps the last good parameters, weights round-trip.

use makemore::backend::cpu::CpuBackend;
use makemore::backend::Backend;
use makemore::config::{Init, Optimizer, Schedule, TrainConfig};
use makemore::data::{Dataset, SplitName};
use makemore::model::ModelConfig;
use makemore::model::Params;
use makemore::session::Session;
use makemore::weights;
use makemore::Error;
use pollster::block_on;

#[cfg(feature = "gpu")]
mod gpu_support;
mod init_floors;

const NAMES: &[u8] = include_bytes!("../data/names.txt");

fn model(data: &Dataset, emb: usize, hidden: usize, direct: bool) -> ModelConfig {
    ModelConfig { vocab_size: data.vocab.len(), block_size: data.block_size, n_embd: emb, n_hidden: hidden, direct }
}

fn trainer(data: &Dataset, m: &ModelConfig, cfg: TrainConfig) -> Session<CpuBackend> {
    let params = Params::init(m, cfg.init, cfg.seed).unwrap();
    Session::new(CpuBackend::new(data, params, &cfg).unwrap(), cfg)
}

/// Each scheme's initial loss on `split` through the backend `open` builds.
fn check_initial_losses<B: Backend>(split: SplitName, open: impl Fn(&Dataset, Params, &TrainConfig) -> B) {
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    let m = model(&data, 50, 100, false);
    let uniform = (data.vocab.len() as f64).ln();
    for init in Init::ALL {
        let cfg = TrainConfig { init, ..TrainConfig::default() };
        let mut backend = open(&data, Params::init(&m, init, cfg.seed).unwrap(), &cfg);
        let loss = block_on(backend.evaluate(split)).unwrap() as f64;
        let want = init_floors::initial_loss_range(init, uniform);
        assert!(want.contains(&loss), "{} starts at {loss}, expected {want:?}", init.name());
    }
}

#[test]
fn initial_loss_depends_on_the_init_scheme() {
    check_initial_losses(SplitName::Train, |d, p, c| CpuBackend::new(d, p, c).unwrap());
}

/// The same schemes on the GPU backend (init is drawn on the CPU and uploaded).
#[cfg(feature = "gpu")]
#[test]
fn initial_loss_depends_on_the_init_scheme_on_the_gpu() {
    check_initial_losses(SplitName::Dev, gpu_support::gpu);
}

#[test]
fn adam_training_lowers_the_dev_loss() {
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    let m = model(&data, 10, 64, true);
    let cfg = TrainConfig {
        steps: 1500,
        batch_size: 128,
        lr: 0.01,
        lr_decay: Schedule::Cosine { floor: 0.1 },
        optimizer: Optimizer::Adam,
        init: Init::Kaiming,
        ..TrainConfig::default()
    };
    let mut t = trainer(&data, &m, cfg);
    let before = block_on(t.evaluate(SplitName::Dev)).unwrap();
    while !t.done() {
        block_on(t.run(500)).unwrap();
    }
    let after = block_on(t.evaluate_all()).unwrap();
    assert_eq!(t.history.len(), 1500);
    assert!(after.dev < 2.5 && after.dev < before - 0.7, "dev {before} -> {}", after.dev);
    assert!(after.train.is_finite() && after.test.is_finite());
}

#[test]
fn divergence_stops_with_a_clear_error_and_keeps_the_last_good_parameters() {
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    let m = model(&data, 10, 64, false);
    let cfg = TrainConfig {
        steps: 3000,
        lr: 100.0,
        lr_decay: Schedule::Constant,
        init: Init::Naive,
        ..TrainConfig::default()
    };
    let mut t = trainer(&data, &m, cfg);
    block_on(t.checkpoint()).unwrap();
    let start = block_on(t.evaluate(SplitName::Dev)).unwrap();
    let err = loop {
        if let Err(e) = block_on(t.run(50)) {
            break e;
        }
        assert!(!t.done(), "lr 100 never diverged");
    };
    let Error::Diverged { step, loss } = err else { panic!("expected divergence, got {err}") };
    assert!(step < 500, "detected at step {step}");
    assert!(loss > 4.0 * t.history[0], "{loss}");
    // A finite blow-up is applied like any step, so the trainer is at or past the first bad step.
    assert!(t.step >= step && t.history.len() as u64 == t.step, "bad step {step}, trainer at {}", t.step);
    assert!(err.to_string().contains("lower the learning rate"));
    assert_eq!(t.restore(None).unwrap(), Some(0));
    assert_eq!((t.step, t.history.len()), (0, 0));
    assert_eq!(block_on(t.evaluate(SplitName::Dev)).unwrap(), start, "back at the checkpoint");
}

#[test]
fn restore_in_a_resumed_run_cuts_the_history_at_the_checkpoint() {
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    let mut t = trainer(&data, &model(&data, 4, 16, false), TrainConfig::default());
    t.step = 1000; // as after loading weights saved at step 1000: no history before it
    block_on(t.run(30)).unwrap();
    block_on(t.checkpoint()).unwrap();
    let kept = t.history.clone();
    let params = block_on(t.backend.params()).unwrap();
    block_on(t.run(20)).unwrap();
    assert_eq!((t.first_step(), t.history.len()), (1000, 50));
    assert_eq!(t.restore(None).unwrap(), Some(1030));
    assert_eq!((t.step, &t.history), (1030, &kept));
    assert_eq!(t.last_good(), Some((1030, &params)));
    assert_eq!(block_on(t.backend.params()).unwrap(), params);
}

#[test]
fn weights_round_trip_through_a_backend() {
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    let m = model(&data, 8, 32, true);
    let cfg = TrainConfig { steps: 100, optimizer: Optimizer::Adam, lr: 0.01, ..TrainConfig::default() };
    let mut t = trainer(&data, &m, cfg.clone());
    block_on(t.run(100)).unwrap();
    let ck = block_on(t.save(&data)).unwrap();
    let loaded = weights::load(&weights::save(&ck).unwrap()).unwrap();
    assert_eq!(loaded, ck);
    let mut fresh = trainer(&data, &m, cfg);
    fresh.backend.set_params(&loaded.params).unwrap();
    fresh.backend.set_opt_state(loaded.opt.as_ref().unwrap()).unwrap();
    let (a, b) = (block_on(t.evaluate(SplitName::Dev)).unwrap(), block_on(fresh.evaluate(SplitName::Dev)).unwrap());
    assert_eq!(a, b);
    // Resuming from the restored state continues exactly like the original.
    let la = block_on(t.backend.train(100, &[0.01; 5])).unwrap();
    let lb = block_on(fresh.backend.train(100, &[0.01; 5])).unwrap();
    assert_eq!(la, lb);
    // Weights of another shape are refused and leave the model untouched.
    let other = Params::init(&model(&data, 4, 32, true), Init::Naive, 1).unwrap();
    assert!(fresh.backend.set_params(&other).is_err());
    assert_eq!(block_on(fresh.evaluate(SplitName::Dev)).unwrap(), block_on(t.evaluate(SplitName::Dev)).unwrap());
}

#[test]
fn a_non_finite_loss_updates_nothing() {
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    let m = model(&data, 8, 32, false);
    let mut t = trainer(&data, &m, TrainConfig::default());
    let mut bad = block_on(t.backend.params()).unwrap();
    bad.data[0] = f32::NAN; // C[0, 0]: every context starts with token 0
    t.backend.set_params(&bad).unwrap();
    let losses = block_on(t.backend.train(0, &[0.1; 10])).unwrap();
    assert_eq!(losses.len(), 1, "the chunk stops at the first bad step");
    assert!(losses[0].is_nan());
    let after = block_on(t.backend.params()).unwrap();
    assert!(after.data[1..].iter().zip(&bad.data[1..]).all(|(a, b)| a == b), "nothing was updated");
    let err = block_on(t.run(10)).unwrap_err();
    assert!(matches!(err, Error::Diverged { step: 0, .. }), "{err}");
}
