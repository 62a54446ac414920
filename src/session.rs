//! A run's whole life over any [`Backend`]: the learning-rate schedule, chunks
//! of steps, the evaluation cadence, the loss history, checkpoints, divergence,
//! restore (with an optional new rate), moving to another backend from the last
//! checkpoint, saving and exact resume, and timing. The CLI, the wasm API and
//! bench drive a [`Session`]; none keeps a training loop of its own.
//!
//! What a run's position is: the parameters, the optimizer state (Adam's
//! moments and their own update count `t`), the step count and the loss
//! history. There is no random-number state to save: the minibatch of step `s`
//! is a counter-based hash of (`cfg.seed`, `s`, row) (`rng::batch_index`), so
//! the step count *is* the position in the batch stream, and the learning rate
//! of step `s` is `cfg.lr_at(s)`. A run saved with [`Session::save`] and loaded
//! with [`Session::load`] on the same data therefore takes the same steps, bit
//! for bit, as one never interrupted (tests/resume.rs).

use serde::Serialize;

use crate::backend::auto::WARMUP_STEPS;
use crate::backend::{Backend, BackendKind};
use crate::config::{Optimizer, TrainConfig};
use crate::data::{Dataset, SplitName};
use crate::model::Params;
use crate::weights::{Checkpoint, DataId};
use crate::{Error, Result};

/// Mean cross-entropy over each split.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SplitLosses {
    pub train: f32,
    pub dev: f32,
    pub test: f32,
}

/// What an evaluation of the cadence found (see [`Session::eval_point`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Eval {
    /// Steps completed.
    pub step: u64,
    pub dev: f32,
    /// Mean minibatch loss of the last `min(eval_every, 1000)` steps.
    pub batch_loss: f32,
    /// The rate of the last step taken.
    pub lr: f32,
}

/// How [`Session::measure`] sizes the chunks it times.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Chunks {
    /// Always this many steps per call (bench's steps per submission).
    Fixed(u64),
    /// From one step, then about a tenth of the time each, at most twice the last.
    Adaptive,
}

pub struct Session<B: Backend> {
    pub backend: B,
    pub cfg: TrainConfig,
    /// Steps completed.
    pub step: u64,
    /// The minibatch loss of every completed step since [`Session::first_step`].
    pub history: Vec<f32>,
    /// Parameters and step saved by [`Session::checkpoint`].
    last_good: Option<(u64, Params)>,
    /// Whether the last run stopped because the loss diverged (until a restore).
    diverged: bool,
}

/// A loss this many times the first step's loss counts as divergence: the
/// first loss is at least about ln V for any sensible init, and training that
/// works never climbs that far above where it started.
pub const BLOWUP_FACTOR: f32 = 4.0;

/// Steps per call to the backend in [`Session::run_until_eval`]: small on the
/// CPU so progress shows often, large on the GPU so one submission carries many
/// steps (each call is a submission and a readback).
pub fn chunk_for(kind: BackendKind) -> u64 {
    match kind {
        BackendKind::Cpu => 50,
        BackendKind::Gpu => 500,
    }
}

/// Most steps the history reports in [`Eval::batch_loss`].
const BATCH_LOSS_WINDOW: u64 = 1000;

impl<B: Backend> Session<B> {
    pub fn new(backend: B, cfg: TrainConfig) -> Self {
        Session { backend, cfg, step: 0, history: Vec::new(), last_good: None, diverged: false }
    }

    pub fn done(&self) -> bool {
        self.step >= self.cfg.steps
    }

    /// Runs `lrs.len()` steps from `self.step` and records those the backend
    /// applied (all of them up to the first non-finite loss, whose update and
    /// those after it the backend skipped). Returns all the losses it reported.
    async fn apply(&mut self, lrs: &[f32]) -> Result<Vec<f32>> {
        let losses = self.backend.train(self.step, lrs).await?;
        let applied = losses.iter().position(|l| !l.is_finite()).unwrap_or(losses.len());
        self.history.extend_from_slice(&losses[..applied]);
        self.step += applied as u64;
        Ok(losses)
    }

    /// Runs up to `n` more steps, never past `cfg.steps`, and returns their losses.
    /// A non-finite loss, or one [`BLOWUP_FACTOR`] times the first, ends the run
    /// with [`Error::Diverged`] naming the first bad step, and [`Session::diverged`]
    /// is true until a restore. The step count and history then cover every step
    /// the backend applied: all of them up to the first non-finite loss, whose
    /// update (and those after it) the backend skipped, so they hold the
    /// parameters from before it. A finite blow-up is applied like any other
    /// step, so resuming continues from where the backend is and never replays a
    /// batch; [`Session::restore`] goes back to the last checkpoint.
    pub async fn run(&mut self, n: u64) -> Result<&[f32]> {
        let n = n.min(self.cfg.steps.saturating_sub(self.step));
        let lrs: Vec<f32> = (self.step..self.step + n).map(|s| self.cfg.lr_at(s)).collect();
        let (start, first_step) = (self.history.len(), self.step);
        let losses = self.apply(&lrs).await?;
        let limit = BLOWUP_FACTOR * self.history.first().or(losses.first()).copied().unwrap_or(f32::INFINITY);
        let bad = losses.iter().position(|&l| !(l.is_finite() && l <= limit));
        self.diverged = bad.is_some();
        if let Some(bad) = bad {
            return Err(Error::Diverged { step: first_step + bad as u64, loss: losses[bad] });
        }
        Ok(&self.history[start..])
    }

