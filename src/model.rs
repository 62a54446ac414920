//! The parameters: one flat f32 buffer with named views (llm.c style).
//!
//! ```text
//! C  (V, E)    embedding table
//! W1 (T*E, H)  hidden layer      b1 (H)
//! W2 (H, V)    output layer      b2 (V)
//! W3 (T*E, V)  direct connections (optional, Bengio 2003)
//! ```

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::config::{check_range, Init, Preset, MAX_BLOCK, MAX_EMBD, MAX_HIDDEN, MAX_PARAMS, MAX_VOCAB};
use crate::rng::Rng;
use crate::{Error, Result};

/// The model's shape. `vocab_size` comes from the data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub vocab_size: usize,
    /// T: characters of context.
    pub block_size: usize,
    /// E: embedding dimensions per character.
    pub n_embd: usize,
    /// H: hidden tanh units.
    pub n_hidden: usize,
    /// Bengio 2003 direct connections W3 from the embeddings to the logits.
    pub direct: bool,
}

/// The model's parameter count, in u64 and checked: on wasm32 a tensor such as
/// W3 (T·E × V) can hold more than `usize::MAX` entries.
pub fn n_params(m: &ModelConfig) -> Option<u64> {
    Tensor::ALL.iter().filter(|&&t| t != Tensor::W3 || m.direct).try_fold(0u64, |total, t| {
        let n = t.shape(m).iter().try_fold(1u64, |p, &d| p.checked_mul(d as u64))?;
        total.checked_add(n)
    })
}

impl ModelConfig {
    pub fn validate(&self) -> Result<()> {
        check_range("block_size", self.block_size, 1, MAX_BLOCK)?;
        check_range("n_embd", self.n_embd, 1, MAX_EMBD)?;
        check_range("n_hidden", self.n_hidden, 1, MAX_HIDDEN)?;
        check_range("vocab_size", self.vocab_size, 2, MAX_VOCAB)?;
        // Counted in u64 before any usize product (see n_params).
        let n = n_params(self).unwrap_or(u64::MAX);
        if n > MAX_PARAMS as u64 {
            return Err(Error::config(
                "n_hidden",
                format!("the model would have {n} parameters, more than the {MAX_PARAMS} allowed; use fewer hidden units or a smaller embedding"),
            ));
        }
        Ok(())
    }

    /// T*E: width of the concatenated embeddings.
    pub fn n_in(&self) -> usize {
        self.block_size * self.n_embd
    }
}

impl Preset {
    /// The preset's model shape for a vocabulary of `vocab_size`.
    pub fn model(&self, vocab_size: usize) -> ModelConfig {
        ModelConfig {
            vocab_size,
            block_size: self.block_size,
            n_embd: self.n_embd,
            n_hidden: self.n_hidden,
            direct: self.direct,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tensor {
    C,
    W1,
    B1,
    W2,
    B2,
    W3,
}

impl Tensor {
    pub const ALL: [Tensor; 6] = [Tensor::C, Tensor::W1, Tensor::B1, Tensor::W2, Tensor::B2, Tensor::W3];

    pub fn name(self) -> &'static str {
        match self {
            Tensor::C => "C",
            Tensor::W1 => "W1",
            Tensor::B1 => "b1",
            Tensor::W2 => "W2",
            Tensor::B2 => "b2",
            Tensor::W3 => "W3",
        }
    }

    pub fn shape(self, cfg: &ModelConfig) -> Vec<usize> {
        let (v, h, n_in) = (cfg.vocab_size, cfg.n_hidden, cfg.n_in());
        match self {
            Tensor::C => vec![v, cfg.n_embd],
            Tensor::W1 => vec![n_in, h],
            Tensor::B1 => vec![h],
            Tensor::W2 => vec![h, v],
            Tensor::B2 => vec![v],
            Tensor::W3 => vec![n_in, v],
        }
    }
}

/// Where each tensor lives in the flat buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    ranges: [Option<Range<usize>>; 6],
    pub total: usize,
}

impl Layout {
    pub fn new(cfg: &ModelConfig) -> Self {
        let mut total = 0;
        let ranges = Tensor::ALL.map(|t| {
            if t == Tensor::W3 && !cfg.direct {
                return None;
            }
            let n: usize = t.shape(cfg).iter().product();
            total += n;
            Some(total - n..total)
        });
        Layout { ranges, total }
    }

    /// The tensor's range, or `None` for W3 without direct connections.
    pub fn get(&self, t: Tensor) -> Option<Range<usize>> {
        self.ranges[t as usize].clone()
    }

    pub fn range(&self, t: Tensor) -> Range<usize> {
        self.get(t).unwrap_or(0..0)
    }

    /// The tensors present in this model, in buffer order.
    pub fn tensors(&self) -> impl Iterator<Item = (Tensor, Range<usize>)> + '_ {
        Tensor::ALL.into_iter().filter_map(|t| self.get(t).map(|r| (t, r)))
    }
}

/// A model's configuration and its parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub cfg: ModelConfig,
    pub layout: Layout,
    pub data: Vec<f32>,
}

impl Params {
    pub fn zeros(cfg: &ModelConfig) -> Self {
        let layout = Layout::new(cfg);
        Params { cfg: cfg.clone(), data: vec![0.0; layout.total], layout }
    }

