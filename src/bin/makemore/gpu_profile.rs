//! `makemore bench --profile`: per-dispatch GPU times of one training step on each
//! kernel set, from timestamp queries where the adapter has them. Each dispatch
//! runs in its own compute pass here, so the times include no overlap between
//! dispatches and the step is slower than in `bench`'s gpu rows.

use makemore::backend::gpu::GpuBackend;
use makemore::backend::{Backend, KernelSet};
use makemore::config::TrainConfig;
use makemore::data::Dataset;
use makemore::model::ModelConfig;
use makemore::model::Params;
use makemore::Result;

/// Steps run before timing (pipelines compiled, caches warm).
const WARM_UP: usize = 3;
/// Timed steps; each dispatch's median is printed.
const TIMED: usize = 7;

/// Prints each kernel set's per-dispatch times for one config.
pub fn run(text: &[u8], name: &str, model: &ModelConfig, batch: usize) -> Result<()> {
    let data = Dataset::new(text, model.block_size, 42)?;
    let cfg = TrainConfig { batch_size: batch, ..TrainConfig::default() };
    for set in [KernelSet::Software, KernelSet::Hardware] {
        let params = Params::init(model, cfg.init, cfg.seed)?;
        let mut g = pollster::block_on(GpuBackend::open(&data, params, &cfg, Some(set)))?;
        pollster::block_on(g.train(0, &[cfg.lr; WARM_UP]))?;
        let mut runs = Vec::new();
        for i in 0..TIMED {
            match pollster::block_on(g.profile_step((WARM_UP + i) as u64, cfg.lr))? {
                Some(times) => runs.push(times),
                None => {
                    println!(
                        "{name}, {} kernels: the adapter {} has no timestamp queries (Features::TIMESTAMP_QUERY), \
                         so there are no per-dispatch GPU times",
                        set.name(),
                        g.adapter_name()
                    );
                    break;
                }
            }
        }
        let Some(first) = runs.first() else { continue };
        println!(
            "\n{name}, {} kernels on {}: GPU µs per dispatch (median of {TIMED} steps)\n",
            set.name(),
            g.adapter_name()
        );
        println!("| # | pass | µs |");
        println!("|---|---|---:|");
        let mut total = 0.0;
        for (i, (pass, _)) in first.iter().enumerate() {
            let mut us: Vec<f64> = runs.iter().map(|r| r[i].1).collect();
            us.sort_by(f64::total_cmp);
            let median = us[us.len() / 2];
            total += median;
            println!("| {} | {pass} | {median:.1} |", i + 1);
        }
        println!("| | sum | {total:.1} |");
    }
    Ok(())
}
