//! The reference backend: cache-blocked SIMD matmuls (`gemm`) and vectorized fused kernels on the
//! CPU. A minibatch is cut into shards, one per thread; each shard runs the
//! whole forward and backward pass on its rows into its own gradient buffer,
//! and the buffers are summed before the optimizer step. Workspaces, the
//! matmul's packing buffers included, belong to the shards and the tables and
//! only grow, so after the first step of a run no step allocates, whichever
//! thread picks up which shard.

use crate::backend::{Backend, BackendKind};
use crate::config::{Optimizer, TrainConfig};
use crate::data::{Dataset, Split, SplitName};
use crate::model::ModelConfig;
use crate::model::{Params, Tensor};
use crate::optim::{adam_bias_corrections, OptState, ADAM_BETA1, ADAM_BETA2, ADAM_EPS};
use crate::rng::{batch_index, batch_key};
use crate::{Error, Result};

pub mod gemm;
pub mod layers;
pub mod math;
pub mod simd;

use layers::*;

/// Rows a shard evaluates at a time.
const EVAL_ROWS: usize = 4096;
/// Below this many multiply-adds per step a single thread is faster.
const PARALLEL_MIN_FLOPS: usize = 4 << 20;

/// The per-position products C @ W1_t (T, V, H) and C @ W3_t (T, V, V), shared
/// by the shards of a step; see `layers::embed_table`.
#[derive(Default)]
struct Tables {
    hidden: Vec<f32>,
    direct: Vec<f32>,
    packs: gemm::Packs,
}

impl Tables {
    fn compute(&mut self, p: &Params) {
        let c = &p.cfg;
        let (t, v, e, h) = (c.block_size, c.vocab_size, c.n_embd, c.n_hidden);
        self.hidden.resize(t * v * h, 0.0);
        embed_table(&mut self.packs, &mut self.hidden, p.get(Tensor::C), p.get(Tensor::W1), (t, v, e, h));
        if c.direct {
            self.direct.resize(t * v * v, 0.0);
            embed_table(&mut self.packs, &mut self.direct, p.get(Tensor::C), p.get(Tensor::W3), (t, v, e, v));
        }
    }
}

/// The most memory a step's workspaces may take: a wasm instance has 4 GiB in all,
/// and a failed allocation aborts instead of returning an error.
pub const MAX_WORKSPACE_BYTES: usize = 1 << 30;

/// Refuses a batch or vocabulary whose workspaces (see [`Shard::reserve`] and
/// [`Tables`]) would not fit in [`MAX_WORKSPACE_BYTES`]. Sizes are u64: on
/// wasm32 a usize product such as T·V·V overflows long before the limit.
/// The floats of a CPU backend's workspaces that grow with the model: a batch
/// row's activations and one thread's embedding tables (T·V·(H (+V))), in u64
/// so that no product wraps on wasm32 (saturating past 2^64).
pub struct WorkspaceFloats {
    pub per_row: u64,
    pub table: u64,
}

impl WorkspaceFloats {
    pub fn of(m: &ModelConfig) -> Self {
        let (t, v, h, n_in) = (m.block_size as u64, m.vocab_size as u64, m.n_hidden as u64, m.n_in() as u64);
        let per_row = 2 * h + v + 2 * n_in + t + 1;
        let table = t.saturating_mul(v).saturating_mul(h + if m.direct { v } else { 0 });
        WorkspaceFloats { per_row, table }
    }
}

fn check_workspace(m: &ModelConfig, batch: usize, threads: usize) -> Result<()> {
    let mib = |floats: u64| floats.saturating_mul(4) >> 20;
    let limit = MAX_WORKSPACE_BYTES as u64 / 4;
    let WorkspaceFloats { per_row, table } = WorkspaceFloats::of(m);
    let tables = (threads as u64 + 1).saturating_mul(table);
    if tables > limit / 2 {
        return Err(Error::config(
            "vocab_size",
            format!(
                "{} characters need {} MiB of embedding tables on the CPU, more than the {} MiB allowed; use a word \
                 list with fewer distinct characters{}",
                m.vocab_size - 1,
                mib(tables),
                MAX_WORKSPACE_BYTES >> 20,
                if m.direct { " or no direct connections" } else { " or fewer hidden units" }
            ),
        ));
    }
    let activations = (batch as u64).saturating_mul(per_row);
    if activations > limit - tables {
        return Err(Error::config(
            "batch_size",
            format!(
                "a batch of {batch} needs {} MiB of activations on the CPU, more than the {} MiB allowed; use a \
                 batch_size of at most {}",
                mib(activations),
                MAX_WORKSPACE_BYTES >> 20,
                (limit - tables) / per_row
            ),
        ));
    }
    Ok(())
}

