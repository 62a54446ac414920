//! The flags that train, diagnose, lr-find and gpu-plan share, and the files they
//! read. A setting's flag is its config key, as the page, its URL and weights
//! files name it (`--n_embd 16`, `--direct=false`); the older short forms
//! (`--emb`, `--hidden`, `--block`, `--batch`) and kebab-case spellings stay as
//! aliases. The flags become a [`WebConfig`], so the CLI lays them over a preset
//! by the same rule as the page.

use std::path::{Path, PathBuf};

use clap::{ArgAction, Args};

use makemore::backend::KernelSet;
use makemore::config::{Init, Optimizer, Preset, Schedule, TrainConfig, L2};
use makemore::data::{Dataset, BUNDLED_NAMES};
use makemore::model::ModelConfig;
use makemore::web::config::{Resolved, WebConfig};
use makemore::weights::{self, Checkpoint};
use makemore::{Error, Result};

/// The preset the CLI starts from when none is named: the lecture's run.
const CLI_PRESET: &str = "lecture";

/// The context length's flag, for every command that takes one (`split` too).
#[derive(Args, Clone, Default)]
pub(crate) struct BlockFlag {
    /// Context length T.
    #[arg(
        long = "block_size",
        visible_alias = "block",
        alias = "block-size",
        value_name = "block_size",
        allow_negative_numbers = true
    )]
    pub(crate) block_size: Option<usize>,
}

/// The preset the CLI starts from, for a command that reads a default from it.
pub(crate) fn cli_preset() -> Result<Preset> {
    Preset::get(CLI_PRESET)
}

/// The model's shape and the batch: what gpu-plan needs, and part of every run.
#[derive(Args, Clone, Default)]
pub(crate) struct ModelFlags {
    /// Start from a preset (lecture, e01, e02, e03; default lecture); other flags override it.
    #[arg(long)]
    pub(crate) preset: Option<String>,
    #[command(flatten)]
    block: BlockFlag,
    /// Embedding size E.
    #[arg(
        long = "n_embd",
        visible_alias = "emb",
        alias = "n-embd",
        value_name = "n_embd",
        allow_negative_numbers = true
    )]
    n_embd: Option<usize>,
    /// Hidden units H.
    #[arg(
        long = "n_hidden",
        visible_alias = "hidden",
        alias = "n-hidden",
        value_name = "n_hidden",
        allow_negative_numbers = true
    )]
    n_hidden: Option<usize>,
    /// Direct connections W3 from the embeddings to the logits: `--direct`, or
    /// `--direct=false` to turn off a preset's.
    #[arg(long, value_name = "true|false", num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    direct: Option<bool>,
    #[arg(
        long = "batch_size",
        visible_alias = "batch",
        alias = "batch-size",
        value_name = "batch_size",
        allow_negative_numbers = true
    )]
    batch_size: Option<usize>,
}

impl ModelFlags {
    /// The settings these flags give, over the CLI's default preset.
    fn settings(&self) -> WebConfig {
        WebConfig {
            preset: Some(self.preset.clone().unwrap_or_else(|| CLI_PRESET.into())),
            block_size: self.block.block_size,
            n_embd: self.n_embd,
            n_hidden: self.n_hidden,
            direct: self.direct,
            batch_size: self.batch_size,
            ..WebConfig::default()
        }
    }

    /// Every setting decided and checked; the vocabulary comes later ([`Resolved::with_vocab`]).
    pub(crate) fn resolved(&self) -> Result<Resolved> {
        self.settings().resolve()
    }
}

#[derive(Args, Clone, Default)]
pub(crate) struct TrainArgs {
    /// Word list, one word per line (default: the bundled names).
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) model: ModelFlags,
    /// naive | uniform | uniform-zero-output | uniform-small-output | small-output | kaiming
    /// (the notebook's E02 tries, then makemore part 3's scaled init)
    #[arg(long)]
    init: Option<Init>,
    #[arg(long, value_name = "steps", allow_negative_numbers = true)]
    pub(crate) steps: Option<u64>,
    #[arg(long, value_name = "lr", allow_negative_numbers = true)]
    lr: Option<f32>,
    /// none | STEP:FACTOR[,STEP:FACTOR...] | cosine[:FLOOR]
    #[arg(long = "lr_decay", alias = "lr-decay")]
    lr_decay: Option<Schedule>,
    /// sgd | adam | adamw
    #[arg(long)]
    optimizer: Option<Optimizer>,
    #[arg(long = "weight_decay", alias = "weight-decay", value_name = "weight_decay", allow_negative_numbers = true)]
    weight_decay: Option<f32>,
    /// L2 penalty λ for C, W1 and W2, or three comma-separated values (or --l2_c, --l2_w1, --l2_w2).
    #[arg(long)]
    l2: Option<String>,
    #[arg(long = "l2_c", alias = "l2-c", value_name = "l2_c", allow_negative_numbers = true)]
    l2_c: Option<f32>,
    #[arg(long = "l2_w1", alias = "l2-w1", value_name = "l2_w1", allow_negative_numbers = true)]
    l2_w1: Option<f32>,
    #[arg(long = "l2_w2", alias = "l2-w2", value_name = "l2_w2", allow_negative_numbers = true)]
    l2_w2: Option<f32>,
    /// Seed of the init, batches and samples.
    #[arg(long)]
    seed: Option<u64>,
    /// Seed of the word shuffle before the split (the notebook's 42).
    #[arg(long = "split_seed", alias = "split-seed")]
    split_seed: Option<u64>,
    #[arg(long = "eval_every", alias = "eval-every", value_name = "eval_every", allow_negative_numbers = true)]
    eval_every: Option<u64>,
    /// cpu | gpu | auto (auto: the CPU on a software adapter or none, else the faster of the two, measured)
    #[arg(long, default_value = "cpu")]
    pub(crate) backend: String,
    /// The GPU's WGSL kernel set: software | hardware (default: the adapter's)
    #[arg(long, visible_alias = "gpu_kernels", alias = "gpu-kernels")]
    pub(crate) kernels: Option<KernelSet>,
    /// With --backend auto, time both backends even on a software adapter.
    #[arg(long)]
    pub(crate) race: bool,
    /// Write the trained model (safetensors) here, with all a --resume needs.
    #[arg(long)]
    pub(crate) save: Option<PathBuf>,
    /// Continue the run saved in FILE (by --save) to its configured steps (or
    /// to --steps), on the word list it was trained on; the other settings come
    /// from the file. Its steps match an uninterrupted run's bit for bit (a
    /// cosine schedule stretches to a new --steps).
    #[arg(long, value_name = "FILE")]
    pub(crate) resume: Option<PathBuf>,
    /// One JSON object per eval and a final summary on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Samples to print at each eval.
    #[arg(long, default_value_t = 5)]
    pub(crate) samples: usize,
}

