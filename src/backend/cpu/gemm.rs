//! A cache-blocked matmul for the big products of a step: c (M, N) = β·c + op(a) @ op(b).
//!
//! op(b) is packed into panels of NR columns and op(a) into panels of MR rows,
//! K in blocks of KC, so the MR×NR microkernel streams two small contiguous
//! panels and keeps its tile of c in registers. The caller owns the packing
//! buffers ([`Packs`]: one per shard of a step, so whichever thread runs the
//! shard) and passes them in; they only grow, so once a step of a given shape
//! has run, the next one allocates nothing (allocating them on every call
//! would also make the threads of threaded wasm queue on the allocator's lock).
//!
//! The microkernel is plain Rust over fixed-size arrays, which LLVM turns into
//! SSE or, behind a runtime check, AVX2 with FMA. Native builds only use it for
//! products of 2^17 multiply-adds and more: wasm's simd128 has neither the
//! registers nor the FMA that make packing pay, so `layers::matmul` sends every
//! wasm product to `simd::small_matmul` instead.

/// Rows and columns of a microkernel tile: 6×16 (12 AVX accumulators).
const MR: usize = 6;
const NR: usize = 16;
/// K per packed block: an A panel (MR·KC) and a B panel (KC·NR) stay in L1.
const KC: usize = 256;
/// Rows of a per-block A pack (MC·KC floats stay in L2).
const MC: usize = 120;

/// Packed op(a) and op(b) blocks: the workspace of [`gemm`], owned by its
/// caller. Grows to the largest shape it has packed and stays that size.
#[derive(Default)]
pub struct Packs {
    a: Vec<f32>,
    b: Vec<f32>,
}

impl Packs {
    /// `len` floats of the B pack, for a caller that lays out an operand itself
    /// (`layers::matmul` transposes a small B into it); grows like the packs.
    pub fn scratch(&mut self, len: usize) -> &mut [f32] {
        grow(&mut self.b, len);
        &mut self.b[..len]
    }
}

/// A matrix operand: `data` is (rows, cols) row-major, or its transpose stored
/// (cols, rows) when `t`.
#[derive(Clone, Copy)]
pub struct Operand<'a> {
    pub data: &'a [f32],
    pub t: bool,
}

/// c (M, N) = β·c + op(a) (M, K) @ op(b) (K, N); β = 0 overwrites c. `packs`
/// is the workspace; it grows here only if this shape needs more than it has.
pub fn gemm(packs: &mut Packs, c: &mut [f32], beta: f32, a: Operand, b: Operand, dims: (usize, usize, usize)) {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has just been checked for both features.
        return unsafe { gemm_avx2_fma(packs, c, beta, a, b, dims) };
    }
    gemm_impl::<false>(packs, c, beta, a, b, dims)
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
#[target_feature(enable = "avx2,fma")]
fn gemm_avx2_fma(packs: &mut Packs, c: &mut [f32], beta: f32, a: Operand, b: Operand, dims: (usize, usize, usize)) {
    gemm_impl::<true>(packs, c, beta, a, b, dims)
}

#[inline(always)]
fn gemm_impl<const FMA: bool>(
    Packs { a: ap, b: bp }: &mut Packs,
    c: &mut [f32],
    beta: f32,
    a: Operand,
    b: Operand,
    (m, k, n): (usize, usize, usize),
) {
    let c = &mut c[..m * n];
    if k == 0 {
        scale(c, beta);
        return;
    }
    let n_panels = n.div_ceil(NR);
    for pc in (0..k).step_by(KC) {
        let kc = KC.min(k - pc);
        pack_b(bp, b, (pc, kc), k, n);
        // Later K blocks add to what the first wrote.
        let beta = if pc == 0 { beta } else { 1.0 };
        for ic in (0..m).step_by(MC) {
            let mc = MC.min(m - ic);
            pack_a(ap, a, (ic, mc), (pc, kc), m, k);
            for jp in 0..n_panels {
                let bpanel = &bp[jp * kc * NR..(jp + 1) * kc * NR];
                for ip in 0..mc.div_ceil(MR) {
                    let apanel = &ap[ip * kc * MR..(ip + 1) * kc * MR];
                    tile::<FMA>(apanel, bpanel, kc, c, (ic + ip * MR, jp * NR), (m, n), beta);
                }
            }
        }
    }
}

