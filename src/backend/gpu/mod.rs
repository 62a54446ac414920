//! The WebGPU backend: the whole training step in WGSL compute shaders (`shaders/`),
//! through wgpu, natively (Vulkan/Metal/DX12) and in the browser.
//!
//! Parameters, gradients, Adam moments and every split's tokens live on the GPU.
//! A chunk of steps is encoded into one compute pass and one submission; each step
//! picks its [`kernels::Step`] uniform (step number, learning rate, bias
//! corrections) by dynamic offset, draws its minibatch with `batch_index` on the
//! GPU, and writes its loss to a slot of a small buffer that is read back once
//! per chunk. Evaluation runs the forward pass over the split in tiles and reads
//! back one partial sum per tile.
//!
//! Two kernel sets ([`KernelSet`], chosen per adapter in [`device`]) run the same
//! step; [`plan`] lists each set's dispatches, and the encoder runs that table.
//!
//! **software** (lavapipe, SwiftShader, WARP: CPU drivers, where every load costs
//! per lane, a barrier is a coroutine switch and long serial loops are cheap).
//! Per training step (shapes for rows = batch_size; [..] only with direct connections):
//! ```text
//! batch          xb (B, T), yb (B)        = split rows at batch_index(key, step, i)
//! embed.forward  emb (B, T*E)             = C[xb]
//! matmul         h (B, H)                 = tanh(emb @ W1 + b1)
//! matmul         logits (B, V)            = h @ W2 + b2   [then += emb @ W3]
//! xent           rowloss (B), dlogits     = softmax cross-entropy, fwd + bwd
//! loss           losses[slot]             = mean(rowloss) + L2; guard
//! matmul         [dW2; db2] (H+1, V)      = [h, 1]ᵀ @ dlogits   [dW3 = embᵀ @ dlogits]
//! matmul         dpre (B, H)              = (dlogits @ W2ᵀ) ⊙ (1 − h²)
//! matmul         [dW1; db1] (T*E+1, H)    = [emb, 1]ᵀ @ dpre
//! matmul         demb (B, T*E)            = [dlogits @ W3ᵀ +] dpre @ W1ᵀ
//! embed.backward dC (V, E)                = Σ demb rows by token, in chunks of positions
//! optim          params, m, v             (+ L2 gradients), unless the guard tripped
//! ```
//! Weight gradients of large batches split K (the batch) across workgroups, and a
//! large batch's embedding backward runs in chunks; each writes partials to a scratch
//! buffer that a `reduce` pass adds in a fixed order, so results stay deterministic.
//!
//! **hardware** (real GPUs: many workgroups, no long serial loops, few dispatches):
//! ```text
//! rows            one workgroup per row: gather, forward, xent, backward (+ the L2 term)
//! params.fused    one invocation per parameter: gradient over the rows, loss, guard, update
//!   or, when a loop over the batch would pass plan::HW_MAX_LOOP:
//! params.partial  (row split, parameter): gradient and loss partials
//! params.reduce   the splits added in order, loss, guard, update
//!   or, when the batch fills the GPU with tiles ([`plan::Shapes::tiled`], the tiled program):
//! rows.gather     one workgroup per row: xb, yb, emb (+ the L2 term)
//! matmul_tiled    the software set's layer table through workgroup-memory tiles,
//!                 the weight gradients split over the batch into partials
//! rows.xent       one workgroup per row: rowloss, dlogits
//! params.partial_c  C's gradient and the loss partials, per row split
//! params.reduce   as above
//! ```
//! Tile sizes and split targets come from the adapter's row of [`tuning`].
//! Bind groups are all made at build time ([`binds`]); a step only sets them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wgpu::{BindGroup, Buffer, BufferUsages, ComputePass, Device, Queue};

use crate::backend::{Backend, BackendKind, KernelSet};
use crate::config::{Optimizer, TrainConfig};
use crate::data::{Dataset, SplitName};
use crate::model::{ModelConfig, Params};
use crate::optim::{adam_bias_corrections, OptState};
use crate::{Error, Result};

mod binds;
mod buffers;
pub mod device;
#[cfg(feature = "test-hooks")]
pub mod hooks;
pub mod kernels;
pub mod plan;
mod profile;
mod readback;
pub mod tuning;
mod wgsl;

pub use buffers::live_buffers;
use buffers::{Acts, Owned};
use device::{check_limits, choose_kernels, Scopes};
pub use device::{request_device, AdapterSummary};
use kernels::*;
use plan::{BindId, KernelId, Mode, Pass, Shapes};
use tuning::Tuning;

/// Steps (or evaluation tiles) encoded into one submission.
const CHUNK: usize = 1024;

