//! The page's settings: one flat object whose keys are the CLI's field names,
//! every one optional and laid over a preset. Compiled on every target so the
//! rules are unit-tested natively; on wasm it is read with serde-wasm-bindgen.

use serde::{Deserialize, Deserializer, Serialize};

use crate::backend::KernelSet;
use crate::config::{Init, Optimizer, Preset, Schedule, TrainConfig, L2};
use crate::model::ModelConfig;
use crate::{Error, Result};

/// The preset a page starts from when its settings name none.
pub const DEFAULT_PRESET: &str = "e01";

/// Which device trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// The faster of the two on this model, measured (see `backend::auto`); the
    /// CPU where there is no GPU or only a software one. The page's worker
    /// measures; the wasm API alone opens WebGPU where it works.
    #[default]
    Auto,
    Webgpu,
    Cpu,
}

impl BackendChoice {
    /// Every choice, for the page's settings (`constants().settings`).
    pub const ALL: [BackendChoice; 3] = [BackendChoice::Auto, BackendChoice::Webgpu, BackendChoice::Cpu];
}

/// Settings as the page sends them. `l2_c`, `l2_w1`, `l2_w2` are `TrainConfig::l2`'s
/// fields, flattened so that every knob is one URL parameter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    pub preset: Option<String>,
    pub backend: Option<BackendChoice>,
    /// The WGSL kernel set: "software" or "hardware"; "auto" or absent lets the
    /// adapter decide.
    #[serde(default, deserialize_with = "kernels_or_auto", serialize_with = "auto_if_none")]
    pub gpu_kernels: Option<KernelSet>,
    pub block_size: Option<usize>,
    pub n_embd: Option<usize>,
    pub n_hidden: Option<usize>,
    pub direct: Option<bool>,
    pub init: Option<Init>,
    pub optimizer: Option<Optimizer>,
    pub batch_size: Option<usize>,
    pub steps: Option<u64>,
    #[serde(serialize_with = "shortest")]
    pub lr: Option<f32>,
    pub lr_decay: Option<Schedule>,
    #[serde(serialize_with = "shortest")]
    pub weight_decay: Option<f32>,
    #[serde(serialize_with = "shortest")]
    pub l2_c: Option<f32>,
    #[serde(serialize_with = "shortest")]
    pub l2_w1: Option<f32>,
    #[serde(serialize_with = "shortest")]
    pub l2_w2: Option<f32>,
    pub seed: Option<u64>,
    pub split_seed: Option<u64>,
    pub eval_every: Option<u64>,
}

/// Writes an f32 as the f64 with the same shortest decimal form, so JS sees
/// 0.003 rather than 0.003000000026077032.
fn shortest<S: serde::Serializer>(v: &Option<f32>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match v {
        Some(x) => s.serialize_some(&x.to_string().parse::<f64>().unwrap_or(f64::from(*x))),
        None => s.serialize_none(),
    }
}

/// A kernel set, or "auto" (and "" from an empty form field) for none.
fn kernels_or_auto<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<KernelSet>, D::Error> {
    match Option::<String>::deserialize(d)?.as_deref() {
        None | Some("auto" | "") => Ok(None),
        Some(name) => name.parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!("{name:?} is not a kernel set; use auto, software or hardware"))
        }),
    }
}

/// None as "auto", so the page's form and URL show the same word.
fn auto_if_none<S: serde::Serializer>(v: &Option<KernelSet>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(v.map_or("auto", KernelSet::name))
}

/// Settings with every field decided and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    /// The preset named in the settings, if any.
    pub preset: Option<String>,
    pub backend: BackendChoice,
    pub kernels: Option<KernelSet>,
    pub model: ModelConfig,
    pub train: TrainConfig,
}

/// Reads a [`WebConfig`] from any serde source; an error names the offending key.
pub fn parse<'de, D: Deserializer<'de>>(source: D) -> Result<WebConfig>
where
    D::Error: std::fmt::Display,
{
    serde_path_to_error::deserialize(source).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "config" } else { path.as_str() };
        let message = error_text(e.into_inner());
        // A schedule's own parse error already names its field.
        let own = format!("config `{field}`: ");
        Error::config(field, message.strip_prefix(&own).unwrap_or(&message))
    })
}

