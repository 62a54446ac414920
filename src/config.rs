//! How a run trains (TrainConfig, Schedule, the init schemes), the presets and every
//! limit, validated with messages that name the field. The model's shape,
//! [`crate::model::ModelConfig`], sits one layer up and reads its limits from here.
//! Field names are the same in the CLI (`--n_hidden`), in JS config objects, in the
//! page's URL and in weights-file metadata.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Upper bounds that keep a single model within a browser tab's memory.
pub const MAX_BLOCK: usize = 64;
pub const MAX_EMBD: usize = 1024;
pub const MAX_HIDDEN: usize = 8192;
pub const MAX_VOCAB: usize = 65_536;
pub const MAX_PARAMS: usize = 64 << 20;

/// How the parameters start: the notebook's E02 tries, in the order it tried them,
/// and makemore part 3's scaled init. W3 (direct connections) follows W2's rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Init {
    /// randn everywhere, as the notebook starts (initial loss far above uniform).
    Naive,
    /// Try 1: U[0,1) everywhere (all-positive weights: every tanh saturates at +1).
    Uniform,
    /// Try 2: U[0,1) C, W1, b1; W2 = W3 = b2 = 0 (loss exactly ln V, then stalls: tanh saturated).
    UniformZeroOutput,
    /// Try 3: U[0,1) C, W1, b1; W2, W3 = U(0,1)·0.01; b2 = 0 (starts near ln V, stalls the same way).
    UniformSmallOutput,
    /// Try 4, the fix: randn C, W1, b1; W2, W3 = U(0,1)·0.01; b2 = 0 (loss ≈ ln V, and it trains).
    #[default]
    SmallOutput,
    /// makemore part 3: W1·(5/3)/sqrt(T·E), b1, W2, W3 = randn·0.01, b2 = 0.
    Kaiming,
}

impl Init {
    /// Every scheme, in the notebook's order (naive, its three tries, the fix), then Kaiming.
    pub const ALL: [Init; 6] = [
        Init::Naive,
        Init::Uniform,
        Init::UniformZeroOutput,
        Init::UniformSmallOutput,
        Init::SmallOutput,
        Init::Kaiming,
    ];

    /// The kebab-case name used by the CLI, JS and weights files.
    pub fn name(self) -> &'static str {
        match self {
            Init::Naive => "naive",
            Init::Uniform => "uniform",
            Init::UniformZeroOutput => "uniform-zero-output",
            Init::UniformSmallOutput => "uniform-small-output",
            Init::SmallOutput => "small-output",
            Init::Kaiming => "kaiming",
        }
    }

    /// What the scheme draws, in plain words.
    pub fn about(self) -> &'static str {
        match self {
            Init::Naive => "random normal numbers everywhere (the notebook's start)",
            Init::Uniform => "random numbers between 0 and 1 everywhere (try 1)",
            Init::UniformZeroOutput => "0-to-1 numbers for the embeddings and hidden layer, output layer zero (try 2)",
            Init::UniformSmallOutput => "0-to-1 numbers for the embeddings and hidden layer, tiny output layer (try 3)",
            Init::SmallOutput => "random normal embeddings and hidden layer, tiny output layer (try 4, the fix)",
            Init::Kaiming => "hidden layer scaled by 5/3 over the square root of its inputs (makemore part 3)",
        }
    }
}

impl std::str::FromStr for Init {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        parse_enum("init", s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    #[default]
    Sgd,
    Adam,
    /// Adam with decoupled weight decay.
    Adamw,
}

impl Optimizer {
    /// Every optimizer, for the page's choices (`constants().settings`).
    pub const ALL: [Optimizer; 3] = [Optimizer::Sgd, Optimizer::Adam, Optimizer::Adamw];
}

impl std::str::FromStr for Optimizer {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        parse_enum("optimizer", s)
    }
}

pub(crate) fn parse_enum<T: for<'de> Deserialize<'de>>(field: &str, s: &str) -> Result<T> {
    use serde::de::IntoDeserializer;
    T::deserialize(s.into_deserializer())
        .map_err(|e: serde::de::value::Error| Error::config(field, format!("{s:?} is not allowed ({e})")))
}

/// Learning-rate schedule, written as in the CLI's `--lr-decay`:
/// `none`; `STEP:FACTOR[,STEP:FACTOR...]` (multiply by FACTOR from STEP on, e.g. the
/// notebook's `100000:0.1`); `cosine[:FLOOR]` (cosine from lr down to FLOOR·lr at the last step).
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Schedule {
    #[default]
    Constant,
    Steps(Vec<(u64, f32)>),
    Cosine {
        floor: f32,
    },
}

