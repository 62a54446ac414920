//! The JS-facing `Trainer`: one data set, one model, one backend. Every error
//! reaches JS as a `JsError` whose message is the crate's [`Error`] text.

use std::collections::HashSet;

use js_sys::{Float32Array, Uint8Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::backend::cpu::CpuBackend;
use crate::backend::{Backend, BackendKind};
use crate::config::Init;
use crate::data::{Dataset, SplitName};
use crate::inspect::{inspect, Inspection};
use crate::memory;
use crate::model::{Params, Tensor};
use crate::sample::{sample, sample_with, Request};
use crate::session::Session;
use crate::web::backend::{cpu_backend, gpu_message, open, AnyBackend};
use crate::web::config::{parse, BackendChoice, Resolved, WebConfig};
use crate::web::embedding::{project, Projection};
use crate::web::to_js;
use crate::weights;
use crate::Error;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// An optional options object (`what` names it in errors): the defaults when undefined or null.
fn read_options<T: Default + serde::de::DeserializeOwned>(value: JsValue, what: &str) -> crate::Result<T> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    crate::web::from_js(value, what)
}

/// Reads the settings object key by key, so that unknown keys are seen (reading
/// it as a struct would only look up the known ones).
fn read_config(config: JsValue) -> crate::Result<WebConfig> {
    if config.is_undefined() || config.is_null() {
        return Ok(WebConfig::default());
    }
    if !config.is_object() || js_sys::Array::is_array(&config) {
        return Err(Error::config("config", "expected an object of settings, like { n_hidden: 200 }"));
    }
    let entries = js_sys::Object::entries(config.unchecked_ref()).into_iter().map(|entry| {
        let pair: js_sys::Array = entry.unchecked_into();
        (pair.get(0).as_string().unwrap_or_default(), serde_wasm_bindgen::Deserializer::from(pair.get(1)))
    });
    parse(serde::de::value::MapDeserializer::<_, serde_wasm_bindgen::Error>::new(entries))
}

/// A word list given as a string, or as the bytes of a file (checked for UTF-8 here).
fn text_bytes(text: &JsValue) -> crate::Result<Vec<u8>> {
    if let Some(s) = text.as_string() {
        return Ok(s.into_bytes());
    }
    if let Some(bytes) = text.dyn_ref::<Uint8Array>() {
        return Ok(bytes.to_vec());
    }
    if let Some(buffer) = text.dyn_ref::<js_sys::ArrayBuffer>() {
        return Ok(Uint8Array::new(buffer).to_vec());
    }
    Err(Error::Data("pass the word list as a string, a Uint8Array or an ArrayBuffer".into()))
}

/// Refuses, before the data set or the model is built, a run that would not
/// fit in this build's memory (see [`memory::check_page`]); `cpu`: whether it
/// may train on the CPU. The vocabulary is at most the text's distinct
/// characters and '.'.
fn check_memory(text: &[u8], settings: &Resolved, cpu: bool) -> crate::Result<()> {
    // Dataset::new refuses, with its own message, text that is too long or not UTF-8.
    if text.len() > crate::data::MAX_TEXT_BYTES {
        return Ok(());
    }
    let Ok(s) = std::str::from_utf8(text) else { return Ok(()) };
    let vocab_size = crate::data::distinct_sorted(s.chars()).len() + 1;
    let model = crate::model::ModelConfig { vocab_size, ..settings.model.clone() };
    let threads = crate::backend::cpu::threads() as u64;
    memory::check_page(text.len() as u64, &model, &settings.train, cpu, threads, memory::limit())
}

/// The word list as the page describes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DatasetStats {
    words: usize,
    train_words: usize,
    dev_words: usize,
    test_words: usize,
    /// '.' then the characters, in index order.
    vocab: String,
    vocab_size: usize,
    train_examples: usize,
    dev_examples: usize,
    test_examples: usize,
    /// −ln(1/V): the loss of a model that knows nothing.
    uniform_loss: f32,
}

