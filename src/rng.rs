//! Random numbers that are the same on every platform and backend.
//!
//! * [`Rng`]: SplitMix64 for the init and for sampling; normals by Box–Muller
//!   with `libm`, so native and wasm draw identical parameters.
//! * [`batch_index`]: a counter-based stream for minibatch indices, keyed by
//!   (seed, step, position). `shaders/` computes the same function, so the CPU and
//!   GPU backends train on identical batches without any upload.

pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box–Muller, one value per call).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(std::f64::consts::TAU * u2)
    }
}

/// PCG-style 32-bit hash (the "pcg_hash" of Jarzynski & Olano, JCGT 2020).
#[inline]
pub fn pcg_hash(v: u32) -> u32 {
    let state = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// The 32-bit key of a run's batch stream.
pub fn batch_key(seed: u64) -> u32 {
    pcg_hash((seed as u32) ^ pcg_hash((seed >> 32) as u32))
}

/// Index of the `i`-th example of step `step`'s minibatch, uniform over `0..n`.
/// Mirrors `batch_index` in `shaders/common.wgsl`.
#[inline]
pub fn batch_index(key: u32, step: u32, i: u32, n: u32) -> u32 {
    pcg_hash(pcg_hash(key ^ step.wrapping_mul(0x9E37_79B9)) ^ i) % n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_has_unit_moments() {
        let mut r = Rng::new(7);
        let xs: Vec<f64> = (0..100_000).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.02, "{var}");
    }

    #[test]
    fn batch_indices_are_uniform_and_vary_by_step() {
        let key = batch_key(42);
        let n = 10u32;
        let mut counts = [0u32; 10];
        for step in 0..1000 {
            for i in 0..100 {
                counts[batch_index(key, step, i, n) as usize] += 1;
            }
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
        let a: Vec<u32> = (0..32).map(|i| batch_index(key, 0, i, 1000)).collect();
        let b: Vec<u32> = (0..32).map(|i| batch_index(key, 1, i, 1000)).collect();
        assert_ne!(a, b);
        assert_ne!(batch_key(1), batch_key(2));
    }
}
