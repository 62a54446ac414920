//! The training loop over any [`Backend`]: learning-rate schedule, chunks of
//! steps, loss history, divergence guard and evaluation.

use serde::Serialize;

use crate::backend::Backend;
use crate::config::TrainConfig;
use crate::data::SplitName;
use crate::{Error, Result};

/// Mean cross-entropy over each split.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SplitLosses {
    pub train: f32,
    pub dev: f32,
    pub test: f32,
}

pub struct Trainer<B: Backend> {
    pub backend: B,
    pub cfg: TrainConfig,
    /// Steps completed.
    pub step: u64,
    /// The minibatch loss of every completed step.
    pub history: Vec<f32>,
}

impl<B: Backend> Trainer<B> {
    pub fn new(backend: B, cfg: TrainConfig) -> Self {
        Trainer { backend, cfg, step: 0, history: Vec::new() }
    }

    pub fn done(&self) -> bool {
        self.step >= self.cfg.steps
    }

    /// Runs up to `n` more steps, never past `cfg.steps`, and returns their losses.
    /// A non-finite loss ends the run with [`Error::Diverged`]; the backend keeps
    /// the parameters from before that step, so training can resume with a smaller rate.
    pub async fn run(&mut self, n: u64) -> Result<&[f32]> {
        let n = n.min(self.cfg.steps.saturating_sub(self.step));
        let lrs: Vec<f32> = (self.step..self.step + n).map(|s| self.cfg.lr_at(s)).collect();
        let losses = self.backend.train(self.step, &lrs).await?;
        let start = self.history.len();
        let good = losses.iter().position(|l| !l.is_finite()).unwrap_or(losses.len());
        self.history.extend_from_slice(&losses[..good]);
        self.step += good as u64;
        if good < losses.len() {
            return Err(Error::Diverged { step: self.step, loss: losses[good] });
        }
        Ok(&self.history[start..])
    }

    pub async fn evaluate(&mut self, split: SplitName) -> Result<f32> {
        self.backend.evaluate(split).await
    }

    pub async fn evaluate_all(&mut self) -> Result<SplitLosses> {
        Ok(SplitLosses {
            train: self.evaluate(SplitName::Train).await?,
            dev: self.evaluate(SplitName::Dev).await?,
            test: self.evaluate(SplitName::Test).await?,
        })
    }

    /// Mean of the last `window` step losses.
    pub fn recent_loss(&self, window: usize) -> Option<f32> {
        let tail = &self.history[self.history.len().saturating_sub(window)..];
        (!tail.is_empty()).then(|| tail.iter().sum::<f32>() / tail.len() as f32)
    }
}
