//! The training loop over any [`Backend`]: learning-rate schedule, chunks of
//! steps, loss history, divergence guard and evaluation.

use serde::Serialize;

use crate::backend::Backend;
use crate::config::TrainConfig;
use crate::data::SplitName;
use crate::model::Params;
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
    /// Parameters and step saved by [`Trainer::checkpoint`].
    last_good: Option<(u64, Params)>,
}

/// A loss this many times the first step's loss counts as divergence: the
/// first loss is at least about ln V for any sensible init, and training that
/// works never climbs that far above where it started.
pub const BLOWUP_FACTOR: f32 = 4.0;

impl<B: Backend> Trainer<B> {
    pub fn new(backend: B, cfg: TrainConfig) -> Self {
        Trainer { backend, cfg, step: 0, history: Vec::new(), last_good: None }
    }

    pub fn done(&self) -> bool {
        self.step >= self.cfg.steps
    }

    /// Runs up to `n` more steps, never past `cfg.steps`, and returns their losses.
    /// A non-finite loss, or one [`BLOWUP_FACTOR`] times the first, ends the run
    /// with [`Error::Diverged`] naming the first bad step. The step count and
    /// history then cover every step the backend applied: all of them up to the
    /// first non-finite loss, whose update (and those after it) the backend
    /// skipped, so they hold the parameters from before it. A finite blow-up is
    /// applied like any other step, so resuming continues from where the backend
    /// is and never replays a batch; [`Trainer::restore`] goes back to the last
    /// checkpoint.
    pub async fn run(&mut self, n: u64) -> Result<&[f32]> {
        let n = n.min(self.cfg.steps.saturating_sub(self.step));
        let lrs: Vec<f32> = (self.step..self.step + n).map(|s| self.cfg.lr_at(s)).collect();
        let losses = self.backend.train(self.step, &lrs).await?;
        let (start, first_step) = (self.history.len(), self.step);
        let limit = BLOWUP_FACTOR * self.history.first().or(losses.first()).copied().unwrap_or(f32::INFINITY);
        let applied = losses.iter().position(|l| !l.is_finite()).unwrap_or(losses.len());
        let bad = losses.iter().position(|&l| !(l.is_finite() && l <= limit));
        self.history.extend_from_slice(&losses[..applied]);
        self.step += applied as u64;
        if let Some(bad) = bad {
            return Err(Error::Diverged { step: first_step + bad as u64, loss: losses[bad] });
        }
        Ok(&self.history[start..])
    }

    /// Remembers the current parameters as the last good ones.
    pub async fn checkpoint(&mut self) -> Result<()> {
        let params = self.backend.params().await?;
        self.keep(params);
        Ok(())
    }

    /// Remembers `params`, which the backend holds now, as the last good ones.
    pub fn keep(&mut self, params: Params) {
        self.last_good = Some((self.step, params));
    }

    /// The step and parameters of the last checkpoint.
    pub fn last_good(&self) -> Option<(u64, &Params)> {
        self.last_good.as_ref().map(|(step, params)| (*step, params))
    }

    /// The step the history starts at (0 unless the run was resumed from weights).
    pub fn first_step(&self) -> u64 {
        self.step - self.history.len() as u64
    }

    /// Goes back to the last checkpoint (parameters and step count; the
    /// optimizer state restarts). Returns the step it went back to, if any.
    pub fn restore(&mut self) -> Result<Option<u64>> {
        let Some((step, params)) = &self.last_good else { return Ok(None) };
        self.backend.set_params(params)?;
        let first = self.first_step();
        self.history.truncate(step.saturating_sub(first) as usize);
        self.step = *step;
        Ok(Some(*step))
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
