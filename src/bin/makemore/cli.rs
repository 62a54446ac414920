//! The command line: train, split, sample, inspect, diagnose, lr-find and bench.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use makemore::backend::auto::{self, Found, Rates};
use makemore::backend::cpu::CpuBackend;
use makemore::backend::gpu::GpuBackend;
use makemore::backend::{Backend, BackendKind};
use makemore::config::TrainConfig;
use makemore::data::{Dataset, SplitName};
use makemore::diagnostics::{saturation, Probe, PROBE_ROWS, SATURATED};
use makemore::inspect::inspect;
use makemore::model::Params;
use makemore::sample::{sample, sample_with, Request};
use makemore::session::{Chunks, Session};
use makemore::weights::{self, Checkpoint};
use makemore::{Error, Result};

use crate::args::{cli_preset, load_model, model_data, read_data, BlockFlag, TrainArgs};
use crate::bench;
use crate::diagnose;

#[derive(Parser)]
#[command(
    name = "makemore",
    version,
    about = "Train a character-level MLP language model (makemore part 2 / Bengio 2003)"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train a model, report train/dev/test loss and print samples.
    Train(TrainArgs),
    /// Print the 80/10/10 split sizes (in examples) as `train N dev N test N`.
    Split {
        #[arg(long)]
        data: Option<PathBuf>,
        #[command(flatten)]
        block: BlockFlag,
        /// Seed of the word shuffle (default: the lecture preset's, the notebook's 42). --block_size's
        /// default is the lecture preset's too.
        #[arg(long = "split_seed", visible_alias = "seed", alias = "split-seed")]
        split_seed: Option<u64>,
    },
    /// Generate words from a saved model.
    Sample {
        #[arg(long)]
        model: PathBuf,
        #[arg(short = 'n', long, default_value_t = 20)]
        n: usize,
        #[arg(long, default_value_t = 1.0)]
        temperature: f64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Complete these characters: every word starts with them.
        #[arg(long, default_value = "")]
        prefix: String,
        /// Leave out words of the training split (of --data) and draw again.
        #[arg(long)]
        hide_existing: bool,
        /// The word list the model was trained on, for --hide-existing (default: the bundled names).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Score words with a saved model: each character's probability, the top 5
    /// alternatives, and the word's negative log-likelihood (end token included).
    Inspect {
        #[arg(long)]
        model: PathBuf,
        /// A word to inspect; repeat for more.
        #[arg(long = "word", required = true)]
        words: Vec<String>,
        /// The word list the model was trained on, for the training-set check and
        /// the dev average (default: the bundled names).
        #[arg(long)]
        data: Option<PathBuf>,
        /// One JSON object per word on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Measure steps/s and examples/s on each path, side by side, as one markdown table.
    Bench(bench::BenchArgs),
    /// Probe-batch statistics of a saved model (--model) or of a fresh init from
    /// the train flags: tanh saturation, histograms, logits, gradients, update:data ratios.
    Diagnose(diagnose::DiagnoseArgs),
    /// Sweep the learning rate exponentially from a fresh init (the train flags)
    /// and suggest one from the valley of the loss.
    LrFind(diagnose::LrFindArgs),
    /// The GPU dispatch plan of a training step and its roofline lower bounds (no GPU needed).
    GpuPlan(crate::gpu_plan::GpuPlanArgs),
}

fn progress_bar(steps: u64, hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(steps);
    pb.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {per_sec}  {msg}  [{elapsed_precise} < {eta}]")
            .expect("valid template"),
    );
    pb
}

/// The data set, settings and starting parameters of a run: fresh from the
/// flags, or the saved run of --resume with the position to go on from.
fn run_start(args: &TrainArgs) -> Result<(Dataset, TrainConfig, Params, Option<Checkpoint>)> {
    let Some(path) = &args.resume else {
        let data = args.dataset()?;
        let (mcfg, tcfg) = args.resolve(data.vocab.len())?;
        let params = Params::init(&mcfg, tcfg.init, tcfg.seed)?;
        return Ok((data, tcfg, params, None));
    };
    if let Some(flag) = args.first_setting_given() {
        return Err(Error::config(
            "resume",
            format!("a resumed run keeps the settings saved in {}; leave out {flag}", path.display()),
        ));
    }
    let ck = load_model(path)?;
    let mut tcfg = ck.train.clone().ok_or_else(|| {
        Error::Weights(format!(
            "{} holds no training settings, so its run cannot be resumed; train a new model with --save",
            path.display()
        ))
    })?;
    tcfg.steps = args.steps.unwrap_or(tcfg.steps);
    tcfg.validate()?;
    let data = Dataset::new(&read_data(args.data.as_deref())?, ck.params.cfg.block_size, tcfg.split_seed)?;
    ck.check_fits(&data, None)?;
    Ok((data, tcfg, ck.params.clone(), Some(ck)))
}

