//! Shared by tests/train.rs (native, CPU and GPU) and tests/web.rs (wasm):
//! where each init scheme's loss starts on names.txt with T=3, E=50, H=100,
//! relative to the uniform loss ln V. These are the notebook's E02 tries.

use makemore::config::Init;

pub fn initial_loss_range(init: Init, uniform: f64) -> std::ops::RangeInclusive<f64> {
    match init {
        Init::Naive => 15.0..=21.0,
        Init::Uniform => 5.0..=9.0,
        Init::UniformZeroOutput => uniform - 0.001..=uniform + 0.001,
        Init::UniformSmallOutput => 3.25..=3.32,
        Init::SmallOutput => uniform - 0.02..=uniform + 0.02,
        Init::Kaiming => uniform - 0.05..=uniform + 0.05,
    }
}
