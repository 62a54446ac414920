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
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wgpu::{BindGroup, Buffer, BufferUsages, ComputePass, Device, Queue};

use crate::backend::{
    adam_bias_corrections, Backend, BackendKind, KernelSet, OptState, ADAM_BETA1, ADAM_BETA2, ADAM_EPS,
};
use crate::config::{ModelConfig, Optimizer, TrainConfig};
use crate::data::{Dataset, Split, SplitName};
use crate::model::{Params, Tensor};
use crate::rng::batch_key;
use crate::{Error, Result};

mod buffers;
pub mod device;
#[cfg(feature = "test-hooks")]
pub mod hooks;
pub mod kernels;
pub mod plan;
mod readback;
pub mod tuning;

pub use buffers::live_buffers;
use buffers::{res, Act, Acts, Alloc, Owned};
use device::{check_limits, choose_kernels, max_binding, too_big, Scopes};
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

/// What [`GpuBackend::build`] makes.
struct Built {
    work: Work,
    owned: Owned,
    splits: [SplitBufs; 3],
    step_bind: BindGroup,
    binds: HashMap<BindId, BindGroup>,
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
        let Built { work, owned, splits, step_bind, binds } = built?;
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

    #[allow(clippy::too_many_arguments)]
    fn build(
        device: &Device,
        k: &Kernels,
        shapes: &Shapes,
        set: KernelSet,
        data: &Dataset,
        params: &Params,
        cfg: &TrainConfig,
        eval_rows: usize,
    ) -> Result<Built> {
        let mc = &params.cfg;
        let v = mc.vocab_size;
        let rows = cfg.batch_size.max(eval_rows);
        let n_params = params.data.len();
        let adam = cfg.optimizer != Optimizer::Sgd;
        let mut a = Alloc { device, owned: Owned(Vec::new()) };
        let rw = BufferUsages::STORAGE | BufferUsages::COPY_SRC | BufferUsages::COPY_DST;
        let work = Work {
            params: a.init("params", bytemuck::cast_slice(&params.data), rw),
            grads: a.storage("grads", n_params * 4),
            m: a.storage("adam m", if adam { n_params * 4 } else { 4 }),
            v: a.storage("adam v", if adam { n_params * 4 } else { 4 }),
            acts: Acts::new(&mut a, mc, rows, set),
            steps: a.empty("steps", CHUNK * STEP_STRIDE as usize, BufferUsages::UNIFORM | BufferUsages::COPY_DST),
            losses: a.storage("losses", CHUNK * 4),
            status: a.storage("status", 4),
            staging: a.empty("staging", CHUNK * 4, BufferUsages::MAP_READ | BufferUsages::COPY_DST),
        };
        let dims = dims(shapes, cfg, data.train.len());
        let dims_buf = a.init("dims", bytemuck::bytes_of(&dims), BufferUsages::UNIFORM);
        let w = &work;
        let d = res(&dims_buf);
        let step_bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("step"),
            layout: &k.step_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: uniform_at(&w.steps, 0, std::mem::size_of::<Step>() as u64),
            }],
        });
        let mut binds = HashMap::new();
        binds.insert(
            BindId::Loss,
            k.loss
                .bind(device, &[d.clone(), w.acts.bind(Act::Rowloss), res(&w.params), res(&w.losses), res(&w.status)]),
        );
        let too_many_partials = |bytes: u64, max: u64| {
            too_big(
                "summing the gradients of one batch",
                bytes,
                max,
                &format!("use a smaller batch_size, or a word list with fewer distinct characters ({} now)", v - 1),
            )
        };
        let max = max_binding(&device.limits());
        let splits = match (set, &k.hw, &w.acts.arena) {
            (KernelSet::Hardware, Some(hw), Some((arena_buf, regions))) => {
                // parts: [0] the L2 term, loss partials at 64, gradient partials after them.
                let batch = cfg.batch_size as u32;
                let n_splits = shapes.hw_splits(batch);
                let loss_parts = 64u32;
                let grad_parts = (loss_parts + n_splits).next_multiple_of(64);
                let split = n_splits > 1 || hw.tiled.is_some();
                let part_len = if split { grad_parts as usize + n_splits as usize * n_params } else { 1 };
                if part_len as u64 * 4 > max {
                    return Err(too_many_partials(part_len as u64 * 4, max));
                }
                let parts = a.storage("partials", part_len * 4);
                let arena = Arena {
                    split_rows: shapes.hw_split_rows(batch),
                    splits: n_splits,
                    groups: shapes.hw_param_groups(),
                    loss_parts,
                    grad_parts,
                    c_groups: shapes.hw_c_groups(),
                    ..*regions
                };
                let arena_u = a.init("arena", bytemuck::bytes_of(&arena), BufferUsages::UNIFORM);
                if let Some(tiled) = &hw.tiled {
                    // The tiled program's matmuls: one `Tiled` uniform each, in one buffer.
                    let (forward, backward) = plan::mats(shapes);
                    let stride = STEP_STRIDE as usize;
                    let specs: Vec<_> = forward.into_iter().chain(backward).collect();
                    let mut bytes = vec![0u8; specs.len() * stride];
                    for (i, spec) in specs.iter().enumerate() {
                        let t = Tiled::from_spec(spec, &arena, shapes.n_params, arena.split_rows);
                        bytes[i * stride..][..std::mem::size_of::<Tiled>()].copy_from_slice(bytemuck::bytes_of(&t));
                    }
                    let uniforms = a.init("tiled", &bytes, BufferUsages::UNIFORM);
                    for (i, spec) in specs.iter().enumerate() {
                        let at = uniform_at(&uniforms, (i * stride) as u64, std::mem::size_of::<Tiled>() as u64);
                        let r = [at, res(arena_buf), res(&w.params), res(&w.params), res(&parts)];
                        binds.insert(BindId::Tiled(i), tiled[spec.mat.epilogue as usize].bind(device, &r));
                    }
                }
                binds.insert(
                    BindId::Params,
                    hw.fused.bind(
                        device,
                        &[
                            d.clone(),
                            res(&arena_u),
                            res(arena_buf),
                            res(&w.params),
                            res(&w.grads),
                            res(&w.m),
                            res(&w.v),
                            res(&w.losses),
                            res(&w.status),
                            res(&parts),
                        ],
                    ),
                );
                let gather = |s: &Split, a: &mut Alloc, name: &str| {
                    let x = a.init(name, bytemuck::cast_slice(&s.x), BufferUsages::STORAGE);
                    let y = a.init(name, bytemuck::cast_slice(&s.y), BufferUsages::STORAGE);
                    let bind = hw.rows.bind(
                        device,
                        &[d.clone(), res(&arena_u), res(&x), res(&y), res(&w.params), res(arena_buf), res(&parts)],
                    );
                    SplitBufs { len: s.len(), gather: bind }
                };
                [
                    gather(&data.train, &mut a, "train"),
                    gather(&data.dev, &mut a, "dev"),
                    gather(&data.test, &mut a, "test"),
                ]
            }
            _ => {
                let gather = |s: &Split, a: &mut Alloc, name: &str| {
                    let x = a.init(name, bytemuck::cast_slice(&s.x), BufferUsages::STORAGE);
                    let y = a.init(name, bytemuck::cast_slice(&s.y), BufferUsages::STORAGE);
                    let bind = k
                        .batch
                        .bind(device, &[d.clone(), res(&x), res(&y), w.acts.bind(Act::Xb), w.acts.bind(Act::Yb)]);
                    SplitBufs { len: s.len(), gather: bind }
                };
                let splits = [
                    gather(&data.train, &mut a, "train"),
                    gather(&data.dev, &mut a, "dev"),
                    gather(&data.test, &mut a, "test"),
                ];
                Self::software_binds(device, k, shapes, w, &mut a, &dims_buf, &mut binds, max, too_many_partials)?;
                splits
            }
        };
        let owned = a.owned;
        Ok(Built { work, owned, splits, step_bind, binds })
    }

    /// The software set's bind groups: matmuls with their split-K reduces, the
    /// embedding, xent and optimizer.
    #[allow(clippy::too_many_arguments)]
    fn software_binds(
        device: &Device,
        k: &Kernels,
        shapes: &Shapes,
        w: &Work,
        a: &mut Alloc,
        dims_buf: &Buffer,
        binds: &mut HashMap<BindId, BindGroup>,
        max: u64,
        too_many_partials: impl Fn(u64, u64) -> Error,
    ) -> Result<()> {
        let (forward, backward) = plan::mats(shapes);
        // Split passes and a chunked embedding backward write partials to `parts`,
        // and a reduce pass adds them into grads.
        let dc_parts = dc_chunks(shapes.batch, shapes.t, shapes.tuning.dc_chunk);
        let dc_len = shapes.v * shapes.e;
        let mut part_len = if dc_parts > 1 { (dc_parts * dc_len) as usize } else { 0 };
        for spec in &backward {
            let mat = &spec.mat;
            if mat.splits > 1 {
                part_len = part_len.max((mat.splits * (mat.m + mat.ones_row) * mat.n) as usize);
            }
        }
        if part_len as u64 * 4 > max {
            return Err(too_many_partials(part_len as u64 * 4, max));
        }
        let parts = a.storage("partials", part_len * 4);
        let stride = STEP_STRIDE as usize;
        let specs: Vec<_> = forward.into_iter().chain(backward).collect();
        let mut uniform_bytes = vec![0u8; (2 * specs.len() + 1) * stride];
        let mut next = 0;
        let mut put = |bytes: &[u8]| {
            uniform_bytes[next..][..bytes.len()].copy_from_slice(bytes);
            next += stride;
            (next - stride) as u64
        };
        let mut plans = Vec::new();
        for spec in &specs {
            let mut mat = spec.mat;
            let mut reduce = None;
            if mat.splits > 1 {
                let sum = Sum { len: (mat.m + mat.ones_row) * mat.n, parts: mat.splits, off: mat.out_off, _pad: 0 };
                reduce = Some(put(bytemuck::bytes_of(&sum)));
                mat.out_off = 0;
            }
            plans.push((put(bytemuck::bytes_of(&mat)), mat, reduce));
        }
        let c = shapes.c_off();
        let dc_sum = Sum { len: dc_len, parts: dc_parts, off: c, _pad: 0 };
        let dc_sum_at = put(bytemuck::bytes_of(&dc_sum));
        let uniforms = a.init("mats", &uniform_bytes, BufferUsages::UNIFORM);
        let mat_size = std::mem::size_of::<Mat>() as u64;
        let sum_size = std::mem::size_of::<Sum>() as u64;
        let reducer =
            |at: u64| k.reduce.bind(device, &[uniform_at(&uniforms, at, sum_size), res(&parts), res(&w.grads)]);
        let buf = |b: plan::Buf| match b {
            plan::Buf::Emb => w.acts.bind(Act::Emb),
            plan::Buf::H => w.acts.bind(Act::H),
            plan::Buf::Logits => w.acts.bind(Act::Logits),
            plan::Buf::Dh => w.acts.bind(Act::Dh),
            plan::Buf::Demb => w.acts.bind(Act::Demb),
            plan::Buf::Params => res(&w.params),
            plan::Buf::Grads => res(&w.grads),
        };
        for (i, (spec, (at, mat, reduce))) in specs.iter().zip(plans).enumerate() {
            let out = if reduce.is_some() { res(&parts) } else { buf(spec.bufs[3]) };
            let r = [uniform_at(&uniforms, at, mat_size), buf(spec.bufs[0]), buf(spec.bufs[1]), buf(spec.bufs[2]), out];
            binds.insert(BindId::Mat(i), k.matmul[mat.epilogue as usize].bind(device, &r));
            if let Some(at) = reduce {
                binds.insert(BindId::MatReduce(i), reducer(at));
            }
        }
        if dc_parts > 1 {
            binds.insert(BindId::EmbedReduce, reducer(dc_sum_at));
        }
        let dc_out = if dc_parts > 1 { res(&parts) } else { res(&w.grads) };
        let d = res(dims_buf);
        binds.insert(
            BindId::EmbedForward,
            k.embed_forward.bind(device, &[d.clone(), w.acts.bind(Act::Xb), res(&w.params), w.acts.bind(Act::Emb)]),
        );
        binds.insert(
            BindId::EmbedBackward,
            k.embed_backward.bind(device, &[d.clone(), w.acts.bind(Act::Xb), w.acts.bind(Act::Demb), dc_out]),
        );
        binds.insert(
            BindId::Xent,
            k.xent
                .bind(device, &[d.clone(), w.acts.bind(Act::Yb), w.acts.bind(Act::Logits), w.acts.bind(Act::Rowloss)]),
        );
        binds.insert(
            BindId::Optim,
            k.optim.bind(device, &[d, res(&w.grads), res(&w.status), res(&w.params), res(&w.m), res(&w.v)]),
        );
        Ok(())
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

    /// Runs training step `step_no` with each dispatch in its own compute pass,
    /// timed by timestamp queries, and returns each pass's name and GPU time in µs;
    /// `None` when the adapter has no timestamp queries (`Features::TIMESTAMP_QUERY`).
    /// The step updates the model like [`Backend::train`].
    pub async fn profile_step(&mut self, step_no: u64, lr: f32) -> Result<Option<Vec<(String, f64)>>> {
        if !self.device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
            return Ok(None);
        }
        self.check_alive()?;
        let n = self.train_plan.len() as u32;
        let queries = self.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("profile"),
            ty: wgpu::QueryType::Timestamp,
            count: 2 * n,
        });
        let bytes = u64::from(2 * n) * 8;
        let make = |usage| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("profile"),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        let resolved = make(BufferUsages::QUERY_RESOLVE | BufferUsages::COPY_SRC);
        let staging = make(BufferUsages::MAP_READ | BufferUsages::COPY_DST);
        let step = self.train_step(step_no, 0, lr);
        self.queue.write_buffer(&self.work.steps, 0, bytemuck::bytes_of(&step));
        self.queue.write_buffer(&self.work.status, 0, bytemuck::bytes_of(&0u32));
        let scopes = Scopes::push(&self.device);
        let mut enc = self.device.create_command_encoder(&Default::default());
        for (i, p) in self.train_plan.iter().enumerate() {
            let timestamp_writes = wgpu::ComputePassTimestampWrites {
                query_set: &queries,
                beginning_of_pass_write_index: Some(2 * i as u32),
                end_of_pass_write_index: Some(2 * i as u32 + 1),
            };
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("profile"),
                timestamp_writes: Some(timestamp_writes),
            });
            let (kernel, bind) = self.resolve(p, 0);
            dispatch(&mut pass, kernel, bind, &self.step_bind, 0, p.grid);
        }
        enc.resolve_query_set(&queries, 0..2 * n, &resolved, 0);
        enc.copy_buffer_to_buffer(&resolved, 0, &staging, 0, bytes);
        self.queue.submit([enc.finish()]);
        let ticks = readback::read::<u64>(&self.device, &staging, 2 * n as usize).await;
        resolved.destroy();
        staging.destroy();
        queries.destroy();
        scopes.pop("profiling a step on the GPU").await?;
        let ticks = ticks?;
        self.opt_t += 1;
        let ns_per_tick = f64::from(self.queue.get_timestamp_period());
        let times = self
            .train_plan
            .iter()
            .zip(ticks.chunks(2))
            .map(|(p, t)| (p.name.clone(), t[1].saturating_sub(t[0]) as f64 * ns_per_tick / 1e3));
        Ok(Some(times.collect()))
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

    /// Submits as many empty-kernel dispatches as `steps` training steps have, in
    /// one submission, and waits for them. Timing this against [`Backend::train`]
    /// with the same `steps` gives the share of dispatch overhead.
    pub async fn dispatch_only(&mut self, steps: usize) -> Result<()> {
        let mut enc = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.kernels.noop.pipeline);
            for _ in 0..steps * self.train_plan.len() {
                pass.dispatch_workgroups(1, 1, 1);
            }
        }
        enc.copy_buffer_to_buffer(&self.work.losses, 0, &self.work.staging, 0, 4);
        self.queue.submit([enc.finish()]);
        readback::read::<f32>(&self.device, &self.work.staging, 1).await.map(|_| ())
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