async fn train_cmd(args: &TrainArgs) -> Result<()> {
    let (data, tcfg, params, resume) = run_start(args)?;
    let gpu = || GpuBackend::open(&data, params.clone(), &tcfg, args.kernels);
    let cpu = || CpuBackend::new(&data, params.clone(), &tcfg);
    match args.backend.as_str() {
        "cpu" => run_training(args, &data, Session::new(cpu()?, tcfg.clone()), resume, None).await,
        "gpu" => run_training(args, &data, Session::new(gpu().await?, tcfg.clone()), resume, None).await,
        "auto" => {
            let (decision, found, details) = auto_choice(args, &data, &params, &tcfg).await?;
            if !args.json {
                eprintln!("{}", decision.summary);
                for line in decision.measured.iter().chain(&details) {
                    eprintln!("  {line}");
                }
            }
            let calibration = Some(
                json!({"found": found, "choice": decision.backend, "summary": decision.summary, "details": details}),
            );
            match decision.backend {
                BackendKind::Gpu => {
                    run_training(args, &data, Session::new(gpu().await?, tcfg.clone()), resume, calibration).await
                }
                BackendKind::Cpu => {
                    run_training(args, &data, Session::new(cpu()?, tcfg.clone()), resume, calibration).await
                }
            }
        }
        other => Err(Error::config("backend", format!("{other:?} is not available; use cpu, gpu or auto"))),
    }
}

/// `--backend auto`: what was found, the choice, and any driver error behind it.
/// Both backends are scratch (the run starts fresh from `params` on the choice).
async fn auto_choice(
    args: &TrainArgs,
    data: &Dataset,
    params: &Params,
    cfg: &TrainConfig,
) -> Result<(auto::Decision, Found, Option<String>)> {
    let threads = rayon::current_num_threads();
    let (found, details) = match GpuBackend::open(data, params.clone(), cfg, args.kernels).await {
        Err(e) => (Found::NoGpu, Some(e.to_string())),
        Ok(gpu) if gpu.adapter().software && !args.race => {
            (Found::Software { adapter: gpu.adapter().name.clone() }, None)
        }
        Ok(gpu) => {
            let adapter = gpu.adapter().name.clone();
            let clock = Instant::now();
            let now = || clock.elapsed().as_secs_f64();
            let each = auto::BUDGET_SECONDS / 2.0;
            let mut cpu = Session::new(CpuBackend::new(data, params.clone(), cfg)?, cfg.clone());
            let cpu_rate = cpu.measure(each, now, Chunks::Adaptive).await?;
            match Session::new(gpu, cfg.clone()).measure(each, now, Chunks::Adaptive).await {
                Ok(gpu_rate) => (Found::Measured { adapter, rates: Rates { cpu: cpu_rate, gpu: gpu_rate } }, None),
                Err(e) => (Found::Broken { adapter }, Some(e.to_string())),
            }
        }
    };
    Ok((auto::decide(&found, threads, "GPU"), found, details))
}

