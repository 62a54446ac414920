//! `makemore bench`: every path on the same configs, in one run, as one table.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use clap::Args;

use makemore::backend::cpu::CpuBackend;
use makemore::backend::gpu::GpuBackend;
use makemore::backend::Backend;
use makemore::config::{
    targets_reached, BenchConfig, DevPoint, Init, Preset, Schedule, TargetHit, TrainConfig, BENCH_CONFIGS,
    BENCH_EVAL_EVERY, BENCH_TARGETS, BENCH_TTT_PRESET,
};
use makemore::data::Dataset;
use makemore::model::ModelConfig;
use makemore::model::Params;
use makemore::session::{Chunks, Session};
use makemore::{Error, Result};

#[derive(Args)]
pub struct BenchArgs {
    /// Word list (default: ../shared/data/names.txt when present, else the bundled names).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Seconds to measure each cell.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Configs: seed, lecture, big.
    #[arg(long, value_delimiter = ',', default_value = "seed,lecture,big")]
    configs: Vec<String>,
    /// Paths: pytorch-cpu, cpu, cpu-1t (one thread), gpu; in headless Chromium
    /// (bench/browser.mjs): wasm-cpu (one thread, the SIMD build), wasm-relaxed
    /// (one thread, the relaxed-SIMD build), wasm-threads, webgpu.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "pytorch-cpu,cpu,cpu-1t,gpu,wasm-cpu,wasm-relaxed,wasm-threads,webgpu"
    )]
    paths: Vec<String>,
    /// Python with torch (made by bench/setup.sh).
    #[arg(long, default_value = "bench/.venv/bin/python")]
    python: PathBuf,
    /// Instead of speed: wall seconds until dev < 2.20 and < 2.13 with the E01
    /// recipe on each path (evaluations every 500 steps count in the time).
    #[arg(long)]
    time_to_target: bool,
    /// With --time-to-target: give up on a path after this many seconds.
    #[arg(long, default_value_t = 300.0)]
    limit: f64,
    /// Instead of speed: per-dispatch GPU times of each kernel set (timestamp queries).
    #[arg(long)]
    profile: bool,
}

/// Steps between the evaluations of --time-to-target.
const EVAL_EVERY: u64 = BENCH_EVAL_EVERY;
/// The configs of the speed table, from the library (the page and PyTorch read the same).
const CONFIGS: [BenchConfig; 3] = BENCH_CONFIGS;

fn bench_model(cfg: &BenchConfig, vocab_size: usize) -> ModelConfig {
    ModelConfig { vocab_size, block_size: cfg.block_size, n_embd: cfg.n_embd, n_hidden: cfg.n_hidden, direct: false }
}

/// Forward + backward FLOPs per example: 6·(T·E·H + H·V (+ T·E·V)).
pub fn flops_per_example(m: &ModelConfig) -> f64 {
    let direct = if m.direct { m.n_in() * m.vocab_size } else { 0 };
    6.0 * (m.n_in() * m.n_hidden + m.n_hidden * m.vocab_size + direct) as f64
}

struct Row {
    steps_per_sec: f64,
    note: String,
}

/// Trains `run` for about `seconds` in chunks of `chunk` steps after a short
/// warm-up and returns steps/s (see [`Session::measure`]).
async fn measure<B: Backend>(run: &mut Session<B>, seconds: f64, chunk: u64) -> Result<f64> {
    let clock = Instant::now();
    run.measure(seconds, || clock.elapsed().as_secs_f64(), Chunks::Fixed(chunk)).await
}

fn ours(path: &str, cfg: &BenchConfig, text: &[u8], seconds: f64) -> Result<Row> {
    let data = Dataset::new(text, cfg.block_size, 42)?;
    let m = bench_model(cfg, data.vocab.len());
    let t =
        TrainConfig { batch_size: cfg.batch_size, lr: 0.01, lr_decay: Schedule::Constant, ..TrainConfig::default() };
    let params = Params::init(&m, Init::SmallOutput, 42)?;
    let chunk = (200_000 / cfg.batch_size as u64).clamp(1, 100);
    let cpu = || -> Result<Row> {
        let mut run = Session::new(CpuBackend::new(&data, params.clone(), &t)?, t.clone());
        let sps = pollster::block_on(measure(&mut run, seconds, chunk))?;
        let threads = rayon::current_num_threads();
        Ok(Row { steps_per_sec: sps, note: format!("native, {threads} thread{}", if threads > 1 { "s" } else { "" }) })
    };
    match path {
        "cpu" => cpu(),
        "cpu-1t" => one_thread(cpu),
        "gpu" => pollster::block_on(gpu(&data, params, &t, seconds, chunk)),
        other => Err(Error::config("paths", format!("unknown path {other:?}"))),
    }
}

