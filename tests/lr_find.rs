#![cfg(not(target_arch = "wasm32"))]
//! The learning-rate finder on the lecture's configuration, whose good SGD rate
//! is known (the lecture settles on 0.1), and its stop when the loss blows up.

use makemore::backend::cpu::CpuBackend;
use makemore::backend::Backend;
use makemore::config::{Preset, TrainConfig};
use makemore::data::Dataset;
use makemore::lr_find::{lr_find, rates, LR_HI, LR_LO, SAFETY, STEPS};
use makemore::model::Params;
use pollster::block_on;

const NAMES: &[u8] = include_bytes!("../data/names.txt");

fn lecture() -> (Dataset, Params, TrainConfig) {
    let p = Preset::get("lecture").unwrap();
    let data = Dataset::new(NAMES, p.block_size, p.train.split_seed).unwrap();
    let params = Params::init(&p.model(data.vocab.len()), p.train.init, p.train.seed).unwrap();
    (data, params, p.train)
}

#[test]
fn the_lecture_config_gets_a_rate_near_the_lectures() {
    let (data, params, cfg) = lecture();
    let mut scratch = CpuBackend::new(&data, params.clone(), &cfg).unwrap();
    let found = block_on(lr_find(&mut scratch, &rates(STEPS, LR_LO, LR_HI).unwrap())).unwrap();
    assert!(
        (0.03..=0.5).contains(&found.suggested_lr),
        "suggested {} (valley {}); the lecture trains at 0.1",
        found.suggested_lr,
        found.valley_lr
    );
    assert_eq!(found.suggested_lr, found.valley_lr / SAFETY);
    assert_eq!(found.lrs.len(), found.losses.len());
    assert_eq!(found.smoothed.len(), found.losses.len());
    // The scratch backend trained; the parameters it was built from did not change.
    assert_ne!(block_on(scratch.params()).unwrap(), params);
    assert_eq!(params, lecture().1);
}

#[test]
fn a_sweep_into_divergence_stops_and_still_suggests() {
    let (data, params, cfg) = lecture();
    let lrs = rates(400, 1e-2, 1e4).unwrap();
    let found = block_on(lr_find(&mut CpuBackend::new(&data, params, &cfg).unwrap(), &lrs)).unwrap();
    assert!(found.lrs.len() < lrs.len(), "a rate of 10^4 must blow the loss up");
    assert!(found.losses.iter().all(|l| l.is_finite()));
    assert!(found.valley_lr < 10.0 && found.suggested_lr.is_finite(), "valley {}", found.valley_lr);
}
