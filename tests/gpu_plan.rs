#![cfg(all(not(target_arch = "wasm32"), feature = "gpu"))]
//! The hardware kernel set's structure, read from the pass table that a backend
//! built on this machine's adapter encodes (lavapipe in CI): dispatches per step,
//! the longest loop per invocation, the workgroups of every pass over the batch,
//! and workgroup memory. `makemore gpu-plan` prints the same table.

mod gpu_support;

use makemore::backend::cpu::CpuBackend;
use makemore::backend::gpu::kernels::{EPI_BIAS, EPI_BIAS_TANH, EPI_NONE, EPI_TANH_GRAD};
use makemore::backend::gpu::plan::{self, KernelId, Mode, Shapes, DEFAULT_MAX_DIM};
use makemore::backend::gpu::tuning::Tuning;
use makemore::backend::gpu::GpuBackend;
use makemore::backend::{Backend, KernelSet};
use makemore::config::{Init, Preset, TrainConfig};
use makemore::data::Dataset;
use makemore::model::ModelConfig;
use makemore::model::Params;
use pollster::block_on;

use gpu_support::gpu_with;

const NAMES: &[u8] = include_bytes!("../data/names.txt");
const WORKGROUP_MEMORY: u32 = 16 * 1024;

fn setup(t: usize, e: usize, h: usize, batch: usize) -> (Dataset, Params, TrainConfig) {
    let data = Dataset::new(NAMES, t, 42).unwrap();
    let m = ModelConfig { vocab_size: data.vocab.len(), block_size: t, n_embd: e, n_hidden: h, direct: false };
    let params = Params::init(&m, Init::Kaiming, 42).unwrap();
    (data, params, TrainConfig { batch_size: batch, ..TrainConfig::default() })
}

fn hardware(t: usize, e: usize, h: usize, batch: usize) -> (GpuBackend, Dataset, Params, TrainConfig) {
    let (data, params, cfg) = setup(t, e, h, batch);
    let g = gpu_with(KernelSet::Hardware, &data, params.clone(), &cfg);
    (g, data, params, cfg)
}

#[test]
fn lecture_step_is_two_dispatches() {
    let lecture = Preset::get("lecture").unwrap();
    let (g, ..) = hardware(lecture.block_size, lecture.n_embd, lecture.n_hidden, lecture.train.batch_size);
    let passes = g.train_plan();
    let kernels: Vec<KernelId> = passes.iter().map(|p| p.kernel).collect();
    assert_eq!(kernels, [KernelId::Rows, KernelId::ParamsFused], "{passes:#?}");
    assert!(plan::longest_loop(passes) <= u64::from(plan::HW_MAX_LOOP), "{passes:#?}");
    assert!(plan::max_workgroup_bytes(passes) <= WORKGROUP_MEMORY);
    // The per-row pass runs one workgroup per row, plus one for the L2 term.
    assert_eq!(passes[0].workgroups(), 33);
}

#[test]
fn seed_step_tiles_the_matmuls_and_matches_cpu() {
    let (mut g, data, params, cfg) = hardware(3, 50, 100, 16_384);
    let passes = g.train_plan().to_vec();
    let kernels: Vec<KernelId> = passes.iter().map(|p| p.kernel).collect();
    // The tiled program: gather, h and logits, xent, dW2, dpre, dW1, demb, dC, reduce.
    let tiled = |epilogue| KernelId::Tiled(epilogue);
    let want = [
        KernelId::RowsGather,
        tiled(EPI_BIAS_TANH),
        tiled(EPI_BIAS),
        KernelId::RowsXent,
        tiled(EPI_NONE),
        tiled(EPI_TANH_GRAD),
        tiled(EPI_NONE),
        tiled(EPI_NONE),
        KernelId::ParamsC,
        KernelId::ParamsReduce,
    ];
    assert_eq!(kernels, want, "{passes:#?}");
    assert!(plan::longest_loop(&passes) <= 512, "{passes:#?}");
    for p in passes.iter().filter(|p| p.over_batch) {
        assert!(p.workgroups() >= 256, "{}: {} workgroups", p.name, p.workgroups());
    }
    assert!(plan::min_batch_workgroups(&passes) >= 256);
    assert!(plan::max_workgroup_bytes(&passes) <= WORKGROUP_MEMORY);
    // Two steps of the split path against the CPU.
    let mut cpu = CpuBackend::new(&data, params, &cfg).unwrap();
    let want = block_on(cpu.train(0, &[0.1, 0.1])).unwrap();
    let got = block_on(g.train(0, &[0.1, 0.1])).unwrap();
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() <= 1e-3, "step {i}: gpu {g} vs cpu {w}");
    }
}

#[test]
fn the_report_reads_the_encoded_table() {
    for set in [KernelSet::Software, KernelSet::Hardware] {
        let (data, params, cfg) = setup(3, 10, 200, 32);
        let g = gpu_with(set, &data, params.clone(), &cfg);
        // What `makemore gpu-plan` computes without a device, with the default dispatch limit.
        let tuning = Tuning::for_adapter(g.adapter());
        let report = plan::passes(&Shapes::new(&params.cfg, &cfg, DEFAULT_MAX_DIM, tuning), set, Mode::Train, 32);
        let encoded: Vec<_> = g.train_plan().iter().map(|p| (p.kernel, p.grid)).collect();
        let printed: Vec<_> = report.iter().map(|p| (p.kernel, p.grid)).collect();
        assert_eq!(encoded, printed, "{set:?}");
    }
}
