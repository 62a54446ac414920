#![cfg(all(not(target_arch = "wasm32"), feature = "gpu"))]
//! `matmul_tiled.wgsl` (the hardware set's tiled program) against the definition,
//! Σ_k A[m, k]·B[k, n] in f64, on ragged shapes: M, N and K not multiples of the
//! tile (32 or 64) or of TILE_K (16), operand offsets on and off multiples of 4
//! (the vec4 and scalar load paths), transposed loads, the ones row, and K splits
//! that do not divide the rows. Each case runs with both tile sizes.

use makemore::backend::gpu::hooks::run_tiled;
use makemore::backend::gpu::kernels::*;
use makemore::backend::gpu::request_device;
use makemore::backend::gpu::tuning::{Tuning, DEFAULT};
use makemore::rng::Rng;
use pollster::block_on;

const REL: f64 = 1e-4;

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.normal() as f32).collect()
}

/// The 32- and 64-wide tiles of the table.
fn tunings() -> [Tuning; 2] {
    let wide = Tuning::named("nvidia").unwrap();
    assert_eq!((DEFAULT.tile, wide.tile), (32, 64));
    [DEFAULT, wide]
}

/// Σ_k A[m, k]·B[k, n] over k in `ks`, reading operands as the kernel does
/// (A from `act`, B from `params` or `act`), with A's row `rows` the ones row.
fn reference(
    t: &Tiled,
    rows: usize,
    act: &[f32],
    params: &[f32],
    m: usize,
    n: usize,
    ks: std::ops::Range<usize>,
) -> f64 {
    let b_src = if t.flags & B_ACT != 0 { act } else { params };
    ks.map(|k| {
        let a =
            if m < rows { f64::from(act[t.a[0] as usize + m * t.a[1] as usize + k * t.a[2] as usize]) } else { 1.0 };
        a * f64::from(b_src[t.b[0] as usize + k * t.b[1] as usize + n * t.b[2] as usize])
    })
    .sum()
}

fn close(name: &str, got: f32, want: f64, scale: f64) {
    assert!((f64::from(got) - want).abs() <= REL * (want.abs() + scale), "{name}: gpu {got} vs definition {want}");
}

/// A row pass, out (rows, N) in the activations at `out_off`: the first `rows`
/// rows of act hold A (rows, K) at `a_off`; B is a weight in the parameters.
#[allow(clippy::too_many_arguments)]
fn row_pass(name: &str, rows: u32, n: u32, k: u32, a_off: u32, b_off: u32, b_t: bool, epilogue: u32) {
    let (device, queue) = block_on(request_device()).expect("the GPU tests need a GPU adapter (lavapipe)");
    let out_off = a_off + rows * k + 3;
    let aux_off = out_off + rows * n + 5; // h for the tanh derivative
    let act_len = (aux_off + rows * n) as usize;
    let bias_off = b_off + n * k + 1;
    let params = random((bias_off + n) as usize, 2);
    let mut act = random(act_len, 1);
    act[aux_off as usize..].iter_mut().for_each(|x| *x = x.tanh());
    // B (K, N) is W (K, N) row-major, or Wᵀ of W (N, K) row-major.
    let b = if b_t { [b_off, 1, k] } else { [b_off, n, 1] };
    let vec4 = b_off.is_multiple_of(4) && (if b_t { k } else { n }).is_multiple_of(4);
    let flags = if b_t { B_ALONG_K } else { 0 } | if vec4 { B_VEC4 } else { 0 };
    let t = Tiled {
        m: 0,
        n,
        k,
        rows_in: ROWS_M,
        a: [a_off, k, 1],
        b,
        flags,
        out_off,
        out_sm: n,
        aux_off: if epilogue == EPI_TANH_GRAD { aux_off } else { bias_off },
        split_rows: k,
        ..Tiled::default()
    };
    for tuning in tunings() {
        let got = block_on(run_tiled(&device, &queue, &tuning, epilogue, &t, rows, &act, &params, 0)).unwrap();
        for m in 0..rows as usize {
            for j in 0..n as usize {
                let o = out_off as usize + m * n as usize + j;
                let s = reference(&t, rows as usize, &act, &params, m, j, 0..k as usize);
                let want = match epilogue {
                    EPI_NONE => s,
                    EPI_BIAS_TANH => (s + f64::from(params[bias_off as usize + j])).clamp(-20.0, 20.0).tanh(),
                    EPI_TANH_GRAD => {
                        let y = f64::from(act[aux_off as usize + m * n as usize + j]);
                        s * (1.0 - y * y)
                    }
                    EPI_ACCUMULATE => s + f64::from(act[o]),
                    _ => unreachable!(),
                };
                close(&format!("{name} tile {} [{m}, {j}]", tuning.tile), got.act[o], want, (k as f64).sqrt());
            }
        }
        // Nothing outside the output moved (the operands, the aux rows).
        let outside = |i: usize| i < out_off as usize || i >= (out_off + rows * n) as usize;
        for (i, (g, w)) in got.act.iter().zip(&act).enumerate().filter(|(i, _)| outside(*i)) {
            assert_eq!(g, w, "{name}: act[{i}] changed");
        }
    }
}