fn parse_l2(s: &str) -> Result<L2> {
    let v: Vec<f32> = s
        .split(',')
        .map(|x| x.trim().parse::<f32>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::config("l2", format!("{s:?}: write one number or three (C,W1,W2)")))?;
    match v[..] {
        [x] => Ok(L2 { c: x, w1: x, w2: x }),
        [c, w1, w2] => Ok(L2 { c, w1, w2 }),
        _ => Err(Error::config("l2", format!("{s:?}: write one number or three (C,W1,W2)"))),
    }
}

impl TrainArgs {
    /// The flags as the page's settings object.
    fn settings(&self) -> Result<WebConfig> {
        let l2 = self.l2.as_deref().map(parse_l2).transpose()?;
        Ok(WebConfig {
            init: self.init,
            optimizer: self.optimizer,
            steps: self.steps,
            lr: self.lr,
            lr_decay: self.lr_decay.clone(),
            weight_decay: self.weight_decay,
            l2_c: self.l2_c.or(l2.map(|l| l.c)),
            l2_w1: self.l2_w1.or(l2.map(|l| l.w1)),
            l2_w2: self.l2_w2.or(l2.map(|l| l.w2)),
            seed: self.seed,
            split_seed: self.split_seed,
            eval_every: self.eval_every,
            ..self.model.settings()
        })
    }

    /// Every setting decided and checked, before any data is read.
    fn resolved(&self) -> Result<Resolved> {
        self.settings()?.resolve()
    }

    /// The preset (or the lecture's defaults) overridden by the flags given.
    pub(crate) fn resolve(&self, vocab_size: usize) -> Result<(ModelConfig, TrainConfig)> {
        let r = self.resolved()?.with_vocab(vocab_size)?;
        Ok((r.model, r.train))
    }

    /// The first setting flag given other than --steps and --data: a resumed
    /// run refuses them, since its settings come from its file.
    pub(crate) fn first_setting_given(&self) -> Option<&'static str> {
        let m = &self.model;
        [
            ("--preset", m.preset.is_some()),
            ("--block_size", m.block.block_size.is_some()),
            ("--n_embd", m.n_embd.is_some()),
            ("--n_hidden", m.n_hidden.is_some()),
            ("--direct", m.direct.is_some()),
            ("--batch_size", m.batch_size.is_some()),
            ("--init", self.init.is_some()),
            ("--lr", self.lr.is_some()),
            ("--lr_decay", self.lr_decay.is_some()),
            ("--optimizer", self.optimizer.is_some()),
            ("--weight_decay", self.weight_decay.is_some()),
            ("--l2", self.l2.is_some()),
            ("--l2_c", self.l2_c.is_some()),
            ("--l2_w1", self.l2_w1.is_some()),
            ("--l2_w2", self.l2_w2.is_some()),
            ("--seed", self.seed.is_some()),
            ("--split_seed", self.split_seed.is_some()),
            ("--eval_every", self.eval_every.is_some()),
        ]
        .into_iter()
        .find_map(|(flag, given)| given.then_some(flag))
    }

    /// The word list of --data (or the bundled names), split with --split_seed.
    pub(crate) fn dataset(&self) -> Result<Dataset> {
        let r = self.resolved()?;
        Dataset::new(&read_data(self.data.as_deref())?, r.model.block_size, r.train.split_seed)
    }
}

/// The bytes of a word list, or of the bundled names when no path is given.
pub(crate) fn read_data(path: Option<&Path>) -> Result<Vec<u8>> {
    match path {
        None => Ok(BUNDLED_NAMES.to_vec()),
        Some(p) => std::fs::read(p).map_err(|e| Error::Data(format!("cannot read {}: {e}", p.display()))),
    }
}

pub(crate) fn load_model(path: &Path) -> Result<Checkpoint> {
    let bytes = std::fs::read(path).map_err(|e| Error::Weights(format!("cannot read {}: {e}", path.display())))?;
    weights::load(&bytes)
}

/// The word list a model was trained on, split as it was, checked against its vocabulary.
pub(crate) fn model_data(ck: &Checkpoint, path: Option<&Path>) -> Result<Dataset> {
    let split_seed = ck.train.clone().unwrap_or_default().split_seed;
    let data = Dataset::new(&read_data(path)?, ck.params.cfg.block_size, split_seed)?;
    if data.vocab != ck.vocab {
        return Err(Error::Data(format!(
            "its characters {:?} are not the model's {:?}; pass the word list the model was trained on with --data",
            data.vocab.as_string(),
            ck.vocab.as_string()
        )));
    }
    Ok(data)
}