impl Schedule {
    /// The rate for step `step` (0-based) of a run of `total` steps.
    pub fn lr(&self, base: f32, step: u64, total: u64) -> f32 {
        match self {
            Schedule::Constant => base,
            Schedule::Steps(points) => points.iter().filter(|(at, _)| step >= *at).fold(base, |lr, (_, f)| lr * f),
            Schedule::Cosine { floor } => {
                let t = if total > 1 { step.min(total - 1) as f64 / (total - 1) as f64 } else { 1.0 };
                let c = 0.5 * (1.0 + (std::f64::consts::PI * t).cos());
                (base as f64 * (*floor as f64 + (1.0 - *floor as f64) * c)) as f32
            }
        }
    }
}

impl std::str::FromStr for Schedule {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::config(
                "lr_decay",
                format!("{s:?}: {why}; write `none`, `100000:0.1` (step:factor, comma-separated) or `cosine:0.01`"),
            )
        };
        let s = s.trim();
        if s.is_empty() || s == "none" || s == "constant" {
            return Ok(Schedule::Constant);
        }
        if let Some(rest) = s.strip_prefix("cosine") {
            let floor = match rest.strip_prefix(':') {
                Some(f) => f.parse::<f32>().map_err(|_| bad("the floor is not a number"))?,
                None if rest.is_empty() => 0.0,
                None => return Err(bad("unknown schedule")),
            };
            if !(0.0..=1.0).contains(&floor) {
                return Err(bad("the cosine floor is a fraction of lr between 0 and 1"));
            }
            return Ok(Schedule::Cosine { floor });
        }
        let mut points = Vec::new();
        for part in s.split(',') {
            let (at, f) = part.split_once(':').ok_or_else(|| bad("expected step:factor"))?;
            let at: u64 = at.trim().parse().map_err(|_| bad("the step is not a whole number"))?;
            let f: f32 = f.trim().parse().map_err(|_| bad("the factor is not a number"))?;
            if !(f.is_finite() && f > 0.0) {
                return Err(bad("the factor must be a positive number"));
            }
            // In step order, equal steps as written: a stable sort without a sort's code in the wasm.
            let i = points.partition_point(|p: &(u64, f32)| p.0 <= at);
            points.insert(i, (at, f));
        }
        Ok(Schedule::Steps(points))
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Schedule::Constant => write!(f, "none"),
            Schedule::Cosine { floor } => write!(f, "cosine:{floor}"),
            Schedule::Steps(p) => {
                let parts: Vec<String> = p.iter().map(|(a, x)| format!("{a}:{x}")).collect();
                write!(f, "{}", parts.join(","))
            }
        }
    }
}

impl Serialize for Schedule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// L2 penalties as in the notebook: λC·mean(C²) + λW1·mean(W1²) + λW2·mean(W2²).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct L2 {
    pub c: f32,
    pub w1: f32,
    pub w2: f32,
}

/// Everything about how a run trains.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    pub steps: u64,
    pub batch_size: usize,
    pub lr: f32,
    pub lr_decay: Schedule,
    pub optimizer: Optimizer,
    /// SGD: coupled decay added to the gradient; AdamW: decoupled decay. Ignored by Adam.
    pub weight_decay: f32,
    pub l2: L2,
    pub init: Init,
    /// Seeds the init, the minibatches and the samples.
    pub seed: u64,
    /// Seeds `random.shuffle` of the words (the notebook uses 42).
    pub split_seed: u64,
    /// Evaluate the dev loss every this many steps (0: only at the end).
    pub eval_every: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            steps: 200_000,
            batch_size: 32,
            lr: 0.1,
            lr_decay: Schedule::Steps(vec![(100_000, 0.1)]),
            optimizer: Optimizer::Sgd,
            weight_decay: 0.0,
            l2: L2::default(),
            init: Init::SmallOutput,
            seed: 42,
            split_seed: 42,
            eval_every: 10_000,
        }
    }
}

pub const MAX_BATCH: usize = 1 << 20;
pub const MAX_STEPS: u64 = 1 << 40;

impl TrainConfig {
    pub fn validate(&self) -> Result<()> {
        check_range("batch_size", self.batch_size, 1, MAX_BATCH)?;
        if self.steps > MAX_STEPS {
            return Err(Error::config("steps", format!("must be at most {MAX_STEPS}")));
        }
        check_positive("lr", self.lr)?;
        check_nonnegative("weight_decay", self.weight_decay)?;
        check_nonnegative("l2.c", self.l2.c)?;
        check_nonnegative("l2.w1", self.l2.w1)?;
        check_nonnegative("l2.w2", self.l2.w2)?;
        Ok(())
    }

    pub fn lr_at(&self, step: u64) -> f32 {
        self.lr_decay.lr(self.lr, step, self.steps)
    }
}

pub(crate) fn check_range(field: &str, v: usize, lo: usize, hi: usize) -> Result<()> {
    if v < lo || v > hi {
        return Err(Error::config(field, format!("{v} is out of range; use {lo}..={hi}")));
    }
    Ok(())
}