/// Whether `rows` examples at a time are cheaper through the embedding tables
/// (they cost about as much as V examples) than through the embeddings.
pub fn use_tables(cfg: &ModelConfig, rows: usize) -> bool {
    2 * cfg.vocab_size <= rows
}

/// Per-thread activations and gradients for up to `rows` examples.
#[derive(Default)]
struct Shard {
    rows: usize,
    xb: Vec<u32>,     // (b, T)
    yb: Vec<u32>,     // (b)
    emb: Vec<f32>,    // (b, T*E), without tables
    h: Vec<f32>,      // (b, H)
    logits: Vec<f32>, // (b, V), then dlogits
    dh: Vec<f32>,     // (b, H)
    demb: Vec<f32>,   // (b, T*E), without tables
    ds_h: Vec<f32>,   // (T, V, H) gradient of the hidden table
    ds_v: Vec<f32>,   // (T, V, V) gradient of the direct table
    grads: Vec<f32>,  // like the parameters
    packs: gemm::Packs,
}

impl Shard {
    fn reserve(&mut self, cfg: &ModelConfig, rows: usize, n_params: usize) {
        let (t, ti, h, v) = (cfg.block_size, cfg.n_in(), cfg.n_hidden, cfg.vocab_size);
        if rows > self.rows {
            self.xb.resize(rows * t, 0);
            self.yb.resize(rows, 0);
            self.h.resize(rows * h, 0.0);
            self.logits.resize(rows * v, 0.0);
            self.dh.resize(rows * h, 0.0);
            self.rows = rows;
        }
        if !use_tables(cfg, rows) {
            self.emb.resize(self.emb.len().max(rows * ti), 0.0);
            self.demb.resize(self.demb.len().max(rows * ti), 0.0);
        }
        self.ds_h.resize(t * v * h, 0.0);
        if cfg.direct {
            self.ds_v.resize(t * v * v, 0.0);
        }
        self.grads.resize(n_params, 0.0);
    }

    /// Copies the examples `ids` of `split` into xb, yb.
    fn gather(&mut self, split: &Split, t: usize, ids: impl Iterator<Item = usize>) -> usize {
        let mut b = 0;
        for i in ids {
            self.xb[b * t..(b + 1) * t].copy_from_slice(&split.x[i * t..(i + 1) * t]);
            self.yb[b] = split.y[i];
            b += 1;
        }
        b
    }

    /// Forward pass of the first `b` gathered rows up to the logits.
    fn forward(&mut self, p: &Params, tables: Option<&Tables>, b: usize) {
        let cfg = &p.cfg;
        let (t, ti, h, v) = (cfg.block_size, cfg.n_in(), cfg.n_hidden, cfg.vocab_size);
        let xb = &self.xb[..b * t];
        match tables {
            Some(tab) => table_forward(&mut self.h[..b * h], &tab.hidden, xb, Some(p.get(Tensor::B1)), (t, v, h)),
            None => {
                embed_forward(&mut self.emb[..b * ti], p.get(Tensor::C), xb, cfg.n_embd); // (b, T*E)
                linear_forward(
                    &mut self.packs,
                    &mut self.h,
                    &self.emb,
                    p.get(Tensor::W1),
                    Some(p.get(Tensor::B1)),
                    b,
                    ti,
                    h,
                    false,
                );
            }
        }
        tanh_forward(&mut self.h[..b * h]); // (b, H)
        linear_forward(
            &mut self.packs,
            &mut self.logits,
            &self.h,
            p.get(Tensor::W2),
            Some(p.get(Tensor::B2)),
            b,
            h,
            v,
            false,
        );
        if cfg.direct {
            match tables {
                Some(tab) => table_forward(&mut self.logits[..b * v], &tab.direct, xb, None, (t, v, v)),
                None => linear_forward(
                    &mut self.packs,
                    &mut self.logits,
                    &self.emb,
                    p.get(Tensor::W3),
                    None,
                    b,
                    ti,
                    v,
                    true,
                ),
            }
        } // (b, V)
    }

