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
//! The kernels avoid workgroup memory and barriers: on CPU drivers (lavapipe,
//! SwiftShader) every load costs per lane and a barrier is a coroutine switch.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use wgpu::util::DeviceExt;
use wgpu::{BindGroup, Buffer, BufferUsages, ComputePass, Device, Queue};

use crate::backend::{
    adam_bias_corrections, Backend, BackendKind, KernelSet, OptState, ADAM_BETA1, ADAM_BETA2, ADAM_EPS,
};
use crate::config::{ModelConfig, Optimizer, TrainConfig};
use crate::data::{Dataset, Split, SplitName};
use crate::model::{Layout, Params, Tensor};
use crate::rng::batch_key;
use crate::{Error, Result};

pub mod kernels;
mod readback;

use kernels::*;

/// Steps (or evaluation tiles) encoded into one submission.
const CHUNK: usize = 1024;
/// Preferred rows per evaluation tile.
const EVAL_ROWS: usize = 4096;
/// Storage buffers the widest kernel (optim) binds.
const STORAGE_PER_STAGE: u32 = 5;
/// Workgroup memory of the largest kernel (loss's reduction).
const WORKGROUP_BYTES: u32 = 256 * 4;

/// Buffers made by every [`GpuBackend`] alive in this process (or page).
static LIVE_BUFFERS: AtomicUsize = AtomicUsize::new(0);

/// How many GPU buffers the backends alive now hold: a count that returns to the
/// same value after a backend is dropped (leak tests watch it).
pub fn live_buffers() -> usize {
    LIVE_BUFFERS.load(Ordering::Relaxed)
}

/// What the page's badge and the CLI say about an adapter, and whether it is a
/// software (CPU-emulated) one: natively wgpu's `DeviceType::Cpu` (lavapipe,
/// SwiftShader, WARP).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct AdapterSummary {
    pub name: String,
    pub vendor: String,
    pub architecture: String,
    pub description: String,
    pub backend: String,
    pub software: bool,
}

impl AdapterSummary {
    pub fn from_info(info: wgpu::AdapterInfo) -> Self {
        AdapterSummary {
            vendor: format!("{:#06x}", info.vendor),
            architecture: String::new(),
            description: info.driver_info.clone(),
            backend: format!("{:?}", info.backend),
            software: info.device_type == wgpu::DeviceType::Cpu,
            name: info.name,
        }
    }

    /// The kernels this adapter runs unless a caller forces a set.
    pub fn kernel_set(&self) -> KernelSet {
        if self.software {
            KernelSet::Software
        } else {
            KernelSet::Hardware
        }
    }
}

/// Finds the default (high-performance) adapter.
async fn request_adapter() -> Result<wgpu::Adapter> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        })
        .await
        .map_err(|e| {
            Error::Gpu(format!(
                "no GPU adapter found ({e}); install a Vulkan, Metal or DX12 driver (on Linux Mesa's lavapipe, \
                 package mesa-vulkan-drivers), use a browser with WebGPU, or train with the cpu backend"
            ))
        })
}

/// Finds an adapter and opens a device with WebGPU's default limits, raised to
/// the adapter's buffer sizes so larger models fit.
pub async fn request_device() -> Result<(Device, Queue)> {
    open_device(&request_adapter().await?).await
}

/// Opens `adapter`'s device with WebGPU's default limits, raised to the
/// adapter's buffer sizes so larger models fit.
async fn open_device(adapter: &wgpu::Adapter) -> Result<(Device, Queue)> {
    let have = adapter.limits();
    let required_limits = wgpu::Limits {
        max_storage_buffer_binding_size: have.max_storage_buffer_binding_size,
        max_buffer_size: have.max_buffer_size,
        ..wgpu::Limits::defaults()
    };
    let desc = wgpu::DeviceDescriptor { label: Some("makemore"), required_limits, ..Default::default() };
    adapter.request_device(&desc).await.map_err(|e| {
        Error::Gpu(format!(
            "the GPU adapter {:?} cannot open a device with WebGPU's default limits ({e}); update the driver or use the cpu backend",
            adapter.get_info().name
        ))
    })
}

/// One split's tokens on the GPU and the batch-gather bind group that reads them.
struct SplitBufs {
    len: usize,
    gather: BindGroup,
}

