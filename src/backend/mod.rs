//! The training step behind one trait, so a [`crate::session::Session`] runs on
//! any device. `cpu` is the reference; `gpu` (wgpu/WGSL) must match it within
//! float tolerance on the same batches (see `rng::batch_index`).

use serde::{Deserialize, Serialize};

use crate::data::SplitName;
use crate::model::Params;
use crate::optim::OptState;
use crate::Result;

pub mod auto;
pub mod cpu;
#[cfg(feature = "gpu")]
pub mod gpu;

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

/// Which WGSL kernels a GPU backend runs. `Software` is tuned for CPU-emulated
/// adapters (lavapipe, SwiftShader, WARP), where a barrier is cheap and every
/// load costs per lane; `Hardware` for real GPUs, where long serial loops and
/// few workgroups waste the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KernelSet {
    Software,
    Hardware,
}

impl KernelSet {
    pub fn name(self) -> &'static str {
        match self {
            KernelSet::Software => "software",
            KernelSet::Hardware => "hardware",
        }
    }
}

impl std::str::FromStr for KernelSet {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self> {
        crate::config::parse_enum("kernels", s)
    }
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
