#![cfg(all(not(target_arch = "wasm32"), feature = "gpu"))]
//! Every GPU kernel against its CPU reference, on ragged shapes (not multiples of
//! the workgroup or tile sizes): one traced training step gives each kernel's
//! inputs and outputs, and the CPU layer functions recompute each output from the
//! same inputs.

mod gpu_support;

use makemore::backend::cpu::gemm::Packs;
use makemore::backend::cpu::layers::*;
use makemore::backend::cpu::{l2_forward_backward, optimizer_step};
use makemore::backend::Backend;
use makemore::config::{Init, Optimizer, TrainConfig, L2};
use makemore::data::Dataset;
use makemore::model::ModelConfig;
use makemore::model::{Params, Tensor};
use makemore::rng::{batch_index, batch_key, Rng};
use pollster::block_on;

use gpu_support::{assert_close, gpu_with, SETS};
use makemore::backend::gpu::plan::KernelId;
use makemore::backend::KernelSet;

const REL: f32 = 1e-4;

/// Random words over `letters` distinct characters, so the vocabulary is letters + 1.
fn words(letters: u32, n: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut text = String::new();
    for i in 0..n {
        let len = 2 + (rng.next_u64() % 7) as usize;
        for j in 0..len {
            // Walk every letter in the first words, then draw at random.
            let k = if i * 9 + j < letters as usize {
                (i * 9 + j) as u32
            } else {
                (rng.next_u64() % letters as u64) as u32
            };
            text.push(char::from_u32(0x100 + k).expect("a valid char"));
        }
        text.push('\n');
    }
    text
}

struct Case {
    t: usize,
    e: usize,
    h: usize,
    letters: u32,
    batch: usize,
    direct: bool,
    optimizer: Optimizer,
}

/// The body runs once per kernel set; returns, per set, whether the step ran the
/// tiled program (matmul_tiled.wgsl).
fn check(case: Case) -> [bool; 2] {
    SETS.map(|set| check_set(&case, set))
}