fn check_positive(field: &str, v: f32) -> Result<()> {
    if !(v.is_finite() && v > 0.0) {
        return Err(Error::config(field, format!("{v} is not a positive, finite number")));
    }
    Ok(())
}

fn check_nonnegative(field: &str, v: f32) -> Result<()> {
    if !(v.is_finite() && v >= 0.0) {
        return Err(Error::config(field, format!("{v} must be a finite number ≥ 0")));
    }
    Ok(())
}

/// A named starting point: the model shape (less the vocabulary) and the training recipe.
#[derive(Clone, Debug, PartialEq)]
pub struct Preset {
    pub name: &'static str,
    pub about: &'static str,
    pub block_size: usize,
    pub n_embd: usize,
    pub n_hidden: usize,
    pub direct: bool,
    pub train: TrainConfig,
}

pub const PRESET_NAMES: [&str; 4] = ["lecture", "e01", "e02", "e03"];

impl Preset {
    pub fn get(name: &str) -> Result<Preset> {
        let base = TrainConfig::default();
        let p = match name {
            "lecture" => Preset {
                name: "lecture",
                about: "the lecture's run: T=3, E=10, H=200, batch 32, lr 0.1 → 0.01 at 100k, naive init",
                block_size: 3,
                n_embd: 10,
                n_hidden: 200,
                direct: false,
                train: TrainConfig { init: Init::Naive, ..base },
            },
            "e01" => Preset {
                name: "e01",
                about: "E01 tuned: T=3, E=16, H=256, Adam, batch 256, cosine decay; beats dev 2.2 in seconds",
                block_size: 3,
                n_embd: 16,
                n_hidden: 256,
                direct: false,
                train: TrainConfig {
                    steps: 20_000,
                    batch_size: 256,
                    lr: 0.003,
                    lr_decay: Schedule::Cosine { floor: 0.05 },
                    optimizer: Optimizer::Adam,
                    init: Init::Kaiming,
                    eval_every: 5_000,
                    ..base
                },
            },
            "e02" => Preset {
                name: "e02",
                about:
                    "E02 initialisation: the seed config (T=3, E=50, H=100) with small output weights, starting at ln V",
                block_size: 3,
                n_embd: 50,
                n_hidden: 100,
                direct: false,
                train: TrainConfig {
                    steps: 20_000,
                    batch_size: 256,
                    lr: 0.1,
                    lr_decay: Schedule::Steps(vec![(10_000, 0.1)]),
                    init: Init::SmallOutput,
                    eval_every: 5_000,
                    ..base
                },
            },
            "e03" => Preset {
                name: "e03",
                about: "E03 direct connections W3 (Bengio 2003): T=4, E=16, H=300, Adam, cosine decay",
                block_size: 4,
                n_embd: 16,
                n_hidden: 300,
                direct: true,
                train: TrainConfig {
                    steps: 15_000,
                    batch_size: 512,
                    lr: 0.003,
                    lr_decay: Schedule::Cosine { floor: 0.02 },
                    optimizer: Optimizer::Adam,
                    init: Init::Kaiming,
                    eval_every: 5_000,
                    ..base
                },
            },
            other => {
                return Err(Error::config(
                    "preset",
                    format!("{other:?} is not a preset; choose one of {}", PRESET_NAMES.join(", ")),
                ))
            }
        };
        Ok(p)
    }
}

/// A model shape and batch that `makemore bench`, bench/torch_bench.py and the
/// bench page (www/bench.js) all time; named as the settings name them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BenchConfig {
    pub name: &'static str,
    pub block_size: usize,
    pub n_embd: usize,
    pub n_hidden: usize,
    pub batch_size: usize,
}

/// The speed configs: the seed notebook's shape at a large batch, the lecture's
/// run, and a bigger model.
pub const BENCH_CONFIGS: [BenchConfig; 3] = [
    BenchConfig { name: "seed", block_size: 3, n_embd: 50, n_hidden: 100, batch_size: 16384 },
    BenchConfig { name: "lecture", block_size: 3, n_embd: 10, n_hidden: 200, batch_size: 32 },
    BenchConfig { name: "big", block_size: 8, n_embd: 24, n_hidden: 512, batch_size: 4096 },
];

/// Time to target: the preset every path trains, the dev losses it times, and
/// the steps between its dev evaluations (whose time counts).
pub const BENCH_TTT_PRESET: &str = "e01";
pub const BENCH_TARGETS: [f64; 2] = [2.20, 2.13];
pub const BENCH_EVAL_EVERY: u64 = 500;

/// One dev evaluation of a time-to-target run: after `step` steps and `seconds`
/// of wall time (training and evaluations), the dev loss was `dev`. Every path
/// (native, PyTorch, the browser) reports these, and [`targets_reached`] judges them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DevPoint {
    pub step: u64,
    pub seconds: f64,
    pub dev: f64,
}