/// Runs `f` on a rayon pool of one thread (the CPU backend shards by pool size).
fn one_thread<T: Send>(f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| Error::config("paths", format!("cannot start a one-thread pool: {e}")))?;
    pool.install(f)
}

/// The gpu row, noting how much of a step is dispatch overhead: the time of as
/// many empty-kernel dispatches as `chunk` steps make, in one submission, against
/// the time of those steps.
async fn gpu(data: &Dataset, params: Params, t: &TrainConfig, seconds: f64, chunk: u64) -> Result<Row> {
    let mut run = Session::new(GpuBackend::new(data, params, t).await?, t.clone());
    let sps = measure(&mut run, seconds, chunk).await?;
    let g = &mut run.backend;
    let reps = (seconds * sps / chunk as f64).ceil().max(1.0) as u64;
    let start = Instant::now();
    for _ in 0..reps {
        g.dispatch_only(chunk as usize).await?;
    }
    let empty = start.elapsed().as_secs_f64() / (reps * chunk) as f64;
    Ok(Row {
        steps_per_sec: sps,
        note: format!(
            "{}, {chunk} steps/submission; dispatch overhead {:.0}% of a step ({:.0} of {:.0} µs)",
            g.adapter_name(),
            100.0 * empty * sps,
            empty * 1e6,
            1e6 / sps
        ),
    })
}

/// Runs `program args` and reads the one JSON line it prints; errors say what to set up.
fn json_from(program: &Path, args: &[String], what: &str, setup: &str) -> Result<serde_json::Value> {
    let fail = |why: String| Error::Data(format!("{what}: {why} ({setup})"));
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| fail(format!("cannot run {}: {e}", program.display())))?;
    if !out.status.success() {
        return Err(fail(String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("failed").to_string()));
    }
    let line = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().to_string();
    serde_json::from_str(&line).map_err(|e| fail(format!("bad output: {e}")))
}

/// PyTorch's threads: as many as the `cpu` row's rayon pool, so "vs pytorch-cpu"
/// compares like with like.
fn torch_threads() -> usize {
    rayon::current_num_threads()
}

/// The arguments of bench/torch_bench.py.
fn torch_args(data: &Path, threads: usize, args: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = ["bench/torch_bench.py", "--threads"].map(String::from).to_vec();
    all.extend([threads.to_string(), "--data".into(), data.display().to_string()]);
    all.extend(args.iter().map(|a| a.to_string()));
    all
}

/// Runs bench/torch_bench.py on [`torch_threads`] threads; an error if torch ran on
/// another number.
fn torch_json(python: &Path, data: &Path, args: &[&str]) -> Result<serde_json::Value> {
    let threads = torch_threads();
    let v = json_from(python, &torch_args(data, threads, args), "pytorch-cpu", "run bench/setup.sh first")?;
    if v["threads"].as_u64() != Some(threads as u64) {
        return Err(Error::Data(format!("pytorch-cpu: asked for {threads} threads, torch ran on {}", v["threads"])));
    }
    Ok(v)
}

/// Runs bench/browser.mjs (the page's own worker in headless Chromium) and
/// returns its results array.
fn browser_json(path: &str, data: &Path, args: &[String]) -> Result<Vec<serde_json::Value>> {
    // The single-threaded paths name their wasm build (www/wasm.js would pick relaxed SIMD in Chromium).
    let (threads, backend, simd) = match path {
        "wasm-cpu" => ("1", "cpu", "simd128"),
        "wasm-relaxed" => ("1", "cpu", "relaxed"),
        "wasm-threads" => ("0", "cpu", ""),
        _ => ("0", "webgpu", ""),
    };
    let mut all = vec!["bench/browser.mjs".to_string(), "--threads".into(), threads.into(), "--paths".into()];
    all.push(backend.into());
    all.extend(["--simd".to_string(), simd.into()]);
    all.extend(["--data".to_string(), data.display().to_string()]);
    all.extend_from_slice(args);
    let setup = "run scripts/build-web.sh and npm ci in e2e/ first";
    let v = json_from(Path::new("node"), &all, path, setup)?;
    if let Some(e) = v["error"].as_str() {
        return Err(Error::Data(format!("{path}: {e}")));
    }
    if path == "wasm-threads" && v["isolated"] != true {
        return Err(Error::Data(format!("{path}: the bench page was not cross-origin isolated")));
    }
    Ok(v["results"].as_array().cloned().unwrap_or_default())
}