#[derive(Serialize)]
struct EmbeddingPoints {
    chars: Vec<String>,
    #[serde(flatten)]
    projection: Projection,
}

/// The dev loss before any training under each init scheme, next to uniform.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InitLosses {
    uniform: f32,
    naive: f32,
    small_output: f32,
    kaiming: f32,
}

/// What `sampleWith` draws; every key is optional.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SampleOptions {
    count: usize,
    temperature: f64,
    prefix: String,
    /// Leave out the training words.
    hide_existing: bool,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions { count: 20, temperature: 1.0, prefix: String::new(), hide_existing: false }
    }
}

/// An inspection next to the dev split's mean loss, the per-character average to compare with.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WordReport {
    #[serde(flatten)]
    inspection: Inspection,
    dev_loss: f32,
}

#[wasm_bindgen]
pub struct Trainer {
    run: Session<AnyBackend>,
    data: Dataset,
    settings: Resolved,
    reason: String,
    samples_drawn: u64,
    /// The training split's words, which `sampleWith` can leave out.
    known: HashSet<String>,
}

#[wasm_bindgen]
impl Trainer {
    /// Builds the data set from `text` (a string, or the bytes of a UTF-8 word
    /// list, one word per line) and a freshly initialised model from `config`
    /// (a plain object of settings; see `presetConfigs()` for every key).
    pub async fn create(text: JsValue, config: JsValue) -> Result<Trainer, JsError> {
        Ok(Self::build(text, config, None).await?)
    }

    /// Like `create`, but trains on `backend` ("cpu" or "webgpu") while `config()`
    /// keeps the settings' own choice: the worker's measured `auto`.
    #[wasm_bindgen(js_name = createOn)]
    pub async fn create_on(text: JsValue, config: JsValue, backend: String) -> Result<Trainer, JsError> {
        let device = match backend.as_str() {
            "cpu" => BackendChoice::Cpu,
            "webgpu" => BackendChoice::Webgpu,
            other => return Err(Error::config("backend", format!("{other:?}: create on cpu or webgpu")).into()),
        };
        Ok(Self::build(text, config, Some(device)).await?)
    }

    async fn build(text: JsValue, config: JsValue, device: Option<BackendChoice>) -> crate::Result<Trainer> {
        let settings = read_config(config)?.resolve()?;
        let text = text_bytes(&text)?;
        check_memory(&text, &settings, device.unwrap_or(settings.backend) != BackendChoice::Webgpu)?;
        let data = Dataset::new(&text, settings.model.block_size, settings.train.split_seed)?;
        let settings = settings.with_vocab(data.vocab.len())?;
        let params = Params::init(&settings.model, settings.train.init, settings.train.seed)?;
        let choice = device.unwrap_or(settings.backend);
        let opened = open(choice, settings.kernels, &data, params.clone(), &settings.train).await?;
        let mut run = Session::new(opened.backend, settings.train.clone());
        run.keep(params);
        Ok(Trainer {
            run,
            settings,
            reason: opened.reason,
            samples_drawn: 0,
            known: data.train_words().iter().cloned().collect(),
            data,
        })
    }

    /// Runs up to `steps` more steps (never past the configured total) and
    /// returns the latest minibatch loss.
    /// If the GPU device is lost, the trainer goes back to the last checkpoint on
    /// the CPU, and `backend()` and `backendReason()` say so. If the loss diverges,
    /// the error says so and `diverged()` is true until `restoreCheckpoint()`.
    pub async fn train(&mut self, steps: u32) -> Result<f32, JsError> {
        if let Err(e) = self.run.run(steps as u64).await {
            match e {
                Error::Gpu(_) if self.run.backend.kind() == BackendKind::Gpu => self.continue_on_cpu(&e)?,
                e => return Err(e.into()),
            }
        }
        Ok(self.run.history.last().copied().unwrap_or(f32::NAN))
    }

