//! The trainer's probe-batch diagnostics and learning-rate finder, and the
//! constants the page draws them with (Rust owns them; JS reads them here).

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::{read_options, Trainer};
use crate::backend::cpu::CpuBackend;
use crate::backend::gpu::GpuBackend;
use crate::backend::Backend;
use crate::config::{Init, Schedule, TrainConfig};
use crate::diagnostics::{self, diagnose, Diagnostics, Probe, PROBE_ROWS};
use crate::lr_find::{self, lr_find, rates};
use crate::web::backend::AnyBackend;
use crate::web::to_js;

/// The statistics and the step they were taken at.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    step: u64,
    #[serde(flatten)]
    diagnostics: Diagnostics,
}

/// `lrFind`'s options; every key is optional.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct LrFindOptions {
    steps: usize,
    lowest: f32,
    highest: f32,
}

impl Default for LrFindOptions {
    fn default() -> Self {
        LrFindOptions { steps: lr_find::STEPS, lowest: lr_find::LR_LO, highest: lr_find::LR_HI }
    }
}

#[derive(Serialize)]
struct Scheme {
    name: &'static str,
    about: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Constants {
    probe_rows: usize,
    saturated: f32,
    bins: usize,
    update_ratio_guide: f64,
    lr_find_steps: usize,
    lr_find_lowest: f32,
    lr_find_highest: f32,
    lr_find_safety: f32,
    init_schemes: Vec<Scheme>,
}

#[wasm_bindgen]
impl Trainer {
    /// Statistics of the current parameters on the probe batch (the first
    /// `probeRows` training examples), computed on the CPU whatever the backend:
    /// `{step, rows, hidden, loss, preact, act, saturated, deadUnits,
    /// saturationMap, logits: {std, maxAbs, confidence, targetProb},
    /// tensors: [{name, dataStd, gradStd, grad, updateRatio}]}`; histograms are
    /// `{lo, hi, counts}`, the map is rows × hidden, 1 where |h| > `saturated`.
    pub async fn diagnostics(&mut self) -> Result<JsValue, JsError> {
        let params = self.run.backend.params().await?;
        let probe = Probe::first(&self.data.train, PROBE_ROWS);
        let diagnostics = diagnose(&params, &probe, self.run.cfg.lr_at(self.run.step));
        to_js(&Report { step: self.run.step, diagnostics })
    }

    /// The learning-rate sweep from the current parameters on a scratch backend
    /// of the same kind, with the same GPU kernels (this trainer's weights stay as they are). Options
    /// `{steps, lowest, highest}` (defaults in `diagnosticsConstants()`). Returns
    /// `{lrs, losses, smoothed, valleyLr, suggestedLr}`.
    #[wasm_bindgen(js_name = lrFind)]
    pub async fn lr_find(&mut self, options: JsValue) -> Result<JsValue, JsError> {
        let o: LrFindOptions = read_options(options, "lr-find options")?;
        let lrs = rates(o.steps, o.lowest, o.highest)?;
        let params = self.run.backend.params().await?;
        let cfg = TrainConfig { lr_decay: Schedule::Constant, ..self.run.cfg.clone() };
        let found = match &self.run.backend {
            AnyBackend::Gpu(gpu) => {
                let kernels = Some(gpu.kernel_set());
                lr_find(&mut GpuBackend::open(&self.data, params, &cfg, kernels).await?, &lrs).await?
            }
            AnyBackend::Cpu(_) => lr_find(&mut CpuBackend::new(&self.data, params, &cfg)?, &lrs).await?,
        };
        to_js(&found)
    }
}

/// The diagnostics' and the finder's constants, and every init scheme `{name, about}`.
#[wasm_bindgen(js_name = diagnosticsConstants)]
pub fn diagnostics_constants() -> Result<JsValue, JsError> {
    to_js(&Constants {
        probe_rows: PROBE_ROWS,
        saturated: diagnostics::SATURATED,
        bins: diagnostics::BINS,
        update_ratio_guide: diagnostics::UPDATE_RATIO_GUIDE,
        lr_find_steps: lr_find::STEPS,
        lr_find_lowest: lr_find::LR_LO,
        lr_find_highest: lr_find::LR_HI,
        lr_find_safety: lr_find::SAFETY,
        init_schemes: Init::ALL.iter().map(|&i| Scheme { name: i.name(), about: i.about() }).collect(),
    })
}