/// One split's tokens on the GPU and the bind group that gathers its rows
/// (software: the batch kernel; hardware: the rows kernel).
struct SplitBufs {
    len: usize,
    gather: BindGroup,
}

/// The buffers every step uses, besides the parameters.
struct Work {
    params: Buffer,
    grads: Buffer,
    m: Buffer,
    v: Buffer,
    acts: Acts,
    steps: Buffer,
    losses: Buffer,
    status: Buffer,
    staging: Buffer,
}

pub struct GpuBackend {
    device: Device,
    queue: Queue,
    kernels: Kernels,
    model: ModelConfig,
    cfg: TrainConfig,
    shapes: Shapes,
    eval_rows: usize,
    work: Work,
    /// Every buffer this backend made, destroyed on drop.
    _owned: Owned,
    splits: [SplitBufs; 3],
    step_bind: BindGroup,
    /// The bind groups the pass table names (all but the split gathers).
    binds: HashMap<BindId, BindGroup>,
    /// The dispatches of a training step (see [`plan`]).
    train_plan: Vec<Pass>,
    lost: Arc<Mutex<Option<String>>>,
    /// Updates the Adam moments have seen (bias correction restarts with them).
    opt_t: u64,
    adapter: AdapterSummary,
    kernel_set: KernelSet,
}

impl GpuBackend {
    /// Opens the default adapter's device and uploads the data and parameters.
    pub async fn new(data: &Dataset, params: Params, cfg: &TrainConfig) -> Result<Self> {
        Self::open(data, params, cfg, None).await
    }

    /// Like [`GpuBackend::new`], with the kernel set forced (`Some`) or picked
    /// from the adapter (`None`; natively `MAKEMORE_GPU_KERNELS` overrides it).
    pub async fn open(data: &Dataset, params: Params, cfg: &TrainConfig, kernels: Option<KernelSet>) -> Result<Self> {
        let (device, queue) = request_device().await?;
        Self::new_with_device(device, queue, data, params, cfg, kernels).await
    }