#[test]
fn forward_passes_match_on_ragged_shapes() {
    // W offsets 5 (scalar loads) and 8 (vec4); N = 70 and 68 cross both tiles; K = 45.
    row_pass("emb@W1 scalar", 77, 70, 45, 13, 5, false, EPI_BIAS_TANH);
    row_pass("emb@W1 vec4", 77, 68, 45, 13, 8, false, EPI_BIAS_TANH);
    row_pass("h@W2 accumulate", 130, 27, 33, 0, 6, false, EPI_ACCUMULATE);
}

#[test]
fn transposed_weight_passes_match_on_ragged_shapes() {
    // Wᵀ loads along k: K = 37 (scalar), K = 36 at offset 12 (vec4, ragged last tile of K).
    row_pass("dlogits@W2ᵀ scalar", 65, 50, 37, 7, 3, true, EPI_TANH_GRAD);
    row_pass("dlogits@W2ᵀ vec4", 65, 50, 36, 7, 12, true, EPI_TANH_GRAD);
    row_pass("dpre@W1ᵀ", 100, 150, 101, 0, 0, true, EPI_NONE);
}

/// A weight gradient: [A, 1]ᵀ @ dY over `rows` rows, K split every `split_rows`
/// rows into partials `stride` apart, each checked against its rows' sum.
fn grad_pass(rows: u32, m: u32, n: u32, split_rows: u32) {
    let (device, queue) = block_on(request_device()).expect("the GPU tests need a GPU adapter (lavapipe)");
    let (a_off, b_off) = (9, 9 + rows * m + 2);
    let act = random((b_off + rows * n) as usize, 3);
    let stride = (m + 1) * n + 7;
    let splits = rows.div_ceil(split_rows);
    let out_off = 3;
    let parts_len = (out_off + splits * stride) as usize;
    let t = Tiled {
        m,
        n,
        k: 0,
        rows_in: ROWS_K,
        a: [a_off, 1, m],
        ones_row: 1,
        b: [b_off, n, 1],
        flags: A_ALONG_M | B_ACT | OUT_PARTS,
        out_off,
        out_sm: n,
        split_rows,
        split_stride: stride,
        ..Tiled::default()
    };
    for tuning in tunings() {
        let got =
            block_on(run_tiled(&device, &queue, &tuning, EPI_NONE, &t, rows, &act, &[0.0; 4], parts_len)).unwrap();
        assert_eq!(got.act, act, "a weight gradient writes only partials");
        for s in 0..splits {
            let ks = (s * split_rows) as usize..((s + 1) * split_rows).min(rows) as usize;
            for i in 0..=m as usize {
                for j in 0..n as usize {
                    let o = (out_off + s * stride) as usize + i * n as usize + j;
                    let want = reference(&t, m as usize, &act, &[], i, j, ks.clone());
                    let name = format!("tile {} split {s} [{i}, {j}]", tuning.tile);
                    close(&name, got.parts[o], want, (ks.len() as f64).sqrt());
                }
            }
        }
    }
}

#[test]
fn split_weight_gradients_match_on_ragged_shapes() {
    // 1000 rows in splits of 96 (the last holds 40), M + 1 = 46 and N = 30 inside one
    // tile, then 65 × 70 outputs across tiles of both sizes.
    grad_pass(1000, 45, 30, 96);
    grad_pass(300, 64, 70, 170);
}