    /// Steps between evaluations (`eval_every`, or the whole run when it is 0).
    pub fn eval_every(&self) -> u64 {
        if self.cfg.eval_every == 0 {
            self.cfg.steps.max(1)
        } else {
            self.cfg.eval_every
        }
    }

    /// Runs one chunk (see [`chunk_for`]), stopping at the next evaluation, and
    /// says whether one is due now: at every `eval_every` steps and at the end.
    /// Errors as [`Session::run`].
    pub async fn run_until_eval(&mut self) -> Result<bool> {
        let every = self.eval_every();
        let next_eval = (self.step / every + 1) * every;
        self.run(chunk_for(self.backend.kind()).min(next_eval - self.step)).await?;
        Ok(self.step.is_multiple_of(every) || self.done())
    }

    /// The evaluation of the cadence: the dev loss, then a checkpoint of the
    /// parameters (an evaluated model is a good one to go back to).
    pub async fn eval_point(&mut self) -> Result<Eval> {
        let dev = self.evaluate(SplitName::Dev).await?;
        self.checkpoint().await?;
        let window = self.eval_every().min(BATCH_LOSS_WINDOW) as usize;
        Ok(Eval {
            step: self.step,
            dev,
            batch_loss: self.recent_loss(window).unwrap_or(f32::NAN),
            lr: self.cfg.lr_at(self.step.saturating_sub(1)),
        })
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

    /// Whether the last run stopped because the loss diverged.
    pub fn diverged(&self) -> bool {
        self.diverged
    }

    /// The step the history starts at (0 unless the run was loaded from weights
    /// saved without their history).
    pub fn first_step(&self) -> u64 {
        self.step - self.history.len() as u64
    }

    /// Goes back to the last checkpoint (parameters and step count; the
    /// optimizer's moments and their update count restart, since the moments of
    /// a run that diverged are what drove it there) and, with `new_lr`, sets
    /// the base learning rate (the schedule still applies to it). Returns the
    /// step it went back to, if there was a checkpoint.
    pub fn restore(&mut self, new_lr: Option<f32>) -> Result<Option<u64>> {
        if let Some(lr) = new_lr {
            self.set_lr(lr)?;
        }
        let Some((step, params)) = &self.last_good else { return Ok(None) };
        self.backend.set_params(params)?;
        let first = self.first_step();
        self.history.truncate(step.saturating_sub(first) as usize);
        self.step = *step;
        self.diverged = false;
        Ok(Some(*step))
    }

    /// Changes the base learning rate (checked; the schedule still applies to it).
    pub fn set_lr(&mut self, lr: f32) -> Result<()> {
        let cfg = TrainConfig { lr, ..self.cfg.clone() };
        cfg.validate()?;
        self.cfg = cfg;
        Ok(())
    }

    /// Moves the run onto `backend` (built for the same model and data) from the
    /// last checkpoint: its parameters and step; the optimizer state restarts.
    /// For when the current backend can no longer be read (a lost GPU device).
    /// Returns the step the run goes on from.
    pub fn continue_on(&mut self, backend: B) -> Result<u64> {
        if self.last_good.is_none() {
            return Err(Error::Data("there is no checkpoint to go on from; start the run again".into()));
        }
        self.backend = backend;
        Ok(self.restore(None)?.unwrap_or(self.step))
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

    /// Everything needed to resume the run exactly (see the module docs), for
    /// [`crate::weights::save`]: parameters, optimizer state, step, history,
    /// settings, and the identity of `data`, the data set it trains on.
    pub async fn save(&mut self, data: &Dataset) -> Result<Checkpoint> {
        Ok(Checkpoint {
            params: self.backend.params().await?,
            vocab: data.vocab.clone(),
            train: Some(self.cfg.clone()),
            step: self.step,
            opt: self.backend.opt_state().await?,
            history: self.history.clone(),
            data: Some(DataId::of(data)),
        })
    }

    /// Takes the position saved in `ck` (see [`Session::save`]): parameters,
    /// optimizer state (when this session's optimizer keeps one; without it in
    /// the file the moments restart), step and history, and makes it the last
    /// checkpoint. The settings stay this session's. Refuses, leaving the run as
    /// it was, weights of another shape, vocabulary or data set than `data`.
    pub fn load(&mut self, ck: Checkpoint, data: &Dataset) -> Result<()> {
        // The shape is checked against the last checkpoint's; without one, the backend checks it.
        ck.check_fits(data, self.last_good.as_ref().map(|(_, p)| &p.cfg))?;
        let opt = ck.opt.as_ref().filter(|_| self.cfg.optimizer != Optimizer::Sgd);
        self.backend.set_params(&ck.params)?;
        if let Some(opt) = opt {
            self.backend.set_opt_state(opt)?;
        }
        self.step = ck.step;
        self.history = ck.history;
        self.diverged = false;
        self.keep(ck.params);
        Ok(())
    }

    /// Steps per second over about `seconds` of training at the base rate, after
    /// [`WARMUP_STEPS`] untimed steps (pipeline compilation, first uploads,
    /// thread pool start), counting the steps the backend ran (fewer than asked
    /// when a loss stopped being finite, that step included: a speed
    /// measurement does not stop on divergence). `now` reads a clock in seconds (natively `Instant`, in a
    /// browser `performance.now()`). The run moves on by the steps taken, past
    /// `cfg.steps` if need be: time a scratch session, and train the real run on
    /// a fresh one.
    pub async fn measure(&mut self, seconds: f64, now: impl Fn() -> f64, chunks: Chunks) -> Result<f64> {
        let lr = self.cfg.lr;
        self.apply(&vec![lr; WARMUP_STEPS as usize]).await?;
        let (started, mut timed) = (now(), 0u64);
        let mut chunk = match chunks {
            Chunks::Fixed(n) => n.max(1),
            Chunks::Adaptive => 1,
        };
        while now() - started < seconds {
            let t0 = now();
            // Every step the backend ran counts, up to and including a non-finite one.
            let ran = self.apply(&vec![lr; chunk as usize]).await?.len() as u64;
            timed += ran;
            if chunks == Chunks::Adaptive {
                let rate = ran.max(1) as f64 / (now() - t0).max(1e-6);
                chunk = ((rate * seconds / 10.0) as u64).clamp(1, chunk * 2);
            }
        }
        Ok(timed as f64 / (now() - started).max(1e-9))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::OptState;

    /// A backend on a fake clock: each of the first `WARMUP_STEPS` steps takes
    /// 10 s (a pipeline compile), every later one 1 ms. After the warm-up a call
    /// runs at most `most` steps, as `train` stops at a non-finite loss.
    struct Slow<'a> {
        clock: &'a std::cell::Cell<f64>,
        steps: u64,
        most: usize,
    }

    impl Backend for Slow<'_> {
        fn kind(&self) -> BackendKind {
            BackendKind::Gpu
        }
        async fn train(&mut self, _first: u64, lrs: &[f32]) -> Result<Vec<f32>> {
            let ran = if self.steps < WARMUP_STEPS { lrs.len() } else { lrs.len().min(self.most) };
            for _ in 0..ran {
                self.steps += 1;
                self.clock.set(self.clock.get() + if self.steps <= WARMUP_STEPS { 10.0 } else { 1e-3 });
            }
            Ok(vec![1.0; ran])
        }
        async fn evaluate(&mut self, _: SplitName) -> Result<f32> {
            unreachable!("measure only trains")
        }
        async fn params(&mut self) -> Result<Params> {
            unreachable!("measure only trains")
        }
        fn set_params(&mut self, _: &Params) -> Result<()> {
            unreachable!("measure only trains")
        }
        async fn opt_state(&mut self) -> Result<Option<OptState>> {
            unreachable!("measure only trains")
        }
        fn set_opt_state(&mut self, _: &OptState) -> Result<()> {
            unreachable!("measure only trains")
        }
    }

    fn slow(clock: &std::cell::Cell<f64>, most: usize) -> Session<Slow<'_>> {
        Session::new(Slow { clock, steps: 0, most }, TrainConfig { steps: 10, ..TrainConfig::default() })
    }