fn check_set(case: &Case, set: KernelSet) -> bool {
    let data = Dataset::new(words(case.letters, 600, case.t as u64).as_bytes(), case.t, 42).unwrap();
    let m = ModelConfig {
        vocab_size: data.vocab.len(),
        block_size: case.t,
        n_embd: case.e,
        n_hidden: case.h,
        direct: case.direct,
    };
    let mut params = Params::init(&m, Init::Kaiming, 3).unwrap();
    let mut rng = Rng::new(9);
    params.data.iter_mut().for_each(|x| *x += 0.2 * rng.normal() as f32);
    let cfg = TrainConfig {
        batch_size: case.batch,
        optimizer: case.optimizer,
        weight_decay: 0.01,
        l2: L2 { c: 0.01, w1: 0.02, w2: 0.03 },
        ..TrainConfig::default()
    };
    let mut g = gpu_with(set, &data, params, &cfg);
    assert_eq!(g.kernel_set(), set);
    // One step first, so the traced step starts from non-zero Adam moments.
    block_on(g.train(0, &[0.05])).unwrap();
    let before = block_on(g.params()).unwrap();
    let moments = block_on(g.opt_state()).unwrap();
    let (step, lr) = (1u64, 0.05f32);
    let tr = block_on(g.trace_step(step, lr)).unwrap();
    let p = &before;
    let (b, t, e, h, v, te) = (case.batch, m.block_size, m.n_embd, m.n_hidden, m.vocab_size, m.n_in());

    // batch: minibatch rows from batch_index, exactly.
    let key = batch_key(cfg.seed);
    let n = data.train.len() as u32;
    let ids: Vec<usize> = (0..b as u32).map(|i| batch_index(key, step as u32, i, n) as usize).collect();
    let xb: Vec<u32> = ids.iter().flat_map(|&i| data.train.x[i * t..(i + 1) * t].to_vec()).collect();
    let yb: Vec<u32> = ids.iter().map(|&i| data.train.y[i]).collect();
    assert_eq!(tr.xb, xb, "{set:?}: batch xb");
    assert_eq!(tr.yb, yb, "{set:?}: batch yb");

    // The CPU matmul's workspace.
    let mut packs = Packs::default();

    // embed forward, exactly.
    let mut emb = vec![0.0; b * te];
    embed_forward(&mut emb, p.get(Tensor::C), &xb, e);
    // The table path (software set, batches of 2V rows or more) computes neither emb
    // nor demb: its h and gradients are checked against the CPU's from the tables.
    let table = g.train_plan().iter().any(|p| p.kernel == KernelId::TableForward);
    if !table {
        assert_eq!(tr.emb, emb, "{set:?}: embed forward");
    }
    let gpu_emb = if table { &emb } else { &tr.emb };

    // hidden: tanh(emb @ W1 + b1).
    let mut hid = vec![0.0; b * h];
    linear_forward(&mut packs, &mut hid, &emb, p.get(Tensor::W1), Some(p.get(Tensor::B1)), b, te, h, false);
    tanh_forward(&mut hid);
    assert_close(&format!("{set:?} h"), &tr.h, &hid, REL);

    // output (from the GPU's h) and softmax cross-entropy.
    let mut logits = vec![0.0; b * v];
    linear_forward(&mut packs, &mut logits, &tr.h, p.get(Tensor::W2), Some(p.get(Tensor::B2)), b, h, v, false);
    if m.direct {
        linear_forward(&mut packs, &mut logits, &emb, p.get(Tensor::W3), None, b, te, v, true);
    }
    let rowloss: Vec<f32> = (0..b).map(|r| xent_loss(&logits[r * v..(r + 1) * v], &yb[r..r + 1], v) as f32).collect();
    let ce = softmax_xent(&mut logits, &yb, v, 1.0 / b as f32);
    assert_close(&format!("{set:?} xent rowloss"), &tr.rowloss, &rowloss, REL);
    assert_close(&format!("{set:?} xent dlogits"), &tr.dlogits, &logits, REL);

    // loss: mean cross-entropy + L2.
    let mut l2_grads = vec![0.0; p.data.len()];
    let loss = (ce / b as f64) as f32 + l2_forward_backward(p, &cfg, &mut l2_grads);
    assert_close(&format!("{set:?} loss"), &[tr.loss], &[loss], REL);

    // backward, each pass from the GPU's inputs.
    let dl = &tr.dlogits;
    let mut want = vec![0.0; p.data.len()];
    let r = |t: Tensor| p.layout.range(t);
    let mut dh = vec![0.0; b * h];
    {
        let (w2, b2) = (r(Tensor::W2), r(Tensor::B2));
        let (mut dw2, mut db2) = (vec![0.0; w2.len()], vec![0.0; b2.len()]);
        linear_backward(
            &mut packs,
            Some(&mut dh),
            false,
            Some(&mut dw2),
            Some(&mut db2),
            dl,
            &tr.h,
            p.get(Tensor::W2),
            (b, h, v),
        );
        want[w2].copy_from_slice(&dw2);
        want[b2].copy_from_slice(&db2);
    }
    tanh_backward(&mut dh, &tr.h);
    assert_close(&format!("{set:?} dpre"), &tr.dpre, &dh, REL);
    let mut demb = vec![0.0; b * te];
    if m.direct {
        let w3 = r(Tensor::W3);
        let mut dw3 = vec![0.0; w3.len()];
        linear_backward(
            &mut packs,
            Some(&mut demb),
            false,
            Some(&mut dw3),
            None,
            dl,
            gpu_emb,
            p.get(Tensor::W3),
            (b, te, v),
        );
        want[w3].copy_from_slice(&dw3);
    }
    {
        let (w1, b1) = (r(Tensor::W1), r(Tensor::B1));
        let (mut dw1, mut db1) = (vec![0.0; w1.len()], vec![0.0; b1.len()]);
        linear_backward(
            &mut packs,
            Some(&mut demb),
            m.direct,
            Some(&mut dw1),
            Some(&mut db1),
            &tr.dpre,
            gpu_emb,
            p.get(Tensor::W1),
            (b, te, h),
        );
        want[w1].copy_from_slice(&dw1);
        want[b1].copy_from_slice(&db1);
    }
    if !table {
        assert_close(&format!("{set:?} demb"), &tr.demb, &demb, REL);
    }
    let mut dc = vec![0.0; v * e];
    embed_backward(&mut dc, if table { &demb } else { &tr.demb }, &xb, e);
    want[r(Tensor::C)].copy_from_slice(&dc);
    for t in [Tensor::C, Tensor::W1, Tensor::B1, Tensor::W2, Tensor::B2, Tensor::W3] {
        if let Some(range) = p.layout.get(t) {
            assert_close(&format!("{set:?} grad {}", t.name()), &tr.grads[range.clone()], &want[range], REL);
        }
    }

    // optimizer (+ L2 gradients) from the GPU's gradients.
    let grads: Vec<f32> = tr.grads.iter().zip(&l2_grads).map(|(g, l)| g + l).collect();
    let mut updated = before.data.clone();
    let (mut m1, mut m2) = moments.map_or((Vec::new(), Vec::new()), |s| (s.m, s.v));
    optimizer_step(&cfg, &mut updated, &grads, &mut m1, &mut m2, lr, step + 1);
    assert_close(&format!("{set:?} optimizer"), &tr.params, &updated, REL);
    let tiled = g.train_plan().iter().any(|p| matches!(p.kernel, KernelId::Tiled(_)));
    // Software: the tables from 2V rows on (V = letters + 1), as on the CPU.
    assert_eq!(table, set == KernelSet::Software && b >= 2 * v, "{set:?}: table path at {b} rows, V = {v}");
    tiled
}

#[test]
fn kernels_match_cpu_sgd() {
    check(Case { t: 3, e: 7, h: 37, letters: 28, batch: 45, direct: false, optimizer: Optimizer::Sgd });
}

#[test]
fn kernels_match_cpu_direct_adamw() {
    check(Case { t: 2, e: 5, h: 70, letters: 66, batch: 100, direct: true, optimizer: Optimizer::Adamw });
}

#[test]
fn kernels_match_cpu_wide_adam() {
    // T*E = 65 and E = 70 cross the 64-channel and 32-wide tiles; 257 rows are ragged.
    check(Case { t: 5, e: 13, h: 33, letters: 10, batch: 257, direct: true, optimizer: Optimizer::Adam });
    check(Case { t: 1, e: 70, h: 20, letters: 4, batch: 33, direct: true, optimizer: Optimizer::Sgd });
}

#[test]
fn kernels_match_cpu_split_k() {
    // 1100 rows split every weight gradient's K four ways (reduce.wgsl adds the
    // partials); 2200 positions make three chunks of the embedding backward.
    // On a software adapter the hardware set tiles its matmuls from 1024 rows
    // (tuning::SOFTWARE), so this case also holds the tiled program to the CPU.
    let tiled = check(Case { t: 2, e: 6, h: 40, letters: 20, batch: 1100, direct: true, optimizer: Optimizer::Adam });
    assert_eq!(tiled, [false, true]);
}