/// Trains `tr` (fresh, or from `resume`) to its configured steps, printing each
/// evaluation, and reports; with --save, writes all a --resume needs.
async fn run_training<B: Backend>(
    args: &TrainArgs,
    data: &Dataset,
    mut tr: Session<B>,
    resume: Option<Checkpoint>,
    calibration: Option<serde_json::Value>,
) -> Result<()> {
    let out = |v: serde_json::Value| {
        if args.json {
            println!("{v}");
        }
    };
    let cfg = tr.cfg.clone();
    if let Some(ck) = resume {
        tr.load(ck, data)?;
    }
    let uniform = (data.vocab.len() as f32).ln();
    let initial = tr.evaluate(SplitName::Train).await?;
    let probe = Probe::first(&data.train, PROBE_ROWS);
    let start_params = tr.backend.params().await?;
    let saturated_init = saturation(&start_params, &probe);
    let mcfg = &start_params.cfg;
    if !args.json {
        eprintln!(
            "data: {} words, vocabulary {} {:?}; examples train {} dev {} test {}",
            data.words.len(),
            data.vocab.len(),
            data.vocab.as_string(),
            data.train.len(),
            data.dev.len(),
            data.test.len()
        );
        eprintln!(
            "model: T={} E={} H={} direct={} ({} parameters), {} backend",
            mcfg.block_size,
            mcfg.n_embd,
            mcfg.n_hidden,
            mcfg.direct,
            makemore::model::Layout::new(mcfg).total,
            tr.backend.kind().name()
        );
        if tr.step > 0 {
            eprintln!("resumed at step {} of {}", tr.step, cfg.steps);
        }
        eprintln!("initial loss {initial:.4} (uniform -ln(1/V) = {uniform:.4})");
    }
    out(json!({"event": "init", "initial_loss": initial, "uniform_loss": uniform}));
    tr.keep(start_params);
    let pb = progress_bar(cfg.steps, args.json);
    pb.set_position(tr.step);
    let (start, first_step) = (Instant::now(), tr.step);
    let mut train_secs = 0.0;
    let mut diverged = None;
    while !tr.done() {
        let t0 = Instant::now();
        let due = tr.run_until_eval().await;
        train_secs += t0.elapsed().as_secs_f64();
        pb.set_position(tr.step);
        pb.set_message(format!("loss {:.4}", tr.recent_loss(200).unwrap_or(f32::NAN)));
        match due {
            Err(e) => {
                if let Some(step) = tr.restore(None)? {
                    pb.suspend(|| eprintln!("{e}\nwent back to the checkpoint at step {step}"));
                }
                diverged = Some(e);
                break;
            }
            Ok(false) => {}
            Ok(true) => {
                let ev = tr.eval_point().await?;
                let names = sample(&tr.backend.params().await?, &data.vocab, args.samples, 1.0, cfg.seed + ev.step)?;
                pb.suspend(|| {
                    if !args.json {
                        eprintln!(
                            "step {:>7}  train(batch) {:.4}  dev {:.4}  lr {:.5}  {}",
                            ev.step,
                            ev.batch_loss,
                            ev.dev,
                            ev.lr,
                            names.join(" ")
                        );
                    }
                });
                out(json!({"event": "eval", "step": ev.step, "batch_loss": ev.batch_loss, "dev_loss": ev.dev,
                           "lr": ev.lr, "samples": names}));
            }
        }
    }
    pb.finish_and_clear();
    let losses = tr.evaluate_all().await?;
    let saturated = saturation(&tr.backend.params().await?, &probe);
    let seconds = start.elapsed().as_secs_f64();
    let trained = tr.step.saturating_sub(first_step);
    let ex_per_sec = if train_secs > 0.0 { (trained as f64 * cfg.batch_size as f64) / train_secs } else { 0.0 };
    if let Some(path) = &args.save {
        std::fs::write(path, weights::save(&tr.save(data).await?)?)
            .map_err(|e| Error::Weights(format!("cannot write {}: {e}", path.display())))?;
    }
    if args.json {
        out(json!({
            "event": "summary", "initial_loss": initial, "train_loss": losses.train, "dev_loss": losses.dev,
            "test_loss": losses.test, "steps": tr.step, "seconds": seconds, "train_seconds": train_secs,
            "examples_per_sec": ex_per_sec, "backend": tr.backend.kind().name(),
            "init": cfg.init.name(), "saturated_init": saturated_init, "saturated": saturated,
            "diverged": diverged.as_ref().map(|e| e.to_string()), "calibration": calibration,
        }));
    } else {
        eprintln!(
            "{} steps in {seconds:.1} s ({:.0} steps/s, {ex_per_sec:.0} examples/s)",
            trained,
            trained as f64 / train_secs.max(1e-9)
        );
        eprintln!(
            "saturated tanh units (|h| > {SATURATED}) on the first {} training examples: {:.1}% at the start, {:.1}% now",
            probe.rows(),
            100.0 * saturated_init,
            100.0 * saturated
        );
        println!("train {:.4}\ndev {:.4}\ntest {:.4}", losses.train, losses.dev, losses.test);
        if let Some(p) = &args.save {
            eprintln!("saved {}", p.display());
        }
    }
    diverged.map_or(Ok(()), Err)
}