/// A deserializer's error as a message: serde-wasm-bindgen's errors are JS
/// Errors, whose text starts "Error: ", which this leaves out.
pub(crate) fn error_text(e: impl std::fmt::Display) -> String {
    let text = e.to_string();
    match text.strip_prefix("Error: ") {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

/// `TrainConfig::validate` names L2 fields `l2.c`; here they are `l2_c`.
fn flat_field(e: Error) -> Error {
    match e {
        Error::Config { field, message } => Error::Config { field: field.replace('.', "_"), message },
        other => other,
    }
}

impl WebConfig {
    /// The preset overridden by the fields given. The model is checked against
    /// the smallest vocabulary, so its shape is known good before the data set is
    /// built; [`Resolved::with_vocab`] checks it again with the real one.
    pub fn resolve(&self) -> Result<Resolved> {
        let preset = Preset::get(self.preset.as_deref().unwrap_or(DEFAULT_PRESET))?;
        let mut model = preset.model(2);
        let mut train = preset.train.clone();
        fn set<T>(slot: &mut T, value: Option<T>) {
            if let Some(v) = value {
                *slot = v;
            }
        }
        set(&mut model.block_size, self.block_size);
        set(&mut model.n_embd, self.n_embd);
        set(&mut model.n_hidden, self.n_hidden);
        set(&mut model.direct, self.direct);
        set(&mut train.init, self.init);
        set(&mut train.optimizer, self.optimizer);
        set(&mut train.batch_size, self.batch_size);
        set(&mut train.steps, self.steps);
        set(&mut train.lr, self.lr);
        set(&mut train.lr_decay, self.lr_decay.clone());
        set(&mut train.weight_decay, self.weight_decay);
        set(&mut train.l2.c, self.l2_c);
        set(&mut train.l2.w1, self.l2_w1);
        set(&mut train.l2.w2, self.l2_w2);
        set(&mut train.seed, self.seed);
        set(&mut train.split_seed, self.split_seed);
        set(&mut train.eval_every, self.eval_every);
        model.validate()?;
        train.validate().map_err(flat_field)?;
        Ok(Resolved {
            preset: self.preset.clone(),
            backend: self.backend.unwrap_or_default(),
            kernels: self.gpu_kernels,
            model,
            train,
        })
    }
}

impl Resolved {
    pub fn with_vocab(mut self, vocab_size: usize) -> Result<Self> {
        self.model.vocab_size = vocab_size;
        self.model.validate()?;
        Ok(self)
    }

    /// Every field filled in: what the page shows, and what a link reproduces.
    pub fn to_web(&self) -> WebConfig {
        let (m, t) = (&self.model, &self.train);
        let L2 { c, w1, w2 } = t.l2;
        WebConfig {
            preset: self.preset.clone(),
            backend: Some(self.backend),
            gpu_kernels: self.kernels,
            block_size: Some(m.block_size),
            n_embd: Some(m.n_embd),
            n_hidden: Some(m.n_hidden),
            direct: Some(m.direct),
            init: Some(t.init),
            optimizer: Some(t.optimizer),
            batch_size: Some(t.batch_size),
            steps: Some(t.steps),
            lr: Some(t.lr),
            lr_decay: Some(t.lr_decay.clone()),
            weight_decay: Some(t.weight_decay),
            l2_c: Some(c),
            l2_w1: Some(w1),
            l2_w2: Some(w2),
            seed: Some(t.seed),
            split_seed: Some(t.split_seed),
            eval_every: Some(t.eval_every),
        }
    }
}

/// Each preset with every field filled in, for the page's preset menu.
pub fn presets() -> Result<Vec<WebConfig>> {
    crate::config::PRESET_NAMES
        .iter()
        .map(|&name| Ok(WebConfig { preset: Some(name.into()), ..WebConfig::default() }.resolve()?.to_web()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_json(s: &str) -> Result<WebConfig> {
        parse(&mut serde_json::Deserializer::from_str(s))
    }

    #[test]
    fn error_text_leaves_out_a_js_errors_prefix_only() {
        assert_eq!(
            error_text("Error: invalid type: string \"a\", expected usize"),
            "invalid type: string \"a\", expected usize"
        );
        assert_eq!(error_text("unknown variant `gpu`"), "unknown variant `gpu`");
        assert_eq!(error_text("config `x`: Error: y"), "config `x`: Error: y");
    }

    fn field_of(r: Result<impl std::fmt::Debug>) -> String {
        match r {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn fields_override_the_preset() {
        let c = parse_json(r#"{"preset": "e03", "n_hidden": 64, "lr_decay": "none", "l2_w1": 0.01}"#).unwrap();
        let r = c.resolve().unwrap().with_vocab(27).unwrap();
        assert_eq!((r.model.block_size, r.model.n_hidden, r.model.direct), (4, 64, true));
        assert_eq!(r.train.lr_decay, Schedule::Constant);
        assert_eq!(r.train.l2, L2 { c: 0.0, w1: 0.01, w2: 0.0 });
        assert_eq!(r.backend, BackendChoice::Auto);
        let round = r.to_web().resolve().unwrap().with_vocab(27).unwrap();
        assert_eq!(round, r);
        let json = serde_json::to_value(r.to_web()).unwrap();
        assert_eq!(json["lr"], serde_json::json!(0.003));
        let default = parse_json("{}").unwrap().resolve().unwrap();
        assert_eq!(default.train, Preset::get(DEFAULT_PRESET).unwrap().train);
    }

    #[test]
    fn bad_settings_name_the_field() {
        let unknown = parse_json(r#"{"learning_rate": 0.1}"#).unwrap_err().to_string();
        assert!(unknown.starts_with("config `learning_rate`: unknown field"), "{unknown}");
        assert_eq!(field_of(parse_json("3")), "config");
        assert_eq!(field_of(parse_json(r#"{"n_hidden": -3}"#)), "n_hidden");
        assert_eq!(field_of(parse_json(r#"{"n_hidden": "many"}"#)), "n_hidden");
        assert_eq!(field_of(parse_json(r#"{"backend": "tpu"}"#)), "backend");
        assert_eq!(field_of(parse_json(r#"{"init": "xavier"}"#)), "init");
        let decay = parse_json(r#"{"lr_decay": "linear"}"#).unwrap_err().to_string();
        assert!(decay.starts_with("config `lr_decay`: \"linear\""), "{decay}");
        let resolve = |s: &str| parse_json(s).unwrap().resolve();
        assert_eq!(field_of(resolve(r#"{"block_size": 0}"#)), "block_size");
        assert_eq!(field_of(resolve(r#"{"batch_size": 0}"#)), "batch_size");
        assert_eq!(field_of(resolve(r#"{"lr": -1}"#)), "lr");
        assert_eq!(field_of(resolve(r#"{"l2_c": -1}"#)), "l2_c");
        assert_eq!(field_of(resolve(r#"{"preset": "e09"}"#)), "preset");
        // Fits with a small vocabulary, not with a large one.
        let wide = parse_json(r#"{"n_embd": 1024, "n_hidden": 8000, "block_size": 8}"#).unwrap();
        assert_eq!(field_of(wide.resolve().unwrap().with_vocab(1000)), "n_hidden");
    }

    #[test]
    fn the_kernel_set_is_optional_and_auto_reads_as_none() {
        let r = parse_json(r#"{"gpu_kernels": "hardware"}"#).unwrap().resolve().unwrap();
        assert_eq!(r.kernels, Some(KernelSet::Hardware));
        assert_eq!(serde_json::to_value(r.to_web()).unwrap()["gpu_kernels"], "hardware");
        for auto in [r#"{"gpu_kernels": "auto"}"#, r#"{"gpu_kernels": ""}"#, "{}"] {
            let r = parse_json(auto).unwrap().resolve().unwrap();
            assert_eq!(r.kernels, None, "{auto}");
            assert_eq!(serde_json::to_value(r.to_web()).unwrap()["gpu_kernels"], "auto");
        }
        let bad = parse_json(r#"{"gpu_kernels": "fast"}"#).unwrap_err().to_string();
        assert!(bad.starts_with("config `gpu_kernels`: \"fast\" is not a kernel set"), "{bad}");
    }

    #[test]
    fn every_preset_is_listed_in_full() {
        let all = presets().unwrap();
        assert_eq!(all.len(), crate::config::PRESET_NAMES.len());
        assert!(all.iter().all(|c| c.lr.is_some() && c.l2_w2.is_some() && c.backend == Some(BackendChoice::Auto)));
    }
}