/// The browser rows of every config for one path, from one Chromium run.
fn browser(path: &str, data: &Path, configs: &[&BenchConfig], seconds: f64) -> Vec<(String, Result<Row>)> {
    let names: Vec<&str> = configs.iter().map(|c| c.name).collect();
    let args = ["--configs".to_string(), names.join(","), "--seconds".into(), seconds.to_string()];
    match browser_json(path, data, &args) {
        Err(e) => names.iter().map(|n| (n.to_string(), Err(Error::Data(e.to_string())))).collect(),
        Ok(results) => results
            .iter()
            .map(|r| {
                let name = r["config"].as_str().unwrap_or("?").to_string();
                let row = match r["error"].as_str() {
                    Some(e) => Err(Error::Data(e.to_string())),
                    None => Ok(Row { steps_per_sec: r["stepsPerSec"].as_f64().unwrap_or(0.0), note: browser_note(r) }),
                };
                (name, row)
            })
            .collect(),
    }
}

fn browser_note(r: &serde_json::Value) -> String {
    let threads = r["threads"].as_u64().unwrap_or(1);
    match r["backend"].as_str() {
        Some("cpu") => {
            let build = r["simd"].as_str().unwrap_or("simd128");
            format!("Chromium wasm {build}, {threads} thread{}", if threads > 1 { "s" } else { "" })
        }
        _ => format!("Chromium WebGPU: {}", r["reason"].as_str().unwrap_or("")),
    }
}

fn pytorch(python: &Path, cfg: &BenchConfig, data: &Path, seconds: f64) -> Result<Row> {
    let shape = [cfg.block_size, cfg.n_embd, cfg.n_hidden, cfg.batch_size].map(|n| n.to_string());
    let [block, emb, hidden, batch] = shape.each_ref().map(String::as_str);
    let (seconds, name) = (seconds.to_string(), cfg.name);
    let v = torch_json(
        python,
        data,
        &[
            "--config",
            name,
            "--block_size",
            block,
            "--n_embd",
            emb,
            "--n_hidden",
            hidden,
            "--batch_size",
            batch,
            "--seconds",
            &seconds,
        ],
    )?;
    Ok(Row {
        steps_per_sec: v["steps_per_sec"].as_f64().unwrap_or(0.0),
        note: format!("torch {}, {} threads", v["torch"].as_str().unwrap_or("?"), v["threads"]),
    })
}

const BROWSER_PATHS: [&str; 4] = ["wasm-cpu", "wasm-relaxed", "wasm-threads", "webgpu"];