/// A matmul pass: its bind group, output width, fixed row count (None: the step's
/// rows), K splits, and with splits the reduce pass (bind group, length) after it.
struct MatPass {
    bind: BindGroup,
    epilogue: usize,
    n: u32,
    rows: Option<u32>,
    splits: u32,
    reduce: Option<(BindGroup, u32)>,
}

/// The buffers every step uses, besides the parameters.
struct Work {
    params: Buffer,
    grads: Buffer,
    m: Buffer,
    v: Buffer,
    xb: Buffer,
    yb: Buffer,
    emb: Buffer,
    h: Buffer,
    logits: Buffer,
    dh: Buffer,
    demb: Buffer,
    rowloss: Buffer,
    steps: Buffer,
    losses: Buffer,
    status: Buffer,
    staging: Buffer,
}

/// Everything one training step computed, read back so tests can hold each kernel
/// against its CPU reference. `grads` are the raw gradients (the L2 terms are added
/// inside the optimizer kernel); `params` are the parameters after the update.
pub struct StepTrace {
    pub loss: f32,
    pub xb: Vec<u32>,
    pub yb: Vec<u32>,
    pub emb: Vec<f32>,
    pub h: Vec<f32>,
    pub dlogits: Vec<f32>,
    pub rowloss: Vec<f32>,
    pub dpre: Vec<f32>,
    pub demb: Vec<f32>,
    pub grads: Vec<f32>,
    pub params: Vec<f32>,
}

pub struct GpuBackend {
    device: Device,
    queue: Queue,
    kernels: Kernels,
    model: ModelConfig,
    cfg: TrainConfig,
    max_dim: u32,
    eval_rows: usize,
    work: Work,
    /// Every buffer this backend made, destroyed on drop.
    _owned: Owned,
    splits: [SplitBufs; 3],
    step_bind: BindGroup,
    embed_forward: BindGroup,
    embed_backward: BindGroup,
    xent: BindGroup,
    loss: BindGroup,
    optim: BindGroup,
    /// The forward and backward matmul passes in order (see the module docs).
    forward: Vec<MatPass>,
    backward: Vec<MatPass>,
    /// Adds the embedding backward's chunk partials into dC, when there are several.
    embed_reduce: Option<BindGroup>,
    lost: Arc<Mutex<Option<String>>>,
    /// Updates the Adam moments have seen (bias correction restarts with them).
    opt_t: u64,
    adapter: AdapterSummary,
    kernel_set: KernelSet,
}

/// Creates buffers and remembers them in [`Owned`].
struct Alloc<'a> {
    device: &'a Device,
    owned: Owned,
}

impl Alloc<'_> {
    fn empty(&mut self, label: &str, bytes: usize, usage: BufferUsages) -> Buffer {
        let b = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (bytes.max(4) as u64).next_multiple_of(4),
            usage,
            mapped_at_creation: false,
        });
        self.keep(b)
    }

    /// Takes `b` into the backend's buffers.
    fn keep(&mut self, b: Buffer) -> Buffer {
        LIVE_BUFFERS.fetch_add(1, Ordering::Relaxed);
        self.owned.0.push(b.clone());
        b
    }

    fn storage(&mut self, label: &str, bytes: usize) -> Buffer {
        self.empty(label, bytes, BufferUsages::STORAGE | BufferUsages::COPY_SRC | BufferUsages::COPY_DST)
    }

    fn init(&mut self, label: &str, contents: &[u8], usage: BufferUsages) -> Buffer {
        let mut padded = contents.to_vec();
        padded.resize(contents.len().max(4).next_multiple_of(4), 0);
        let b = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: &padded,
            usage,
        });
        self.keep(b)
    }
}

fn too_big(what: &str, bytes: u64, limit: u64, fix: &str) -> Error {
    Error::Gpu(format!(
        "{what} needs a {} MiB buffer but this GPU allows {} MiB per storage buffer; {fix}",
        bytes >> 20,
        limit >> 20
    ))
}

/// The largest buffer a kernel can bind on a device with `lim`.
fn max_binding(lim: &wgpu::Limits) -> u64 {
    lim.max_storage_buffer_binding_size.min(lim.max_buffer_size)
}

fn res(b: &Buffer) -> wgpu::BindingResource<'_> {
    b.as_entire_binding()
}