    fn continue_on_cpu(&mut self, lost: &Error) -> crate::Result<()> {
        let (_, params) = self.run.last_good().ok_or_else(|| Error::Gpu(gpu_message(lost)))?;
        let cpu = cpu_backend(&self.data, params.clone(), &self.run.cfg)?;
        let step = self.run.continue_on(cpu)?;
        // What happened, without the advice for other callers after the "; ".
        let what = gpu_message(lost);
        let what = what.split("; ").next().unwrap_or_default();
        self.reason =
            format!("WebGPU stopped working: {what}. Training went on on the CPU from the checkpoint at step {step}.");
        Ok(())
    }

    /// Remembers the parameters as the last good checkpoint.
    async fn save(&mut self) -> crate::Result<()> {
        self.run.checkpoint().await
    }

    /// Whether the last `train` stopped because the loss diverged.
    pub fn diverged(&self) -> bool {
        self.run.diverged()
    }

    /// The step of the last good checkpoint: the start, the last evaluation or
    /// the loaded weights.
    #[wasm_bindgen(js_name = checkpointStep)]
    pub fn checkpoint_step(&self) -> f64 {
        self.run.last_good().map_or(0.0, |(step, _)| step as f64)
    }

    /// Goes back to the last good checkpoint (parameters and step; Adam's moments
    /// restart) and returns its step. After a divergence, lower the learning rate
    /// with `setLr` and train on.
    #[wasm_bindgen(js_name = restoreCheckpoint)]
    pub fn restore_checkpoint(&mut self) -> Result<f64, JsError> {
        Ok(self.run.restore(None)?.unwrap_or(self.run.step) as f64)
    }

    /// Changes the base learning rate (the schedule still applies to it).
    #[wasm_bindgen(js_name = setLr)]
    pub fn set_lr(&mut self, lr: f32) -> Result<(), JsError> {
        self.run.set_lr(lr)?;
        self.settings.train = self.run.cfg.clone();
        Ok(())
    }

    /// Test hook: destroys the WebGPU device, as a lost GPU would; the next
    /// `train` goes on on the CPU. Does nothing on the CPU.
    #[wasm_bindgen(js_name = loseDeviceForTest)]
    pub fn lose_device_for_test(&self) {
        if let AnyBackend::Gpu(gpu) = &self.run.backend {
            gpu.lose_device();
        }
    }

    /// Steps completed.
    pub fn step(&self) -> f64 {
        self.run.step as f64
    }

    /// Steps the run is configured for.
    pub fn steps(&self) -> f64 {
        self.run.cfg.steps as f64
    }

    pub fn done(&self) -> bool {
        self.run.done()
    }

    /// The learning rate of the next step.
    pub fn lr(&self) -> f32 {
        self.run.cfg.lr_at(self.run.step)
    }

    /// The minibatch losses of the steps from `step` on (those this trainer ran).
    #[wasm_bindgen(js_name = lossesSince)]
    pub fn losses_since(&self, step: f64) -> Float32Array {
        let first = self.run.first_step();
        let from = (step.max(0.0) as u64).saturating_sub(first) as usize;
        Float32Array::from(&self.run.history[from.min(self.run.history.len())..])
    }

    /// Mean loss over each split: `{train, dev, test}`.
    pub async fn evaluate(&mut self) -> Result<JsValue, JsError> {
        let losses = self.run.evaluate_all().await?;
        self.save().await?;
        to_js(&losses)
    }

    /// Mean loss over one split: "train", "dev" or "test".
    #[wasm_bindgen(js_name = evaluateSplit)]
    pub async fn evaluate_split(&mut self, split: String) -> Result<f32, JsError> {
        let loss = self.run.evaluate(split.parse()?).await?;
        self.save().await?;
        Ok(loss)
    }

    /// `n` words drawn from the model at `temperature` (1: as trained; towards 0:
    /// the most likely characters). Each call draws new words.
    pub async fn sample(&mut self, n: u32, temperature: f64) -> Result<Vec<String>, JsError> {
        let params = self.run.backend.params().await?;
        self.samples_drawn += 1;
        let seed = self.settings.train.seed.wrapping_add(self.samples_drawn);
        Ok(sample(&params, &self.data.vocab, n as usize, temperature, seed)?)
    }