    /// Draws the parameters with `init` from a seeded stream (C, W1, b1, W2, b2, W3 in order).
    pub fn init(cfg: &ModelConfig, init: Init, seed: u64) -> Result<Self> {
        cfg.validate()?;
        let mut p = Params::zeros(cfg);
        let mut rng = Rng::new(seed);
        let fan_in = cfg.n_in() as f64;
        for (t, r) in p.layout.clone().tensors() {
            // W3 (the direct connections into the logits) follows W2's rule.
            let draw: &mut dyn FnMut(&mut Rng) -> f64 = match (init, t) {
                (Init::Naive, _) => &mut |g| g.normal(),
                (Init::Uniform, _) => &mut |g| g.uniform(),
                (Init::UniformZeroOutput | Init::UniformSmallOutput, Tensor::C | Tensor::W1 | Tensor::B1) => {
                    &mut |g| g.uniform()
                }
                (Init::UniformZeroOutput, Tensor::W2 | Tensor::W3) => &mut |_| 0.0,
                (Init::UniformSmallOutput | Init::SmallOutput, Tensor::W2 | Tensor::W3) => &mut |g| g.uniform() * 0.01,
                (Init::SmallOutput | Init::Kaiming, Tensor::C) | (Init::SmallOutput, Tensor::W1 | Tensor::B1) => {
                    &mut |g| g.normal()
                }
                (Init::Kaiming, Tensor::W1) => &mut |g| g.normal() * (5.0 / 3.0) / fan_in.sqrt(),
                (Init::Kaiming, Tensor::B1 | Tensor::W2 | Tensor::W3) => &mut |g| g.normal() * 0.01,
                (_, Tensor::B2) => &mut |_| 0.0,
            };
            p.data[r].iter_mut().for_each(|x| *x = draw(&mut rng) as f32);
        }
        Ok(p)
    }

    pub fn from_data(cfg: &ModelConfig, data: Vec<f32>) -> Result<Self> {
        let layout = Layout::new(cfg);
        if data.len() != layout.total {
            return Err(Error::Weights(format!(
                "expected {} parameters for this model, found {}",
                layout.total,
                data.len()
            )));
        }
        Ok(Params { cfg: cfg.clone(), layout, data })
    }

    pub fn get(&self, t: Tensor) -> &[f32] {
        &self.data[self.layout.range(t)]
    }

    pub fn get_mut(&mut self, t: Tensor) -> &mut [f32] {
        let r = self.layout.range(t);
        &mut self.data[r]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_validation_names_the_field() {
        let m = ModelConfig { vocab_size: 27, block_size: 0, n_embd: 10, n_hidden: 200, direct: false };
        assert!(matches!(m.validate(), Err(Error::Config { ref field, .. }) if field == "block_size"));
        let huge = ModelConfig { block_size: 64, n_embd: 1024, n_hidden: 8192, ..m };
        assert!(matches!(huge.validate(), Err(Error::Config { ref field, .. }) if field == "n_hidden"));
        for name in crate::config::PRESET_NAMES {
            Preset::get(name).unwrap().model(27).validate().unwrap();
        }
    }

    fn cfg(direct: bool) -> ModelConfig {
        ModelConfig { vocab_size: 27, block_size: 3, n_embd: 10, n_hidden: 200, direct }
    }

    #[test]
    fn layout_is_contiguous_and_sized() {
        let l = Layout::new(&cfg(false));
        assert_eq!(l.range(Tensor::C), 0..270);
        assert_eq!(l.range(Tensor::W1), 270..6270);
        assert_eq!(l.total, 270 + 6000 + 200 + 5400 + 27);
        assert_eq!(l.get(Tensor::W3), None);
        let l3 = Layout::new(&cfg(true));
        assert_eq!(l3.total, l.total + 30 * 27);
        assert_eq!(l3.tensors().count(), 6);
    }

    #[test]
    fn init_schemes_have_their_scales() {
        let std = |x: &[f32]| (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt();
        let naive = Params::init(&cfg(true), Init::Naive, 1).unwrap();
        assert!((std(naive.get(Tensor::W2)) - 1.0).abs() < 0.05);
        let small = Params::init(&cfg(true), Init::SmallOutput, 1).unwrap();
        assert!(small.get(Tensor::W2).iter().all(|&w| (0.0..0.01).contains(&w)));
        assert!(small.get(Tensor::B2).iter().all(|&w| w == 0.0));
        assert!(small.get(Tensor::W3).iter().all(|&w| (0.0..0.01).contains(&w)));
        let u = Params::init(&cfg(true), Init::Uniform, 1).unwrap();
        assert!(u.data.iter().all(|&w| (0.0..1.0).contains(&w)));
        let uz = Params::init(&cfg(true), Init::UniformZeroOutput, 1).unwrap();
        assert!(uz.get(Tensor::W1).iter().all(|&w| (0.0..1.0).contains(&w)));
        assert!([Tensor::W2, Tensor::B2, Tensor::W3].iter().all(|&t| uz.get(t).iter().all(|&w| w == 0.0)));
        let us = Params::init(&cfg(true), Init::UniformSmallOutput, 1).unwrap();
        assert_eq!(us.get(Tensor::W1), uz.get(Tensor::W1), "the same stream draws C, W1 and b1");
        assert!(us.get(Tensor::W3).iter().all(|&w| (0.0..0.01).contains(&w)) && std(us.get(Tensor::W3)) > 0.0);
        let k = Params::init(&cfg(false), Init::Kaiming, 1).unwrap();
        let want = (5.0 / 3.0) / 30f32.sqrt();
        assert!((std(k.get(Tensor::W1)) - want).abs() < 0.02 * want);
        assert_eq!(Params::init(&cfg(false), Init::Kaiming, 1).unwrap(), k);
        assert_ne!(Params::init(&cfg(false), Init::Kaiming, 2).unwrap(), k);
    }
}
