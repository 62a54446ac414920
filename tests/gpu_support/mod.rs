//! Shared by the gpu_* tests: a backend on the default adapter (the tests fail,
//! never skip, without one) and float comparisons.

use makemore::backend::gpu::GpuBackend;
use makemore::backend::KernelSet;
use makemore::config::TrainConfig;
use makemore::data::Dataset;
use makemore::model::Params;

/// Both kernel sets: tests that take a set run their body on each.
#[allow(dead_code)] // each test file compiles this module; not all of them loop over the sets
pub const SETS: [KernelSet; 2] = [KernelSet::Software, KernelSet::Hardware];

/// A backend with the adapter's own kernel set.
#[allow(dead_code)]
pub fn gpu(data: &Dataset, params: Params, cfg: &TrainConfig) -> GpuBackend {
    open(data, params, cfg, None)
}

/// A backend running the kernel set `set`, whatever the adapter.
#[allow(dead_code)]
pub fn gpu_with(set: KernelSet, data: &Dataset, params: Params, cfg: &TrainConfig) -> GpuBackend {
    open(data, params, cfg, Some(set))
}

fn open(data: &Dataset, params: Params, cfg: &TrainConfig, set: Option<KernelSet>) -> GpuBackend {
    pollster::block_on(GpuBackend::open(data, params, cfg, set))
        .unwrap_or_else(|e| panic!("GpuBackend::open failed; the GPU tests need a working GPU adapter (on Linux: mesa-vulkan-drivers for lavapipe): {e}"))
}

/// Asserts |got − want| ≤ rel·|want| + floor element-wise, where the floor is
/// rel × the largest |want| (sums that cancel to near zero keep the scale of their terms).
#[allow(dead_code)] // each test file compiles this module; gpu_recovery compares no floats
pub fn assert_close(name: &str, got: &[f32], want: &[f32], rel: f32) {
    assert_eq!(got.len(), want.len(), "{name}: lengths differ");
    let scale = want.iter().fold(0.0f32, |m, w| m.max(w.abs()));
    let floor = rel * scale.max(1e-3);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= rel * w.abs() + floor, "{name}[{i}]: gpu {g} vs cpu {w} (scale {scale})");
    }
}