    /// Forward and backward of `b` gathered rows; the gradients of Σ loss·scale
    /// go to `self.grads`. Returns Σ −log p[y].
    fn forward_backward(&mut self, p: &Params, tables: Option<&Tables>, b: usize, scale: f32) -> f64 {
        self.forward(p, tables, b);
        let cfg = &p.cfg;
        let (t, e, ti, h, v) = (cfg.block_size, cfg.n_embd, cfg.n_in(), cfg.n_hidden, cfg.vocab_size);
        let xb = &self.xb[..b * t];
        let (c, w1, w3) = (p.get(Tensor::C), p.get(Tensor::W1), p.get(Tensor::W3));
        let loss = softmax_xent(&mut self.logits[..b * v], &self.yb[..b], v, scale); // dlogits (b, V)
        let dlogits = &self.logits[..b * v];
        let g = GradViews::new(&mut self.grads, p);
        g.c.fill(0.0);
        linear_backward(
            &mut self.packs,
            Some(&mut self.dh),
            false,
            Some(g.w2),
            Some(g.b2),
            dlogits,
            &self.h,
            p.get(Tensor::W2),
            (b, h, v),
        );
        tanh_backward(&mut self.dh[..b * h], &self.h[..b * h]); // dpre (b, H)
        let dpre = &self.dh[..b * h];
        bias_backward(g.b1, dpre, h);
        if tables.is_some() {
            if let Some(dw3) = g.w3 {
                table_backward(&mut self.ds_v, dlogits, xb, (t, v, v)); // (T, V, V)
                table_backward_params(&mut self.packs, dw3, g.c, &self.ds_v, c, w3, (t, v, e, v));
            }
            table_backward(&mut self.ds_h, dpre, xb, (t, v, h)); // (T, V, H)
            table_backward_params(&mut self.packs, g.w1, g.c, &self.ds_h, c, w1, (t, v, e, h));
        } else {
            if cfg.direct {
                linear_backward(
                    &mut self.packs,
                    Some(&mut self.demb),
                    false,
                    g.w3,
                    None,
                    dlogits,
                    &self.emb,
                    w3,
                    (b, ti, v),
                );
            }
            linear_backward(
                &mut self.packs,
                Some(&mut self.demb),
                cfg.direct,
                Some(g.w1),
                None,
                dpre,
                &self.emb,
                w1,
                (b, ti, h),
            );
            embed_backward(g.c, &self.demb[..b * ti], xb, e); // (V, E)
        }
        loss
    }

    /// Σ −log p[y] over the examples `range` of `split`.
    fn eval_range(&mut self, p: &Params, tables: Option<&Tables>, split: &Split, range: std::ops::Range<usize>) -> f64 {
        let (t, v) = (p.cfg.block_size, p.cfg.vocab_size);
        let mut loss = 0.0;
        let mut start = range.start;
        while start < range.end {
            let end = (start + EVAL_ROWS).min(range.end);
            let b = self.gather(split, t, start..end);
            self.forward(p, tables, b);
            loss += xent_loss(&self.logits[..b * v], &self.yb[..b], v);
            start = end;
        }
        loss
    }
}

/// Disjoint mutable views of a gradient buffer laid out like the parameters.
struct GradViews<'a> {
    c: &'a mut [f32],
    w1: &'a mut [f32],
    b1: &'a mut [f32],
    w2: &'a mut [f32],
    b2: &'a mut [f32],
    w3: Option<&'a mut [f32]>,
}

impl<'a> GradViews<'a> {
    fn new(buf: &'a mut [f32], p: &Params) -> Self {
        let mut rest = buf;
        let mut take = |t: Tensor| {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(p.layout.range(t).len());
            rest = tail;
            head
        };
        let (c, w1, b1, w2, b2) =
            (take(Tensor::C), take(Tensor::W1), take(Tensor::B1), take(Tensor::W2), take(Tensor::B2));
        let w3 = p.cfg.direct.then(|| take(Tensor::W3));
        GradViews { c, w1, b1, w2, b2, w3 }
    }
}

/// Runs `f(shard_index, shard)` on `n` shards, in parallel where threads exist,
/// and sums the results.
fn for_shards(shards: &mut [Shard], f: impl Fn(usize, &mut Shard) -> f64 + Sync + Send) -> f64 {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    {
        use rayon::prelude::*;
        if shards.len() > 1 {
            return shards.par_iter_mut().enumerate().map(|(i, s)| f(i, s)).sum();
        }
    }
    shards.iter_mut().enumerate().map(|(i, s)| f(i, s)).sum()
}

