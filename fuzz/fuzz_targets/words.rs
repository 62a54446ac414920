//! `parse_words` and `Dataset::new` on arbitrary bytes; the first byte is the block size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use makemore::data::{parse_words, Dataset, Vocab};

fuzz_target!(|bytes: &[u8]| {
    let Some((&block, text)) = bytes.split_first() else { return };
    let Ok(d) = Dataset::new(text, block as usize, 42) else { return };
    let words = parse_words(text).expect("Dataset::new accepted the text");
    assert_eq!(Vocab::from_string(&d.vocab.as_string()).as_ref(), Ok(&d.vocab));
    let v = d.vocab.len() as u32;
    for s in [&d.train, &d.dev, &d.test] {
        assert_eq!(s.x.len(), s.len() * d.block_size);
        assert!(s.x.iter().chain(&s.y).all(|&t| t < v));
    }
    let examples: usize = words.iter().map(|w| w.chars().count() + 1).sum();
    assert_eq!(d.train.len() + d.dev.len() + d.test.len(), examples);
});
