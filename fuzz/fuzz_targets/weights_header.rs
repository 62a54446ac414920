//! `weights::load` on a valid saved file whose JSON header is the fuzz input, so the
//! mutations reach the metadata, tensor names, shapes and offsets instead of the framing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use makemore::{sample::sample, weights};

const VALID: &[u8] = include_bytes!("../seeds/weights/adam-direct.safetensors");

fuzz_target!(|header: &[u8]| {
    let header_len = u64::from_le_bytes(VALID[..8].try_into().unwrap()) as usize;
    let file = [&(header.len() as u64).to_le_bytes(), header, &VALID[8 + header_len..]].concat();
    if let Ok(ck) = weights::load(&file) {
        sample(&ck.params, &ck.vocab, 2, 1.0, 0).expect("a loaded model samples");
    }
});
