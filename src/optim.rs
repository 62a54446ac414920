//! The optimizer's state and constants: Adam's moments and update count, which
//! the backends update and the weights format stores (so `weights` need not
//! reach into `backend`).

/// Adam's constants (PyTorch's defaults).
pub const ADAM_BETA1: f32 = 0.9;
pub const ADAM_BETA2: f32 = 0.999;
pub const ADAM_EPS: f32 = 1e-8;

/// Adam's first and second moments, flat and laid out like the parameters, and
/// `t`, the updates they have seen. Bias correction uses `t`, not the run's step,
/// so it restarts whenever the moments do (restore, backend switch, loading
/// weights without optimizer state).
#[derive(Clone, Debug, PartialEq)]
pub struct OptState {
    pub m: Vec<f32>,
    pub v: Vec<f32>,
    pub t: u64,
}

/// Adam's bias corrections (1 − β₁ᵗ, 1 − β₂ᵗ) for the `t`-th update (from 1).
pub fn adam_bias_corrections(t: u64) -> (f32, f32) {
    (1.0 - ADAM_BETA1.powf(t as f32), 1.0 - ADAM_BETA2.powf(t as f32))
}
