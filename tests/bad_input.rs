#![cfg(not(target_arch = "wasm32"))]
//! What users will feed it: bad word lists, absurd hyperparameters and broken
//! weights files, in the library and through the `makemore` binary. Each input
//! either trains or is refused with a message naming the problem: never a
//! panic, never a hang.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use makemore::backend::cpu::CpuBackend;
use makemore::backend::Backend;
use makemore::config::{Init, TrainConfig, MAX_BATCH, MAX_HIDDEN, MAX_STEPS, MAX_VOCAB};
use makemore::data::{Dataset, MAX_DATASET_IDS};
use makemore::model::ModelConfig;
use makemore::model::Params;
use makemore::sample::sample;
use makemore::session::Session;
use makemore::weights::{self, Checkpoint};
use makemore::Error;
use pollster::block_on;

const UNICODE_NAMES: &str = "José\nZoë\nÑuño\nMaría\nRenée\nSøren\nMüller\nАнна\nИван\nОльга\nДмитрий\nЁжик\n\
                             王芳\n李娜\n張偉\n陳靜\n佐藤\nさくら\n";

const TEN_NAMES: &str = "emma\nolivia\nava\nisabella\nsophia\ncharlotte\nmia\namelia\nharper\nevelyn\n";

/// A directory for one test's files, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("makemore-bad-input-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Writes `bytes` to the file `name` and returns its path.
    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// Runs the binary; a run that takes a minute counts as a hang.
fn makemore(args: &[&str]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_makemore"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs makemore");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| panic!("makemore {args:?} hung")).unwrap()
}

/// Runs the binary and returns its stdout, failing the test if it failed.
fn succeeds(args: &[&str]) -> String {
    let o = makemore(args);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("stdout is UTF-8")
}

/// Runs the binary and checks that it failed with a message containing `want`.
fn refused(args: &[&str], want: &str) {
    let o = makemore(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{args:?} succeeded");
    assert!(err.contains(want) && !err.contains("panicked"), "{args:?} should say {want:?}: {err}");
}

/// The library's error message for a word list.
fn data_error(text: &[u8], block_size: usize) -> String {
    Dataset::new(text, block_size, 42).unwrap_err().to_string()
}

/// Text as Windows saves "Unicode": UTF-16 with a byte-order mark.
fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let units = "\u{FEFF}".encode_utf16().chain(text.encode_utf16());
    units.flat_map(|u| if big_endian { u.to_be_bytes() } else { u.to_le_bytes() }).collect()
}

/// A small model over `data`'s vocabulary.
fn small_model(data: &Dataset) -> ModelConfig {
    ModelConfig { vocab_size: data.vocab.len(), block_size: data.block_size, n_embd: 4, n_hidden: 16, direct: false }
}

/// Trains a small model on the CPU for 20 steps, checks every loss is finite and
/// returns five samples, each checked to use only the data's characters.
fn train_and_sample(data: &Dataset, batch_size: usize) -> Vec<String> {
    let cfg = TrainConfig { steps: 20, batch_size, ..TrainConfig::default() };
    let params = Params::init(&small_model(data), cfg.init, cfg.seed).unwrap();
    let mut t = Session::new(CpuBackend::new(data, params, &cfg).unwrap(), cfg);
    block_on(t.run(20)).unwrap();
    assert_eq!(t.history.len(), 20);
    assert!(t.history.iter().all(|l| l.is_finite()), "{:?}", t.history);
    assert!(block_on(t.evaluate_all()).unwrap().dev.is_finite());
    let words = sample(&block_on(t.backend.params()).unwrap(), &data.vocab, 5, 1.0, 7).unwrap();
    assert!(words.iter().flat_map(|w| w.chars()).all(|c| data.vocab.encode(c).is_some()), "{words:?}");
    words
}

