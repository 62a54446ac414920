//! Generating words from the model, one character at a time, on the CPU from a
//! copy of the parameters (a single context is far too small for a GPU).

use crate::data::Vocab;
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

/// Draws `n` words, each until the end token '.' or [`MAX_LEN`] characters.
pub fn sample(p: &Params, vocab: &Vocab, n: usize, temperature: f64, seed: u64) -> Result<Vec<String>> {
    if !(temperature.is_finite() && temperature >= 0.0) {
        return Err(Error::config("temperature", format!("{temperature} must be a finite number ≥ 0")));
    }
    let mut rng = Rng::new(seed);
    let t = p.cfg.block_size;
    Ok((0..n)
        .map(|_| {
            let mut context = vec![0u32; t];
            let mut word = String::new();
            for _ in 0..MAX_LEN {
                let ix = draw(&next_probs(p, &context, temperature), &mut rng);
                if ix == 0 {
                    break;
                }
                word.push(vocab.decode(ix));
                context.rotate_left(1);
                context[t - 1] = ix;
            }
            word
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Init, ModelConfig};

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
}
