//! Branch-free `exp` and `tanh` for f32 with ~1e-7 relative error, one lane
//! at a time and four at a time ([`Lanes`]: the same operations in the
//! same order, so a value gets the same bits whichever of the two computes it).

use super::simd::F4;

const LOG2E: f32 = std::f32::consts::LOG2_E;
// ln 2 split so that k·LN2_HI is exact for |k| < 2^9 (Cody–Waite reduction).
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
// Adding and subtracting 1.5·2^23 rounds an f32 of magnitude < 2^22 to an integer.
const ROUND: f32 = 12_582_912.0;

/// e^x for x in about [-87, 88] (clamped outside).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2E + ROUND;
    let k = shifted - ROUND;
    // k as an integer, read from the mantissa of `shifted` (a float→int cast
    // would saturate and keep the loop from vectorizing).
    let ki = shifted.to_bits() as i32 - ROUND.to_bits() as i32;
    let r = (x - k * LN2_HI) - k * LN2_LO; // |r| <= ln2/2
                                           // Taylor series of e^r to degree 7: error < 0.347^8/8! ≈ 5e-9.
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    f32::from_bits(((ki + 127) << 23) as u32) * p
}

/// tanh(x): an odd Taylor polynomial near 0, 1 − 2/(e^{2|x|}+1) elsewhere.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let a = if a > 10.0 { 10.0 } else { a }; // not `min`, which would turn NaN into 10
    let big = 1.0 - 2.0 / (exp(2.0 * a) + 1.0);
    let a2 = a * a;
    let small = a
        * (1.0
            + a2 * (-1.0 / 3.0
                + a2 * (2.0 / 15.0 + a2 * (-17.0 / 315.0 + a2 * (62.0 / 2835.0 + a2 * (-1382.0 / 155_925.0))))));
    let t = if a < 0.5 { small } else { big };
    t.copysign(x)
}

/// [`exp`] and [`tanh`] four lanes at a time. Their constants are splatted
/// once, when a loop makes its `Lanes`, and hidden from the optimizer: left as
/// `v128.const`s in the loop, each would cost the JIT several instructions per
/// use (V8 builds a non-trivial vector constant through general registers).
pub struct Lanes {
    exp: [F4; 14],
    tanh: [F4; 10],
}

impl Lanes {
    pub fn new() -> Self {
        let exp = [
            -87.0,
            88.0,
            LOG2E,
            ROUND,
            LN2_HI,
            LN2_LO,
            1.0 / 5040.0,
            1.0 / 720.0,
            1.0 / 120.0,
            1.0 / 24.0,
            1.0 / 6.0,
            0.5,
            1.0,
            // The bias of `pow2_of_rounded`: ROUND's bits less the exponent bias.
            f32::from_bits(ROUND.to_bits() - 127),
        ];
        let tanh =
            [10.0, 2.0, 1.0, -1382.0 / 155_925.0, 62.0 / 2835.0, -17.0 / 315.0, 2.0 / 15.0, -1.0 / 3.0, 0.5, -0.0];
        std::hint::black_box(Lanes { exp: exp.map(F4::splat), tanh: tanh.map(F4::splat) })
    }

    /// [`exp`] of four lanes: the same operations in the same order.
    #[inline(always)]
    pub fn exp(&self, x: F4) -> F4 {
        let c = &self.exp;
        let x = x.max_of(c[0]).min_of(c[1]);
        let shifted = x * c[2] + c[3];
        let k = shifted - c[3];
        let r = (x - k * c[4]) - k * c[5];
        let mut p = c[6];
        for &c in &c[7..13] {
            p = c + r * p;
        }
        p = c[12] + r * p;
        shifted.pow2_of_rounded(c[13]) * p
    }

    /// [`tanh`] of four lanes: the same operations in the same order.
    #[inline(always)]
    pub fn tanh(&self, x: F4) -> F4 {
        let c = &self.tanh;
        let a = x.abs().min_of(c[0]);
        let big = c[2] - c[1] / (self.exp(c[1] * a) + c[2]);
        let a2 = a * a;
        let mut p = c[3];
        for &c in &c[4..8] {
            p = c + a2 * p;
        }
        p = c[2] + a2 * p;
        a.lt_select(c[8], a * p, big).copysign(x, c[9])
    }
}

impl Default for Lanes {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn exp_and_tanh_are_accurate() {
        let mut worst = (0.0f64, 0.0f64);
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4 * 4.0; // -80 .. 80 for exp below, -80..80 for tanh
            let e = super::exp(x / 1.0) as f64;
            let want = (x as f64).exp();
            worst.0 = worst.0.max(((e - want) / want).abs());
            let t = super::tanh(x) as f64;
            let want = (x as f64).tanh();
            worst.1 = worst.1.max((t - want).abs() / want.abs().max(1e-30));
        }
        assert!(worst.0 < 5e-7, "exp rel error {}", worst.0);
        assert!(worst.1 < 2e-6, "tanh rel error {}", worst.1);
        assert_eq!(super::tanh(0.0), 0.0);
        assert_eq!(super::tanh(100.0), 1.0);
        assert_eq!(super::tanh(-100.0), -1.0);
        assert!(super::tanh(f32::NAN).is_nan() && super::exp(f32::NAN).is_nan());
    }

    /// The four-lane versions give the one-lane bits, NaN and the clamps included.
    #[test]
    fn four_lanes_match_one_lane_bit_for_bit() {
        use super::super::simd::F4;
        let mut xs: Vec<f32> = (-100_000..=100_000).map(|i| i as f32 * 1e-3).collect();
        xs.extend([f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, 0.5, -0.5, 10.0, 200.0]);
        xs.resize(xs.len().div_ceil(4) * 4, 1.0);
        for chunk in xs.chunks_exact(4) {
            let (v, lanes) = (F4::load(chunk, 0), super::Lanes::new());
            for (l, (e, t)) in lanes.exp(v).to_array().into_iter().zip(lanes.tanh(v).to_array()).enumerate() {
                assert_eq!(e.to_bits(), super::exp(chunk[l]).to_bits(), "exp({})", chunk[l]);
                assert_eq!(t.to_bits(), super::tanh(chunk[l]).to_bits(), "tanh({})", chunk[l]);
            }
        }
    }
}
