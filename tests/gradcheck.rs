#![cfg(not(target_arch = "wasm32"))]
//! The CPU backend's analytic gradients against central finite differences of an
//! independent f64 implementation of the loss: every entry of every parameter
//! tensor on one thread; on a batch split across threads, every entry of C and
//! b2 and every 37th entry of the rest.

use makemore::backend::cpu::CpuBackend;
use makemore::backend::Backend;
use makemore::config::{Init, TrainConfig, L2};
use makemore::data::{Dataset, SplitName};
use makemore::model::ModelConfig;
use makemore::model::{Params, Tensor};
use makemore::rng::{batch_index, batch_key};

const WORDS: &str = "emma\nolivia\nava\nisabella\nsophia\ncharlotte\nmia\namelia\nharper\nevelyn\nabigail\nemily\n";

/// Mean cross-entropy (plus L2) of the examples (x, y), straight from the definitions, in f64.
fn reference_loss(p: &[f64], params: &Params, l2: L2, x: &[u32], y: &[u32]) -> f64 {
    let cfg = &params.cfg;
    let (t, e, h, v) = (cfg.block_size, cfg.n_embd, cfg.n_hidden, cfg.vocab_size);
    let at = |tensor: Tensor| &p[params.layout.range(tensor)];
    let (c, w1, b1, w2, b2) = (at(Tensor::C), at(Tensor::W1), at(Tensor::B1), at(Tensor::W2), at(Tensor::B2));
    let mut total = 0.0;
    for (xs, &target) in x.chunks(t).zip(y) {
        let emb: Vec<f64> = xs.iter().flat_map(|&tok| c[tok as usize * e..(tok as usize + 1) * e].to_vec()).collect();
        let hid: Vec<f64> =
            (0..h).map(|j| (b1[j] + (0..t * e).map(|i| emb[i] * w1[i * h + j]).sum::<f64>()).tanh()).collect();
        let logits: Vec<f64> = (0..v)
            .map(|k| {
                let mut z = b2[k] + (0..h).map(|j| hid[j] * w2[j * v + k]).sum::<f64>();
                if cfg.direct {
                    let w3 = at(Tensor::W3);
                    z += (0..t * e).map(|i| emb[i] * w3[i * v + k]).sum::<f64>();
                }
                z
            })
            .collect();
        let max = logits.iter().cloned().fold(f64::MIN, f64::max);
        let lse = max + logits.iter().map(|z| (z - max).exp()).sum::<f64>().ln();
        total += lse - logits[target as usize];
    }
    let mean_sq = |tensor: Tensor| at(tensor).iter().map(|w| w * w).sum::<f64>() / at(tensor).len() as f64;
    total / y.len() as f64
        + l2.c as f64 * mean_sq(Tensor::C)
        + l2.w1 as f64 * mean_sq(Tensor::W1)
        + l2.w2 as f64 * mean_sq(Tensor::W2)
}

fn setup(direct: bool, batch: usize, text: &str, emb: usize, hidden: usize) -> (Dataset, Params, TrainConfig) {
    let data = Dataset::new(text.as_bytes(), 3, 42).unwrap();
    let cfg = ModelConfig { vocab_size: data.vocab.len(), block_size: 3, n_embd: emb, n_hidden: hidden, direct };
    // Kaiming init keeps tanh out of saturation, so every gradient is informative.
    let mut params = Params::init(&cfg, Init::Kaiming, 11).unwrap();
    // Non-zero output weights and biases, so their gradients are exercised too.
    let mut rng = makemore::rng::Rng::new(5);
    for x in params.data.iter_mut() {
        *x += 0.3 * rng.normal() as f32;
    }
    let train = TrainConfig { batch_size: batch, l2: L2 { c: 0.01, w1: 0.02, w2: 0.03 }, ..TrainConfig::default() };
    (data, params, train)
}

