//! The page's memory estimate: an upper bound on what a run holds, and a
//! refusal by name, before anything is allocated, of a run that cannot fit.

use makemore::config::{Optimizer, TrainConfig, MAX_BATCH, MAX_STEPS};
use makemore::data::Dataset;
use makemore::memory::{check_page, page_footprint, WASM_MEMORY_BYTES, WASM_THREADS_MEMORY_BYTES};
use makemore::model::{n_params, Layout, ModelConfig};
use makemore::Error;

const NAMES: &[u8] = include_bytes!("../data/names.txt");

fn lecture(data: &Dataset) -> (ModelConfig, TrainConfig) {
    let m = ModelConfig { vocab_size: data.vocab.len(), block_size: 3, n_embd: 10, n_hidden: 200, direct: false };
    (m, TrainConfig { optimizer: Optimizer::Adam, ..TrainConfig::default() })
}

fn part(parts: &[makemore::memory::Part], what: &str) -> u64 {
    parts.iter().find(|p| p.what.contains(what)).unwrap_or_else(|| panic!("no part {what}")).bytes
}

#[test]
fn the_estimate_bounds_every_copy_the_page_holds() {
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    let (m, t) = lecture(&data);
    let parts = page_footprint(NAMES.len() as u64, &m, &t, true, 4).unwrap();
    // The trainer's data set, the CPU backend's clone and a scratch backend's: token ids and words.
    let ids: usize = [&data.train, &data.dev, &data.test].iter().map(|s| (s.x.len() + s.y.len()) * 4).sum();
    let words: usize = data.words.iter().map(|w| w.len() + 24).sum();
    assert!(part(&parts, "word list") >= 3 * (ids + words) as u64, "{parts:?}");
    // The training words' set.
    let train_words: usize = data.train_words().iter().map(|w| w.len() + 24).sum();
    assert!(part(&parts, "training words") >= train_words as u64, "{parts:?}");
    // The backend's parameters and Adam's moments, the checkpoint, and a saved file's three arrays.
    let n = Layout::new(&m).total as u64 * 4;
    assert!(part(&parts, "parameters") >= n * (3 + 1 + 3), "{parts:?}");
    assert!(part(&parts, "history") >= 4 * t.steps, "{parts:?}");
    // And it fits both browser builds with room to spare.
    let total: u64 = parts.iter().map(|p| p.bytes).sum();
    assert!(total < WASM_THREADS_MEMORY_BYTES / 8, "{total} bytes for the lecture run");
    check_page(NAMES.len() as u64, &m, &t, true, 4, WASM_THREADS_MEMORY_BYTES).unwrap();
    // The GPU keeps its own copies on the device: fewer in the page.
    let gpu: u64 = page_footprint(NAMES.len() as u64, &m, &t, false, 4).unwrap().iter().map(|p| p.bytes).sum();
    assert!(gpu < total);
}

#[test]
fn a_run_that_cannot_fit_is_refused_by_the_setting_to_change() {
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    let (m, t) = lecture(&data);
    let len = NAMES.len() as u64;
    let refused = |m: &ModelConfig, t: &TrainConfig, limit: u64| match check_page(len, m, t, true, 4, limit) {
        Err(Error::Config { field, message }) => (field, message),
        other => panic!("expected a refusal, got {other:?}"),
    };
    // 2^36 steps: a loss history of 256 GiB.
    let (field, message) = refused(&m, &TrainConfig { steps: 1 << 36, ..t.clone() }, WASM_THREADS_MEMORY_BYTES);
    assert_eq!(field, "steps", "{message}");
    assert!(message.contains("2048 MiB") && message.contains("lower steps"), "{message}");
    // A huge batch of a wide model: the CPU's activations.
    let wide = ModelConfig { n_hidden: 8192, ..m.clone() };
    let (field, message) = refused(&wide, &TrainConfig { batch_size: MAX_BATCH, ..t.clone() }, WASM_MEMORY_BYTES);
    assert_eq!(field, "batch_size", "{message}");
    // What fits in 4 GiB single-threaded may not in the threaded build's 2 GiB.
    let mid = TrainConfig { steps: 200_000_000, ..t.clone() };
    check_page(len, &m, &mid, true, 4, WASM_MEMORY_BYTES).unwrap();
    assert_eq!(refused(&m, &mid, WASM_THREADS_MEMORY_BYTES).0, "steps");
}

#[test]
fn sizes_past_u64_are_refused_not_wrapped() {
    let m = ModelConfig { vocab_size: 65_536, block_size: 64, n_embd: 1024, n_hidden: 8192, direct: true };
    // W3 alone has 2^32 entries: past wasm32's usize, so the count is u64.
    let (v, n_in, h) = (65_536u64, 65_536u64, 8192u64);
    assert_eq!(n_params(&m), Some(v * 1024 + n_in * h + h + h * v + v + n_in * v));
    let e = m.validate().unwrap_err().to_string();
    assert!(e.contains("5435891712 parameters"), "{e}");
    let t = TrainConfig { steps: MAX_STEPS, batch_size: MAX_BATCH, ..TrainConfig::default() };
    assert!(check_page(u64::MAX - 1, &m, &t, true, u64::MAX / 2, u64::MAX).is_err());
    assert!(check_page(16 << 20, &m, &t, true, 64, WASM_MEMORY_BYTES).is_err());
}
