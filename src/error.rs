//! One error type for the whole crate. Every message says what went wrong and
//! what to do about it; on wasm these become `JsError`s unchanged.

use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    /// The word list could not be used.
    #[error("word list: {0}")]
    Data(String),

    /// A hyperparameter is out of range; `field` names it as the CLI/JS config does.
    #[error("config `{field}`: {message}")]
    Config { field: String, message: String },

    /// A weights file is corrupt, truncated or does not match the model.
    #[error("weights file: {0}")]
    Weights(String),

    /// Training produced a NaN or infinite loss, or one far above where it started.
    #[error(
        "training diverged at step {step}: the loss became {loss}. Training stopped there; \
         lower the learning rate (try 10x smaller) and reset to the last good checkpoint"
    )]
    Diverged { step: u64, loss: f32 },

    /// The GPU backend failed (no adapter, limits exceeded, device lost, out of memory).
    #[error("gpu: {0}")]
    Gpu(String),
}

impl Error {
    pub fn config(field: &str, message: impl Into<String>) -> Self {
        Error::Config { field: field.to_string(), message: message.into() }
    }
}