/// The `Dims` uniform: the pass table's shapes and offsets, and the run's constants.
fn dims(s: &Shapes, cfg: &TrainConfig, n_train: usize) -> Dims {
    Dims {
        t: s.t,
        e: s.e,
        h: s.h,
        v: s.v,
        te: s.te,
        n_train: n_train as u32,
        key: batch_key(cfg.seed),
        direct: s.direct as u32,
        c_off: s.off(Tensor::C),
        w1_off: s.off(Tensor::W1),
        b1_off: s.off(Tensor::B1),
        w2_off: s.off(Tensor::W2),
        b2_off: s.off(Tensor::B2),
        w3_off: s.off(Tensor::W3),
        n_params: s.n_params,
        optimizer: match cfg.optimizer {
            Optimizer::Sgd => 0,
            Optimizer::Adam => 1,
            Optimizer::Adamw => 2,
        },
        l2_c: cfg.l2.c,
        l2_w1: cfg.l2.w1,
        l2_w2: cfg.l2.w2,
        wd: cfg.weight_decay,
        beta1: ADAM_BETA1,
        one_minus_beta1: 1.0 - ADAM_BETA1,
        beta2: ADAM_BETA2,
        one_minus_beta2: 1.0 - ADAM_BETA2,
        eps: ADAM_EPS,
        dc_chunk: s.tuning.dc_chunk,
        dc_off: if dc_chunks(s.batch, s.t, s.tuning.dc_chunk) > 1 { 0 } else { s.c_off() },
        _pad: 0,
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
