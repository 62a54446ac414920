//! The MLP's layers as forward/backward pairs of plain functions over flat
//! row-major slices (llm.c style). `b` is the number of rows (examples) in the
//! slice; shapes are given in the comments.

use super::gemm::{gemm, Operand, Packs};
use super::math;
use super::simd::{map4, small_matmul, F4};

/// Whether op(a) (M, K) @ op(b) (K, N) goes to [`small_matmul`], which reads
/// the operands in place, rather than the packed, blocked [`gemm`]. In wasm,
/// every product: its simd128 tile is the same either way (the JIT has 16
/// vector registers, and no fused multiply-add outside the relaxed build), so
/// packing only adds copies. Natively, products under 2^17 multiply-adds: above
/// that, gemm's AVX2 and FMA tiles win.
fn is_small(m: usize, k: usize, n: usize) -> bool {
    cfg!(target_arch = "wasm32") || m * k * n <= 1 << 17
}

/// c (M, N) = β·c + op(a) @ op(b), where op(a) is a (M, K) or, when `ta`, the
/// transpose of a stored (K, M); likewise op(b) is b (K, N) or bᵀ of b (N, K).
/// `packs` is the matmuls' workspace (see [`Packs`]), owned by the caller.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    packs: &mut Packs,
    c: &mut [f32],
    beta: f32,
    a: &[f32],
    ta: bool,
    b: &[f32],
    tb: bool,
    (m, k, n): (usize, usize, usize),
) {
    let c = &mut c[..m * n];
    let (a, b) = (Operand { data: a, t: ta }, Operand { data: b, t: tb });
    if is_small(m, k, n) {
        small_path(packs, c, beta, a, b, (m, k, n));
    } else {
        gemm(packs, c, beta, a, b, (m, k, n));
    }
}

/// [`matmul`] through [`small_matmul`], whatever the size.
fn small_path(packs: &mut Packs, c: &mut [f32], beta: f32, a: Operand, b: Operand, (m, k, n): (usize, usize, usize)) {
    if !b.t || k == 0 {
        return small_matmul(c, beta, a.data, a.t, b.data, (m, k, n));
    }
    // small_matmul reads op(b) row-major: lay bᵀ (K, N) out from b (N, K).
    let bt = packs.scratch(k * n);
    for (j, row) in b.data[..n * k].chunks_exact(k).enumerate() {
        bt.iter_mut().skip(j).step_by(n).zip(row).for_each(|(d, x)| *d = *x);
    }
    small_matmul(c, beta, a.data, a.t, bt, (m, k, n));
}

/// emb (b, T*E) = C[x]: x (b, T) token ids, C (V, E).
#[inline(never)]
pub fn embed_forward(emb: &mut [f32], c: &[f32], x: &[u32], e: usize) {
    for (dst, &t) in emb.chunks_exact_mut(e).zip(x) {
        let t = t as usize;
        dst.copy_from_slice(&c[t * e..(t + 1) * e]);
    }
}

/// dC (V, E) += the rows of demb (b, T*E) scattered by x (b, T).
#[inline(never)]
pub fn embed_backward(dc: &mut [f32], demb: &[f32], x: &[u32], e: usize) {
    for (src, &t) in demb.chunks_exact(e).zip(x) {
        let t = t as usize;
        dc[t * e..(t + 1) * e].iter_mut().zip(src).for_each(|(d, s)| *d += s);
    }
}

/// out (b, N) = inp (b, K) @ w (K, N) + bias (N), or `+=` that when `add`.
#[allow(clippy::too_many_arguments)]
pub fn linear_forward(
    packs: &mut Packs,
    out: &mut [f32],
    inp: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    b: usize,
    k: usize,
    n: usize,
    add: bool,
) {
    let out = &mut out[..b * n];
    match (add, bias) {
        (false, Some(bias)) => out.chunks_exact_mut(n).for_each(|row| row.copy_from_slice(bias)),
        (false, None) => out.fill(0.0),
        (true, Some(bias)) => {
            out.chunks_exact_mut(n).for_each(|row| row.iter_mut().zip(bias).for_each(|(o, c)| *o += c))
        }
        (true, None) => {}
    }
    matmul(packs, out, 1.0, inp, false, w, false, (b, k, n));
}

/// dbias (N) = column sums of dout (b, N).
#[inline(never)]
pub fn bias_backward(dbias: &mut [f32], dout: &[f32], n: usize) {
    dbias.fill(0.0);
    for row in dout.chunks_exact(n) {
        dbias.iter_mut().zip(row).for_each(|(d, g)| *d += g);
    }
}

