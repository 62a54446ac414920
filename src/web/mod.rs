//! The browser build: a wasm-bindgen [`Trainer`] that www/worker.js drives.
//!
//! * [`config`]: the page's flat settings object and its checks (every target).
//! * [`embedding`]: the embedding table as 2-D points for the scatter (every target).
//! * `backend`: WebGPU or the CPU, with the reason for the choice (wasm only).
//! * `trainer`: the JS-facing class (wasm only).
//! * `initThreadPool`: the rayon pool of Web Workers (wasm with the `threads` feature).

pub mod config;
pub mod embedding;

#[cfg(target_arch = "wasm32")]
mod backend;
#[cfg(target_arch = "wasm32")]
mod trainer;

#[cfg(target_arch = "wasm32")]
pub use trainer::{preset_configs, weights_config, Trainer};
/// The threaded build's `initThreadPool(n)`: www/worker.js awaits it before creating a Trainer.
#[cfg(all(target_arch = "wasm32", feature = "threads"))]
pub use wasm_bindgen_rayon::init_thread_pool;
