//! `makemore`: train, split, sample and benchmark from a terminal. The CLI is
//! native only; on wasm32 (where `wasm-pack test` builds every target) this
//! binary is empty.

#[cfg(not(target_arch = "wasm32"))]
mod args;
#[cfg(not(target_arch = "wasm32"))]
mod bench;
#[cfg(not(target_arch = "wasm32"))]
mod cli;
#[cfg(not(target_arch = "wasm32"))]
mod diagnose;
#[cfg(not(target_arch = "wasm32"))]
mod gpu_plan;
#[cfg(not(target_arch = "wasm32"))]
mod gpu_profile;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
