//! Four f32 lanes, and the small-product kernel built on them.
//!
//! [`F4`] is a simd128 `v128` in wasm, whose JIT does not vectorize loops for
//! us; with the `relaxed-simd` target feature (the page's third build,
//! www/pkg-relaxed) its multiply-add is `f32x4.relaxed_madd`, which the engine
//! runs as one fused instruction where the CPU has one, so that build may round
//! differently in the last bits. Elsewhere F4 is a plain `[f32; 4]` that LLVM
//! vectorizes, which is also how the native tests run these kernels with the
//! wasm build's summation order.
//!
//! [`small_matmul`] multiplies without packing: a product whose K is a few
//! hundred keeps its B operand in L1, so the 4×8 register tile can read A and B
//! where they lie.

#[cfg(target_arch = "wasm32")]
use core::arch::wasm32::*;

/// Four f32 lanes.
#[derive(Clone, Copy)]
pub struct F4(#[cfg(target_arch = "wasm32")] v128, #[cfg(not(target_arch = "wasm32"))] [f32; 4]);

#[cfg(target_arch = "wasm32")]
impl F4 {
    #[inline(always)]
    pub fn splat(x: f32) -> Self {
        F4(f32x4_splat(x))
    }
    /// s[at..at + 4].
    #[inline(always)]
    pub fn load(s: &[f32], at: usize) -> Self {
        assert!(at + 4 <= s.len());
        // SAFETY: just checked.
        unsafe { Self::load_unchecked(s, at) }
    }
    /// s[at..at + 4] without the bounds check, for inner loops that checked once.
    ///
    /// # Safety
    /// `at + 4 <= s.len()`.
    #[inline(always)]
    pub unsafe fn load_unchecked(s: &[f32], at: usize) -> Self {
        debug_assert!(at + 4 <= s.len());
        // SAFETY: the caller keeps at + 4 within s; v128_load needs no alignment.
        F4(unsafe { v128_load(s.as_ptr().add(at) as *const v128) })
    }
    /// s[at..at + 4] = self.
    #[inline(always)]
    pub fn store(self, s: &mut [f32], at: usize) {
        assert!(at + 4 <= s.len());
        // SAFETY: just checked; v128_store needs no alignment.
        unsafe { v128_store(s.as_mut_ptr().add(at) as *mut v128, self.0) }
    }
    /// self · b + c: one rounding or two in the relaxed build, two in the others.
    #[inline(always)]
    pub fn madd(self, b: Self, c: Self) -> Self {
        #[cfg(target_feature = "relaxed-simd")]
        return F4(f32x4_relaxed_madd(self.0, b.0, c.0));
        #[cfg(not(target_feature = "relaxed-simd"))]
        return F4(f32x4_add(f32x4_mul(self.0, b.0), c.0));
    }
    #[inline(always)]
    pub fn abs(self) -> Self {
        F4(f32x4_abs(self.0))
    }
    /// Lane-wise `if self < o { o } else { self }`: a NaN in `o` keeps self.
    #[inline(always)]
    pub fn max_of(self, o: Self) -> Self {
        F4(f32x4_pmax(self.0, o.0))
    }
    /// Lane-wise `if o < self { o } else { self }`: a NaN in self stays.
    #[inline(always)]
    pub fn min_of(self, o: Self) -> Self {
        F4(f32x4_pmin(self.0, o.0))
    }
    /// Lane-wise `if self < o { then } else { other }`.
    #[inline(always)]
    pub fn lt_select(self, o: Self, then: Self, other: Self) -> Self {
        F4(v128_bitselect(then.0, other.0, f32x4_lt(self.0, o.0)))
    }
    /// The magnitudes of self with the signs of `sign`; `neg_zero` is −0.0 in
    /// every lane (the sign mask, passed in so that a loop can keep it).
    #[inline(always)]
    pub fn copysign(self, sign: Self, neg_zero: Self) -> Self {
        F4(v128_bitselect(sign.0, self.0, neg_zero.0))
    }
    /// The float whose bits are (bits(self) − bits(bias)) << 23: with `bias` the
    /// bits of a rounding constant less 127, 2^k for the integer k that adding
    /// the constant rounded into self's mantissa.
    #[inline(always)]
    pub fn pow2_of_rounded(self, bias: Self) -> Self {
        F4(i32x4_shl(i32x4_sub(self.0, bias.0), 23))
    }
    #[inline(always)]
    pub fn to_array(self) -> [f32; 4] {
        [
            f32x4_extract_lane::<0>(self.0),
            f32x4_extract_lane::<1>(self.0),
            f32x4_extract_lane::<2>(self.0),
            f32x4_extract_lane::<3>(self.0),
        ]
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl F4 {
    #[inline(always)]
    pub fn splat(x: f32) -> Self {
        F4([x; 4])
    }
    #[inline(always)]
    pub fn load(s: &[f32], at: usize) -> Self {
        F4(s[at..at + 4].try_into().expect("four floats"))
    }
    /// As `load` (natively the check stays; wasm drops it).
    ///
    /// # Safety
    /// `at + 4 <= s.len()`.
    #[inline(always)]
    pub unsafe fn load_unchecked(s: &[f32], at: usize) -> Self {
        Self::load(s, at)
    }
    #[inline(always)]
    pub fn store(self, s: &mut [f32], at: usize) {
        s[at..at + 4].copy_from_slice(&self.0);
    }
    /// self · b + c, rounded twice, as in the simd128 build.
    #[inline(always)]
    pub fn madd(self, b: Self, c: Self) -> Self {
        self * b + c
    }
    #[inline(always)]
    pub fn abs(self) -> Self {
        F4(self.0.map(f32::abs))
    }
    /// Lane-wise `if self < o { o } else { self }`: a NaN in `o` keeps self.
    #[inline(always)]
    pub fn max_of(self, o: Self) -> Self {
        F4(std::array::from_fn(|l| if self.0[l] < o.0[l] { o.0[l] } else { self.0[l] }))
    }
    /// Lane-wise `if o < self { o } else { self }`: a NaN in self stays.
    #[inline(always)]
    pub fn min_of(self, o: Self) -> Self {
        F4(std::array::from_fn(|l| if o.0[l] < self.0[l] { o.0[l] } else { self.0[l] }))
    }
    /// Lane-wise `if self < o { then } else { other }`.
    #[inline(always)]
    pub fn lt_select(self, o: Self, then: Self, other: Self) -> Self {
        F4(std::array::from_fn(|l| if self.0[l] < o.0[l] { then.0[l] } else { other.0[l] }))
    }
    /// The magnitudes of self with the signs of `sign` (`neg_zero` as in wasm).
    #[inline(always)]
    pub fn copysign(self, sign: Self, _neg_zero: Self) -> Self {
        F4(std::array::from_fn(|l| self.0[l].copysign(sign.0[l])))
    }
    /// As in wasm: the float whose bits are (bits(self) − bits(bias)) << 23.
    #[inline(always)]
    pub fn pow2_of_rounded(self, bias: Self) -> Self {
        F4(std::array::from_fn(|l| f32::from_bits(self.0[l].to_bits().wrapping_sub(bias.0[l].to_bits()) << 23)))
    }
    #[inline(always)]
    pub fn to_array(self) -> [f32; 4] {
        self.0
    }
}

impl F4 {
    /// The sum of the lanes, ((l0 + l1) + (l2 + l3)).
    #[inline(always)]
    pub fn sum(self) -> f32 {
        let l = self.to_array();
        (l[0] + l[1]) + (l[2] + l[3])
    }
    /// The largest lane (NaN lanes skipped, as in [`F4::max_of`]).
    #[inline(always)]
    pub fn max(self) -> f32 {
        let l = self.to_array();
        let m = |a: f32, b: f32| if a < b { b } else { a };
        m(m(l[0], l[1]), m(l[2], l[3]))
    }
}

/// `f` over x in four-lane chunks, then `g` over the last few elements.
#[inline(always)]
pub fn map4(x: &mut [f32], f: impl Fn(F4) -> F4, g: impl Fn(f32) -> f32) {
    let full = x.len() / 4 * 4;
    for at in (0..full).step_by(4) {
        f(F4::load(x, at)).store(x, at);
    }
    x[full..].iter_mut().for_each(|v| *v = g(*v));
}

/// Lane-wise arithmetic: `+ − × ÷` of four lanes.
macro_rules! lanewise {
    ($tr:ident, $f:ident, $wasm:ident, $op:tt) => {
        impl std::ops::$tr for F4 {
            type Output = F4;
            #[inline(always)]
            fn $f(self, o: F4) -> F4 {
                #[cfg(target_arch = "wasm32")]
                return F4($wasm(self.0, o.0));
                #[cfg(not(target_arch = "wasm32"))]
                return F4(std::array::from_fn(|l| self.0[l] $op o.0[l]));
            }
        }
    };
}
lanewise!(Add, add, f32x4_add, +);
lanewise!(Sub, sub, f32x4_sub, -);
lanewise!(Mul, mul, f32x4_mul, *);
lanewise!(Div, div, f32x4_div, /);

/// Rows of C a tile holds.
const TR: usize = 4;
/// K per pass: a tile's slice of B (KB × 8 floats) stays in L1.
const KB: usize = 256;

/// c (M, N) = β·c + op(a) @ b, b (K, N) row-major, op(a) (M, K) = a or, when
/// `ta`, the transpose of a stored (K, M). β = 0 overwrites c (a NaN left there
/// too). K goes in passes of [`KB`]: each c[i, j] sums a pass in order and adds
/// it to β·c, then to c: one order per build.
pub fn small_matmul(c: &mut [f32], beta: f32, a: &[f32], ta: bool, b: &[f32], (m, k, n): (usize, usize, usize)) {
    let c = &mut c[..m * n];
    let (a, b) = (&a[..m * k], &b[..k * n]);
    if k == 0 {
        c.iter_mut().for_each(|x| *x = if beta == 0.0 { 0.0 } else { beta * *x });
        return;
    }
    for p0 in (0..k).step_by(KB) {
        // op(a)[i, p0 + p] = a[p0·(m or 1) + i·rs + p·ps].
        let (a, rs, ps) = if ta { (&a[p0 * m..], 1, m) } else { (&a[p0..], k, 1) };
        let (b, beta) = (&b[p0 * n..], if p0 == 0 { beta } else { 1.0 });
        for i0 in (0..m).step_by(TR) {
            let tile = Tile { a, b, rs, ps, k: KB.min(k - p0), n, i0 };
            match TR.min(m - i0) {
                4 => tile.row_block::<4>(c, beta),
                3 => tile.row_block::<3>(c, beta),
                2 => tile.row_block::<2>(c, beta),
                _ => tile.row_block::<1>(c, beta),
            }
        }
    }
}

/// One block of up to [`TR`] rows of a small product.
struct Tile<'a> {
    a: &'a [f32],
    b: &'a [f32],
    rs: usize,
    ps: usize,
    k: usize,
    n: usize,
    i0: usize,
}

impl Tile<'_> {
    /// Rows i0..i0+R of c, eight columns at a time, then four, then the last
    /// few through a four-wide tile that overlaps the previous one (so no load
    /// reads past a row of b); N < 4 goes through lane arrays.
    #[inline(always)]
    fn row_block<const R: usize>(&self, c: &mut [f32], beta: f32) {
        let n = self.n;
        let mut j = 0;
        while j + 8 <= n {
            let acc = self.sum::<R, 2>(j);
            self.put(c, beta, &acc, j, 0);
            j += 8;
        }
        if j + 4 <= n {
            let acc = self.sum::<R, 1>(j);
            self.put(c, beta, &acc, j, 0);
            j += 4;
        }
        if j < n {
            if n >= 4 {
                let acc = self.sum::<R, 1>(n - 4);
                self.put(c, beta, &acc, n - 4, j - (n - 4));
            } else {
                for r in 0..R {
                    let i = self.i0 + r;
                    for jj in 0..n {
                        let mut s = 0.0f32;
                        for p in 0..self.k {
                            s += self.a[i * self.rs + p * self.ps] * self.b[p * n + jj];
                        }
                        let o = &mut c[i * n + jj];
                        *o = if beta == 0.0 { s } else { beta * *o + s };
                    }
                }
            }
        }
    }

    /// Σ_p op(a)[i0 + r, p] · b[p, j0 + 4q ..][..4] for r < R, q < Q.
    #[inline(always)]
    fn sum<const R: usize, const Q: usize>(&self, j0: usize) -> [[F4; Q]; R] {
        let (a, b, n) = (self.a, self.b, self.n);
        let mut acc = [[F4::splat(0.0); Q]; R];
        // The last element either operand reads, checked once for the whole loop.
        assert!(j0 + 4 * Q <= n && (self.k - 1) * n + j0 + 4 * Q <= b.len());
        assert!((self.i0 + R - 1) * self.rs + (self.k - 1) * self.ps < a.len());
        for p in 0..self.k {
            // SAFETY: the first assert keeps every load within b.
            let bv: [F4; Q] = std::array::from_fn(|q| unsafe { F4::load_unchecked(b, p * n + j0 + 4 * q) });
            for (r, acc) in acc.iter_mut().enumerate() {
                // SAFETY: the assert above bounds (i0 + r)·rs + p·ps by a.len().
                let x = F4::splat(unsafe { *a.get_unchecked((self.i0 + r) * self.rs + p * self.ps) });
                for q in 0..Q {
                    acc[q] = x.madd(bv[q], acc[q]);
                }
            }
        }
        acc
    }

    /// c[i0 + r, j0 + s] = β·c + acc (β = 0 overwrites) for the lanes s ≥ skip.
    #[inline(always)]
    fn put<const R: usize, const Q: usize>(
        &self,
        c: &mut [f32],
        beta: f32,
        acc: &[[F4; Q]; R],
        j0: usize,
        skip: usize,
    ) {
        for (r, acc) in acc.iter().enumerate() {
            let at = (self.i0 + r) * self.n + j0;
            for (q, v) in acc.iter().enumerate() {
                let at = at + 4 * q;
                if skip == 0 {
                    let v = if beta == 0.0 { *v } else { F4::load(c, at) * F4::splat(beta) + *v };
                    v.store(c, at);
                } else {
                    for (s, x) in v.to_array().into_iter().enumerate().skip(skip) {
                        let o = &mut c[at + s];
                        *o = if beta == 0.0 { x } else { beta * *o + x };
                    }
                }
            }
        }
    }
}
