//! The facts the page and the bench page share with Rust, in one object: every
//! limit of a setting and the bench configs. JS reads them from the wasm build
//! (`constants()`; the presets come from `presetConfigs()` and the init schemes
//! from `diagnosticsConstants()`) and keeps no copy. Compiled on every target, so
//! native tests check the same object.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{
    BenchConfig, Init, BENCH_CONFIGS, BENCH_EVAL_EVERY, BENCH_TARGETS, BENCH_TTT_PRESET, MAX_BATCH, MAX_BLOCK,
    MAX_EMBD, MAX_HIDDEN, MAX_PARAMS, MAX_STEPS, MAX_VOCAB,
};
use crate::web::config::WebConfig;

/// The range a numeric setting accepts, both ends included (`max: None`: no bound
/// but the type's).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Range {
    pub min: f64,
    pub max: Option<f64>,
}

/// `makemore bench`'s measurements, for the bench page and bench/browser.mjs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bench {
    /// The speed table's configs, by name.
    pub configs: BTreeMap<&'static str, BenchConfig>,
    /// Laid under each speed config: a constant-rate SGD run that never ends.
    pub base: WebConfig,
    /// The time-to-target preset, its dev targets and the steps between evaluations.
    pub ttt_preset: &'static str,
    pub targets: Vec<f64>,
    pub eval_every: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Constants {
    /// Keyed by setting (`n_hidden`, `batch_size`, …), as in the settings object.
    pub limits: BTreeMap<&'static str, Range>,
    /// The most parameters a model may have, and the widest vocabulary.
    pub max_params: usize,
    pub max_vocab: usize,
    pub bench: Bench,
}

fn range(min: f64, max: Option<f64>) -> Range {
    Range { min, max }
}

/// Every shared fact, built from the constants of [`crate::config`].
pub fn constants() -> Constants {
    let n = |x: usize| Some(x as f64);
    let limits = BTreeMap::from([
        ("block_size", range(1.0, n(MAX_BLOCK))),
        ("n_embd", range(1.0, n(MAX_EMBD))),
        ("n_hidden", range(1.0, n(MAX_HIDDEN))),
        ("batch_size", range(1.0, n(MAX_BATCH))),
        ("steps", range(0.0, Some(MAX_STEPS as f64))),
        ("lr", range(0.0, None)),
        ("weight_decay", range(0.0, None)),
        ("l2_c", range(0.0, None)),
        ("l2_w1", range(0.0, None)),
        ("l2_w2", range(0.0, None)),
        ("eval_every", range(0.0, None)),
        ("seed", range(0.0, None)),
        ("split_seed", range(0.0, None)),
    ]);
    let base = WebConfig {
        preset: Some("e02".into()),
        // Ten million: far more than a timed bench cell trains, and within the
        // page's memory check, which counts the loss history (12 bytes a step).
        steps: Some(10_000_000),
        lr: Some(0.01),
        lr_decay: Some(crate::config::Schedule::Constant),
        optimizer: Some(crate::config::Optimizer::Sgd),
        init: Some(Init::SmallOutput),
        ..WebConfig::default()
    };
    Constants {
        limits,
        max_params: MAX_PARAMS,
        max_vocab: MAX_VOCAB,
        bench: Bench {
            configs: BENCH_CONFIGS.iter().map(|c| (c.name, c.clone())).collect(),
            base,
            ttt_preset: BENCH_TTT_PRESET,
            targets: BENCH_TARGETS.to_vec(),
            eval_every: BENCH_EVAL_EVERY,
        },
    }
}

/// `constants()` in JS: the object above, as plain objects and arrays.
#[cfg(all(target_arch = "wasm32", feature = "gpu"))]
#[wasm_bindgen::prelude::wasm_bindgen(js_name = constants)]
pub fn constants_js() -> std::result::Result<wasm_bindgen::JsValue, wasm_bindgen::JsError> {
    crate::web::to_js(&constants())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelConfig;

    #[test]
    fn the_limits_are_the_ones_validation_applies() {
        let c = constants();
        let max = |k: &str| c.limits[k].max.unwrap() as usize;
        let m = ModelConfig { vocab_size: 27, block_size: 3, n_embd: 10, n_hidden: 200, direct: false };
        for (key, at, over) in [
            (
                "block_size",
                ModelConfig { block_size: max("block_size"), ..m.clone() },
                ModelConfig { block_size: max("block_size") + 1, ..m.clone() },
            ),
            (
                "n_embd",
                ModelConfig { n_embd: max("n_embd"), n_hidden: 1, ..m.clone() },
                ModelConfig { n_embd: max("n_embd") + 1, ..m.clone() },
            ),
            (
                "n_hidden",
                ModelConfig { n_hidden: max("n_hidden"), ..m.clone() },
                ModelConfig { n_hidden: max("n_hidden") + 1, ..m.clone() },
            ),
        ] {
            assert!(at.validate().is_ok(), "{key} at its max");
            assert!(
                matches!(over.validate(), Err(crate::Error::Config { ref field, .. }) if field == key),
                "{key} over"
            );
        }
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["bench"]["configs"]["seed"]["batch_size"], 16384);
        // The speed base resolves: every bench config is a valid page setting.
        for b in BENCH_CONFIGS {
            let cfg = WebConfig {
                block_size: Some(b.block_size),
                n_embd: Some(b.n_embd),
                n_hidden: Some(b.n_hidden),
                batch_size: Some(b.batch_size),
                ..c.bench.base.clone()
            };
            cfg.resolve().unwrap();
        }
    }
}