    /// The adapter this backend trains on.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.adapter
    }

    /// The kernel set this backend runs.
    pub fn kernel_set(&self) -> KernelSet {
        self.kernel_set
    }

    /// The dispatches of one training step, as encoded.
    pub fn train_plan(&self) -> &[Pass] {
        &self.train_plan
    }

    /// Builds the backend on a device the caller opened (tests, the web page), with
    /// the kernel set forced (`Some`) or chosen as in [`GpuBackend::open`].
    /// It installs a device-lost callback on that device.
    pub async fn new_with_device(
        device: Device,
        queue: Queue,
        data: &Dataset,
        params: Params,
        cfg: &TrainConfig,
        kernels: Option<KernelSet>,
    ) -> Result<Self> {
        params.cfg.validate()?;
        cfg.validate()?;
        let m = params.cfg.clone();
        if m.vocab_size != data.vocab.len() || m.block_size != data.block_size {
            return Err(Error::config("vocab_size", "the model and the data set disagree on vocabulary or block size"));
        }
        #[allow(unused_mut)] // filled in further in a browser
        let mut adapter = AdapterSummary::from_info(device.adapter_info());
        #[cfg(target_arch = "wasm32")]
        adapter.add_browser_info().await;
        let kernel_set = choose_kernels(&adapter, kernels)?;
        let tuning = Tuning::for_adapter(&adapter);
        let eval_rows = check_limits(&device.limits(), &m, cfg, data, kernel_set, &tuning)?;
        let lost = Arc::new(Mutex::new(None));
        let flag = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            *flag.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{reason:?}: {msg}"));
        });
        let shapes = Shapes::new(&m, cfg, device.limits().max_compute_workgroups_per_dimension, tuning);
        let hardware = kernel_set == KernelSet::Hardware;
        let tiled = hardware && shapes.tiled(cfg.batch_size as u32);
        let scopes = Scopes::push(&device);
        let kernels = Kernels::new(&device, hardware, tiled.then_some(&tuning));
        let built = Self::build(&device, &kernels, &shapes, kernel_set, data, &params, cfg, eval_rows);
        scopes.pop("building the GPU model").await?;
        let binds::Built { work, owned, splits, step_bind, binds } = built?;
        let train_plan = plan::passes(&shapes, kernel_set, Mode::Train, cfg.batch_size as u32);
        Ok(GpuBackend {
            kernels,
            model: m,
            cfg: cfg.clone(),
            shapes,
            eval_rows,
            work,
            _owned: owned,
            splits,
            step_bind,
            binds,
            train_plan,
            lost,
            opt_t: 0,
            kernel_set,
            adapter,
            device,
            queue,
        })
    }

    fn check_alive(&self) -> Result<()> {
        match &*self.lost.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(why) => Err(Error::Gpu(format!(
                "the GPU device was lost ({why}); save or reload the last checkpoint and continue on the cpu backend"
            ))),
            None => Ok(()),
        }
    }

    /// The pipeline and bind group of a pass of the table.
    fn resolve(&self, p: &Pass, split: usize) -> (&Kernel, &BindGroup) {
        let k = &self.kernels;
        let hw = || k.hw.as_ref().expect("the hardware kernels are built for the hardware set's table");
        let kernel = match p.kernel {
            KernelId::Batch => &k.batch,
            KernelId::EmbedForward => &k.embed_forward,
            KernelId::Matmul(e) => &k.matmul[e as usize],
            KernelId::Reduce => &k.reduce,
            KernelId::Xent => &k.xent,
            KernelId::Loss => &k.loss,
            KernelId::EmbedBackward => &k.embed_backward,
            KernelId::TableForward => &k.table_forward,
            KernelId::TableBackward => &k.table_backward,
            KernelId::Optim => &k.optim,
            KernelId::Rows => &hw().rows,
            KernelId::RowsGather => &hw().gather,
            KernelId::RowsXent => &hw().xent,
            KernelId::Tiled(e) => {
                &hw().tiled.as_ref().expect("the tiled matmuls are built for the tiled program's table")[e as usize]
            }
            KernelId::ParamsC => &hw().partial_c,
            KernelId::ParamsFused => &hw().fused,
            KernelId::ParamsPartial => &hw().partial,
            KernelId::ParamsReduce => &hw().reduce,
        };
        let bind = match p.bind {
            BindId::Gather => &self.splits[split].gather,
            other => self.binds.get(&other).expect("build makes a bind group for every pass of the table"),
        };
        (kernel, bind)
    }

    /// Encodes the dispatches of one training step or evaluation tile.
    fn encode(&self, pass: &mut ComputePass<'_>, passes: &[Pass], split: usize, slot_offset: u32) {
        for p in passes {
            let (kernel, bind) = self.resolve(p, split);
            dispatch(pass, kernel, bind, &self.step_bind, slot_offset, p.grid);
        }
    }

    /// The uniform of training step `step_no`, the `slot`-th of its chunk.
    fn train_step(&self, step_no: u64, slot: usize, lr: f32) -> Step {
        let (bc1, bc2) = adam_bias_corrections(self.opt_t + slot as u64 + 1);
        Step {
            step_no: step_no as u32,
            slot: slot as u32,
            rows: self.cfg.batch_size as u32,
            offset: 0,
            lr,
            bc1,
            bc2,
            mode: MODE_TRAIN,
        }
    }

    fn n_params(&self) -> usize {
        self.shapes.n_params as usize
    }

    /// Runs `steps` (at most [`CHUNK`]), step i with the dispatches `plans[i]`, in
    /// one submission, and reads back their losses.
    async fn run_steps(&self, steps: &[Step], plans: &[&[Pass]], split: usize) -> Result<Vec<f32>> {
        self.check_alive()?;
        let stride = STEP_STRIDE as usize;
        let mut bytes = vec![0u8; steps.len() * stride];
        for (i, s) in steps.iter().enumerate() {
            bytes[i * stride..][..std::mem::size_of::<Step>()].copy_from_slice(bytemuck::bytes_of(s));
        }
        let w = &self.work;
        self.queue.write_buffer(&w.steps, 0, &bytes);
        self.queue.write_buffer(&w.status, 0, bytemuck::bytes_of(&0u32));
        let scopes = Scopes::push(&self.device);
        let mut enc = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            for (i, passes) in plans.iter().enumerate() {
                self.encode(&mut pass, passes, split, (i * stride) as u32);
            }
        }
        enc.copy_buffer_to_buffer(&w.losses, 0, &w.staging, 0, (steps.len() * 4) as u64);
        self.queue.submit([enc.finish()]);
        let out = readback::read::<f32>(&self.device, &w.staging, steps.len()).await;
        scopes.pop("training on the GPU").await?;
        self.check_alive()?;
        out
    }

    /// Copies `n` elements of `src` from byte `offset` back to the host.
    async fn read_buffer<T: bytemuck::Pod>(&self, src: &Buffer, offset: u64, n: usize) -> Result<Vec<T>> {
        self.check_alive()?;
        let bytes = (n * std::mem::size_of::<T>()) as u64;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes.max(4),
            usage: BufferUsages::MAP_READ | BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = self.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(src, offset, &staging, 0, bytes);
        self.queue.submit([enc.finish()]);
        let out = readback::read(&self.device, &staging, n).await;
        staging.destroy();
        out
    }

    /// Destroys the device, as a lost GPU would (a driver reset, an unplugged
    /// card): every later call fails with [`Error::Gpu`]. For tests of the recovery.
    pub fn lose_device(&self) {
        self.device.destroy();
    }

    /// The adapter's name, for reports.
    pub fn adapter_name(&self) -> String {
        let info = self.device.adapter_info();
        format!("{} ({:?})", info.name, info.backend)
    }

    fn write_moments(&self, m: &[f32], v: &[f32]) {
        self.queue.write_buffer(&self.work.m, 0, bytemuck::cast_slice(m));
        self.queue.write_buffer(&self.work.v, 0, bytemuck::cast_slice(v));
    }
}

