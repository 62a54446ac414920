//! The browser build: a wasm-bindgen [`Trainer`] that www/worker.js drives.
//!
//! * [`config`]: the page's flat settings object and its checks (every target).
//! * [`constants`]: the limits, init schemes, presets and bench configs JS reads
//!   (`constants()`), so it keeps no copy of them (every target).
//! * [`embedding`]: the embedding table as 2-D points for the scatter (every target).
//! * `backend`: WebGPU or the CPU, with the reason for the choice (wasm with the `gpu` feature).
//! * `trainer`: the JS-facing class (wasm with the `gpu` feature).
//! * `initThreadPool`: the rayon pool of Web Workers (wasm with the `threads` feature).

pub mod config;
pub mod constants;
pub mod embedding;

#[cfg(all(target_arch = "wasm32", feature = "gpu"))]
mod backend;

/// A value as plain JS objects and arrays (not `Map`s), numbers for u64.
#[cfg(all(target_arch = "wasm32", feature = "gpu"))]
fn to_js<T: serde::Serialize>(value: &T) -> Result<wasm_bindgen::JsValue, wasm_bindgen::JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| wasm_bindgen::JsError::new(&e.to_string()))
}
/// A JS value read as `T` (plain objects and arrays); an error names `what`.
#[cfg(all(target_arch = "wasm32", feature = "gpu"))]
fn from_js<T: serde::de::DeserializeOwned>(value: wasm_bindgen::JsValue, what: &str) -> crate::Result<T> {
    serde_wasm_bindgen::from_value(value).map_err(|e| crate::Error::config(what, config::error_text(e)))
}
#[cfg(all(target_arch = "wasm32", feature = "gpu"))]
mod trainer;

#[cfg(all(target_arch = "wasm32", feature = "gpu"))]
pub use trainer::{live_gpu_buffers, preset_configs, resolve_settings, wasm_memory_bytes, weights_config, Trainer};
/// The threaded build's `initThreadPool(n)`: www/worker.js awaits it before creating a Trainer.
#[cfg(all(target_arch = "wasm32", feature = "threads"))]
pub use wasm_bindgen_rayon::init_thread_pool;
