//! The training step behind one trait, so the loop in [`crate::train`] runs on
//! any device. `cpu` is the reference; `gpu` (wgpu/WGSL) must match it within
//! float tolerance on the same batches (see `rng::batch_index`).

use serde::{Deserialize, Serialize};

use crate::data::SplitName;
use crate::model::Params;
use crate::Result;

pub mod cpu;
#[cfg(feature = "gpu")]
pub mod gpu;

/// Adam's constants (PyTorch's defaults).
pub const ADAM_BETA1: f32 = 0.9;
pub const ADAM_BETA2: f32 = 0.999;
pub const ADAM_EPS: f32 = 1e-8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Cpu,
    Gpu,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Gpu => "gpu",
        }
    }
}

/// Adam's first and second moments, flat and laid out like the parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct OptState {
    pub m: Vec<f32>,
    pub v: Vec<f32>,
}

/// A device that holds the data, the parameters and the optimizer state, and
/// trains the model with the [`crate::config::TrainConfig`] it was built with.
#[allow(async_fn_in_trait)]
pub trait Backend {
    fn kind(&self) -> BackendKind;

    /// Runs one optimizer step per entry of `lrs` (the learning rate of that step),
    /// numbered from `first_step`, and returns each step's minibatch loss (mean
    /// cross-entropy plus the L2 terms). A step whose loss is not finite updates
    /// nothing, nor do the steps after it in the chunk, so the parameters stay
    /// the last good ones.
    async fn train(&mut self, first_step: u64, lrs: &[f32]) -> Result<Vec<f32>>;

    /// Mean cross-entropy over the whole split (no L2 terms).
    async fn evaluate(&mut self, split: SplitName) -> Result<f32>;

    /// A copy of the current parameters.
    async fn params(&mut self) -> Result<Params>;

    /// Replaces the parameters (same model configuration) and clears the optimizer state.
    fn set_params(&mut self, params: &Params) -> Result<()>;

    /// The optimizer's moments, where it has any.
    async fn opt_state(&mut self) -> Result<Option<OptState>>;

    /// Restores moments saved by [`Backend::opt_state`].
    fn set_opt_state(&mut self, state: &OptState) -> Result<()>;
}
