//! Generating words from the model, one character at a time, on the CPU from a
//! copy of the parameters (a single context is far too small for a GPU).

use std::collections::HashSet;

use crate::data::{Vocab, DOT};
use crate::model::{Params, Tensor};
use crate::rng::Rng;
use crate::{Error, Result};

/// Longest word `sample` generates before it stops without an end token.
pub const MAX_LEN: usize = 64;

/// Next-character probabilities after `context` (T token ids), softened or sharpened
/// by `temperature` (1 is the model itself; 0 puts all mass on the most likely one).
pub fn next_probs(p: &Params, context: &[u32], temperature: f64) -> Vec<f64> {
    let cfg = &p.cfg;
    let (e, h, v) = (cfg.n_embd, cfg.n_hidden, cfg.vocab_size);
    let c = p.get(Tensor::C);
    let emb: Vec<f32> = context.iter().flat_map(|&t| &c[t as usize * e..(t as usize + 1) * e]).copied().collect();
    let matvec = |x: &[f32], w: &[f32], out: &mut [f64], n: usize| {
        for (i, &xi) in x.iter().enumerate() {
            out.iter_mut().zip(&w[i * n..(i + 1) * n]).for_each(|(o, &wij)| *o += (xi * wij) as f64);
        }
    };
    let mut hidden: Vec<f64> = p.get(Tensor::B1).iter().map(|&b| b as f64).collect();
    matvec(&emb, p.get(Tensor::W1), &mut hidden, h);
    let hidden: Vec<f32> = hidden.iter().map(|&x| x.tanh() as f32).collect();
    let mut logits: Vec<f64> = p.get(Tensor::B2).iter().map(|&b| b as f64).collect();
    matvec(&hidden, p.get(Tensor::W2), &mut logits, v);
    if cfg.direct {
        matvec(&emb, p.get(Tensor::W3), &mut logits, v);
    }
    softmax(&logits, temperature)
}

fn softmax(logits: &[f64], temperature: f64) -> Vec<f64> {
    let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if temperature <= 0.0 {
        let best = logits.iter().position(|&z| z == max).unwrap_or(0);
        return (0..logits.len()).map(|i| if i == best { 1.0 } else { 0.0 }).collect();
    }
    let exps: Vec<f64> = logits.iter().map(|z| ((z - max) / temperature).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|x| x / sum).collect()
}

fn draw(probs: &[f64], rng: &mut Rng) -> u32 {
    let mut u = rng.uniform();
    for (i, &q) in probs.iter().enumerate() {
        if u < q {
            return i as u32;
        }
        u -= q;
    }
    probs.iter().rposition(|&q| q > 0.0).unwrap_or(0) as u32
}

/// Most words one call may ask for.
pub const MAX_COUNT: usize = 10_000;

/// Words drawn per word asked for, at most, when some words are excluded.
pub const ATTEMPTS_PER_WORD: usize = 50;

/// What to draw.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub count: usize,
    /// 1: as trained; towards 0: the most likely characters.
    pub temperature: f64,
    /// Every word starts with these characters; the model completes them.
    pub prefix: &'a str,
    /// Words not to return (the training words, say), drawn again instead.
    pub exclude: Option<&'a HashSet<String>>,
    pub seed: u64,
}

/// The words drawn, and how many were drawn in all to find them.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Drawn {
    pub names: Vec<String>,
    pub attempts: usize,
}

fn check(vocab: &Vocab, r: &Request) -> Result<Vec<u32>> {
    if !(r.temperature.is_finite() && r.temperature >= 0.0) {
        return Err(Error::config("temperature", format!("{} must be a finite number ≥ 0", r.temperature)));
    }
    if r.count > MAX_COUNT {
        return Err(Error::config("count", format!("{} is more than {MAX_COUNT} words at once", r.count)));
    }
    encode(vocab, "prefix", r.prefix)
}

/// The token ids of `text` (a prefix, a word to inspect), or an error under
/// `field` that names the characters the model cannot spell.
pub(crate) fn encode(vocab: &Vocab, field: &str, text: &str) -> Result<Vec<u32>> {
    if text.contains(DOT) {
        return Err(Error::config(field, format!("{text:?} contains '.', the end token; leave it out")));
    }
    if text.chars().count() > MAX_LEN {
        return Err(Error::config(field, format!("{text:?} is longer than {MAX_LEN} characters")));
    }
    vocab.encode_word(text).map_err(|_| {
        let bad: String = text.chars().filter(|&c| vocab.encode(c).is_none()).collect();
        let chars = vocab.as_string();
        Error::config(field, format!("{text:?} has {bad:?}, not in the model's characters {chars:?}; use only those"))
    })
}

