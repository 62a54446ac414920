//! The browser build: a wasm-bindgen [`Trainer`] that www/worker.js drives.
//!
//! * [`config`]: the page's flat settings object and its checks (every target).
//! * [`embedding`]: the embedding table as 2-D points for the scatter (every target).
//! * `backend`: WebGPU or the CPU, with the reason for the choice (wasm with the `gpu` feature).
//! * `trainer`: the JS-facing class (wasm with the `gpu` feature).

pub mod config;
pub mod embedding;

#[cfg(all(target_arch = "wasm32", feature = "gpu"))]
mod backend;
#[cfg(all(target_arch = "wasm32", feature = "gpu"))]
mod trainer;

#[cfg(all(target_arch = "wasm32", feature = "gpu"))]
pub use trainer::{live_gpu_buffers, preset_configs, wasm_memory_bytes, weights_config, Trainer};