impl Backend for GpuBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Gpu
    }

    async fn train(&mut self, first_step: u64, lrs: &[f32]) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(lrs.len());
        for (c, chunk) in lrs.chunks(CHUNK).enumerate() {
            let first = first_step + (c * CHUNK) as u64;
            let steps: Vec<Step> =
                chunk.iter().enumerate().map(|(i, &lr)| self.train_step(first + i as u64, i, lr)).collect();
            let plans = vec![self.train_plan.as_slice(); steps.len()];
            let losses = self.run_steps(&steps, &plans, 0).await?;
            // The guard skips the update of a non-finite step and of every step after it.
            match losses.iter().position(|l| !l.is_finite()) {
                Some(bad) => {
                    self.opt_t += bad as u64;
                    out.extend_from_slice(&losses[..=bad]);
                    break;
                }
                None => {
                    self.opt_t += losses.len() as u64;
                    out.extend_from_slice(&losses)
                }
            }
        }
        Ok(out)
    }

    async fn evaluate(&mut self, split: SplitName) -> Result<f32> {
        let idx = match split {
            SplitName::Train => 0,
            SplitName::Dev => 1,
            SplitName::Test => 2,
        };
        let n = self.splits[idx].len;
        if n == 0 {
            return Ok(f32::NAN);
        }
        let tiles: Vec<usize> = (0..n).step_by(self.eval_rows).collect();
        let mut total = 0.0f64;
        for group in tiles.chunks(CHUNK) {
            let steps: Vec<Step> = group
                .iter()
                .enumerate()
                .map(|(i, &start)| Step {
                    slot: i as u32,
                    rows: self.eval_rows.min(n - start) as u32,
                    offset: start as u32,
                    mode: MODE_EVAL,
                    ..Step::default()
                })
                .collect();
            let tiles: Vec<Vec<Pass>> =
                steps.iter().map(|s| plan::passes(&self.shapes, self.kernel_set, Mode::Eval, s.rows)).collect();
            let plans: Vec<&[Pass]> = tiles.iter().map(Vec::as_slice).collect();
            total += self.run_steps(&steps, &plans, idx).await?.iter().map(|&x| x as f64).sum::<f64>();
        }
        Ok((total / n as f64) as f32)
    }

    async fn params(&mut self) -> Result<Params> {
        let data = self.read_buffer(&self.work.params, 0, self.n_params()).await?;
        Params::from_data(&self.model, data)
    }

    fn set_params(&mut self, params: &Params) -> Result<()> {
        if params.cfg != self.model {
            return Err(Error::Weights("these weights belong to a model of another shape".into()));
        }
        self.queue.write_buffer(&self.work.params, 0, bytemuck::cast_slice(&params.data));
        if self.cfg.optimizer != Optimizer::Sgd {
            let zeros = vec![0.0f32; params.data.len()];
            self.write_moments(&zeros, &zeros);
        }
        self.opt_t = 0;
        Ok(())
    }

    async fn opt_state(&mut self) -> Result<Option<OptState>> {
        if self.cfg.optimizer == Optimizer::Sgd {
            return Ok(None);
        }
        let n = self.n_params();
        let m = self.read_buffer(&self.work.m, 0, n).await?;
        let v = self.read_buffer(&self.work.v, 0, n).await?;
        Ok(Some(OptState { m, v, t: self.opt_t }))
    }

    fn set_opt_state(&mut self, state: &OptState) -> Result<()> {
        let n = self.n_params();
        if self.cfg.optimizer == Optimizer::Sgd || state.m.len() != n || state.v.len() != n {
            return Err(Error::Weights("the optimizer state does not fit this model and optimizer".into()));
        }
        self.write_moments(&state.m, &state.v);
        self.opt_t = state.t;
        Ok(())
    }
}