/// The threads a CPU backend shards a batch over.
pub fn threads() -> usize {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    return rayon::current_num_threads();
    #[cfg(all(target_arch = "wasm32", not(feature = "threads")))]
    return 1;
}

pub struct CpuBackend {
    params: Params,
    cfg: TrainConfig,
    /// The examples it trains and evaluates on.
    data: Dataset,
    shards: Vec<Shard>,
    tables: Tables,
    m: Vec<f32>,
    v: Vec<f32>,
    /// Updates the moments have seen (Adam's bias-correction count).
    opt_t: u64,
    /// Shards the last training step split its batch over.
    shards_used: usize,
    key: u32,
}

impl CpuBackend {
    pub fn new(data: &Dataset, params: Params, cfg: &TrainConfig) -> Result<Self> {
        params.cfg.validate()?;
        cfg.validate()?;
        if params.cfg.vocab_size != data.vocab.len() || params.cfg.block_size != data.block_size {
            return Err(Error::config("vocab_size", "the model and the data set disagree on vocabulary or block size"));
        }
        let threads = threads().max(1);
        check_workspace(&params.cfg, cfg.batch_size, threads)?;
        let shards = (0..threads).map(|_| Shard::default()).collect();
        let adam = cfg.optimizer != Optimizer::Sgd;
        let n = params.data.len();
        Ok(CpuBackend {
            key: batch_key(cfg.seed),
            cfg: cfg.clone(),
            data: data.clone(),
            shards,
            tables: Tables::default(),
            m: if adam { vec![0.0; n] } else { Vec::new() },
            v: if adam { vec![0.0; n] } else { Vec::new() },
            opt_t: 0,
            shards_used: 0,
            params,
        })
    }

    /// How many shards to use for `rows` examples.
    fn n_shards(&self, rows: usize) -> usize {
        let c = &self.params.cfg;
        let flops = rows * (c.n_in() * c.n_hidden + c.n_hidden * c.vocab_size);
        if flops < PARALLEL_MIN_FLOPS {
            1
        } else {
            self.shards.len().min(rows)
        }
    }

    /// How many shards (threads at most) the last training step split its
    /// minibatch over; 0 before the first step.
    pub fn shards_used(&self) -> usize {
        self.shards_used
    }

    /// The minibatch of step `step`: returns its loss (mean cross-entropy plus
    /// the L2 terms) and the gradient of that loss, laid out like the parameters.
    pub fn loss_and_grad(&mut self, step: u64) -> (f32, &[f32]) {
        let b = self.cfg.batch_size;
        let n_sh = self.n_shards(b);
        let per = b.div_ceil(n_sh);
        // The shards that get rows (the last ones may get none).
        self.shards_used = b.div_ceil(per);
        let tables = use_tables(&self.params.cfg, per).then(|| {
            self.tables.compute(&self.params);
            &self.tables
        });
        let (params, train, key) = (&self.params, &self.data.train, self.key);
        let n = train.len() as u32;
        let t = params.cfg.block_size;
        let scale = 1.0 / b as f32;
        for s in &mut self.shards[..n_sh] {
            s.reserve(&params.cfg, per, params.data.len());
        }
        let ce = for_shards(&mut self.shards[..n_sh], |i, s| {
            let rows = (i * per)..((i + 1) * per).min(b);
            let ids = rows.map(|r| batch_index(key, step as u32, r as u32, n) as usize);
            let nb = s.gather(train, t, ids);
            s.forward_backward(params, tables, nb, scale)
        });
        let (first, rest) = self.shards.split_at_mut(1);
        let grads = &mut first[0].grads;
        for s in &rest[..n_sh - 1] {
            grads.iter_mut().zip(&s.grads).for_each(|(g, o)| *g += o);
        }
        let loss = (ce / b as f64) as f32 + l2_forward_backward(&self.params, &self.cfg, grads);
        (loss, grads)
    }

    /// One step: returns the loss; updates the parameters only if it is finite.
    fn step(&mut self, step: u64, lr: f32) -> f32 {
        let loss = self.loss_and_grad(step).0;
        if loss.is_finite() {
            self.opt_t += 1;
            let grads = &self.shards[0].grads;
            optimizer_step(&self.cfg, &mut self.params.data, grads, &mut self.m, &mut self.v, lr, self.opt_t);
        }
        loss
    }
}

