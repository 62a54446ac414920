//! The facts the page and the bench page share with Rust, in one object: every
//! setting's kind, choices, short label, element attributes and limits, and the
//! bench configs. JS reads them from the wasm build (`constants()`; the presets
//! come from `presetConfigs()` and the init schemes' words from
//! `diagnosticsConstants()`) and keeps no copy. `benchReached()` judges a browser
//! time-to-target trace by the native bench's rule ([`crate::config::targets_reached`]). Compiled on every
//! target, so native tests check the same object.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::backend::KernelSet;
use crate::config::{
    BenchConfig, Init, Optimizer, BENCH_CONFIGS, BENCH_EVAL_EVERY, BENCH_TARGETS, BENCH_TTT_PRESET, MAX_BATCH,
    MAX_BLOCK, MAX_EMBD, MAX_HIDDEN, MAX_PARAMS, MAX_STEPS, MAX_VOCAB, PRESET_NAMES,
};
use crate::web::config::{BackendChoice, WebConfig};

/// What a setting's value is, for JS that reads one from text (a URL, an
/// element's attribute, a sweep's list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A whole number.
    Int,
    Float,
    Bool,
    /// Free text Rust parses (a schedule: `none`, `cosine:0.05`, `100000:0.1`).
    Text,
    /// One of `choices`.
    Choice,
}

/// One key of the settings object ([`WebConfig`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Setting {
    pub kind: Kind,
    /// The words a `choice` takes (empty for the other kinds).
    pub choices: Vec<String>,
    /// The label a sweep names its runs by (`H=200`): the lecture's letters for
    /// the shape, else a short word.
    pub short: &'static str,
    /// The `<makemore-trainer>` attributes that set it: the CLI's short alias where
    /// there is one (`emb`) and it is not an attribute every HTML element has
    /// (`hidden` would hide the element), the kebab-case key (`lr-decay`) and the
    /// key itself.
    pub attributes: Vec<String>,
}

/// Every settings key: its kind, its sweep label and the CLI's short alias
/// (`--hidden`, `--kernels`). A test checks the keys against [`WebConfig`]'s.
const SETTINGS: [(&str, Kind, &str, Option<&str>); 20] = [
    ("preset", Kind::Choice, "preset", None),
    ("backend", Kind::Choice, "backend", None),
    ("gpu_kernels", Kind::Choice, "kernels", Some("kernels")),
    ("block_size", Kind::Int, "T", Some("block")),
    ("n_embd", Kind::Int, "E", Some("emb")),
    ("n_hidden", Kind::Int, "H", Some("hidden")),
    ("direct", Kind::Bool, "W3", None),
    ("init", Kind::Choice, "init", None),
    ("optimizer", Kind::Choice, "opt", None),
    ("batch_size", Kind::Int, "batch", Some("batch")),
    ("steps", Kind::Int, "steps", None),
    ("lr", Kind::Float, "lr", None),
    ("lr_decay", Kind::Text, "decay", None),
    ("weight_decay", Kind::Float, "wd", None),
    ("l2_c", Kind::Float, "l2_c", None),
    ("l2_w1", Kind::Float, "l2_w1", None),
    ("l2_w2", Kind::Float, "l2_w2", None),
    ("seed", Kind::Int, "seed", None),
    ("split_seed", Kind::Int, "split_seed", None),
    ("eval_every", Kind::Int, "eval_every", None),
];

/// Attributes every HTML element has, with meanings of their own (the global
/// attributes of the HTML standard that a setting's alias could spell): an element
/// setting takes none of them.
const HTML_GLOBAL_ATTRIBUTES: [&str; 12] =
    ["hidden", "title", "id", "class", "style", "lang", "dir", "slot", "part", "inert", "popover", "translate"];

/// The kernel sets a GPU can run; "auto" lets the adapter decide.
const KERNEL_SETS: [KernelSet; 2] = [KernelSet::Software, KernelSet::Hardware];

/// A unit enum's words, as serde writes them (so as the settings object reads them).
fn words<T: Serialize>(all: &[T]) -> Vec<String> {
    all.iter().filter_map(|v| Some(serde_json::to_string(v).ok()?.trim_matches('"').to_string())).collect()
}

/// A map of `pairs`, inserted one by one: `BTreeMap::from` and `collect` sort
/// first, and each sort's code costs the wasm a few KB.
pub(crate) fn keyed<K: Ord, V>(pairs: impl IntoIterator<Item = (K, V)>) -> BTreeMap<K, V> {
    let mut map = BTreeMap::new();
    for (k, v) in pairs {
        map.insert(k, v);
    }
    map
}

