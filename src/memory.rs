//! How much wasm memory a page's run holds at its peak, counted from the word
//! list's length and the settings before anything is allocated, so a run that
//! cannot fit is refused by name instead of aborting the tab (a failed
//! allocation in wasm aborts; it never returns an error).
//!
//! The count is an upper bound built from bounds: a word list of L bytes has at
//! most L + 1 examples (each character and each word's end is one) and at most
//! (L + 1) / 2 words (a character and a line break each). Every size is u64 and
//! checked: on wasm32 a usize product overflows long before the limits.

use crate::backend::cpu::WorkspaceFloats;
use crate::config::{Optimizer, TrainConfig};
use crate::model::{n_params, ModelConfig};
use crate::{Error, Result};

/// A single-threaded wasm instance's memory: wasm32's whole address space.
pub const WASM_MEMORY_BYTES: u64 = 4 << 30;
/// The threaded build's shared memory: scripts/build-wasm.sh reads this line for `--max-memory`.
pub const WASM_THREADS_MEMORY_BYTES: u64 = 2 << 30;

/// The memory this build can use: the limits above on wasm32, none natively.
pub fn limit() -> u64 {
    if cfg!(all(target_arch = "wasm32", feature = "threads")) {
        WASM_THREADS_MEMORY_BYTES
    } else if cfg!(target_arch = "wasm32") {
        WASM_MEMORY_BYTES
    } else {
        u64::MAX
    }
}

/// Bytes of one `String` or `Vec` header, and of a hash set entry's overhead
/// (the pointer-sized hash control and load-factor slack), on a 64-bit host
/// (wasm32's are smaller, so this over-counts there).
const HEADER: u64 = 24;
const SET_SLACK: u64 = 16;

/// The "setting" of the parts the word list's length sizes.
const WORD_LIST: &str = "the word list";
/// The vocabulary comes from the word list, so a refusal over it says which list to use.
const VOCABULARY: &str = "vocab_size";

/// One part of the footprint: what it is, the setting that sizes it (the one
/// to change when it does not fit), and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub what: &'static str,
    pub setting: &'static str,
    pub bytes: u64,
}

/// The page's memory at its peak, by part. Every copy counts:
/// * the word list's bytes as the page passed them, and the data set (words and
///   the three splits' token ids) held by the trainer, by a CPU backend's own
///   copy, and by one scratch CPU backend (`initLosses` and `lrFind` build one
///   at a time; so does the move to the CPU when the GPU is lost);
/// * the training words' set that `sampleWith` leaves out;
/// * the parameters: the backend's, Adam's two moments, the checkpoint, and a
///   saved file's copies (parameters, moments and their bytes);
/// * the CPU workspaces: per thread a gradient and a batch's activations, and
///   the embedding tables, for the run's backend and the scratch one;
/// * the loss history (a growing Vec reserves up to twice its length) and the
///   saved file's copy of it.
pub fn page_footprint(text_len: u64, m: &ModelConfig, t: &TrainConfig, cpu: bool, threads: u64) -> Option<Vec<Part>> {
    let tb = m.block_size as u64;
    let examples = text_len.checked_add(1)?;
    let words = examples / 2;
    let ids = examples.checked_mul(tb + 1)?.checked_mul(4)?;
    let word_bytes = text_len.checked_add(words.checked_mul(HEADER)?)?;
    let dataset = ids.checked_add(word_bytes)?;
    let dataset_copies = if cpu { 3 } else { 2 };
    let n = n_params(m)?.checked_mul(4)?;
    let adam = t.optimizer != Optimizer::Sgd;
    // Backend + moments (CPU only: the GPU keeps them on the device), the
    // checkpoint, a readback, and a saved file's parameters, moments and bytes.
    let moments = if adam { 2 } else { 0 };
    let param_copies = if cpu { 1 + moments } else { 0 } + 2 + 2 * (1 + moments);
    // The CPU backend's workspaces (backend::cpu::WorkspaceFloats), run and
    // scratch: per thread a gradient, a batch's activations, and the embedding
    // tables of every thread and the shared one, which grow with the vocabulary.
    let WorkspaceFloats { per_row, table } = WorkspaceFloats::of(m);
    let workspaces = if cpu { 2 } else { 1 };
    let workspace = threads.checked_mul(n)?.checked_add((t.batch_size as u64).checked_mul(per_row)?.checked_mul(4)?)?;
    let tables = (threads + 1).checked_mul(table)?.checked_mul(4)?;
    let history = t.steps.checked_mul(4)?.checked_mul(3)?;
    Some(vec![
        Part {
            what: "the word list and its copies",
            setting: WORD_LIST,
            bytes: text_len.checked_add(dataset.checked_mul(dataset_copies)?)?,
        },
        Part {
            what: "the training words' set",
            setting: WORD_LIST,
            bytes: word_bytes.checked_add(words.checked_mul(SET_SLACK)?)?,
        },
        Part { what: "the parameters and their copies", setting: "n_hidden", bytes: n.checked_mul(param_copies)? },
        Part { what: "the CPU workspaces", setting: "batch_size", bytes: workspace.checked_mul(workspaces)? },
        Part { what: "the CPU's embedding tables", setting: VOCABULARY, bytes: tables.checked_mul(workspaces)? },
        Part { what: "the loss history", setting: "steps", bytes: history },
    ])
}

/// Refuses a run whose footprint (see [`page_footprint`]) exceeds `limit`
/// bytes, naming its largest part and the setting to change.
pub fn check_page(text_len: u64, m: &ModelConfig, t: &TrainConfig, cpu: bool, threads: u64, limit: u64) -> Result<()> {
    let parts = page_footprint(text_len, m, t, cpu, threads);
    let total = parts.as_ref().and_then(|ps| ps.iter().try_fold(0u64, |sum, p| sum.checked_add(p.bytes)));
    if total.is_some_and(|b| b <= limit) {
        return Ok(());
    }
    // A size past 2^64 bytes comes from the model's or the run's size.
    let overflow = Part { what: "a size past 2^64 bytes", setting: "n_hidden", bytes: u64::MAX };
    let largest = parts.and_then(|ps| ps.into_iter().max_by_key(|p| p.bytes)).unwrap_or(overflow);
    let total = total.map_or("more memory than can be counted".into(), |b| format!("about {} MiB", b >> 20));
    let message = format!(
        "this run would need {total} in the page, more than the {} MiB this browser build can use (the largest \
         part: {}); ",
        limit >> 20,
        largest.what
    );
    Err(match largest.setting {
        WORD_LIST => Error::Data(message + "use a shorter word list"),
        VOCABULARY => Error::config(
            VOCABULARY,
            message + "use a word list with fewer distinct characters, or no direct connections",
        ),
        setting => Error::config(setting, message + &format!("lower {setting}")),
    })
}