/// dw (K, N) = inpᵀ @ dout; dbias (N) = column sums of dout;
/// dinp (b, K) = dout @ wᵀ, or `+=` that when `add_dinp`. dout is (b, N).
#[allow(clippy::too_many_arguments)]
pub fn linear_backward(
    packs: &mut Packs,
    dinp: Option<&mut [f32]>,
    add_dinp: bool,
    dw: Option<&mut [f32]>,
    dbias: Option<&mut [f32]>,
    dout: &[f32],
    inp: &[f32],
    w: &[f32],
    (b, k, n): (usize, usize, usize),
) {
    if let Some(dw) = dw {
        matmul(packs, dw, 0.0, inp, true, dout, false, (k, b, n));
    }
    if let Some(dbias) = dbias {
        bias_backward(dbias, &dout[..b * n], n);
    }
    if let Some(dinp) = dinp {
        let beta = if add_dinp { 1.0 } else { 0.0 };
        matmul(packs, dinp, beta, dout, false, w, true, (b, n, k));
    }
}

/// h = tanh(h), in place. (b, H)
#[inline(never)]
pub fn tanh_forward(h: &mut [f32]) {
    let lanes = math::Lanes::new();
    map4(h, |x| lanes.tanh(x), math::tanh);
}

/// dh *= 1 − h², in place. dh, h: (b, H)
#[inline(never)]
pub fn tanh_backward(dh: &mut [f32], h: &[f32]) {
    let h = &h[..dh.len()];
    let full = dh.len() / 4 * 4;
    for at in (0..full).step_by(4) {
        let y = F4::load(h, at);
        (F4::load(dh, at) * (F4::splat(1.0) - y * y)).store(dh, at);
    }
    dh[full..].iter_mut().zip(&h[full..]).for_each(|(d, y)| *d *= 1.0 - y * y);
}

/// The largest entry of a row (a NaN entry is skipped; it still makes the loss NaN).
/// Compares and selects, where `f32::max` is a libm call in wasm.
fn row_max(row: &[f32]) -> f32 {
    let full = row.len() / 4 * 4;
    let m4 = (0..full).step_by(4).fold(F4::splat(f32::NEG_INFINITY), |m, at| m.max_of(F4::load(row, at)));
    row[full..].iter().fold(m4.max(), |m, &z| if z > m { z } else { m })
}

/// Σ_j e^(row[j] − max): four lanes at a time, then the tail.
fn exp_sum(lanes: &math::Lanes, row: &[f32], max: f32) -> f32 {
    let full = row.len() / 4 * 4;
    let s4 = (0..full).step_by(4).fold(F4::splat(0.0), |s, at| s + lanes.exp(F4::load(row, at) - F4::splat(max)));
    row[full..].iter().fold(s4.sum(), |s, &z| s + math::exp(z - max))
}

/// Fused softmax + cross-entropy forward and backward over logits (b, V) and
/// targets y (b): returns Σ −log p[y] and overwrites the logits with
/// dlogits = (softmax − onehot(y)) · scale. Sums in [`exp_sum`]'s order.
#[inline(never)]
pub fn softmax_xent(logits: &mut [f32], y: &[u32], v: usize, scale: f32) -> f64 {
    let (mut loss, lanes) = (0.0f64, math::Lanes::new());
    for (row, &t) in logits.chunks_exact_mut(v).zip(y) {
        let max = row_max(row);
        let zt = row[t as usize];
        // row = e^(row − max), summed as exp_sum sums.
        let full = row.len() / 4 * 4;
        let mut s4 = F4::splat(0.0);
        for at in (0..full).step_by(4) {
            let e = lanes.exp(F4::load(row, at) - F4::splat(max));
            e.store(row, at);
            s4 = s4 + e;
        }
        let sum = row[full..].iter_mut().fold(s4.sum(), |s, z| {
            *z = math::exp(*z - max);
            s + *z
        });
        loss += (sum as f64).ln() - (zt - max) as f64;
        let inv = scale / sum;
        map4(row, |z| z * F4::splat(inv), |z| z * inv);
        row[t as usize] -= scale;
    }
    loss
}

/// Σ −log p[y] over logits (b, V) without touching them (evaluation).
#[inline(never)]
pub fn xent_loss(logits: &[f32], y: &[u32], v: usize) -> f64 {
    let (mut loss, lanes) = (0.0f64, math::Lanes::new());
    for (row, &t) in logits.chunks_exact(v).zip(y) {
        let max = row_max(row);
        loss += (exp_sum(&lanes, row, max) as f64).ln() - (row[t as usize] - max) as f64;
    }
    loss
}

// Embedding tables. An embedding followed by a linear layer is a lookup:
// emb @ W = Σ_t C[x_t] @ W_t = Σ_t (C @ W_t)[x_t], with W_t the rows t·E..(t+1)·E
// of W. When the vocabulary is smaller than the batch, precomputing the
// (T, V, N) table C @ W_t turns the (b, T·E)×(T·E, N) matmul into T row gathers,
// and the backward pass into a scatter of dout by token followed by two tiny
// (V-sized) matmuls per position.

