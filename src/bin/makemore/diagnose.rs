//! `makemore diagnose` and `makemore lr-find`: the probe-batch statistics of
//! [`makemore::diagnostics`] and the learning-rate sweep of [`makemore::lr_find`].

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use makemore::backend::cpu::CpuBackend;
use makemore::backend::gpu::GpuBackend;
use makemore::data::Dataset;
use makemore::diagnostics::{diagnose as probe_stats, Diagnostics, Histogram, Probe, PROBE_ROWS, SATURATED};
use makemore::lr_find::{self, LrFind};
use makemore::model::Params;
use makemore::{Error, Result};

use crate::args::{load_model, model_data, TrainArgs};

#[derive(Args)]
pub struct DiagnoseArgs {
    /// A saved model; without it, a fresh init from the train flags.
    #[arg(long)]
    model: Option<PathBuf>,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(Args)]
pub struct LrFindArgs {
    /// Steps of the sweep.
    #[arg(long, default_value_t = lr_find::STEPS)]
    sweep_steps: usize,
    /// The first rate of the sweep.
    #[arg(long, default_value_t = lr_find::LR_LO)]
    lowest: f32,
    /// The last rate of the sweep.
    #[arg(long, default_value_t = lr_find::LR_HI)]
    highest: f32,
    #[command(flatten)]
    train: TrainArgs,
}

/// The data set and the parameters to diagnose, and the rate of the next step.
fn subject(args: &DiagnoseArgs) -> Result<(Dataset, Params, f32)> {
    if let Some(path) = &args.model {
        let ck = load_model(path)?;
        let data = model_data(&ck, args.train.data.as_deref())?;
        let lr = ck.train.as_ref().map_or(0.1, |t| t.lr_at(ck.step));
        return Ok((data, ck.params, lr));
    }
    let t = &args.train;
    let data = t.dataset()?;
    let (m, cfg) = t.resolve(data.vocab.len())?;
    Ok((data, Params::init(&m, cfg.init, cfg.seed)?, cfg.lr_at(0)))
}

/// A histogram as one line of bars, from `lo` to `hi`.
fn bars(h: &Histogram) -> String {
    const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = h.counts.iter().copied().max().unwrap_or(0).max(1) as f32;
    let line: String = h
        .counts
        .iter()
        .map(|&c| if c == 0 { ' ' } else { LEVELS[((c as f32 / max) * 7.0).round() as usize] })
        .collect();
    format!("{:>8.3} |{line}| {:<8.3}", h.lo, h.hi)
}

fn print_report(d: &Diagnostics) {
    println!("probe: the first {} training examples, {} hidden units", d.rows, d.hidden);
    println!("probe loss {:.4}", d.loss);
    println!(
        "saturated tanh outputs (|h| > {SATURATED}): {:.1}%; units saturated on every example: {:.1}%",
        100.0 * d.saturated,
        100.0 * d.dead_units
    );
    println!("pre-activations {}", bars(&d.preact));
    println!("tanh outputs    {}", bars(&d.act));
    let l = &d.logits;
    println!(
        "logits: std {:.4}, max |logit| {:.3}; softmax confidence {:.4} (largest probability, mean), right character {:.4}",
        l.std, l.max_abs, l.confidence, l.target_prob
    );
    println!("{:<4} {:>10} {:>10} {:>22}", "", "data std", "grad std", "log10 update:data");
    for t in &d.tensors {
        let ratio = t.update_ratio.map_or("–".to_string(), |r| format!("{r:.2}"));
        println!("{:<4} {:>10.4} {:>10.3e} {:>22}", t.name, t.data_std, t.grad_std, ratio);
    }
    println!("(makemore part 3's guide for the update:data ratio: about -3)");
}

pub fn diagnose(args: &DiagnoseArgs) -> Result<()> {
    let (data, params, lr) = subject(args)?;
    let d = probe_stats(&params, &Probe::first(&data.train, PROBE_ROWS), lr);
    if args.train.json {
        println!("{}", serde_json::to_string(&d).map_err(|e| Error::Data(e.to_string()))?);
    } else {
        print_report(&d);
    }
    Ok(())
}

pub async fn lr_find(args: &LrFindArgs) -> Result<()> {
    let t = &args.train;
    let data = t.dataset()?;
    let (m, cfg) = t.resolve(data.vocab.len())?;
    let params = Params::init(&m, cfg.init, cfg.seed)?;
    let lrs = lr_find::rates(args.sweep_steps, args.lowest, args.highest)?;
    let found = match t.backend.as_str() {
        "cpu" => lr_find::lr_find(&mut CpuBackend::new(&data, params, &cfg)?, &lrs).await?,
        "gpu" => lr_find::lr_find(&mut GpuBackend::open(&data, params, &cfg, t.kernels).await?, &lrs).await?,
        other => return Err(Error::config("backend", format!("{other:?} is not available; use cpu or gpu"))),
    };
    if t.json {
        let LrFind { lrs, losses, smoothed, valley_lr, suggested_lr } = &found;
        println!(
            "{}",
            json!({"suggested_lr": suggested_lr, "valley_lr": valley_lr, "safety": lr_find::SAFETY,
                   "lrs": lrs, "losses": losses, "smoothed": smoothed})
        );
        return Ok(());
    }
    println!("{:>10} {:>10} {:>10}", "log10 lr", "loss", "smoothed");
    let every = (found.lrs.len() / 20).max(1);
    for i in (0..found.lrs.len()).step_by(every) {
        println!("{:>10.2} {:>10.4} {:>10.4}", found.lrs[i].log10(), found.losses[i], found.smoothed[i]);
    }
    if found.lrs.len() < lrs.len() {
        println!("the loss blew up at lr {:.4}; the sweep stopped there", lrs[found.lrs.len()]);
    }
    println!(
        "valley at lr {:.4}; suggested lr {:.4} (the valley / {})",
        found.valley_lr,
        found.suggested_lr,
        lr_find::SAFETY
    );
    Ok(())
}