/// A target of [`BENCH_TARGETS`] and the first evaluation under it, if any.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetHit {
    pub target: f64,
    pub at: Option<DevPoint>,
}

/// A time-to-target trace judged: each target with the first evaluation under
/// it, and whether every target has fallen (the run may stop).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetsReached {
    pub targets: Vec<TargetHit>,
    pub done: bool,
}

/// The one rule for time to target, for every path: each of [`BENCH_TARGETS`],
/// in order, falls at the first evaluation whose dev loss is strictly under it
/// (and not before the one before it fell).
pub fn targets_reached(trace: &[DevPoint]) -> TargetsReached {
    let mut targets: Vec<TargetHit> = BENCH_TARGETS.iter().map(|&target| TargetHit { target, at: None }).collect();
    let mut next = 0;
    for p in trace {
        while next < targets.len() && p.dev < targets[next].target {
            targets[next].at = Some(*p);
            next += 1;
        }
    }
    TargetsReached { done: next == targets.len(), targets }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse_and_apply() {
        let s: Schedule = "100000:0.1".parse().unwrap();
        assert_eq!(s.lr(0.1, 99_999, 200_000), 0.1);
        assert!((s.lr(0.1, 100_000, 200_000) - 0.01).abs() < 1e-9);
        let c: Schedule = "cosine:0.1".parse().unwrap();
        assert_eq!(c.lr(1.0, 0, 101), 1.0);
        assert!((c.lr(1.0, 50, 101) - 0.55).abs() < 1e-6);
        assert!((c.lr(1.0, 100, 101) - 0.1).abs() < 1e-6);
        assert_eq!("none".parse::<Schedule>().unwrap(), Schedule::Constant);
        for bad in ["100000", "x:0.1", "10:-1", "cosine:2", "linear"] {
            let e = bad.parse::<Schedule>().unwrap_err().to_string();
            assert!(e.contains("lr_decay"), "{bad}: {e}");
        }
        assert_eq!("10:0.5,5:0.1".parse::<Schedule>().unwrap().to_string(), "5:0.1,10:0.5");
        let s = "10:0.5, 5:0.1,10:0.25,0:0.9,5:0.2".parse::<Schedule>().unwrap();
        assert_eq!(s.to_string(), "0:0.9,5:0.1,5:0.2,10:0.5,10:0.25");
    }

    #[test]
    fn validation_names_the_field() {
        let field = |c: TrainConfig| match c.validate() {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        };
        let ok = TrainConfig::default();
        assert!(ok.validate().is_ok());
        assert_eq!(field(TrainConfig { lr: f32::NAN, ..ok.clone() }), "lr");
        assert_eq!(field(TrainConfig { lr: -1.0, ..ok.clone() }), "lr");
        assert_eq!(field(TrainConfig { batch_size: 0, ..ok.clone() }), "batch_size");
    }

    #[test]
    fn train_config_json_rejects_unknown_keys() {
        let c: TrainConfig = serde_json::from_str(r#"{"lr": 0.05, "lr_decay": "cosine:0.1"}"#).unwrap();
        assert_eq!(c.lr, 0.05);
        assert_eq!(c.lr_decay, Schedule::Cosine { floor: 0.1 });
        let e = serde_json::from_str::<TrainConfig>(r#"{"learning_rate": 0.05}"#).unwrap_err();
        assert!(e.to_string().contains("learning_rate"));
    }

    #[test]
    fn a_target_falls_at_the_first_evaluation_strictly_under_it() {
        let p = |step, dev| DevPoint { step, seconds: step as f64 / 100.0, dev };
        let at = |trace: &[DevPoint]| {
            targets_reached(trace).targets.iter().map(|h| h.at.map(|p| p.step)).collect::<Vec<_>>()
        };
        assert_eq!(BENCH_TARGETS, [2.20, 2.13]);
        assert_eq!(at(&[]), [None, None]);
        assert_eq!(at(&[p(500, 2.3), p(1000, 2.2), p(1500, 2.15), p(2000, 2.19)]), [Some(1500), None]);
        // One evaluation under both targets reaches both.
        assert_eq!(at(&[p(500, 2.3), p(1000, 2.1), p(1500, 2.0)]), [Some(1000), Some(1000)]);
        assert_eq!(at(&[p(500, f64::NAN), p(1000, 2.12)]), [Some(1000), Some(1000)]);
        assert!(!targets_reached(&[p(500, 2.15)]).done);
        assert!(targets_reached(&[p(500, 2.15), p(1000, 2.1)]).done);
    }

    #[test]
    fn presets_are_valid() {
        for name in PRESET_NAMES {
            let p = Preset::get(name).unwrap();
            p.train.validate().unwrap();
        }
        assert!(Preset::get("e04").is_err());
    }
}
