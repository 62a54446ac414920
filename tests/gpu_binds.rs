#![cfg(all(not(target_arch = "wasm32"), feature = "gpu"))]
//! Bind groups are made once, when a backend is built: training steps and
//! evaluations only set them. One test in its own binary, so no other test makes
//! bind groups while it counts (the count is per process).

mod gpu_support;

use std::sync::atomic::Ordering;

use makemore::backend::gpu::kernels::BIND_GROUPS_MADE;
use makemore::backend::Backend;
use makemore::config::{Init, TrainConfig};
use makemore::data::{Dataset, SplitName};
use makemore::model::ModelConfig;
use makemore::model::Params;
use pollster::block_on;

use gpu_support::{gpu_with, SETS};

const NAMES: &[u8] = include_bytes!("../data/names.txt");

#[test]
fn steps_and_evaluations_make_no_bind_groups() {
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    let m = ModelConfig { vocab_size: data.vocab.len(), block_size: 3, n_embd: 10, n_hidden: 64, direct: true };
    let params = Params::init(&m, Init::Kaiming, 42).unwrap();
    // 32 rows: the per-row programs; 1024 rows: the software split-K passes and
    // the hardware set's tiled program (on a software adapter).
    for batch in [32, 1024] {
        let cfg = TrainConfig { batch_size: batch, ..TrainConfig::default() };
        for set in SETS {
            let before = BIND_GROUPS_MADE.load(Ordering::Relaxed);
            let mut g = gpu_with(set, &data, params.clone(), &cfg);
            let built = BIND_GROUPS_MADE.load(Ordering::Relaxed);
            assert!(built > before, "{set:?}: building made no bind groups");
            block_on(g.train(0, &[0.1; 3])).unwrap();
            block_on(g.train(3, &[0.1; 2])).unwrap();
            block_on(g.evaluate(SplitName::Dev)).unwrap();
            block_on(g.params()).unwrap();
            let after = BIND_GROUPS_MADE.load(Ordering::Relaxed);
            assert_eq!(after, built, "{set:?} batch {batch}: training or evaluating made bind groups");
        }
    }
}