/// One word: the prefix, then characters drawn until the end token '.' or
/// [`MAX_LEN`] characters in all.
fn draw_word(p: &Params, vocab: &Vocab, prefix: &[u32], temperature: f64, rng: &mut Rng) -> String {
    let t = p.cfg.block_size;
    let mut context = vec![0u32; t];
    let mut word = String::new();
    let mut push = |ix: u32, context: &mut Vec<u32>| {
        word.push(vocab.decode(ix));
        context.rotate_left(1);
        context[t - 1] = ix;
    };
    for &ix in prefix {
        push(ix, &mut context);
    }
    for _ in prefix.len()..MAX_LEN {
        let ix = draw(&next_probs(p, &context, temperature), rng);
        if ix == 0 {
            break;
        }
        push(ix, &mut context);
    }
    word
}

/// Draws `r.count` words that start with `r.prefix`, skipping excluded ones.
/// With exclusions it stops after [`ATTEMPTS_PER_WORD`] draws per word asked
/// for, so it may return fewer (a model that only knows the training words).
pub fn sample_with(p: &Params, vocab: &Vocab, r: &Request) -> Result<Drawn> {
    let prefix = check(vocab, r)?;
    let mut rng = Rng::new(r.seed);
    let limit = if r.exclude.is_some() { r.count * ATTEMPTS_PER_WORD } else { r.count };
    let mut drawn = Drawn { names: Vec::with_capacity(r.count), attempts: 0 };
    while drawn.names.len() < r.count && drawn.attempts < limit {
        let word = draw_word(p, vocab, &prefix, r.temperature, &mut rng);
        drawn.attempts += 1;
        if !r.exclude.is_some_and(|known| known.contains(&word)) {
            drawn.names.push(word);
        }
    }
    Ok(drawn)
}

/// Draws `n` words from the empty context, each until the end token '.' or [`MAX_LEN`] characters.
pub fn sample(p: &Params, vocab: &Vocab, n: usize, temperature: f64, seed: u64) -> Result<Vec<String>> {
    let r = Request { count: n, temperature, prefix: "", exclude: None, seed };
    Ok(sample_with(p, vocab, &r)?.names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Init;
    use crate::model::ModelConfig;

    #[test]
    fn probabilities_sum_to_one_and_sampling_is_seeded() {
        let vocab = Vocab::from_words(&["abc"]);
        let cfg = ModelConfig { vocab_size: 4, block_size: 3, n_embd: 2, n_hidden: 8, direct: true };
        let p = Params::init(&cfg, Init::Naive, 3).unwrap();
        for temp in [0.5, 1.0, 2.0] {
            let probs = next_probs(&p, &[0, 1, 2], temp);
            assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        let greedy = next_probs(&p, &[0, 0, 0], 0.0);
        assert_eq!(greedy.iter().filter(|&&q| q == 1.0).count(), 1);
        let a = sample(&p, &vocab, 5, 1.0, 9).unwrap();
        assert_eq!(a, sample(&p, &vocab, 5, 1.0, 9).unwrap());
        assert!(a.iter().all(|w| w.chars().count() <= MAX_LEN && w.chars().all(|c| "abc".contains(c))));
        assert!(sample(&p, &vocab, 1, f64::NAN, 9).is_err());
    }

    #[test]
    fn prefixes_are_completed_and_excluded_words_drawn_again() {
        let vocab = Vocab::from_words(&["abc"]);
        let cfg = ModelConfig { vocab_size: 4, block_size: 2, n_embd: 3, n_hidden: 8, direct: false };
        let p = Params::init(&cfg, Init::Naive, 5).unwrap();
        let req = |prefix, exclude| Request { count: 40, temperature: 1.0, prefix, exclude, seed: 3 };
        let drawn = sample_with(&p, &vocab, &req("ab", None)).unwrap();
        assert_eq!((drawn.names.len(), drawn.attempts), (40, 40));
        assert!(drawn.names.iter().all(|w| w.starts_with("ab")), "{:?}", drawn.names);
        let common = drawn.names.iter().max_by_key(|w| drawn.names.iter().filter(|v| v == w).count()).unwrap();
        let known: HashSet<String> = [common.clone()].into();
        let fresh = sample_with(&p, &vocab, &req("ab", Some(&known))).unwrap();
        assert_eq!(fresh.names.len(), 40);
        assert!(fresh.attempts > 40 && fresh.names.iter().all(|w| w != common && w.starts_with("ab")));
        // Only "" can follow a prefix that a greedy model always ends: the cap stops the search.
        let greedy = Request { temperature: 0.0, ..req("", None) };
        let only = sample_with(&p, &vocab, &greedy).unwrap().names[0].clone();
        let all: HashSet<String> = [only].into();
        let capped = sample_with(&p, &vocab, &Request { exclude: Some(&all), ..greedy }).unwrap();
        assert_eq!((capped.names.len(), capped.attempts), (0, 40 * ATTEMPTS_PER_WORD));
        let msg = |prefix| sample_with(&p, &vocab, &req(prefix, None)).unwrap_err().to_string();
        assert!(msg("az").contains("\"z\"") && msg("az").contains("prefix"), "{}", msg("az"));
        assert!(msg("a.").contains("end token"));
        assert!(sample_with(&p, &vocab, &Request { count: MAX_COUNT + 1, ..req("", None) }).is_err());
    }
}
