#![cfg(not(target_arch = "wasm32"))]
//! The inspector against the training code: a word's NLL is the CPU backend's
//! loss on exactly that word's examples (its mean cross-entropy times their
//! count), for a trained model with and without direct connections.

use makemore::backend::cpu::CpuBackend;
use makemore::backend::Backend;
use makemore::config::{Optimizer, Schedule, TrainConfig};
use makemore::data::{Dataset, Split, SplitName};
use makemore::inspect::inspect;
use makemore::model::ModelConfig;
use makemore::model::Params;
use makemore::session::Session;
use pollster::block_on;

const NAMES: &[u8] = include_bytes!("../data/names.txt");

/// A data set whose every split is the one word, as the backend sees examples.
fn one_word(data: &Dataset, word: &str) -> Dataset {
    let split = Split::build(&[word], &data.vocab, data.block_size).unwrap();
    Dataset {
        vocab: data.vocab.clone(),
        block_size: data.block_size,
        words: vec![word.to_string()],
        n1: 1,
        n2: 1,
        train: split.clone(),
        dev: split.clone(),
        test: split,
    }
}

fn trained(data: &Dataset, direct: bool) -> (Params, TrainConfig) {
    let m = ModelConfig { vocab_size: data.vocab.len(), block_size: data.block_size, n_embd: 8, n_hidden: 64, direct };
    let cfg = TrainConfig {
        steps: 300,
        batch_size: 64,
        lr: 0.01,
        lr_decay: Schedule::Constant,
        optimizer: Optimizer::Adam,
        ..TrainConfig::default()
    };
    let params = Params::init(&m, cfg.init, cfg.seed).unwrap();
    let mut t = Session::new(CpuBackend::new(data, params, &cfg).unwrap(), cfg.clone());
    block_on(t.run(cfg.steps)).unwrap();
    (block_on(t.backend.params()).unwrap(), cfg)
}

#[test]
fn word_nll_is_the_backend_loss_on_that_word() {
    let data = Dataset::new(NAMES, 4, 42).unwrap();
    for direct in [false, true] {
        let (params, cfg) = trained(&data, direct);
        for word in ["emma", "x", "zzyzx", &data.words[data.n1 + 3]] {
            let r = inspect(&params, &data.vocab, data.train_words(), word).unwrap();
            let examples = word.chars().count() + 1;
            let mut cpu = CpuBackend::new(&one_word(&data, word), params.clone(), &cfg).unwrap();
            let want = block_on(cpu.evaluate(SplitName::Train)).unwrap() as f64 * examples as f64;
            assert!((r.nll - want).abs() < 1e-4 * want.max(1.0), "{word} direct={direct}: {} vs {want}", r.nll);
            assert_eq!(r.positions.len(), examples);
            assert!((r.nll_per_char - want / examples as f64).abs() < 1e-4);
        }
    }
}

#[test]
fn in_train_says_which_split_the_word_is_in() {
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    let m = ModelConfig { vocab_size: data.vocab.len(), block_size: 3, n_embd: 2, n_hidden: 4, direct: false };
    let params = Params::init(&m, Default::default(), 1).unwrap();
    let held_out = data.words[data.n1..].iter().find(|w| !data.train_words().contains(w)).unwrap();
    assert!(!inspect(&params, &data.vocab, data.train_words(), held_out).unwrap().in_train);
    assert!(inspect(&params, &data.vocab, data.train_words(), &data.words[0]).unwrap().in_train);
}
