//! `makemore bench`: every path on the same configs, in one run, as one table.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use clap::Args;

use makemore::backend::cpu::CpuBackend;
use makemore::backend::gpu::GpuBackend;
use makemore::backend::Backend;
use makemore::config::{Init, ModelConfig, Schedule, TrainConfig};
use makemore::data::Dataset;
use makemore::model::Params;
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
    #[arg(long, value_delimiter = ',', default_value = "seed,lecture")]
    configs: Vec<String>,
    /// Paths: pytorch-cpu, cpu, gpu.
    #[arg(long, value_delimiter = ',', default_value = "pytorch-cpu,cpu,gpu")]
    paths: Vec<String>,
    /// Python with torch (made by bench/setup.sh).
    #[arg(long, default_value = "bench/.venv/bin/python")]
    python: PathBuf,
}

struct BenchConfig {
    name: &'static str,
    block: usize,
    emb: usize,
    hidden: usize,
    batch: usize,
}

const CONFIGS: [BenchConfig; 3] = [
    BenchConfig { name: "seed", block: 3, emb: 50, hidden: 100, batch: 16384 },
    BenchConfig { name: "lecture", block: 3, emb: 10, hidden: 200, batch: 32 },
    BenchConfig { name: "big", block: 8, emb: 24, hidden: 512, batch: 4096 },
];

impl BenchConfig {
    fn model(&self, vocab_size: usize) -> ModelConfig {
        ModelConfig { vocab_size, block_size: self.block, n_embd: self.emb, n_hidden: self.hidden, direct: false }
    }
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

/// Trains for about `seconds` after a short warm-up and returns steps/s.
async fn measure<B: Backend>(backend: &mut B, seconds: f64, chunk: u64) -> Result<f64> {
    let lrs = vec![0.01f32; chunk as usize];
    backend.train(0, &lrs[..chunk.min(3) as usize]).await?;
    let start = Instant::now();
    let mut steps = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        backend.train(steps, &lrs).await?;
        steps += chunk;
    }
    Ok(steps as f64 / start.elapsed().as_secs_f64())
}

fn ours(path: &str, cfg: &BenchConfig, text: &[u8], seconds: f64) -> Result<Row> {
    let data = Dataset::new(text, cfg.block, 42)?;
    let m = cfg.model(data.vocab.len());
    let t = TrainConfig { batch_size: cfg.batch, lr: 0.01, lr_decay: Schedule::Constant, ..TrainConfig::default() };
    let params = Params::init(&m, Init::SmallOutput, 42)?;
    let chunk = (200_000 / cfg.batch as u64).clamp(1, 100);
    let sps = match path {
        "cpu" => pollster::block_on(measure(&mut CpuBackend::new(&data, params, &t)?, seconds, chunk))?,
        "gpu" => return pollster::block_on(gpu(&data, params, &t, seconds, chunk)),
        other => return Err(Error::config("paths", format!("unknown path {other:?}"))),
    };
    let threads = rayon::current_num_threads();
    Ok(Row { steps_per_sec: sps, note: format!("native, {threads} threads") })
}

/// The gpu row, noting how much of a step is dispatch overhead: the time of as
/// many empty-kernel dispatches as `chunk` steps make, in one submission, against
/// the time of those steps.
async fn gpu(data: &Dataset, params: Params, t: &TrainConfig, seconds: f64, chunk: u64) -> Result<Row> {
    let mut g = GpuBackend::new(data, params, t).await?;
    let sps = measure(&mut g, seconds, chunk).await?;
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

fn pytorch(python: &Path, cfg: &BenchConfig, data: &Path, seconds: f64) -> Result<Row> {
    let fail = |why: String| Error::Data(format!("pytorch-cpu: {why} (run bench/setup.sh first)"));
    let out = Command::new(python)
        .args(["bench/torch_bench.py", "--config", cfg.name, "--threads", "2", "--seconds"])
        .arg(seconds.to_string())
        .arg("--data")
        .arg(data)
        .output()
        .map_err(|e| fail(format!("cannot run {}: {e}", python.display())))?;
    if !out.status.success() {
        return Err(fail(String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("failed").to_string()));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| fail(format!("bad output: {e}")))?;
    Ok(Row {
        steps_per_sec: v["steps_per_sec"].as_f64().unwrap_or(0.0),
        note: format!("torch {}, {} threads", v["torch"].as_str().unwrap_or("?"), v["threads"]),
    })
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let shared = Path::new("../shared/data/names.txt");
    let data_path = args.data.clone().or_else(|| shared.exists().then(|| shared.to_path_buf()));
    let text = match &data_path {
        Some(p) => std::fs::read(p).map_err(|e| Error::Data(format!("cannot read {}: {e}", p.display())))?,
        None => crate::cli::BUNDLED_NAMES.to_vec(),
    };
    let data_name = data_path.as_ref().map_or("bundled data/names.txt".to_string(), |p| p.display().to_string());
    println!("data: {data_name}; {} s per cell\n", args.seconds);
    println!("| config | path | batch | steps/s | examples/s | GFLOP/s | vs pytorch-cpu | notes |");
    println!("|---|---|---:|---:|---:|---:|---:|---|");
    for name in &args.configs {
        let cfg = CONFIGS
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| Error::config("configs", format!("unknown config {name:?}; use seed, lecture, big")))?;
        let vocab = Dataset::new(&text, cfg.block, 42)?.vocab.len();
        let flops = flops_per_example(&cfg.model(vocab));
        let mut torch_eps = None;
        for path in &args.paths {
            let row = match path.as_str() {
                "pytorch-cpu" => match &data_path {
                    Some(d) => pytorch(&args.python, cfg, d, args.seconds),
                    None => Err(Error::Data("pytorch-cpu needs --data".into())),
                },
                p => ours(p, cfg, &text, args.seconds),
            };
            match row {
                Ok(r) => {
                    let eps = r.steps_per_sec * cfg.batch as f64;
                    if path == "pytorch-cpu" {
                        torch_eps = Some(eps);
                    }
                    let ratio = torch_eps.map_or("–".to_string(), |t| format!("{:.2}×", eps / t));
                    println!(
                        "| {} | {path} | {} | {:.1} | {:.0} | {:.1} | {ratio} | {} |",
                        cfg.name,
                        cfg.batch,
                        r.steps_per_sec,
                        eps,
                        eps * flops / 1e9,
                        r.note
                    );
                }
                Err(e) => println!("| {} | {path} | {} | – | – | – | – | {e} |", cfg.name, cfg.batch),
            }
        }
    }
    Ok(())
}