/// The words a `choice` setting takes.
fn choices(key: &str) -> Vec<String> {
    match key {
        "preset" => PRESET_NAMES.iter().map(|s| s.to_string()).collect(),
        "backend" => words(&BackendChoice::ALL),
        "gpu_kernels" => std::iter::once("auto".to_string()).chain(words(&KERNEL_SETS)).collect(),
        "init" => Init::ALL.iter().map(|i| i.name().to_string()).collect(),
        "optimizer" => words(&Optimizer::ALL),
        _ => Vec::new(),
    }
}

fn settings() -> BTreeMap<&'static str, Setting> {
    keyed(SETTINGS.iter().map(|&(key, kind, short, alias)| {
        let kebab = key.replace('_', "-");
        let alias = alias.filter(|a| !HTML_GLOBAL_ATTRIBUTES.contains(a));
        let mut attributes: Vec<String> = alias.into_iter().map(String::from).collect();
        attributes.extend([kebab, key.to_string()]);
        attributes.dedup();
        (key, Setting { kind, choices: choices(key), short, attributes })
    }))
}

/// The range a numeric setting accepts, both ends included (`max: None`: no bound
/// but the type's).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Range {
    pub min: f64,
    pub max: Option<f64>,
}

/// `makemore bench`'s measurements, for the bench page, bench/browser.mjs and
/// bench/wasm-profile.mjs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bench {
    /// The speed table's configs, by name, as whole settings: each shape laid over
    /// a constant-rate SGD run that never ends.
    pub configs: BTreeMap<&'static str, WebConfig>,
    /// The time-to-target preset, its dev targets and the steps between evaluations.
    pub ttt_preset: &'static str,
    pub targets: Vec<f64>,
    pub eval_every: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Constants {
    /// Every key of the settings object: its kind, choices, label and attributes.
    pub settings: BTreeMap<&'static str, Setting>,
    /// Keyed by setting (`n_hidden`, `batch_size`, …), as in the settings object.
    pub limits: BTreeMap<&'static str, Range>,
    /// The lab's E02 comparison, every field filled in: the e02 preset's model (the
    /// notebook's T=3, E=50, H=100) and SGD rate, held constant, with no weight
    /// decay or L2 (the page lays the seeds, the backend, the batch and each
    /// scheme's init and steps over it).
    pub e02_tries: WebConfig,
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
    let limits = keyed([
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
    let speed = |b: &BenchConfig| WebConfig {
        block_size: Some(b.block_size),
        n_embd: Some(b.n_embd),
        n_hidden: Some(b.n_hidden),
        batch_size: Some(b.batch_size),
        ..base.clone()
    };
    let e02_tries = WebConfig {
        preset: Some("e02".into()),
        direct: Some(false),
        optimizer: Some(Optimizer::Sgd),
        lr_decay: Some(crate::config::Schedule::Constant),
        weight_decay: Some(0.0),
        l2_c: Some(0.0),
        l2_w1: Some(0.0),
        l2_w2: Some(0.0),
        ..WebConfig::default()
    };
    Constants {
        settings: settings(),
        e02_tries: e02_tries.resolve().map(|r| r.to_web()).unwrap_or(e02_tries),
        limits,
        max_params: MAX_PARAMS,
        max_vocab: MAX_VOCAB,
        bench: Bench {
            configs: keyed(BENCH_CONFIGS.iter().map(|c| (c.name, speed(c)))),
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

/// `benchReached(trace)` in JS: `trace` is `[{step, seconds, dev}]`, one entry a
/// dev evaluation; returns `{targets: [{target, at: {step, seconds, dev} | null}], done}`.
#[cfg(all(target_arch = "wasm32", feature = "gpu"))]
#[wasm_bindgen::prelude::wasm_bindgen(js_name = benchReached)]
pub fn bench_reached_js(
    trace: wasm_bindgen::JsValue,
) -> std::result::Result<wasm_bindgen::JsValue, wasm_bindgen::JsError> {
    let trace: Vec<crate::config::DevPoint> = serde_wasm_bindgen::from_value(trace).map_err(|e| {
        let e = crate::web::config::error_text(e);
        wasm_bindgen::JsError::new(&format!("a time-to-target trace is [{{step, seconds, dev}}]: {e}"))
    })?;
    crate::web::to_js(&crate::config::targets_reached(&trace))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Schedule;
    use crate::model::ModelConfig;
    use crate::web::config::parse;

    #[test]
    fn every_settings_key_is_listed_with_a_kind_its_values_parse_as() {
        let all = settings();
        let full = serde_json::to_value(WebConfig::default().resolve().unwrap().to_web()).unwrap();
        let keys: Vec<&str> = full.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(all.keys().copied().collect::<Vec<_>>(), keys, "constants().settings lists WebConfig's keys");
        let one = |key: &str, v: serde_json::Value| parse(serde_json::json!({ key: v }))?.resolve();
        for (key, s) in &all {
            let (good, bad) = match s.kind {
                Kind::Int => (vec![serde_json::json!(3)], serde_json::json!(2.5)),
                Kind::Float => (vec![serde_json::json!(0.5)], serde_json::json!("half")),
                Kind::Bool => (vec![serde_json::json!(true)], serde_json::json!(1)),
                Kind::Text => (vec![serde_json::json!("none"), serde_json::json!("cosine:0.1")], serde_json::json!(3)),
                Kind::Choice => (s.choices.iter().map(|c| serde_json::json!(c)).collect(), serde_json::json!("bogus")),
            };
            assert_eq!(s.choices.is_empty(), s.kind != Kind::Choice, "{key}: choices only for a choice");
            for v in good {
                one(key, v.clone()).unwrap_or_else(|e| panic!("{key} = {v}: {e}"));
            }
            assert!(one(key, bad.clone()).is_err(), "{key} accepts {bad}");
            assert!(s.attributes.contains(&key.to_string()), "{key}: the key itself is an attribute");
        }
        // No attribute names two settings.
        let mut names: Vec<&String> = all.values().flat_map(|s| &s.attributes).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
        assert_eq!(all["n_hidden"].attributes, ["n-hidden", "n_hidden"]);
        assert_eq!(all["n_embd"].attributes, ["emb", "n-embd", "n_embd"]);
        assert!(!names.iter().any(|n| HTML_GLOBAL_ATTRIBUTES.contains(&n.as_str())), "{names:?}");
        assert_eq!(all["lr"].attributes, ["lr"]);
    }

    #[test]
    fn the_e02_tries_are_the_notebooks_model_at_a_constant_sgd_rate() {
        let r = constants().e02_tries.resolve().unwrap();
        assert_eq!((r.model.block_size, r.model.n_embd, r.model.n_hidden, r.model.direct), (3, 50, 100, false));
        assert_eq!((r.train.optimizer, r.train.lr, r.train.lr_decay), (Optimizer::Sgd, 0.1, Schedule::Constant));
        assert_eq!((r.train.weight_decay, r.train.l2), (0.0, crate::config::L2::default()));
        assert!(constants().e02_tries.l2_w2.is_some(), "every field filled in");
    }

    #[test]
    fn the_choice_lists_hold_every_variant() {
        // Each match is exhaustive: a new variant fails to compile here until it is listed.
        let at = |o: Optimizer| match o {
            Optimizer::Sgd => 0,
            Optimizer::Adam => 1,
            Optimizer::Adamw => 2,
        };
        assert!(Optimizer::ALL.iter().enumerate().all(|(i, &o)| at(o) == i));
        let at = |b: BackendChoice| match b {
            BackendChoice::Auto => 0,
            BackendChoice::Webgpu => 1,
            BackendChoice::Cpu => 2,
        };
        assert!(BackendChoice::ALL.iter().enumerate().all(|(i, &b)| at(b) == i));
        let at = |k: KernelSet| match k {
            KernelSet::Software => 0,
            KernelSet::Hardware => 1,
        };
        assert!(KERNEL_SETS.iter().enumerate().all(|(i, &k)| at(k) == i));
        assert_eq!(choices("optimizer"), ["sgd", "adam", "adamw"]);
        assert_eq!(choices("gpu_kernels"), ["auto", "software", "hardware"]);
        assert_eq!(choices("backend"), ["auto", "webgpu", "cpu"]);
    }

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
        // Every bench config is a valid page setting, of its shape.
        for b in BENCH_CONFIGS {
            let r = c.bench.configs[b.name].resolve().unwrap();
            assert_eq!((r.model.block_size, r.model.n_embd, r.model.n_hidden), (b.block_size, b.n_embd, b.n_hidden));
            assert_eq!((r.train.batch_size, r.train.lr_decay.clone()), (b.batch_size, Schedule::Constant));
        }
    }
}