fn offset_of(layout: &Layout, t: Tensor) -> u32 {
    layout.range(t).start as u32
}

impl GpuBackend {
    /// Opens the default adapter's device and uploads the data and parameters.
    pub async fn new(data: &Dataset, params: Params, cfg: &TrainConfig) -> Result<Self> {
        Self::open(data, params, cfg, None).await
    }

    /// Like [`GpuBackend::new`], with the kernel set forced (`Some`) or picked
    /// from the adapter (`None`).
    // TODO(issue 12, in progress): the hardware set; today every choice runs the software kernels.
    pub async fn open(data: &Dataset, params: Params, cfg: &TrainConfig, kernels: Option<KernelSet>) -> Result<Self> {
        let (device, queue) = request_device().await?;
        let mut backend = Self::new_with_device(device, queue, data, params, cfg).await?;
        if let Some(k) = kernels {
            backend.kernel_set = k;
        }
        Ok(backend)
    }

    /// The adapter this backend trains on.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.adapter
    }

    /// The kernel set this backend runs.
    pub fn kernel_set(&self) -> KernelSet {
        self.kernel_set
    }

    /// Builds the backend on a device the caller opened (tests, the web page).
    /// It installs a device-lost callback on that device.
    pub async fn new_with_device(
        device: Device,
        queue: Queue,
        data: &Dataset,
        params: Params,
        cfg: &TrainConfig,
    ) -> Result<Self> {
        params.cfg.validate()?;
        cfg.validate()?;
        let m = params.cfg.clone();
        if m.vocab_size != data.vocab.len() || m.block_size != data.block_size {
            return Err(Error::config("vocab_size", "the model and the data set disagree on vocabulary or block size"));
        }
        let eval_rows = check_limits(&device.limits(), &m, cfg, data)?;
        let adapter = AdapterSummary::from_info(device.adapter_info());
        let lost = Arc::new(Mutex::new(None));
        let flag = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            *flag.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{reason:?}: {msg}"));
        });
        let scopes = Scopes::push(&device);
        let kernels = Kernels::new(&device);
        let built = Self::build(&device, kernels, data, &params, cfg, eval_rows);
        scopes.pop("building the GPU model").await?;
        let built = built?;
        let max_dim = device.limits().max_compute_workgroups_per_dimension;
        let (work, owned, splits, binds) = built;
        let [step_bind, embed_forward, embed_backward, xent, loss, optim] = binds.groups;
        Ok(GpuBackend {
            kernels: binds.kernels,
            model: m,
            cfg: cfg.clone(),
            max_dim,
            eval_rows,
            work,
            _owned: owned,
            splits,
            step_bind,
            embed_forward,
            embed_backward,
            xent,
            loss,
            optim,
            forward: binds.forward,
            backward: binds.backward,
            embed_reduce: binds.embed_reduce,
            lost,
            opt_t: 0,
            kernel_set: adapter.kernel_set(),
            adapter,
            device,
            queue,
        })
    }

    fn build(
        device: &Device,
        kernels: Kernels,
        data: &Dataset,
        params: &Params,
        cfg: &TrainConfig,
        eval_rows: usize,
    ) -> Result<(Work, Owned, [SplitBufs; 3], Binds)> {
        let mc = &params.cfg;
        let (t, h, v, te) = (mc.block_size, mc.n_hidden, mc.vocab_size, mc.n_in());
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
            xb: a.storage("xb", rows * t * 4),
            yb: a.storage("yb", rows * 4),
            emb: a.storage("emb", rows * te * 4),
            h: a.storage("h", rows * h * 4),
            logits: a.storage("logits", rows * v * 4),
            dh: a.storage("dh", rows * h * 4),
            demb: a.storage("demb", rows * te * 4),
            rowloss: a.storage("rowloss", rows * 4),
            steps: a.empty("steps", CHUNK * STEP_STRIDE as usize, BufferUsages::UNIFORM | BufferUsages::COPY_DST),
            losses: a.storage("losses", CHUNK * 4),
            status: a.storage("status", 4),
            staging: a.empty("staging", CHUNK * 4, BufferUsages::MAP_READ | BufferUsages::COPY_DST),
        };
        let dims = dims(params, cfg, data.train.len());
        let dims_buf = a.init("dims", bytemuck::bytes_of(&dims), BufferUsages::UNIFORM);
        let w = &work;
        let k = &kernels;
        let gather = |s: &Split, a: &mut Alloc, name: &str| {
            let x = a.init(name, bytemuck::cast_slice(&s.x), BufferUsages::STORAGE);
            let y = a.init(name, bytemuck::cast_slice(&s.y), BufferUsages::STORAGE);
            let bind = k.batch.bind(device, &[res(&dims_buf), res(&x), res(&y), res(&w.xb), res(&w.yb)]);
            SplitBufs { len: s.len(), gather: bind }
        };
        let splits = [
            gather(&data.train, &mut a, "train"),
            gather(&data.dev, &mut a, "dev"),
            gather(&data.test, &mut a, "test"),
        ];

        let l = &params.layout;
        let (c, w1, b1, w2, b2, w3) = (
            offset_of(l, Tensor::C),
            offset_of(l, Tensor::W1),
            offset_of(l, Tensor::B1),
            offset_of(l, Tensor::W2),
            offset_of(l, Tensor::B2),
            offset_of(l, Tensor::W3),
        );
        let (h_, v_, te_) = (h as u32, v as u32, te as u32);
        let direct = mc.direct;
        // A pass over the step's rows: out (B, n) = A (B, k) @ B (k, n).
        let rows_pass = |n, k, a: [u32; 3], b: [u32; 3], epilogue, bias_off| Mat {
            n,
            k,
            a,
            b,
            out_sm: n,
            epilogue,
            bias_off,
            rows_in: ROWS_M,
            splits: 1,
            ..Mat::default()
        };
        // A weight gradient: grads[out_off..] (m (+1), n) = [A, 1]ᵀ @ dY over the batch.
        let grad_pass = |m, n, out_off, ones_row| Mat {
            m,
            n,
            a: [0, 1, m],
            b: [0, n, 1],
            out_off,
            out_sm: n,
            ones_row,
            rows_in: ROWS_K,
            splits: k_splits(m + ones_row, n, cfg.batch_size as u32),
            ..Mat::default()
        };
        // (Mat, [a, b, aux, out]), forward then backward, in dispatch order.
        let forward: Vec<(Mat, [&Buffer; 4])> = [
            // h (B, H) = tanh(emb @ W1 + b1)
            Some((
                rows_pass(h_, te_, [0, te_, 1], [w1, h_, 1], EPI_BIAS_TANH, b1),
                [&w.emb, &w.params, &w.params, &w.h],
            )),
            // logits (B, V) = h @ W2 + b2
            Some((rows_pass(v_, h_, [0, h_, 1], [w2, v_, 1], EPI_BIAS, b2), [&w.h, &w.params, &w.params, &w.logits])),
            // logits += emb @ W3
            direct.then(|| {
                (
                    rows_pass(v_, te_, [0, te_, 1], [w3, v_, 1], EPI_ACCUMULATE, 0),
                    [&w.emb, &w.params, &w.params, &w.logits],
                )
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        let backward: Vec<(Mat, [&Buffer; 4])> = [
            // [dW2; db2] (H+1, V) = [h, 1]ᵀ @ dlogits
            Some((grad_pass(h_, v_, w2, 1), [&w.h, &w.logits, &w.h, &w.grads])),
            // dW3 (T*E, V) = embᵀ @ dlogits
            direct.then(|| (grad_pass(te_, v_, w3, 0), [&w.emb, &w.logits, &w.emb, &w.grads])),
            // dpre (B, H) = (dlogits @ W2ᵀ) ⊙ (1 − h²)
            Some((rows_pass(h_, v_, [0, v_, 1], [w2, 1, v_], EPI_TANH_GRAD, 0), [&w.logits, &w.params, &w.h, &w.dh])),
            // [dW1; db1] (T*E+1, H) = [emb, 1]ᵀ @ dpre
            Some((grad_pass(te_, h_, w1, 1), [&w.emb, &w.dh, &w.emb, &w.grads])),
            // demb (B, T*E) = dlogits @ W3ᵀ
            direct.then(|| {
                (rows_pass(te_, v_, [0, v_, 1], [w3, 1, v_], EPI_NONE, 0), [&w.logits, &w.params, &w.params, &w.demb])
            }),
            // demb (B, T*E) (+)= dpre @ W1ᵀ
            Some((
                rows_pass(te_, h_, [0, h_, 1], [w1, 1, h_], if direct { EPI_ACCUMULATE } else { EPI_NONE }, 0),
                [&w.dh, &w.params, &w.params, &w.demb],
            )),
        ]
        .into_iter()
        .flatten()
        .collect();

        // Split passes and a chunked embedding backward write partials to `parts`,
        // and a reduce pass adds them into grads.
        let dc_parts = dc_chunks(cfg.batch_size as u32, t as u32);
        let mut part_len = if dc_parts > 1 { (dc_parts * v_ * mc.n_embd as u32) as usize } else { 0 };
        for (mat, _) in &backward {
            if mat.splits > 1 {
                let len = (mat.m + mat.ones_row) * mat.n;
                part_len = part_len.max((mat.splits * len) as usize);
            }
        }
        let max = max_binding(&device.limits());
        if part_len as u64 * 4 > max {
            return Err(too_big(
                "summing the gradients of one batch",
                part_len as u64 * 4,
                max,
                &format!("use a smaller batch_size, or a word list with fewer distinct characters ({} now)", v - 1),
            ));
        }
        let parts = a.storage("partials", part_len * 4);
        let stride = STEP_STRIDE as usize;
        let n_mats = forward.len() + backward.len();
        let mut uniform_bytes = vec![0u8; (n_mats + backward.len() + 1) * stride];
        let mut next = 0;
        let mut put = |bytes: &[u8]| {
            uniform_bytes[next..][..bytes.len()].copy_from_slice(bytes);
            next += stride;
            (next - stride) as u64
        };
        let mut plans = Vec::new();
        for (mut mat, bufs) in forward.into_iter().chain(backward) {
            let mut out = bufs[3];
            let mut reduce = None;
            if mat.splits > 1 {
                let sum = Sum { len: (mat.m + mat.ones_row) * mat.n, parts: mat.splits, off: mat.out_off, _pad: 0 };
                reduce = Some((put(bytemuck::bytes_of(&sum)), sum.len));
                (out, mat.out_off) = (&parts, 0);
            }
            plans.push((put(bytemuck::bytes_of(&mat)), mat, [bufs[0], bufs[1], bufs[2], out], reduce));
        }
        let dc_sum = Sum { len: v_ * mc.n_embd as u32, parts: dc_parts, off: c, _pad: 0 };
        let dc_sum_at = put(bytemuck::bytes_of(&dc_sum));
        let uniforms = a.init("mats", &uniform_bytes, BufferUsages::UNIFORM);
        let mat_size = std::mem::size_of::<Mat>() as u64;
        let sum_size = std::mem::size_of::<Sum>() as u64;
        let reducer = |at: u64, out: &Buffer| {
            k.reduce.bind(device, &[uniform_at(&uniforms, at, sum_size), res(&parts), res(out)])
        };
        let mut passes: Vec<MatPass> = plans
            .into_iter()
            .map(|(at, mat, bufs, reduce)| {
                let mut r = vec![uniform_at(&uniforms, at, mat_size)];
                r.extend(bufs.iter().map(|b| res(b)));
                MatPass {
                    bind: k.matmul[mat.epilogue as usize].bind(device, &r),
                    epilogue: mat.epilogue as usize,
                    n: mat.n,
                    rows: (mat.rows_in & ROWS_M == 0).then_some(mat.m + mat.ones_row),
                    splits: mat.splits,
                    reduce: reduce.map(|(at, len)| (reducer(at, &w.grads), len)),
                }
            })
            .collect();
        let backward = passes.split_off(2 + usize::from(direct));
        let forward = passes;
        let embed_reduce = (dc_parts > 1).then(|| reducer(dc_sum_at, &w.grads));
        let dc_out = if dc_parts > 1 { &parts } else { &w.grads };

        let d = res(&dims_buf);
        let groups = [
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("step"),
                layout: &k.step_layout,
                entries: &[wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniform_at(&w.steps, 0, std::mem::size_of::<Step>() as u64),
                }],
            }),
            k.embed_forward.bind(device, &[d.clone(), res(&w.xb), res(&w.params), res(&w.emb)]),
            k.embed_backward.bind(device, &[d.clone(), res(&w.xb), res(&w.demb), res(dc_out)]),
            k.xent.bind(device, &[d.clone(), res(&w.yb), res(&w.logits), res(&w.rowloss)]),
            k.loss.bind(device, &[d.clone(), res(&w.rowloss), res(&w.params), res(&w.losses), res(&w.status)]),
            k.optim.bind(device, &[d, res(&w.grads), res(&w.status), res(&w.params), res(&w.m), res(&w.v)]),
        ];
        let owned = a.owned;
        Ok((work, owned, splits, Binds { kernels, groups, forward, backward, embed_reduce }))
    }

    fn check_alive(&self) -> Result<()> {
        match &*self.lost.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(why) => Err(Error::Gpu(format!(
                "the GPU device was lost ({why}); save or reload the last checkpoint and continue on the cpu backend"
            ))),
            None => Ok(()),
        }
    }

    /// The dispatches of one training step or evaluation tile, in order.
    fn plan<'a>(&'a self, s: &Step, split: usize) -> Vec<(&'a Kernel, &'a BindGroup, (u32, u32))> {
        let k = &self.kernels;
        let md = self.max_dim;
        let mc = &self.model;
        let mut out = vec![
            (&k.batch, &self.splits[split].gather, grid_1d(s.rows, md)),
            (&k.embed_forward, &self.embed_forward, grid_1d(s.rows * mc.n_in() as u32, md)),
        ];
        let mat = |out: &mut Vec<_>, p: &'a MatPass| {
            let tiles = p.rows.unwrap_or(s.rows).div_ceil(TILE);
            out.push((&k.matmul[p.epilogue], &p.bind, (p.n.div_ceil(TILE), tiles * p.splits)));
            if let Some((bind, len)) = &p.reduce {
                out.push((&k.reduce, bind, grid_1d(*len, md)));
            }
        };
        self.forward.iter().for_each(|p| mat(&mut out, p));
        out.push((&k.xent, &self.xent, grid_1d(s.rows, md)));
        out.push((&k.loss, &self.loss, (1, 1)));
        if s.mode == MODE_TRAIN {
            self.backward.iter().for_each(|p| mat(&mut out, p));
            let chunks = dc_chunks(s.rows, mc.block_size as u32);
            out.push((&k.embed_backward, &self.embed_backward, grid_1d(chunks * mc.n_embd as u32, md)));
            if let Some(bind) = &self.embed_reduce {
                out.push((&k.reduce, bind, grid_1d((mc.vocab_size * mc.n_embd) as u32, md)));
            }
            out.push((&k.optim, &self.optim, grid_1d(self.n_params() as u32, md)));
        }
        out
    }

    /// Encodes one training step or evaluation tile.
    fn encode(&self, pass: &mut ComputePass<'_>, s: &Step, split: usize, slot_offset: u32) {
        for (kernel, bind, g) in self.plan(s, split) {
            dispatch(pass, kernel, bind, &self.step_bind, slot_offset, g);
        }
    }

    fn n_params(&self) -> usize {
        Layout::new(&self.model).total
    }

    /// Dispatches per training step (for the overhead measurement).
    fn dispatches_per_step(&self) -> usize {
        let s = Step { rows: self.cfg.batch_size as u32, mode: MODE_TRAIN, ..Step::default() };
        self.plan(&s, 0).len()
    }

    /// Runs `steps` (at most [`CHUNK`]) in one submission and reads back their losses.
    async fn run_steps(&mut self, steps: &[Step], split: usize) -> Result<Vec<f32>> {
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
            for (i, s) in steps.iter().enumerate() {
                self.encode(&mut pass, s, split, (i * stride) as u32);
            }
        }
        enc.copy_buffer_to_buffer(&w.losses, 0, &w.staging, 0, (steps.len() * 4) as u64);
        self.queue.submit([enc.finish()]);
        let out = readback::read::<f32>(&self.device, &w.staging, steps.len()).await;
        scopes.pop("training on the GPU").await?;
        self.check_alive()?;
        out
    }

    /// Copies the first `n` elements of `src` back to the host.
    async fn read_buffer<T: bytemuck::Pod>(&self, src: &Buffer, n: usize) -> Result<Vec<T>> {
        self.check_alive()?;
        let bytes = (n * std::mem::size_of::<T>()) as u64;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes.max(4),
            usage: BufferUsages::MAP_READ | BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = self.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(src, 0, &staging, 0, bytes);
        self.queue.submit([enc.finish()]);
        let out = readback::read(&self.device, &staging, n).await;
        staging.destroy();
        out
    }

    /// Runs one training step and reads back every intermediate buffer.
    pub async fn trace_step(&mut self, step: u64, lr: f32) -> Result<StepTrace> {
        let loss = self.train(step, &[lr]).await?[0];
        let mc = &self.model;
        let b = self.cfg.batch_size;
        let (t, te, h, v) = (mc.block_size, mc.n_in(), mc.n_hidden, mc.vocab_size);
        let w = &self.work;
        Ok(StepTrace {
            loss,
            xb: self.read_buffer(&w.xb, b * t).await?,
            yb: self.read_buffer(&w.yb, b).await?,
            emb: self.read_buffer(&w.emb, b * te).await?,
            h: self.read_buffer(&w.h, b * h).await?,
            dlogits: self.read_buffer(&w.logits, b * v).await?,
            rowloss: self.read_buffer(&w.rowloss, b).await?,
            dpre: self.read_buffer(&w.dh, b * h).await?,
            demb: self.read_buffer(&w.demb, b * te).await?,
            grads: self.read_buffer(&w.grads, self.n_params()).await?,
            params: self.read_buffer(&w.params, self.n_params()).await?,
        })
    }

    /// Submits as many empty-kernel dispatches as `steps` training steps have, in
    /// one submission, and waits for them. Timing this against [`Backend::train`]
    /// with the same `steps` gives the share of dispatch overhead.
    pub async fn dispatch_only(&mut self, steps: usize) -> Result<()> {
        let mut enc = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.kernels.noop.pipeline);
            for _ in 0..steps * self.dispatches_per_step() {
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

/// Bind groups and pipelines made by [`GpuBackend::build`].
struct Binds {
    kernels: Kernels,
    /// step, embed forward, embed backward, xent, loss, optim
    groups: [BindGroup; 6],
    forward: Vec<MatPass>,
    backward: Vec<MatPass>,
    embed_reduce: Option<BindGroup>,
}

/// Validation and out-of-memory error scopes around a piece of GPU work.
struct Scopes(wgpu::ErrorScopeGuard, wgpu::ErrorScopeGuard);

impl Scopes {
    fn push(device: &Device) -> Self {
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        Scopes(validation, device.push_error_scope(wgpu::ErrorFilter::OutOfMemory))
    }

    async fn pop(self, what: &str) -> Result<()> {
        let Scopes(validation, oom) = self;
        if let Some(e) = oom.pop().await {
            return Err(Error::Gpu(format!(
                "out of GPU memory while {what} ({e}); use a smaller batch_size or model, or the cpu backend"
            )));
        }
        match validation.pop().await {
            Some(e) => Err(Error::Gpu(format!("{what} failed: {e}"))),
            None => Ok(()),
        }
    }
}

fn dims(p: &Params, cfg: &TrainConfig, n_train: usize) -> Dims {
    let m = &p.cfg;
    let l = &p.layout;
    Dims {
        t: m.block_size as u32,
        e: m.n_embd as u32,
        h: m.n_hidden as u32,
        v: m.vocab_size as u32,
        te: m.n_in() as u32,
        n_train: n_train as u32,
        key: batch_key(cfg.seed),
        direct: m.direct as u32,
        c_off: offset_of(l, Tensor::C),
        w1_off: offset_of(l, Tensor::W1),
        b1_off: offset_of(l, Tensor::B1),
        w2_off: offset_of(l, Tensor::W2),
        b2_off: offset_of(l, Tensor::B2),
        w3_off: offset_of(l, Tensor::W3),
        n_params: l.total as u32,
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
        dc_chunk: DC_CHUNK,
        dc_off: if dc_chunks(cfg.batch_size as u32, m.block_size as u32) > 1 { 0 } else { offset_of(l, Tensor::C) },
        _pad: 0,
    }
}

/// Checks the device can hold and run this model; returns the rows per evaluation tile.
fn check_limits(lim: &wgpu::Limits, m: &ModelConfig, cfg: &TrainConfig, data: &Dataset) -> Result<usize> {
    let need = |ok: bool, what: String| if ok { Ok(()) } else { Err(Error::Gpu(what)) };
    need(
        lim.max_storage_buffers_per_shader_stage >= STORAGE_PER_STAGE,
        format!("the GPU binds only {} storage buffers per shader, the kernels need {STORAGE_PER_STAGE}; use the cpu backend", lim.max_storage_buffers_per_shader_stage),
    )?;
    need(
        lim.max_compute_invocations_per_workgroup >= 256 && lim.max_compute_workgroup_size_x >= 256,
        "the GPU runs fewer than 256 invocations per workgroup; use the cpu backend".into(),
    )?;
    need(
        lim.max_compute_workgroup_storage_size >= WORKGROUP_BYTES,
        format!("the GPU has less than {WORKGROUP_BYTES} bytes of workgroup memory; use the cpu backend"),
    )?;
    need(
        u64::from(lim.min_uniform_buffer_offset_alignment) <= STEP_STRIDE,
        "the GPU needs uniform offsets aligned to more than 256 bytes; use the cpu backend".into(),
    )?;
    let max = max_binding(lim);
    let params = Layout::new(m).total as u64 * 4;
    if params > max {
        // The parameters that grow with the vocabulary: C's rows, W2's and W3's columns, b2.
        let per_vocab = params - Layout::new(&ModelConfig { vocab_size: 0, ..m.clone() }).total as u64 * 4;
        let fix = if per_vocab * 2 > params {
            format!(
                "its vocabulary of {} characters takes {} MiB of it: use a word list with fewer distinct \
                 characters, fewer hidden units, or the cpu backend",
                m.vocab_size - 1,
                per_vocab >> 20
            )
        } else {
            "use fewer hidden units, a smaller embedding or no direct connections".into()
        };
        return Err(too_big("the model", params, max, &fix));
    }
    for (name, s) in [("the training split", &data.train), ("the dev split", &data.dev), ("the test split", &data.test)]
    {
        let bytes = s.x.len() as u64 * 4;
        if bytes > max {
            return Err(too_big(name, bytes, max, "use a shorter word list or a smaller block_size"));
        }
    }
    let width = m.vocab_size.max(m.n_hidden).max(m.n_in()) as u64 * 4;
    let batch = cfg.batch_size as u64;
    if batch * width > max {
        return Err(too_big(
            "one batch of activations",
            batch * width,
            max,
            &format!("use a batch_size of at most {}", max / width),
        ));
    }
    let rows = batch.max((EVAL_ROWS as u64).min(max / width));
    let tiles = rows.div_ceil(u64::from(TILE));
    need(
        tiles <= u64::from(lim.max_compute_workgroups_per_dimension),
        format!("batch_size {batch} needs {tiles} workgroups in one dispatch dimension; use a smaller batch_size"),
    )?;
    Ok(rows as usize)
}

/// The buffers of one backend, destroyed (and uncounted) when it is dropped,
/// also when building it failed half way.
struct Owned(Vec<Buffer>);

impl Drop for Owned {
    fn drop(&mut self) {
        self.0.iter().for_each(Buffer::destroy);
        LIVE_BUFFERS.fetch_sub(self.0.len(), Ordering::Relaxed);
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
            let steps: Vec<Step> = chunk
                .iter()
                .enumerate()
                .map(|(i, &lr)| {
                    let (bc1, bc2) = adam_bias_corrections(self.opt_t + i as u64 + 1);
                    Step {
                        step_no: (first + i as u64) as u32,
                        slot: i as u32,
                        rows: self.cfg.batch_size as u32,
                        offset: 0,
                        lr,
                        bc1,
                        bc2,
                        mode: MODE_TRAIN,
                    }
                })
                .collect();
            let losses = self.run_steps(&steps, 0).await?;
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
            total += self.run_steps(&steps, idx).await?.iter().map(|&x| x as f64).sum::<f64>();
        }
        Ok((total / n as f64) as f32)
    }

    async fn params(&mut self) -> Result<Params> {
        let data = self.read_buffer(&self.work.params, self.n_params()).await?;
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
        let m = self.read_buffer(&self.work.m, n).await?;
        let v = self.read_buffer(&self.work.v, n).await?;
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