pub fn run(args: &BenchArgs) -> Result<()> {
    let shared = Path::new("../shared/data/names.txt");
    let data_path = args.data.clone().or_else(|| shared.exists().then(|| shared.to_path_buf()));
    let text = match &data_path {
        Some(p) => std::fs::read(p).map_err(|e| Error::Data(format!("cannot read {}: {e}", p.display())))?,
        None => makemore::data::BUNDLED_NAMES.to_vec(),
    };
    // Other programs (PyTorch, Chromium) read the word list from a file.
    let file = match &data_path {
        Some(p) => p.clone(),
        None => PathBuf::from("data/names.txt"),
    };
    println!("data: {}", file.display());
    if args.time_to_target {
        return time_to_target(args, &text, &file);
    }
    let configs = args
        .configs
        .iter()
        .map(|name| {
            CONFIGS
                .iter()
                .find(|c| c.name == name)
                .ok_or_else(|| Error::config("configs", format!("unknown config {name:?}; use seed, lecture, big")))
        })
        .collect::<Result<Vec<_>>>()?;
    if args.profile {
        let vocab = |c: &BenchConfig| Dataset::new(&text, c.block_size, 42).map(|d| d.vocab.len());
        return configs
            .iter()
            .try_for_each(|c| crate::gpu_profile::run(&text, c.name, &bench_model(c, vocab(c)?), c.batch_size));
    }
    println!("{} s per cell; pytorch-cpu and cpu on {} threads\n", args.seconds, torch_threads());
    // The browser paths run every config in one Chromium each; the rest cell by cell.
    let mut browser_rows: Vec<(String, String, Result<Row>)> = Vec::new();
    for path in args.paths.iter().filter(|p| BROWSER_PATHS.contains(&p.as_str())) {
        for (config, row) in browser(path, &file, &configs, args.seconds) {
            browser_rows.push((config, path.clone(), row));
        }
    }
    println!("| config | path | batch | steps/s | examples/s | GFLOP/s | vs pytorch-cpu | notes |");
    println!("|---|---|---:|---:|---:|---:|---:|---|");
    for cfg in configs {
        let vocab = Dataset::new(&text, cfg.block_size, 42)?.vocab.len();
        let flops = flops_per_example(&bench_model(cfg, vocab));
        let mut torch_eps = None;
        for path in &args.paths {
            let row = match path.as_str() {
                "pytorch-cpu" => pytorch(&args.python, cfg, &file, args.seconds),
                p if BROWSER_PATHS.contains(&p) => {
                    let at = browser_rows.iter().position(|(c, bp, _)| c == cfg.name && bp == p);
                    at.map(|i| browser_rows.remove(i).2).unwrap_or_else(|| Err(Error::Data("no result".into())))
                }
                p => ours(p, cfg, &text, args.seconds),
            };
            match row {
                Ok(r) => {
                    let eps = r.steps_per_sec * cfg.batch_size as f64;
                    if path == "pytorch-cpu" {
                        torch_eps = Some(eps);
                    }
                    let ratio = torch_eps.map_or("–".to_string(), |t| format!("{:.2}×", eps / t));
                    println!(
                        "| {} | {path} | {} | {:.1} | {:.0} | {:.1} | {ratio} | {} |",
                        cfg.name,
                        cfg.batch_size,
                        r.steps_per_sec,
                        eps,
                        eps * flops / 1e9,
                        r.note
                    );
                }
                Err(e) => println!("| {} | {path} | {} | – | – | – | – | {e} |", cfg.name, cfg.batch_size),
            }
        }
    }
    Ok(())
}

/// When each target fell, judged by the library's rule from a path's dev trace,
/// the last evaluation, and what ran it.
struct Reached {
    targets: Vec<TargetHit>,
    last: Option<DevPoint>,
    note: String,
}

impl Reached {
    fn new(trace: &[DevPoint], note: String) -> Reached {
        Reached { targets: targets_reached(trace).targets, last: trace.last().copied(), note }
    }

    /// From a path's JSON `{trace: [{step, seconds, dev}], …}`: PyTorch's and the browser's.
    fn from_trace(v: &serde_json::Value, note: String) -> Result<Reached> {
        let trace: Vec<DevPoint> = serde_json::from_value(v["trace"].clone())
            .map_err(|e| Error::Data(format!("the time-to-target trace is not [{{step, seconds, dev}}]: {e}")))?;
        Ok(Reached::new(&trace, note))
    }
}

/// bench/torch_bench.py's --time-to-target arguments: the preset's recipe in
/// full, so the script holds no copy of it; it reports its dev trace and
/// [`targets_reached`] decides when each target fell.
fn torch_ttt_args(p: &Preset, limit: f64) -> Result<Vec<String>> {
    let floor = match p.train.lr_decay {
        Schedule::Cosine { floor } => floor,
        ref other => return Err(Error::config("lr_decay", format!("the PyTorch twin runs cosine decay, not {other}"))),
    };
    let lowest = BENCH_TARGETS.iter().copied().fold(f64::INFINITY, f64::min);
    let pairs: [(&str, String); 10] = [
        ("--block_size", p.block_size.to_string()),
        ("--n_embd", p.n_embd.to_string()),
        ("--n_hidden", p.n_hidden.to_string()),
        ("--batch_size", p.train.batch_size.to_string()),
        ("--steps", p.train.steps.to_string()),
        ("--lr", p.train.lr.to_string()),
        ("--cosine_floor", floor.to_string()),
        ("--eval_every", EVAL_EVERY.to_string()),
        ("--stop_below", lowest.to_string()),
        ("--limit", limit.to_string()),
    ];
    let mut all = vec!["--time-to-target".to_string()];
    all.extend(pairs.into_iter().flat_map(|(k, v)| [k.to_string(), v]));
    Ok(all)
}