#[test]
fn word_lists_that_cannot_train_are_refused_with_the_reason() {
    let binary: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("empty", Vec::new(), "no words"),
        ("binary", binary, "not UTF-8 text"),
        ("utf16le", utf16(TEN_NAMES, false), "UTF-16"),
        ("utf16be", utf16(TEN_NAMES, true), "UTF-16"),
        ("one-word", b"emma\n".to_vec(), "use at least 6 words"),
        ("five-words", b"emma\nolivia\nava\nmia\nzoe\n".to_vec(), "use at least 6 words"),
    ];
    let dir = Scratch::new("lists");
    for (name, bytes, want) in &cases {
        let msg = data_error(bytes, 3);
        assert!(msg.contains(want), "{name}: {msg}");
        refused(&["split", "--data", &dir.file(name, bytes)], want);
    }
}

#[test]
fn a_50_mb_file_is_refused_before_it_fills_memory() {
    let big: Vec<u8> = TEN_NAMES.bytes().cycle().take(50 << 20).collect();
    let msg = data_error(&big, 3);
    assert!(msg.contains("50.0 MiB") && msg.contains("16 MiB allowed"), "{msg}");
    let dir = Scratch::new("big");
    refused(&["split", "--data", &dir.file("big.txt", &big)], "50.0 MiB");
    // Smaller files are capped by the size of their context windows instead.
    let text: Vec<u8> = TEN_NAMES.bytes().cycle().take(MAX_DATASET_IDS / 64).collect();
    assert!(data_error(&text, 64).contains("use a smaller block_size or fewer words"));
    assert!(Dataset::new(&text[..text.len() / 8], 64, 42).is_ok());
}

#[test]
fn words_longer_than_1000_characters_train() {
    let alphabet = "abcdefghijklmnopqrstuvwxyz";
    let long: Vec<String> = (0..6).map(|i| alphabet[i..].repeat(60)).collect();
    assert!(long.iter().all(|w| w.len() > 1000));
    let text = format!("{}\n{TEN_NAMES}", long.join("\n"));
    let data = Dataset::new(text.as_bytes(), 3, 42).unwrap();
    train_and_sample(&data, 32);
    let dir = Scratch::new("long");
    let args = ["--emb", "4", "--hidden", "16", "--steps", "20", "--eval-every", "0", "--samples", "0"];
    let out = succeeds(&[&["train", "--data", &dir.file("long.txt", text.as_bytes())][..], &args[..]].concat());
    assert!(out.starts_with("train "), "{out}");
}

#[test]
fn unicode_names_are_a_vocabulary_that_trains_and_samples() {
    let data = Dataset::new(UNICODE_NAMES.as_bytes(), 3, 42).unwrap();
    for c in ['é', 'ñ', 'Ñ', 'ø', 'Д', 'Ё', '王', 'さ'] {
        assert!(data.vocab.encode(c).is_some(), "{c} is missing from {:?}", data.vocab.as_string());
    }
    assert!(train_and_sample(&data, 32).iter().any(|w| !w.is_ascii()));
    let dir = Scratch::new("unicode");
    let model = dir.0.join("m.safetensors");
    let m = model.to_str().unwrap();
    let data_file = dir.file("names.txt", UNICODE_NAMES.as_bytes());
    let train = ["train", "--data", &data_file, "--emb", "4", "--hidden", "16", "--steps", "20", "--save", m];
    succeeds(&[&train[..], &["--eval-every", "0", "--samples", "0"]].concat());
    let words = succeeds(&["sample", "--model", m, "-n", "20"]);
    assert_eq!(words.lines().count(), 20);
    assert!(words.lines().flat_map(str::chars).all(|c| data.vocab.encode(c).is_some()), "{words}");
}