/// table (T, V, N): table[t] = C (V, E) @ W[t·E..(t+1)·E] (E, N), W being (T·E, N).
pub fn embed_table(
    packs: &mut Packs,
    table: &mut [f32],
    c: &[f32],
    w: &[f32],
    (t, v, e, n): (usize, usize, usize, usize),
) {
    for (tt, tab) in table.chunks_exact_mut(v * n).take(t).enumerate() {
        let wt = &w[tt * e * n..(tt + 1) * e * n];
        matmul(packs, tab, 0.0, c, false, wt, false, (v, e, n));
    }
}

/// out (b, N) = bias (N) + Σ_t table[t, x[·, t]], or `+=` the sum when `bias` is None.
/// x: (b, T), table: (T, V, N).
#[inline(never)]
pub fn table_forward(
    out: &mut [f32],
    table: &[f32],
    x: &[u32],
    bias: Option<&[f32]>,
    (t, v, n): (usize, usize, usize),
) {
    for (row, xs) in out.chunks_exact_mut(n).zip(x.chunks_exact(t)) {
        if let Some(bias) = bias {
            row.copy_from_slice(bias);
        }
        for (tt, &tok) in xs.iter().enumerate() {
            let src = &table[(tt * v + tok as usize) * n..][..n];
            row.iter_mut().zip(src).for_each(|(o, s)| *o += s);
        }
    }
}

/// s (T, V, N) = Σ_b onehot(x[b, t]) ⊗ dout[b]: the gradient of the table.
#[inline(never)]
pub fn table_backward(s: &mut [f32], dout: &[f32], x: &[u32], (t, v, n): (usize, usize, usize)) {
    s[..t * v * n].fill(0.0);
    for (row, xs) in dout.chunks_exact(n).zip(x.chunks_exact(t)) {
        for (tt, &tok) in xs.iter().enumerate() {
            let dst = &mut s[(tt * v + tok as usize) * n..][..n];
            dst.iter_mut().zip(row).for_each(|(d, g)| *d += g);
        }
    }
}

/// From the table gradient s (T, V, N): dW[t] = Cᵀ @ s[t] (E, N) and dC += s[t] @ W[t]ᵀ (V, E).
#[allow(clippy::too_many_arguments)]
pub fn table_backward_params(
    packs: &mut Packs,
    dw: &mut [f32],
    dc: &mut [f32],
    s: &[f32],
    c: &[f32],
    w: &[f32],
    (t, v, e, n): (usize, usize, usize, usize),
) {
    for tt in 0..t {
        let st = &s[tt * v * n..(tt + 1) * v * n];
        let wt = &w[tt * e * n..(tt + 1) * e * n];
        matmul(packs, &mut dw[tt * e * n..], 0.0, c, true, st, false, (e, v, n));
        matmul(packs, dc, 1.0, st, false, wt, true, (v, n, e));
    }
}

#[cfg(test)]
mod tests {
    use super::super::gemm::tests::{reference, values};
    use super::*;

    /// The small path against the definition, in every layout, on shapes that
    /// leave every tail: rows past a tile of four, columns past eight and four,
    /// fewer than four columns, and the products of a lecture-sized step.
    #[test]
    fn small_matmul_matches_the_definition() {
        let shapes = [
            (1, 1, 1),
            (5, 3, 17),
            (3, 7, 2),
            (6, 5, 3),
            (9, 4, 13),
            (32, 30, 200),
            (32, 200, 27),
            (200, 32, 27),
            (9, 600, 27),
            (0, 3, 2),
            (3, 0, 5),
        ];
        for (m, k, n) in shapes {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                for beta in [0.0f32, 1.0, 0.5] {
                    let (a, b, c0) = (values(m * k, 1), values(k * n, 2), values(m * n, 3));
                    let mut c = c0.clone();
                    let (oa, ob) = (Operand { data: &a, t: ta }, Operand { data: &b, t: tb });
                    small_path(&mut Packs::default(), &mut c, beta, oa, ob, (m, k, n));
                    let want = reference(&a, ta, &b, tb, (m, k, n));
                    for i in 0..m * n {
                        let expect = want[i] + beta as f64 * c0[i] as f64;
                        let err = (c[i] as f64 - expect).abs();
                        assert!(
                            err <= 4e-4 * (k as f64).sqrt(),
                            "{m}x{k}x{n} ta={ta} tb={tb} β={beta} [{i}]: {} vs {expect}",
                            c[i]
                        );
                    }
                }
            }
        }
    }

    /// β = 0 must overwrite the output, also on the small (unpacked) path that
    /// linear_backward takes for dh and demb at lecture sizes: a NaN left there by
    /// a diverged step must not survive into the next step's gradients.
    #[test]
    fn small_matmul_beta_zero_overwrites_nan() {
        let (m, k, n) = (32, 27, 100);
        assert!(is_small(m, k, n), "this shape must take the small path");
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let mut c = vec![f32::NAN; m * n];
            matmul(&mut Packs::default(), &mut c, 0.0, &a, ta, &b, tb, (m, k, n));
            assert!(c.iter().all(|x| x.is_finite()), "ta={ta} tb={tb} kept a NaN");
        }
    }
}