/// Adds the notebook's λ·mean(P²) terms for C, W1 and W2: returns their sum and
/// adds their gradients 2λP/numel to `grads`.
pub fn l2_forward_backward(p: &Params, cfg: &TrainConfig, grads: &mut [f32]) -> f32 {
    let mut loss = 0.0f32;
    for (t, lambda) in [(Tensor::C, cfg.l2.c), (Tensor::W1, cfg.l2.w1), (Tensor::W2, cfg.l2.w2)] {
        if lambda == 0.0 {
            continue;
        }
        let r = p.layout.range(t);
        let n = r.len() as f32;
        let w = &p.data[r.clone()];
        loss += lambda * w.iter().map(|x| x * x).sum::<f32>() / n;
        grads[r].iter_mut().zip(w).for_each(|(g, x)| *g += 2.0 * lambda * x / n);
    }
    loss
}

/// SGD (with coupled weight decay), Adam or AdamW (decoupled decay); `t` counts from 1.
pub fn optimizer_step(cfg: &TrainConfig, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], lr: f32, t: u64) {
    let wd = cfg.weight_decay;
    match cfg.optimizer {
        Optimizer::Sgd => p.iter_mut().zip(g).for_each(|(p, g)| *p -= lr * (g + wd * *p)),
        Optimizer::Adam | Optimizer::Adamw => {
            let decay = if cfg.optimizer == Optimizer::Adamw { lr * wd } else { 0.0 };
            let (bc1, bc2) = adam_bias_corrections(t);
            for (((p, g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = ADAM_BETA1 * *m + (1.0 - ADAM_BETA1) * g;
                *v = ADAM_BETA2 * *v + (1.0 - ADAM_BETA2) * g * g;
                *p -= decay * *p + lr * (*m / bc1) / ((*v / bc2).sqrt() + ADAM_EPS);
            }
        }
    }
}

impl Backend for CpuBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Cpu
    }

    async fn train(&mut self, first_step: u64, lrs: &[f32]) -> Result<Vec<f32>> {
        let mut losses = Vec::with_capacity(lrs.len());
        for (i, &lr) in lrs.iter().enumerate() {
            let loss = self.step(first_step + i as u64, lr);
            losses.push(loss);
            if !loss.is_finite() {
                break;
            }
        }
        Ok(losses)
    }

    async fn evaluate(&mut self, split: SplitName) -> Result<f32> {
        let data = self.data.split(split);
        let n = data.len();
        if n == 0 {
            return Ok(f32::NAN);
        }
        let n_sh = self.n_shards(n);
        let per = n.div_ceil(n_sh);
        let rows = per.min(EVAL_ROWS);
        let tables = use_tables(&self.params.cfg, rows).then(|| {
            self.tables.compute(&self.params);
            &self.tables
        });
        let p = &self.params;
        for s in &mut self.shards[..n_sh] {
            s.reserve(&p.cfg, rows, p.data.len());
        }
        let total = for_shards(&mut self.shards[..n_sh], |i, s| {
            s.eval_range(p, tables, data, (i * per)..((i + 1) * per).min(n))
        });
        Ok((total / n as f64) as f32)
    }

    async fn params(&mut self) -> Result<Params> {
        Ok(self.params.clone())
    }

    fn set_params(&mut self, params: &Params) -> Result<()> {
        if params.cfg != self.params.cfg {
            return Err(Error::Weights("these weights belong to a model of another shape".into()));
        }
        self.params.data.copy_from_slice(&params.data);
        self.m.fill(0.0);
        self.v.fill(0.0);
        self.opt_t = 0;
        Ok(())
    }

    async fn opt_state(&mut self) -> Result<Option<OptState>> {
        Ok((!self.m.is_empty()).then(|| OptState { m: self.m.clone(), v: self.v.clone(), t: self.opt_t }))
    }

    fn set_opt_state(&mut self, state: &OptState) -> Result<()> {
        let n = self.params.data.len();
        if self.m.is_empty() || state.m.len() != n || state.v.len() != n {
            return Err(Error::Weights("the optimizer state does not fit this model and optimizer".into()));
        }
        self.m.copy_from_slice(&state.m);
        self.v.copy_from_slice(&state.v);
        self.opt_t = state.t;
        Ok(())
    }
}