fn inspect_cmd(model: &Path, words: &[String], data: Option<&Path>, json: bool) -> Result<()> {
    let ck = load_model(model)?;
    let data = model_data(&ck, data)?;
    let cfg = ck.train.clone().unwrap_or_default();
    let dev = pollster::block_on(CpuBackend::new(&data, ck.params.clone(), &cfg)?.evaluate(SplitName::Dev))?;
    for word in words {
        let r = inspect(&ck.params, &ck.vocab, data.train_words(), word)?;
        if json {
            println!("{}", json!({"inspection": r, "dev_loss": dev}));
            continue;
        }
        let seen = if r.in_train { "in the training set" } else { "not in the training set" };
        println!("{word}: nll {:.6} ({:.4} per character; dev average {dev:.4}), {seen}", r.nll, r.nll_per_char);
        for q in &r.positions {
            let top: Vec<String> = q.top.iter().map(|c| format!("{} {:.3}", c.ch, c.prob)).collect();
            println!("  {} -> {}  {:.4}   top: {}", q.context, q.next, q.prob, top.join("  "));
        }
    }
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Train(args) => pollster::block_on(train_cmd(&args)),
        Cmd::Split { data, block, split_seed } => {
            let p = cli_preset()?;
            let (block_size, split_seed) =
                (block.block_size.unwrap_or(p.block_size), split_seed.unwrap_or(p.train.split_seed));
            let d = Dataset::new(&read_data(data.as_deref())?, block_size, split_seed)?;
            println!("train {} dev {} test {}", d.train.len(), d.dev.len(), d.test.len());
            Ok(())
        }
        Cmd::Sample { model, n, temperature, seed, prefix, hide_existing, data } => {
            let ck = load_model(&model)?;
            let data = if hide_existing { Some(model_data(&ck, data.as_deref())?) } else { None };
            let known = data.as_ref().map(|d| d.train_words().iter().cloned().collect());
            let req = Request { count: n, temperature, prefix: &prefix, exclude: known.as_ref(), seed };
            let drawn = sample_with(&ck.params, &ck.vocab, &req)?;
            for w in &drawn.names {
                println!("{w}");
            }
            if drawn.names.len() < n {
                eprintln!(
                    "found {} new words in {} draws; the model mostly repeats its training words",
                    drawn.names.len(),
                    drawn.attempts
                );
            }
            Ok(())
        }
        Cmd::Inspect { model, words, data, json } => inspect_cmd(&model, &words, data.as_deref(), json),
        Cmd::Bench(args) => bench::run(&args),
        Cmd::Diagnose(args) => diagnose::diagnose(&args),
        Cmd::LrFind(args) => pollster::block_on(diagnose::lr_find(&args)),
        Cmd::GpuPlan(args) => crate::gpu_plan::run(&args),
    }
}

pub fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// The page's names for a setting (constants().settings: the CLI's short alias,
    /// the kebab-case key and the key) are the names of its `train` flag, so the
    /// table in src/web/constants.rs and the clap attributes cannot drift apart.
    #[test]
    fn every_setting_is_a_train_flag_by_each_of_its_page_names() {
        let cli = Cli::command();
        let train = cli.find_subcommand("train").unwrap();
        let names = |arg: &clap::Arg| -> Vec<String> {
            let mut all: Vec<String> = arg.get_long().into_iter().map(String::from).collect();
            all.extend(arg.get_all_aliases().unwrap_or_default().into_iter().map(String::from));
            all
        };
        for (key, setting) in makemore::web::constants::constants().settings {
            let flag = train.get_arguments().find(|a| names(a).iter().any(|n| setting.attributes.contains(n)));
            let flag = flag.unwrap_or_else(|| panic!("no train flag for {key}"));
            let have = names(flag);
            for name in &setting.attributes {
                assert!(have.contains(name), "--{name} is not a name of the train flag for {key} ({have:?})");
            }
        }
    }
}
