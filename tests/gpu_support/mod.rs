//! Shared by the gpu_* tests: a backend on the default adapter (the tests fail,
//! never skip, without one) and float comparisons.

use makemore::backend::gpu::GpuBackend;
use makemore::config::TrainConfig;
use makemore::data::Dataset;
use makemore::model::Params;

pub fn gpu(data: &Dataset, params: Params, cfg: &TrainConfig) -> GpuBackend {
    pollster::block_on(GpuBackend::new(data, params, cfg))
        .unwrap_or_else(|e| panic!("GpuBackend::new failed; the GPU tests need a working GPU adapter (on Linux: mesa-vulkan-drivers for lavapipe): {e}"))
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
