//! Opens the device a page trains on and says why; the page's worker asks
//! [`choose_backend`] what `auto` means once it has timed both.

use wasm_bindgen::prelude::*;

use crate::backend::auto::{self, Found};
use crate::backend::cpu::CpuBackend;
use crate::backend::gpu::GpuBackend;
use crate::backend::{Backend, BackendKind, KernelSet};
use crate::config::TrainConfig;
use crate::data::{Dataset, SplitName};
use crate::model::Params;
use crate::optim::OptState;
use crate::web::config::BackendChoice;
use crate::web::to_js;
use crate::{Error, Result};
use serde::Serialize;

/// The backends a page can train on, behind one type. There is one per trainer,
/// moved once, so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub enum AnyBackend {
    Cpu(CpuBackend),
    Gpu(GpuBackend),
}

macro_rules! each {
    ($self:expr, $b:ident => $call:expr) => {
        match $self {
            AnyBackend::Cpu($b) => $call,
            AnyBackend::Gpu($b) => $call,
        }
    };
}

/// A backend and a sentence for the page's badge saying why it was chosen.
pub struct Opened {
    pub backend: AnyBackend,
    pub reason: String,
}

/// Opens the backend `choice` asks for, with the WGSL `kernels` forced or left to
/// the adapter. `Auto` here falls back to the CPU whenever WebGPU fails, and the
/// reason says why (the worker measures before it asks, see [`choose_backend`]);
/// `Webgpu` fails instead.
pub async fn open(
    choice: BackendChoice,
    kernels: Option<KernelSet>,
    data: &Dataset,
    params: Params,
    cfg: &TrainConfig,
) -> Result<Opened> {
    let cpu = |params, reason: String| Ok(Opened { backend: cpu_backend(data, params, cfg)?, reason });
    match choice {
        BackendChoice::Cpu => cpu(params, "chosen in the settings".into()),
        BackendChoice::Webgpu => webgpu(data, params, cfg, kernels).await,
        BackendChoice::Auto => match webgpu(data, params.clone(), cfg, kernels).await {
            Ok(opened) => Ok(opened),
            Err(e) => cpu(params, format!("WebGPU is unavailable: {}", gpu_message(&e))),
        },
    }
}

pub fn cpu_backend(data: &Dataset, params: Params, cfg: &TrainConfig) -> Result<AnyBackend> {
    Ok(AnyBackend::Cpu(CpuBackend::new(data, params, cfg)?))
}

/// The text of a GPU error without its "gpu: " prefix.
pub fn gpu_message(e: &Error) -> String {
    match e {
        Error::Gpu(message) => message.clone(),
        other => other.to_string(),
    }
}

async fn webgpu(data: &Dataset, params: Params, cfg: &TrainConfig, kernels: Option<KernelSet>) -> Result<Opened> {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).unwrap_or_default();
    let gpu = js_sys::Reflect::get(&navigator, &"gpu".into()).unwrap_or_default();
    if gpu.is_undefined() || gpu.is_null() {
        return Err(Error::Gpu(
            "this browser has no WebGPU (navigator.gpu is missing); use a recent Chrome or Edge, or a browser \
             with WebGPU enabled"
                .into(),
        ));
    }
    let backend = GpuBackend::open(data, params, cfg, kernels).await?;
    Ok(Opened { backend: AnyBackend::Gpu(backend), reason: "the browser's WebGPU adapter is in use".into() })
}

/// What `auto` chooses for `found` (a `backend::auto::Found` as a plain object:
/// `{kind: "noGpu" | "broken" | "software" | "measured" | "chosen", adapter?, rates?: {cpu, gpu}, backend?}`)
/// with the CPU on `threads` threads: `{backend: "cpu" | "gpu", summary, measured}`.
#[wasm_bindgen(js_name = chooseBackend)]
pub fn choose_backend(found: JsValue, threads: usize) -> std::result::Result<JsValue, JsError> {
    let found: Found = crate::web::from_js(found, "found")?;
    to_js(&auto::decide(&found, threads, "WebGPU"))
}

/// The calibration's budget, `{seconds, warmupSteps}`: both backends together
/// train for about `seconds`, each after `warmupSteps` untimed steps.
#[wasm_bindgen(js_name = calibrationBudget)]
pub fn calibration_budget() -> std::result::Result<JsValue, JsError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Budget {
        seconds: f64,
        warmup_steps: u64,
    }
    to_js(&Budget { seconds: auto::BUDGET_SECONDS, warmup_steps: auto::WARMUP_STEPS })
}

impl Backend for AnyBackend {
    fn kind(&self) -> BackendKind {
        each!(self, b => b.kind())
    }

    async fn train(&mut self, first_step: u64, lrs: &[f32]) -> Result<Vec<f32>> {
        each!(self, b => b.train(first_step, lrs).await)
    }

    async fn evaluate(&mut self, split: SplitName) -> Result<f32> {
        each!(self, b => b.evaluate(split).await)
    }

    async fn params(&mut self) -> Result<Params> {
        each!(self, b => b.params().await)
    }

    fn set_params(&mut self, params: &Params) -> Result<()> {
        each!(self, b => b.set_params(params))
    }

    async fn opt_state(&mut self) -> Result<Option<OptState>> {
        each!(self, b => b.opt_state().await)
    }

    fn set_opt_state(&mut self, state: &OptState) -> Result<()> {
        each!(self, b => b.set_opt_state(state))
    }
}
