#![cfg(all(not(target_arch = "wasm32"), feature = "gpu"))]
//! The GPU backend against the CPU backend on the names data: step-by-step
//! training losses from the same init and batches, evaluation of whole splits,
//! parameter and optimizer-state round trips, and the divergence guard.

mod gpu_support;

use makemore::backend::cpu::CpuBackend;
use makemore::backend::gpu::plan::KernelId;
use makemore::backend::gpu::{request_device, GpuBackend};
use makemore::backend::Backend;
use makemore::config::{Init, Optimizer, TrainConfig, L2};
use makemore::data::{Dataset, SplitName};
use makemore::model::ModelConfig;
use makemore::model::{Params, Tensor};
use makemore::optim::OptState;
use pollster::block_on;

use gpu_support::{assert_close, gpu_with, SETS};
use makemore::backend::KernelSet;

const NAMES: &[u8] = include_bytes!("../data/names.txt");

fn setup(direct: bool, cfg: TrainConfig) -> (Dataset, Params, TrainConfig) {
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    let m = ModelConfig { vocab_size: data.vocab.len(), block_size: 3, n_embd: 10, n_hidden: 64, direct };
    let params = Params::init(&m, Init::SmallOutput, 42).unwrap();
    (data, params, cfg)
}

/// Trains both backends on the same batches and compares every step's loss, on
/// each kernel set.
fn parity(direct: bool, cfg: TrainConfig, steps: usize, lr: f32) {
    let (data, params, cfg) = setup(direct, cfg);
    let mut cpu = CpuBackend::new(&data, params.clone(), &cfg).unwrap();
    let lrs = vec![lr; steps];
    let want = block_on(cpu.train(0, &lrs)).unwrap();
    for set in SETS {
        parity_set(set, &data, &params, &cfg, &want, &mut cpu, lr);
    }
}

fn parity_set(
    set: KernelSet,
    data: &Dataset,
    params: &Params,
    cfg: &TrainConfig,
    want: &[f32],
    cpu: &mut CpuBackend,
    lr: f32,
) {
    let steps = want.len();
    let lrs = vec![lr; steps];
    let mut gpu = gpu_with(set, data, params.clone(), cfg);
    // Two chunks, so the step numbering across submissions is covered too.
    let mut got = block_on(gpu.train(0, &lrs[..steps / 2])).unwrap();
    got.extend(block_on(gpu.train((steps / 2) as u64, &lrs[steps / 2..])).unwrap());
    assert_eq!(got.len(), steps);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-3, "{set:?} step {i}: gpu loss {g} vs cpu {w}");
    }
    assert!(want[steps - 1] < want[0] - 0.3, "training did not progress: {} → {}", want[0], want[steps - 1]);
    // Evaluation of whole splits (the train split spans many ragged tiles).
    for split in [SplitName::Train, SplitName::Dev] {
        let (g, w) = (block_on(gpu.evaluate(split)).unwrap(), block_on(cpu.evaluate(split)).unwrap());
        assert!((g - w).abs() <= 1e-4 * w, "{set:?} {split:?}: gpu {g} vs cpu {w}");
    }
    let (g, w) = (block_on(gpu.params()).unwrap(), block_on(cpu.params()).unwrap());
    assert_close(&format!("{set:?} params after training"), &g.data, &w.data, 1e-2);
}

#[test]
fn sgd_training_matches_cpu() {
    parity(false, TrainConfig { batch_size: 32, ..TrainConfig::default() }, 200, 0.1);
}

#[test]
fn sgd_training_matches_cpu_with_direct_connections() {
    parity(true, TrainConfig { batch_size: 32, ..TrainConfig::default() }, 200, 0.1);
}

#[test]
fn adamw_training_matches_cpu() {
    let cfg = TrainConfig {
        batch_size: 64,
        optimizer: Optimizer::Adamw,
        weight_decay: 0.01,
        l2: L2 { c: 0.001, w1: 0.001, w2: 0.001 },
        ..TrainConfig::default()
    };
    parity(true, cfg, 200, 0.01);
}

#[test]
fn params_and_optimizer_state_round_trip() {
    for set in SETS {
        round_trip(set);
    }
}

fn round_trip(set: KernelSet) {
    let (data, params, cfg) = setup(true, TrainConfig { optimizer: Optimizer::Adam, ..TrainConfig::default() });
    let (device, queue) =
        block_on(request_device()).unwrap_or_else(|e| panic!("the GPU tests need a GPU adapter: {e}"));
    let mut g = block_on(GpuBackend::new_with_device(device, queue, &data, params.clone(), &cfg, Some(set))).unwrap();
    assert_eq!(block_on(g.params()).unwrap(), params);
    let state =
        OptState { m: (0..params.data.len()).map(|i| i as f32).collect(), v: vec![0.5; params.data.len()], t: 3 };
    g.set_opt_state(&state).unwrap();
    assert_eq!(block_on(g.opt_state()).unwrap(), Some(state));
    let mut other = params.clone();
    other.data.iter_mut().for_each(|x| *x = -*x * 0.5);
    g.set_params(&other).unwrap();
    assert_eq!(block_on(g.params()).unwrap(), other);
    assert!(block_on(g.opt_state()).unwrap().unwrap().m.iter().all(|&x| x == 0.0), "set_params clears the moments");
    let mut cpu = CpuBackend::new(&data, other, &cfg).unwrap();
    let (gd, cd) = (block_on(g.evaluate(SplitName::Test)).unwrap(), block_on(cpu.evaluate(SplitName::Test)).unwrap());
    assert!((gd - cd).abs() <= 1e-4 * cd, "{set:?} test split: gpu {gd} vs cpu {cd}");
    let bad = Params::init(&ModelConfig { n_hidden: 7, ..params.cfg.clone() }, Init::Kaiming, 1).unwrap();
    assert!(g.set_params(&bad).is_err());
}

#[test]
fn non_finite_loss_updates_nothing() {
    let (data, mut params, cfg) = setup(false, TrainConfig::default());
    params.get_mut(Tensor::B2)[0] = f32::INFINITY;
    for set in SETS {
        let mut g = gpu_with(set, &data, params.clone(), &cfg);
        let losses = block_on(g.train(0, &[0.1; 5])).unwrap();
        assert_eq!(losses.len(), 1, "{set:?}: training stops at the first non-finite loss: {losses:?}");
        assert!(!losses[0].is_finite());
        assert_eq!(block_on(g.params()).unwrap(), params, "{set:?}: the parameters stay the last good ones");
    }
}

/// 1024 rows: on a software adapter the hardware set runs its tiled program
/// (matmul_tiled.wgsl) from this batch on (tuning::SOFTWARE, 32-row tiles).
fn tiled_parity(direct: bool, cfg: TrainConfig, lr: f32) {
    let (data, params, cfg) = setup(direct, cfg);
    let g = gpu_with(KernelSet::Hardware, &data, params, &cfg);
    assert!(g.train_plan().iter().any(|p| matches!(p.kernel, KernelId::Tiled(_))), "{:#?}", g.train_plan());
    drop(g);
    parity(direct, cfg, 200, lr);
}

#[test]
fn tiled_sgd_training_matches_cpu() {
    tiled_parity(false, TrainConfig { batch_size: 1024, ..TrainConfig::default() }, 0.1);
}

#[test]
fn tiled_adam_training_matches_cpu_with_direct_connections() {
    let cfg = TrainConfig {
        batch_size: 1024,
        optimizer: Optimizer::Adam,
        l2: L2 { c: 0.001, w1: 0.001, w2: 0.001 },
        ..TrainConfig::default()
    };
    tiled_parity(true, cfg, 0.01);
}