/// E01 natively on `path`, evaluating dev every EVAL_EVERY steps (each
/// evaluation also checkpoints, as in any run).
async fn native_ttt<B: Backend>(backend: B, cfg: TrainConfig, limit: f64, note: String) -> Result<Reached> {
    let mut t = Session::new(backend, TrainConfig { eval_every: EVAL_EVERY, ..cfg });
    let start = Instant::now();
    let mut trace = Vec::new();
    while !targets_reached(&trace).done && !t.done() && start.elapsed().as_secs_f64() < limit {
        if !t.run_until_eval().await? {
            continue;
        }
        let dev = t.eval_point().await?.dev as f64;
        trace.push(DevPoint { step: t.step, seconds: start.elapsed().as_secs_f64(), dev });
    }
    Ok(Reached::new(&trace, note))
}

fn ttt_path(path: &str, args: &BenchArgs, text: &[u8], file: &Path) -> Result<Reached> {
    let preset = Preset::get(BENCH_TTT_PRESET)?;
    match path {
        "pytorch-cpu" => {
            let owned = torch_ttt_args(&preset, args.limit)?;
            let v = torch_json(&args.python, file, &owned.iter().map(String::as_str).collect::<Vec<_>>())?;
            Reached::from_trace(&v, format!("torch {}, {} threads", v["torch"].as_str().unwrap_or("?"), v["threads"]))
        }
        p if BROWSER_PATHS.contains(&p) => {
            let extra = ["--mode".to_string(), "ttt".into(), "--limit".into(), args.limit.to_string()];
            let results = browser_json(p, file, &extra)?;
            let r = results.first().ok_or_else(|| Error::Data(format!("{p}: no result")))?;
            if let Some(e) = r["error"].as_str() {
                return Err(Error::Data(format!("{p}: {e}")));
            }
            Reached::from_trace(r, browser_note(r))
        }
        p => {
            let data = Dataset::new(text, preset.block_size, preset.train.split_seed)?;
            let m = preset.model(data.vocab.len());
            let params = Params::init(&m, preset.train.init, preset.train.seed)?;
            let cfg = preset.train.clone();
            match p {
                "cpu" | "cpu-1t" => {
                    let run = || {
                        let threads = rayon::current_num_threads();
                        let b = CpuBackend::new(&data, params, &cfg)?;
                        pollster::block_on(native_ttt(
                            b,
                            cfg.clone(),
                            args.limit,
                            format!("native, {threads} thread(s)"),
                        ))
                    };
                    if p == "cpu" {
                        run()
                    } else {
                        one_thread(run)
                    }
                }
                "gpu" => pollster::block_on(async {
                    let b = GpuBackend::new(&data, params, &cfg).await?;
                    let note = b.adapter_name();
                    native_ttt(b, cfg.clone(), args.limit, note).await
                }),
                other => Err(Error::config("paths", format!("unknown path {other:?}"))),
            }
        }
    }
}

