//! CPython's `random.seed(int)` and `random.shuffle`, bit for bit, so the
//! train/dev/test split matches the reference notebook.
//!
//! The generator and its `init_by_array` key seeding come from `rand_mt`; this
//! module adds only what CPython builds on top: the key made from the integer
//! seed, `getrandbits`, `_randbelow_with_getrandbits` and the Fisher–Yates loop
//! of `Random.shuffle` (CPython 3.11 `Lib/random.py`).

use rand_mt::Mt;

pub struct PyRandom {
    mt: Mt,
}

impl PyRandom {
    /// `random.seed(seed)` for a non-negative int: the key is the seed's 32-bit
    /// words, least significant first (at least one word, so 0 → `[0]`).
    pub fn new(seed: u64) -> Self {
        let lo = seed as u32;
        let hi = (seed >> 32) as u32;
        let key: &[u32] = if hi == 0 { &[lo] } else { &[lo, hi] };
        PyRandom { mt: Mt::new_with_key(key.iter().copied()) }
    }

    /// `random.getrandbits(k)` for `k <= 64`: 32-bit words filled least
    /// significant first, the last one keeping its top bits.
    pub fn getrandbits(&mut self, k: u32) -> u64 {
        assert!(k <= 64, "getrandbits supports at most 64 bits");
        if k <= 32 {
            return if k == 0 { 0 } else { u64::from(self.mt.next_u32() >> (32 - k)) };
        }
        let lo = u64::from(self.mt.next_u32());
        let hi = u64::from(self.mt.next_u32() >> (64 - k));
        lo | (hi << 32)
    }

    /// `random._randbelow(n)`: rejection sampling on `n.bit_length()` bits.
    pub fn randbelow(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let k = 64 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }

    /// `random.shuffle(x)`.
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.randbelow(i as u64 + 1) as usize;
            x.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors computed with CPython 3.11 on this machine:
    //   random.seed(s); x = list(range(n)); random.shuffle(x)
    #[test]
    fn shuffle_matches_cpython() {
        let cases: &[(u64, usize, &[usize])] = &[
            (42, 10, &[7, 3, 2, 8, 5, 6, 9, 4, 0, 1]),
            (0, 10, &[7, 8, 1, 5, 3, 4, 2, 0, 9, 6]),
            (1, 5, &[2, 3, 4, 0, 1]),
            (2026, 12, &[0, 6, 2, 3, 10, 4, 7, 11, 9, 8, 5, 1]),
            (1 << 40, 8, &[6, 7, 4, 3, 0, 5, 2, 1]),
        ];
        for &(seed, n, want) in cases {
            let mut x: Vec<usize> = (0..n).collect();
            PyRandom::new(seed).shuffle(&mut x);
            assert_eq!(x, want, "seed {seed}, n {n}");
        }
    }

    #[test]
    fn getrandbits_matches_cpython() {
        // random.seed(42); [random.getrandbits(k) for k in (1, 8, 32, 33, 64)]
        let mut r = PyRandom::new(42);
        let got: Vec<u64> = [1, 8, 32, 33, 64].iter().map(|&k| r.getrandbits(k)).collect();
        assert_eq!(got, [1, 28, 107420369, 3184935163, 4117511471858006928]);
    }
}