#[test]
fn a_vocabulary_beyond_max_vocab_names_vocab_size() {
    let cjk_and_hangul = (0x4E00..=0x9FFF).chain(0xAC00..=0xD7A3).chain(0x20000..=0x2A6DF);
    let chars: Vec<char> = cjk_and_hangul.filter_map(char::from_u32).take(MAX_VOCAB).collect();
    let text: String = chars.chunks(100).map(|w| w.iter().collect::<String>() + "\n").collect();
    let data = Dataset::new(text.as_bytes(), 3, 42).unwrap();
    assert_eq!(data.vocab.len(), MAX_VOCAB + 1, "the characters and '.'");
    let err = Params::init(&small_model(&data), Init::Naive, 1).unwrap_err();
    assert!(matches!(&err, Error::Config { field, .. } if field == "vocab_size"), "{err}");
    let dir = Scratch::new("vocab");
    refused(&["train", "--data", &dir.file("cjk.txt", text.as_bytes()), "--steps", "1"], "`vocab_size`");
}

#[test]
fn a_vocabulary_too_wide_for_the_cpu_tables_names_vocab_size() {
    let chars: Vec<char> = (0x4E00..).filter_map(char::from_u32).take(20_000).collect();
    let text: String = chars.chunks(40).map(|w| w.iter().collect::<String>() + "\n").collect();
    let data = Dataset::new(text.as_bytes(), 3, 42).unwrap();
    // Direct connections: a (T, V, V) table of 4.8 GB per copy.
    let m = ModelConfig { direct: true, ..small_model(&data) };
    let params = Params::init(&m, Init::Naive, 1).expect("a valid model");
    let err = CpuBackend::new(&data, params, &TrainConfig::default()).err();
    assert!(matches!(&err, Some(Error::Config { field, .. }) if field == "vocab_size"), "{err:?}");
    let message = err.unwrap().to_string();
    assert!(message.contains("20000 characters") && message.contains("no direct connections"), "{message}");
}

#[test]
fn absurd_hyperparameters_name_the_field() {
    let data = Dataset::new(TEN_NAMES.as_bytes(), 3, 42).unwrap();
    let (m, t) = (small_model(&data), TrainConfig::default());
    let cases = [
        (ModelConfig { n_embd: 0, ..m.clone() }, t.clone(), "n_embd"),
        (ModelConfig { n_hidden: MAX_HIDDEN + 1, ..m.clone() }, t.clone(), "n_hidden"),
        (m.clone(), TrainConfig { batch_size: MAX_BATCH + 1, ..t.clone() }, "batch_size"),
        (m.clone(), TrainConfig { steps: MAX_STEPS + 1, ..t.clone() }, "steps"),
        (m.clone(), TrainConfig { lr: 0.0, ..t.clone() }, "lr"),
        (m.clone(), TrainConfig { lr: f32::INFINITY, ..t.clone() }, "lr"),
        (m.clone(), TrainConfig { lr: f32::NEG_INFINITY, ..t.clone() }, "lr"),
        (m.clone(), TrainConfig { weight_decay: f32::NAN, ..t.clone() }, "weight_decay"),
        // Valid, but its activations would not fit in memory (in wasm, an abort).
        (ModelConfig { n_hidden: 1024, ..m.clone() }, TrainConfig { batch_size: MAX_BATCH, ..t.clone() }, "batch_size"),
    ];
    for (m, t, want) in cases {
        let err = Params::init(&m, Init::Naive, 1).and_then(|p| CpuBackend::new(&data, p, &t)).err();
        assert!(matches!(&err, Some(Error::Config { field, .. }) if field == want), "{want}: {err:?}");
    }
    assert!(data_error(TEN_NAMES.as_bytes(), 65).contains("`block_size`: 65 is out of range"));
}

#[test]
fn absurd_flags_name_the_config_field() {
    let cases: [(&[&str], &str); 16] = [
        (&["train", "--batch", "-1"], "<batch_size>"),
        (&["train", "--batch", "2000000"], "`batch_size`"),
        (&["train", "--hidden", "-5"], "<n_hidden>"),
        (&["train", "--emb", "-1"], "<n_embd>"),
        (&["train", "--emb", "0"], "`n_embd`"),
        (&["train", "--block", "-3"], "<block_size>"),
        (&["train", "--block", "18446744073709551615"], "`block_size`"),
        (&["split", "--block", "0"], "`block_size`"),
        (&["split", "--block", "1000000"], "`block_size`"),
        (&["train", "--steps", "-1"], "<steps>"),
        (&["train", "--lr", "-0.1"], "`lr`"),
        (&["train", "--lr", "0"], "`lr`"),
        (&["train", "--lr", "inf"], "`lr`"),
        (&["train", "--lr=-inf"], "`lr`"),
        (&["train", "--weight-decay", "NaN"], "`weight_decay`"),
        (&["train", "--eval-every", "-1"], "<eval_every>"),
    ];
    for (args, want) in cases {
        refused(args, want);
    }
}