fn time_to_target(args: &BenchArgs, text: &[u8], file: &Path) -> Result<()> {
    let p = Preset::get(BENCH_TTT_PRESET)?;
    println!(
        "recipe: E01 (T={}, E={}, H={}, {:?}, lr {} {}, batch {}, {} steps); dev evaluated every {EVAL_EVERY} steps, \
         evaluations included; limit {} s per path\n",
        p.block_size,
        p.n_embd,
        p.n_hidden,
        p.train.optimizer,
        p.train.lr,
        p.train.lr_decay,
        p.train.batch_size,
        p.train.steps,
        args.limit
    );
    println!("| path | dev < {:.2} | dev < {:.2} | last dev (step, s) | notes |", BENCH_TARGETS[0], BENCH_TARGETS[1]);
    println!("|---|---:|---:|---:|---|");
    for path in &args.paths {
        match ttt_path(path, args, text, file) {
            Ok(r) => {
                let cell = |i: usize| {
                    r.targets.get(i).and_then(|h| h.at).map_or(format!("not in {:.0} s", args.limit), |p| {
                        format!("{:.1} s ({} steps)", p.seconds, p.step)
                    })
                };
                let last =
                    r.last.map_or("no evaluation".into(), |p| format!("{:.4} ({}, {:.1} s)", p.dev, p.step, p.seconds));
                println!("| {path} | {} | {} | {last} | {} |", cell(0), cell(1), r.note);
            }
            Err(e) => println!("| {path} | – | – | – | {e} |"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use makemore::backend::BackendKind;
    use makemore::data::SplitName;
    use makemore::optim::OptState;

    /// Runs at most `per_call` steps of each chunk, as `train` does when a loss
    /// turns non-finite, and counts the steps it ran.
    struct StopsEarly {
        per_call: usize,
        ran: u64,
    }

    impl Backend for StopsEarly {
        fn kind(&self) -> BackendKind {
            BackendKind::Cpu
        }
        async fn train(&mut self, _first_step: u64, lrs: &[f32]) -> Result<Vec<f32>> {
            let n = lrs.len().min(self.per_call);
            self.ran += n as u64;
            let mut losses = vec![1.0; n];
            losses[n - 1] = f32::NAN;
            Ok(losses)
        }
        async fn evaluate(&mut self, _split: SplitName) -> Result<f32> {
            Ok(0.0)
        }
        async fn params(&mut self) -> Result<Params> {
            Err(Error::Data("none".into()))
        }
        fn set_params(&mut self, _params: &Params) -> Result<()> {
            Ok(())
        }
        async fn opt_state(&mut self) -> Result<Option<OptState>> {
            Ok(None)
        }
        fn set_opt_state(&mut self, _state: &OptState) -> Result<()> {
            Ok(())
        }
    }

    #[test]
    fn measure_counts_the_steps_train_ran_not_the_chunks_asked_for() {
        let mut run = Session::new(StopsEarly { per_call: 2, ran: 0 }, TrainConfig::default());
        let seconds = 0.05;
        let start = Instant::now();
        let sps = pollster::block_on(measure(&mut run, seconds, 50)).unwrap();
        let elapsed = start.elapsed().as_secs_f64();
        // ran includes the warm-up's 2 steps, which the rate leaves out; the
        // measured interval is within [seconds, elapsed].
        let timed = (run.backend.ran - 2) as f64;
        assert!(
            sps <= timed / seconds && sps >= timed / elapsed,
            "{sps:.0} steps/s, but {timed} steps ran in {seconds}–{elapsed:.3} s"
        );
    }

    #[test]
    fn a_dev_trace_gives_the_first_evaluation_under_each_target() {
        let trace = serde_json::json!({"trace": [
            {"step": 500, "seconds": 1.0, "dev": 2.31},
            {"step": 1000, "seconds": 2.0, "dev": 2.1999},
            {"step": 1500, "seconds": 3.0, "dev": 2.15},
            {"step": 2000, "seconds": 4.0, "dev": 2.129},
        ]});
        let r = Reached::from_trace(&trace, String::new()).unwrap();
        let at: Vec<_> = r.targets.iter().map(|h| h.at.map(|p| (p.seconds, p.step))).collect();
        assert_eq!(at, [Some((2.0, 1000)), Some((4.0, 2000))]);
        assert_eq!(r.last, Some(DevPoint { step: 2000, seconds: 4.0, dev: 2.129 }));
        let exactly = serde_json::json!({"trace": [{"step": 500, "seconds": 1.0, "dev": 2.2}]});
        let r = Reached::from_trace(&exactly, String::new()).unwrap();
        assert!(r.targets.iter().all(|h| h.at.is_none()), "2.2 is not under 2.20");
        let old = serde_json::json!({"reached": [{"target": 2.2, "seconds": 1.0, "step": 500}]});
        assert!(Reached::from_trace(&old, String::new()).is_err(), "a result without a trace is refused");
    }

    #[test]
    fn pytorch_gets_as_many_threads_as_the_cpu_row() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let args = pool.install(|| torch_args(Path::new("names.txt"), torch_threads(), &["--config", "seed"]));
        assert_eq!(args[..5], ["bench/torch_bench.py", "--threads", "3", "--data", "names.txt"]);
        assert_eq!(args[5..], ["--config", "seed"]);
    }
}