    #[test]
    fn measure_leaves_the_warm_up_out_and_keeps_to_its_time() {
        let clock = std::cell::Cell::new(0.0);
        let mut s = slow(&clock, usize::MAX);
        let rate = pollster::block_on(s.measure(0.5, || clock.get(), Chunks::Adaptive)).unwrap();
        assert!((rate - 1000.0).abs() < 1.0, "{rate}");
        // 30 s of warm-up, then about half a second (the last chunk may overrun by a tenth).
        let timed = clock.get() - 30.0;
        assert!((0.5..0.6).contains(&timed), "{timed}");
        // Timing is not bound by the configured 10 steps; the session counts what ran.
        assert_eq!(s.step, s.backend.steps);
    }

    #[test]
    fn measure_counts_the_steps_train_ran_not_the_chunk_asked_for() {
        for chunks in [Chunks::Adaptive, Chunks::Fixed(50)] {
            let clock = std::cell::Cell::new(0.0);
            let mut s = slow(&clock, 1);
            let rate = pollster::block_on(s.measure(0.5, || clock.get(), chunks)).unwrap();
            assert!((rate - 1000.0).abs() < 1.0, "{chunks:?}: {rate} steps/s, but every step took 1 ms");
            assert_eq!(s.step, s.backend.steps, "{chunks:?}");
        }
    }
}