    /// Like `sample`, with options `{count, temperature, prefix, hideExisting}`
    /// (defaults 20, 1, "", false): every word starts with `prefix`, and with
    /// `hideExisting` the training words are left out. Returns `{names, attempts}`;
    /// `names` can fall short of `count` when the model mostly repeats training words.
    #[wasm_bindgen(js_name = sampleWith)]
    pub async fn sample_with(&mut self, options: JsValue) -> Result<JsValue, JsError> {
        let o: SampleOptions = read_options(options, "sample options")?;
        let params = self.run.backend.params().await?;
        self.samples_drawn += 1;
        let req = Request {
            count: o.count,
            temperature: o.temperature,
            prefix: &o.prefix,
            exclude: o.hide_existing.then_some(&self.known),
            seed: self.settings.train.seed.wrapping_add(self.samples_drawn),
        };
        to_js(&sample_with(&params, &self.data.vocab, &req)?)
    }

    /// How the current model scores `word`, character by character:
    /// `{word, positions: [{context, next, prob, top: [{ch, prob}]}], nll,
    /// nllPerChar, inTrain, devLoss}`. `nll` is in nats and counts the end token.
    pub async fn inspect(&mut self, word: String) -> Result<JsValue, JsError> {
        let params = self.run.backend.params().await?;
        let inspection = inspect(&params, &self.data.vocab, self.data.train_words(), &word)?;
        let dev_loss = self.run.evaluate(SplitName::Dev).await?;
        to_js(&WordReport { inspection, dev_loss })
    }

    /// The model as a safetensors file: parameters, optimizer state, settings,
    /// vocabulary, step count, loss history and the word list's identity;
    /// enough to resume the run exactly.
    #[wasm_bindgen(js_name = exportWeights)]
    pub async fn export_weights(&mut self) -> Result<Vec<u8>, JsError> {
        let ck = self.run.save(&self.data).await?;
        Ok(weights::save(&ck)?)
    }

    /// Replaces the model with one saved by `exportWeights` for the same word
    /// list and model shape (see `weightsConfig`), with its step and loss history
    /// (`lossesSince` returns them). Refuses weights trained on another word list.
    /// On any error the current model is left as it was.
    #[wasm_bindgen(js_name = importWeights)]
    pub fn import_weights(&mut self, bytes: &[u8]) -> Result<(), JsError> {
        Ok(self.run.load(weights::load(bytes)?, &self.data)?)
    }

    /// "webgpu" or "cpu".
    pub fn backend(&self) -> String {
        match self.run.backend.kind() {
            BackendKind::Gpu => "webgpu".into(),
            BackendKind::Cpu => "cpu".into(),
        }
    }

    /// The WGSL kernel set the GPU runs ("software" or "hardware"), or "" on the CPU.
    #[wasm_bindgen(js_name = kernelSet)]
    pub fn kernel_set(&self) -> String {
        match &self.run.backend {
            AnyBackend::Gpu(gpu) => gpu.kernel_set().name().into(),
            AnyBackend::Cpu(_) => String::new(),
        }
    }

    /// Why this backend is in use (for example, why WebGPU was not).
    #[wasm_bindgen(js_name = backendReason)]
    pub fn backend_reason(&self) -> String {
        self.reason.clone()
    }

    /// Every setting, filled in: a link made from it reproduces the run.
    pub fn config(&self) -> Result<JsValue, JsError> {
        to_js(&self.settings.to_web())
    }

