//! `makemore gpu-plan`: the GPU backend's dispatch table for a config and a kernel
//! set, read from the same pass table the command encoder runs
//! (`makemore::backend::gpu::plan`), with per-step totals and a roofline lower
//! bound per GPU class. Computed from shapes alone: no GPU needed.

use clap::Args;
use serde_json::json;

use makemore::backend::gpu::plan::{self, Mode, Shapes, DEFAULT_MAX_DIM, GPU_CLASSES};
use makemore::backend::gpu::tuning::{Tuning, CLASS_NAMES, DEFAULT};
use makemore::backend::KernelSet;
use makemore::data::{Dataset, BUNDLED_NAMES};
use makemore::web::config::Resolved;
use makemore::{Error, Result};

use crate::args::ModelFlags;

#[derive(Args)]
pub struct GpuPlanArgs {
    #[command(flatten)]
    model: ModelFlags,
    /// software | hardware
    #[arg(long, default_value = "hardware")]
    kernels: KernelSet,
    /// The adapter class whose parallelism constants to use (software, nvidia, amd,
    /// apple, intel, unknown); default: unknown, the safe defaults.
    #[arg(long, value_name = "class")]
    adapter_class: Option<String>,
    /// One JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &GpuPlanArgs) -> Result<()> {
    let r = args.model.resolved()?;
    // The vocabulary of the bundled names (27 with the end marker).
    let vocab = Dataset::new(BUNDLED_NAMES, r.model.block_size, r.train.split_seed)?.vocab.len();
    let Resolved { model: m, train: t, .. } = r.with_vocab(vocab)?;
    let tuning = match &args.adapter_class {
        None => DEFAULT,
        Some(class) => Tuning::named(class).ok_or_else(|| {
            Error::config(
                "adapter-class",
                format!("{class:?} is not an adapter class; use one of {}", CLASS_NAMES.join(", ")),
            )
        })?,
    };
    let shapes = Shapes::new(&m, &t, DEFAULT_MAX_DIM, tuning);
    let passes = plan::passes(&shapes, args.kernels, Mode::Train, t.batch_size as u32);
    let flops: u64 = passes.iter().map(|p| p.flops).sum();
    let bytes: u64 = passes.iter().map(|p| p.bytes).sum();
    let bounds: Vec<(&str, f64)> = GPU_CLASSES.iter().map(|g| (g.name, plan::bound_us(&passes, g))).collect();
    let config = format!(
        "T={} E={} H={} V={} batch {}{}, {} kernels, {} adapter constants",
        m.block_size,
        m.n_embd,
        m.n_hidden,
        m.vocab_size,
        t.batch_size,
        if m.direct { ", direct" } else { "" },
        args.kernels.name(),
        tuning.class
    );
    if args.json {
        let bound_us: serde_json::Map<String, serde_json::Value> =
            bounds.iter().map(|(name, us)| (name.to_string(), json!(us))).collect();
        let out = json!({
            "config": config,
            "kernels": args.kernels.name(),
            "tuning": tuning,
            "dispatches_per_step": passes.len(),
            "longest_loop": plan::longest_loop(&passes),
            "min_batch_workgroups": plan::min_batch_workgroups(&passes),
            "max_workgroup_bytes": plan::max_workgroup_bytes(&passes),
            "flops": flops,
            "bytes": bytes,
            "bound_us": bound_us,
            "bound_note": "roofline lower bound from published peak FP32 FLOP/s and memory bandwidth, not a measurement",
            "passes": passes,
        });
        println!("{out}");
        return Ok(());
    }
    println!("GPU dispatch plan per training step: {config}\n");
    println!(
        "adapter constants ({}): tile {}, split-K groups {}, minimum split {} rows, dC chunk {} positions\n",
        tuning.class, tuning.tile, tuning.split_k_groups, tuning.min_split, tuning.dc_chunk
    );
    println!("| # | pass | workgroups | invocations/wg | longest loop | MFLOP | KiB | wg memory B | barriers |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (i, p) in passes.iter().enumerate() {
        println!(
            "| {} | {} | {} | {} | {} | {:.3} | {:.1} | {} | {} |",
            i + 1,
            p.name,
            p.workgroups(),
            p.invocations,
            p.longest_loop,
            p.flops as f64 / 1e6,
            p.bytes as f64 / 1024.0,
            p.workgroup_bytes,
            p.barriers
        );
    }
    println!(
        "\nper step: {} dispatches, longest loop {} iterations, fewest workgroups of a pass over the batch {}, \
         {:.3} MFLOP, {:.1} KiB compulsory global traffic",
        passes.len(),
        plan::longest_loop(&passes),
        plan::min_batch_workgroups(&passes),
        flops as f64 / 1e6,
        bytes as f64 / 1024.0
    );
    println!("\nroofline LOWER BOUND per step (published peaks; a bound, not a measurement):");
    for (name, us) in bounds {
        println!("  {name:<14} ≥ {us:.2} µs");
    }
    Ok(())
}