fn scale(c: &mut [f32], beta: f32) {
    if beta == 0.0 {
        c.fill(0.0);
    } else {
        c.iter_mut().for_each(|x| *x *= beta);
    }
}

/// c[i0.., j0..] (clipped to the (m, n) edges) = β·c + Σ_p apanel[p] ⊗ bpanel[p]
/// over `kc` packed steps, the MR×NR sum held in registers.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tile<const FMA: bool>(
    apanel: &[f32],
    bpanel: &[f32],
    kc: usize,
    c: &mut [f32],
    (i0, j0): (usize, usize),
    (m, n): (usize, usize),
    beta: f32,
) {
    let acc = accumulate::<FMA>(apanel, bpanel, kc);
    let cols = NR.min(n - j0);
    for (r, t) in acc.iter().enumerate().take(MR.min(m - i0)) {
        let row = &mut c[(i0 + r) * n + j0..][..cols];
        if cols == NR {
            let row: &mut [f32; NR] = row.try_into().expect("NR-wide row");
            store(row, t, beta);
        } else {
            store(row, &t[..cols], beta);
        }
    }
}

/// Σ_p apanel[p] ⊗ bpanel[p]: the portable kernel, which LLVM vectorizes (AVX2
/// with FMA behind the runtime check).
#[inline(always)]
fn accumulate<const FMA: bool>(apanel: &[f32], bpanel: &[f32], kc: usize) -> [[f32; NR]; MR] {
    let mut acc = [[0.0f32; NR]; MR];
    for (a, b) in apanel.chunks_exact(MR).zip(bpanel.chunks_exact(NR)).take(kc) {
        let a: &[f32; MR] = a.try_into().expect("MR-wide chunk");
        let b: &[f32; NR] = b.try_into().expect("NR-wide chunk");
        for r in 0..MR {
            for j in 0..NR {
                acc[r][j] = if FMA { a[r].mul_add(b[j], acc[r][j]) } else { acc[r][j] + a[r] * b[j] };
            }
        }
    }
    acc
}

/// row = β·row + t; β = 0 overwrites (NaN included).
#[inline(always)]
fn store(row: &mut [f32], t: &[f32], beta: f32) {
    if beta == 0.0 {
        row.copy_from_slice(t);
    } else if beta == 1.0 {
        row.iter_mut().zip(t).for_each(|(o, x)| *o += x);
    } else {
        row.iter_mut().zip(t).for_each(|(o, x)| *o = beta * *o + x);
    }
}

/// Packs op(b)[pc..pc+kc, ..] (op(b) is (K, N)) as panels of NR columns, each
/// kc rows of NR, zero-padded past column n.
fn pack_b(bp: &mut Vec<f32>, b: Operand, (pc, kc): (usize, usize), k: usize, n: usize) {
    let n_panels = n.div_ceil(NR);
    grow(bp, n_panels * kc * NR);
    for jp in 0..n_panels {
        let j0 = jp * NR;
        let cols = NR.min(n - j0);
        let panel = &mut bp[jp * kc * NR..(jp + 1) * kc * NR];
        for (p, dst) in panel.chunks_exact_mut(NR).enumerate() {
            let pp = pc + p;
            if b.t {
                // op(b)[pp, j] = b[j, pp], b stored (N, K).
                for (j, d) in dst[..cols].iter_mut().enumerate() {
                    *d = b.data[(j0 + j) * k + pp];
                }
            } else if cols == NR {
                // A fixed-size copy: inlined, where a slice copy of NR floats calls memmove.
                let d: &mut [f32; NR] = dst.try_into().expect("NR-wide chunk");
                *d = b.data[pp * n + j0..][..NR].try_into().expect("NR floats");
                continue;
            } else {
                dst[..cols].copy_from_slice(&b.data[pp * n + j0..][..cols]);
            }
            dst[cols..].fill(0.0);
        }
    }
}