    /// Word count, vocabulary, split sizes and the uniform loss −ln(1/V).
    pub fn dataset(&self) -> Result<JsValue, JsError> {
        let d = &self.data;
        to_js(&DatasetStats {
            words: d.words.len(),
            train_words: d.n1,
            dev_words: d.n2 - d.n1,
            test_words: d.words.len() - d.n2,
            vocab: d.vocab.as_string(),
            vocab_size: d.vocab.len(),
            train_examples: d.train.len(),
            dev_examples: d.dev.len(),
            test_examples: d.test.len(),
            uniform_loss: (d.vocab.len() as f32).ln(),
        })
    }

    /// The embedding table as labelled 2-D points: `{chars, x, y, method}`.
    pub async fn embedding(&mut self) -> Result<JsValue, JsError> {
        let params = self.run.backend.params().await?;
        let m = &params.cfg;
        let projection = project(params.get(Tensor::C), m.vocab_size, m.n_embd);
        let chars = self.data.vocab.as_string().chars().map(String::from).collect();
        to_js(&EmbeddingPoints { chars, projection })
    }

    /// The dev loss of this model's shape before training, for each init scheme
    /// (computed on the CPU), and the uniform loss.
    #[wasm_bindgen(js_name = initLosses)]
    pub async fn init_losses(&self) -> Result<JsValue, JsError> {
        let t = &self.settings.train;
        let dev_loss = async |init: Init| -> crate::Result<f32> {
            let params = Params::init(&self.settings.model, init, t.seed)?;
            CpuBackend::new(&self.data, params, t)?.evaluate(SplitName::Dev).await
        };
        to_js(&InitLosses {
            uniform: (self.data.vocab.len() as f32).ln(),
            naive: dev_loss(Init::Naive).await?,
            small_output: dev_loss(Init::SmallOutput).await?,
            kaiming: dev_loss(Init::Kaiming).await?,
        })
    }
}

/// Every preset with all its settings, keyed by name.
#[wasm_bindgen(js_name = presetConfigs)]
pub fn preset_configs() -> Result<JsValue, JsError> {
    let all = crate::web::constants::keyed(
        crate::web::config::presets()?.into_iter().map(|c| (c.preset.clone().unwrap_or_default(), c)),
    );
    to_js(&all)
}

/// The settings a `Trainer` of `config` on `text` trains with, every field filled
/// in, and the word list's vocabulary size: `{config, vocabSize}`, as the
/// trainer's `config()` and `dataset().vocabSize` would say, without building the
/// data set or the model (auto's cache key needs them before it knows whether to time).
#[wasm_bindgen(js_name = resolveSettings)]
pub fn resolve_settings(text: JsValue, config: JsValue) -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Shape {
        config: WebConfig,
        vocab_size: usize,
    }
    let settings = read_config(config)?.resolve()?;
    let words = crate::data::parse_words(&text_bytes(&text)?)?;
    let settings = settings.with_vocab(crate::data::Vocab::from_words(&words).len())?;
    to_js(&Shape { config: settings.to_web(), vocab_size: settings.model.vocab_size })
}

/// GPU buffers held by the WebGPU trainers alive in this worker (leak tests watch it).
#[wasm_bindgen(js_name = liveGpuBuffers)]
pub fn live_gpu_buffers() -> usize {
    crate::backend::gpu::live_buffers()
}

/// The size of this wasm instance's memory in bytes (it grows, never shrinks).
#[wasm_bindgen(js_name = wasmMemoryBytes)]
pub fn wasm_memory_bytes() -> f64 {
    (core::arch::wasm32::memory_size::<0>() * 65536) as f64
}

/// The settings stored in a weights file, to create a `Trainer` it fits.
#[wasm_bindgen(js_name = weightsConfig)]
pub fn weights_config(bytes: &[u8]) -> Result<JsValue, JsError> {
    let ck = weights::load(bytes)?;
    let resolved = Resolved {
        preset: None,
        backend: Default::default(),
        kernels: None,
        model: ck.params.cfg,
        train: ck.train.unwrap_or_default(),
    };
    to_js(&resolved.to_web())
}

// Diagnostics and the learning-rate finder: a second `impl Trainer` block, and
// `diagnosticsConstants()`.
mod diagnostics;