/// Checks every `stride(tensor)`-th gradient entry of each tensor on step 3's
/// minibatch; returns how many shards the backend split that batch over.
fn check(direct: bool, batch: usize, text: &str, emb: usize, hidden: usize, stride: impl Fn(Tensor) -> usize) -> usize {
    let (data, params, train) = setup(direct, batch, text, emb, hidden);
    let mut backend = CpuBackend::new(&data, params.clone(), &train).unwrap();
    let step = 3;
    let (loss, grad) = backend.loss_and_grad(step);
    let grad = grad.to_vec();
    let (key, n) = (batch_key(train.seed), data.train.len() as u32);
    let ids: Vec<usize> = (0..batch as u32).map(|i| batch_index(key, step as u32, i, n) as usize).collect();
    let x: Vec<u32> = ids.iter().flat_map(|&i| data.train.x[i * 3..i * 3 + 3].to_vec()).collect();
    let y: Vec<u32> = ids.iter().map(|&i| data.train.y[i]).collect();
    let p64: Vec<f64> = params.data.iter().map(|&w| w as f64).collect();
    let want_loss = reference_loss(&p64, &params, train.l2, &x, &y);
    assert!((loss as f64 - want_loss).abs() < 1e-5 * want_loss, "loss {loss} vs {want_loss}");
    for (tensor, range) in params.layout.tensors() {
        let scale = grad[range.clone()].iter().fold(0.0f64, |m, g| m.max(g.abs() as f64));
        assert!(scale > 0.0, "{} has an all-zero gradient", tensor.name());
        for i in range.step_by(stride(tensor)) {
            let h = 1e-6;
            let mut q = p64.clone();
            q[i] += h;
            let up = reference_loss(&q, &params, train.l2, &x, &y);
            q[i] -= 2.0 * h;
            let down = reference_loss(&q, &params, train.l2, &x, &y);
            let numeric = (up - down) / (2.0 * h);
            let err = (grad[i] as f64 - numeric).abs() / numeric.abs().max(1e-3 * scale);
            assert!(
                err < 1e-3,
                "{}[{i}]: analytic {} vs numeric {numeric} (direct {direct}, batch {batch})",
                tensor.name(),
                grad[i]
            );
        }
    }
    backend.shards_used()
}

#[test]
fn gradients_match_finite_differences_through_embeddings() {
    // batch < 2V: the embedding path (gather, matmul, scatter).
    check(false, 12, WORDS, 3, 6, |_| 1);
    check(true, 12, WORDS, 3, 6, |_| 1);
}

#[test]
fn gradients_match_finite_differences_through_tables() {
    // batch ≥ 2V: the precomputed C @ W_t tables.
    check(false, 64, WORDS, 3, 6, |_| 1);
    check(true, 64, WORDS, 3, 6, |_| 1);
}

#[test]
fn gradients_match_with_large_batches_split_across_threads() {
    // Enough work per step that the batch is sharded over the thread pool: a pool
    // of 3 (more threads than this machine may have cores) splits it in 3. Every
    // entry of C (scattered from each shard's rows) and b2; every 37th of the
    // rest, as the f64 reference over 3000 examples is slow.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    let every = |t: Tensor| if matches!(t, Tensor::C | Tensor::B2) { 1 } else { 37 };
    let shards = pool.install(|| check(true, 3000, WORDS, 10, 120, every));
    assert_eq!(shards, 3, "the batch of 3000 was not split over the 3 threads");
}

#[test]
fn evaluation_matches_the_reference_loss() {
    for direct in [false, true] {
        let (data, params, train) = setup(direct, 32, WORDS, 4, 8);
        let mut backend = CpuBackend::new(&data, params.clone(), &train).unwrap();
        let p64: Vec<f64> = params.data.iter().map(|&w| w as f64).collect();
        for split in [SplitName::Train, SplitName::Dev] {
            let s = data.split(split);
            let want = reference_loss(&p64, &params, L2::default(), &s.x, &s.y);
            let got = pollster::block_on(backend.evaluate(split)).unwrap() as f64;
            assert!((got - want).abs() < 1e-5 * want, "{split:?}: {got} vs {want}");
        }
    }
}