/// Packs op(a)[ic..ic+mc, pc..pc+kc] (op(a) is (M, K)) as panels of MR rows,
/// each kc columns of MR, zero-padded past row m.
fn pack_a(ap: &mut Vec<f32>, a: Operand, (ic, mc): (usize, usize), (pc, kc): (usize, usize), m: usize, k: usize) {
    let panels = mc.div_ceil(MR);
    grow(ap, panels * kc * MR);
    for ip in 0..panels {
        let i0 = ic + ip * MR;
        let rows = MR.min(ic + mc - i0);
        let panel = &mut ap[ip * kc * MR..(ip + 1) * kc * MR];
        if a.t {
            // op(a)[i, pp] = a[pp, i], a stored (K, M): each packed column is contiguous in a.
            for (p, dst) in panel.chunks_exact_mut(MR).enumerate() {
                let src = &a.data[(pc + p) * m + i0..];
                if rows == MR {
                    // A fixed-size copy: inlined, where a slice copy of MR floats calls memmove.
                    let d: &mut [f32; MR] = dst.try_into().expect("MR-wide chunk");
                    *d = src[..MR].try_into().expect("MR floats");
                } else {
                    dst.iter_mut().enumerate().for_each(|(r, d)| *d = if r < rows { src[r] } else { 0.0 });
                }
            }
        } else {
            for r in 0..MR {
                if r < rows {
                    let src = &a.data[(i0 + r) * k + pc..][..kc];
                    panel.iter_mut().skip(r).step_by(MR).zip(src).for_each(|(d, x)| *d = *x);
                } else {
                    panel.iter_mut().skip(r).step_by(MR).for_each(|d| *d = 0.0);
                }
            }
        }
    }
}

fn grow(buf: &mut Vec<f32>, len: usize) {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The product in f64 by the definition.
    pub(in crate::backend::cpu) fn reference(
        a: &[f32],
        ta: bool,
        b: &[f32],
        tb: bool,
        (m, k, n): (usize, usize, usize),
    ) -> Vec<f64> {
        let mut c = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k)
                    .map(|p| {
                        let x = if ta { a[p * m + i] } else { a[i * k + p] };
                        let y = if tb { b[j * k + p] } else { b[p * n + j] };
                        x as f64 * y as f64
                    })
                    .sum();
            }
        }
        c
    }

    pub(in crate::backend::cpu) fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len as u32).map(|i| ((i.wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0).collect()
    }

    #[test]
    fn matches_the_definition_on_ragged_shapes_and_every_layout() {
        // Shapes that cut every block edge: MR, NR, KC, MC and their remainders.
        for (m, k, n) in [(1, 1, 1), (5, 3, 17), (130, 257, 27), (27, 600, 9), (300, 20, 33), (4, 512, 16)] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                for beta in [0.0f32, 1.0, 0.5] {
                    let (a, b) = (values(m * k, 1), values(k * n, 2));
                    let c0 = values(m * n, 3);
                    let mut c = c0.clone();
                    gemm(
                        &mut Packs::default(),
                        &mut c,
                        beta,
                        Operand { data: &a, t: ta },
                        Operand { data: &b, t: tb },
                        (m, k, n),
                    );
                    let want = reference(&a, ta, &b, tb, (m, k, n));
                    for i in 0..m * n {
                        let expect = want[i] + beta as f64 * c0[i] as f64;
                        let err = (c[i] as f64 - expect).abs();
                        assert!(
                            err < 1e-4 * (k as f64).sqrt() * 4.0,
                            "{m}x{k}x{n} ta={ta} tb={tb} β={beta} [{i}]: {} vs {expect}",
                            c[i]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn beta_zero_overwrites_nan() {
        let (a, b) = (values(8 * 8, 1), values(8 * 8, 2));
        let mut c = vec![f32::NAN; 64];
        gemm(
            &mut Packs::default(),
            &mut c,
            0.0,
            Operand { data: &a, t: false },
            Operand { data: &b, t: false },
            (8, 8, 8),
        );
        assert!(c.iter().all(|x| x.is_finite()));
    }
}
