//! `weights::load` on arbitrary bytes; whatever loads must save, load again and sample.
#![no_main]

use libfuzzer_sys::fuzz_target;
use makemore::{sample::sample, weights};

fuzz_target!(|bytes: &[u8]| {
    let Ok(ck) = weights::load(bytes) else { return };
    let saved = weights::save(&ck).expect("a loaded checkpoint saves");
    let again = weights::load(&saved).expect("a saved checkpoint loads");
    assert_eq!((again.vocab, again.step), (ck.vocab.clone(), ck.step));
    sample(&ck.params, &ck.vocab, 2, 1.0, 0).expect("a loaded model samples");
});