#[test]
fn a_batch_larger_than_the_train_split_is_drawn_with_replacement() {
    let data = Dataset::new(TEN_NAMES.as_bytes(), 3, 42).unwrap();
    assert!(data.train.len() < 100);
    train_and_sample(&data, 1000);
    let dir = Scratch::new("batch");
    let names = dir.file("ten.txt", TEN_NAMES.as_bytes());
    succeeds(&["train", "--data", &names, "--batch", "1000", "--emb", "4", "--hidden", "16", "--steps", "5"]);
}

#[test]
fn steps_0_trains_nothing_and_still_evaluates() {
    let data = Dataset::new(TEN_NAMES.as_bytes(), 3, 42).unwrap();
    let cfg = TrainConfig { steps: 0, ..TrainConfig::default() };
    let params = Params::init(&small_model(&data), cfg.init, cfg.seed).unwrap();
    let mut t = Session::new(CpuBackend::new(&data, params, &cfg).unwrap(), cfg);
    assert!(t.done());
    assert!(block_on(t.run(10)).unwrap().is_empty());
    assert_eq!(t.step, 0);
    let losses = block_on(t.evaluate_all()).unwrap();
    assert!(losses.train.is_finite() && losses.dev.is_finite() && losses.test.is_finite());
}

/// Replaces the first occurrence of `from` in a saved file by `to`, which has the same
/// length, so the safetensors framing stays valid and only the content is wrong.
fn edit(file: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = file.windows(from.len()).position(|w| w == from.as_bytes()).expect("the header holds `from`");
    [&file[..at], to.as_bytes(), &file[at + from.len()..]].concat()
}

#[test]
fn corrupt_mismatched_and_truncated_weights_are_refused() {
    let data = Dataset::new(TEN_NAMES.as_bytes(), 3, 42).unwrap();
    let m = ModelConfig { n_hidden: 4, ..small_model(&data) };
    let vocab = data.vocab.clone();
    let ck = Checkpoint {
        params: Params::init(&m, Init::Naive, 1).unwrap(),
        vocab,
        train: None,
        step: 3,
        opt: None,
        history: Vec::new(),
        data: None,
    };
    let good = weights::save(&ck).unwrap();
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("truncated", good[..good.len() / 2].to_vec(), "not a valid safetensors file"),
        ("header-only", good[..6].to_vec(), "not a valid safetensors file"),
        ("other-vocab", edit(&good, r#"\"vocab_size\":17"#, r#"\"vocab_size\":18"#), "has 17 characters but"),
        ("other-shape", edit(&good, r#"\"n_hidden\":4"#, r#"\"n_hidden\":5"#), "tensor W1 is F32 [12, 4]"),
        ("other-dtype", edit(&good, r#""dtype":"F32""#, r#""dtype":"I32""#), "expected F32"),
        ("other-format", edit(&good, "makemore-wasm/1", "makemore-wasm/9"), "unknown format"),
    ];
    let dir = Scratch::new("weights");
    for (name, bytes, want) in &cases {
        let msg = weights::load(bytes).unwrap_err().to_string();
        assert!(msg.starts_with("weights file: ") && msg.contains(want), "{name}: {msg}");
        refused(&["sample", "--model", &dir.file(name, bytes)], want);
    }
    assert_eq!(weights::load(&good).unwrap(), ck);
    refused(&["sample", "--model", &dir.0.join("missing.safetensors").to_string_lossy()], "cannot read");
}
