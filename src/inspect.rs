//! The per-character inspector: how likely the model finds each character of a
//! word, given the characters before it, and the word's total negative
//! log-likelihood, end token included. It runs on the CPU from a copy of the
//! parameters, through the same forward pass as [`crate::sample`].

use serde::Serialize;

use crate::data::Vocab;
use crate::model::Params;
use crate::sample::{encode, next_probs};
use crate::{Error, Result};

/// Alternatives listed at each position.
pub const TOP_K: usize = 5;

/// A character and the model's probability for it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Choice {
    pub ch: String,
    pub prob: f64,
}

/// One position of the word: what the model saw and what came next.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Position {
    /// The last `block_size` characters before this one, '.' standing for the start.
    pub context: String,
    /// The character that actually follows ('.' for the end of the word).
    pub next: String,
    /// The model's probability of `next`.
    pub prob: f64,
    /// The [`TOP_K`] most likely characters, most likely first.
    pub top: Vec<Choice>,
    /// The model's probability of every character, in vocabulary order (they sum to 1).
    #[serde(skip)]
    pub probs: Vec<f64>,
}

/// A word as the model sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    pub word: String,
    /// One entry per character and one for the end token.
    pub positions: Vec<Position>,
    /// −Σ ln p over the positions: the word's negative log-likelihood in nats.
    pub nll: f64,
    /// `nll` divided by the positions: comparable with a split's mean loss.
    pub nll_per_char: f64,
    /// Whether the word is one of the training split's words.
    pub in_train: bool,
}

/// Runs the model along `word` from the empty context. `train_words` are the
/// training split's words (for [`Inspection::in_train`]).
pub fn inspect(p: &Params, vocab: &Vocab, train_words: &[String], word: &str) -> Result<Inspection> {
    if word.is_empty() {
        return Err(Error::config("word", "type a word to inspect"));
    }
    let ids = encode(vocab, "word", word)?;
    let t = p.cfg.block_size;
    let mut context = vec![0u32; t];
    let mut positions = Vec::with_capacity(ids.len() + 1);
    for ix in ids.into_iter().chain(std::iter::once(0)) {
        let probs = next_probs(p, &context, 1.0);
        let top = top_k(&probs).into_iter().map(|i| Choice { ch: vocab.decode(i as u32).into(), prob: probs[i] });
        positions.push(Position {
            context: context.iter().map(|&c| vocab.decode(c)).collect(),
            next: vocab.decode(ix).into(),
            prob: probs[ix as usize],
            top: top.collect(),
            probs,
        });
        context.rotate_left(1);
        context[t - 1] = ix;
    }
    let nll: f64 = positions.iter().map(|q| -q.prob.ln()).sum();
    Ok(Inspection {
        word: word.to_string(),
        nll_per_char: nll / positions.len() as f64,
        nll,
        positions,
        in_train: train_words.iter().any(|w| w == word),
    })
}

/// The indices of the [`TOP_K`] largest of `probs`, largest first, ties in index
/// order: a stable sort's first [`TOP_K`], without a sort's code in the wasm.
fn top_k(probs: &[f64]) -> Vec<usize> {
    let mut top: Vec<usize> = Vec::with_capacity(TOP_K + 1);
    for (i, p) in probs.iter().enumerate() {
        let at = top.partition_point(|&j| probs[j].total_cmp(p).is_ge());
        if at < TOP_K {
            top.insert(at, i);
            top.truncate(TOP_K);
        }
    }
    top
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Init;
    use crate::model::ModelConfig;
    use crate::sample::MAX_LEN;

    fn model() -> (Params, Vocab) {
        let vocab = Vocab::from_words(&["emma", "ava", "bob"]);
        let cfg = ModelConfig { vocab_size: vocab.len(), block_size: 3, n_embd: 4, n_hidden: 16, direct: true };
        (Params::init(&cfg, Init::Naive, 7).unwrap(), vocab)
    }

    #[test]
    fn top_k_is_a_stable_sorts_first_k() {
        let probs: [f64; 8] = [0.1, 0.3, 0.1, 0.05, 0.3, 0.0, 0.15, 0.1];
        let mut order: Vec<usize> = (0..probs.len()).collect();
        order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
        assert_eq!(top_k(&probs), order[..TOP_K]);
        assert_eq!(top_k(&probs), [1, 4, 6, 0, 2]);
        assert_eq!(top_k(&probs[..2]), [1, 0]);
    }

    #[test]
    fn each_position_is_a_distribution_and_the_nll_adds_up() {
        let (p, vocab) = model();
        let train = vec!["emma".to_string()];
        let r = inspect(&p, &vocab, &train, "emma").unwrap();
        assert_eq!(r.positions.len(), 5);
        let contexts: Vec<&str> = r.positions.iter().map(|q| q.context.as_str()).collect();
        assert_eq!(contexts, ["...", "..e", ".em", "emm", "mma"]);
        let next: String = r.positions.iter().map(|q| q.next.as_str()).collect();
        assert_eq!(next, "emma.");
        for q in &r.positions {
            assert!((q.probs.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            assert_eq!(q.top.len(), TOP_K);
            assert!(q.top.windows(2).all(|w| w[0].prob >= w[1].prob));
            assert_eq!(q.top[0].prob, q.probs.iter().cloned().fold(0.0, f64::max));
            assert_eq!(q.prob, q.probs[vocab.encode(q.next.chars().next().unwrap()).unwrap() as usize]);
        }
        let sum: f64 = r.positions.iter().map(|q| -q.prob.ln()).sum();
        assert!((r.nll - sum).abs() < 1e-12 && (r.nll_per_char - sum / 5.0).abs() < 1e-12);
        assert!(r.in_train);
        assert!(!inspect(&p, &vocab, &train, "ava").unwrap().in_train);
    }

    #[test]
    fn bad_words_get_a_message() {
        let (p, vocab) = model();
        let msg = |w: &str| inspect(&p, &vocab, &[], w).unwrap_err().to_string();
        assert!(msg("").contains("type a word"));
        assert!(msg("em.ma").contains("end token"));
        assert!(msg("emzy").contains("\"zy\""), "{}", msg("emzy"));
        assert!(msg(&"a".repeat(MAX_LEN + 1)).contains("longer"));
    }
}
