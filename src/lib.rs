//! makemore-wasm: a character-level MLP language model (Bengio et al. 2003, as in
//! Karpathy's makemore part 2) that trains natively or in the browser.
//!
//! Data flows one way: text → [`data::Dataset`] → [`model::Params`] → a
//! [`backend::Backend`] step → metrics and samples.

pub mod backend;
pub mod config;
pub mod data;
pub mod diagnostics;
pub mod error;
pub mod inspect;
pub mod lr_find;
pub mod memory;
pub mod model;
pub mod optim;
pub mod pyrandom;
pub mod rng;
pub mod sample;
pub mod session;
pub mod web;
pub mod weights;

pub use error::{Error, Result};
