//! The compute pipelines (one WGSL file per kernel family, each prepended with
//! `shaders/common.wgsl`), their bind group layouts, the uniform structs they
//! read, and the helpers that bind and dispatch them.

use bytemuck::{Pod, Zeroable};
use wgpu::{BindGroup, BindGroupLayout, BindingResource, Buffer, ComputePass, ComputePipeline, Device};

use super::plan::{Buf, MatSpec};
use super::tuning::{Tuning, TILE_K};
use super::wgsl::wgsl;

const COMMON: &str = wgsl!("common.wgsl");
/// The optimizer update, shared by `optim.wgsl` and `params.wgsl`.
const UPDATE: &str = wgsl!("update.wgsl");
/// Workgroup sums and the L2 term, shared by `loss.wgsl`, `rows.wgsl` and `params.wgsl`.
const SUMS: &str = wgsl!("sums.wgsl");

/// Bytes between two [`Step`]s in the step buffer (the dynamic-offset alignment).
pub const STEP_STRIDE: u64 = 256;
/// Invocations per workgroup of the software set's 1-D kernels (all but matmul and loss).
pub const WG_1D: u32 = 256;
/// Output tile edge of `matmul.wgsl` (TS there).
pub const TILE: u32 = 32;

/// `Dims` in common.wgsl: the model and run constants.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct Dims {
    pub t: u32,
    pub e: u32,
    pub h: u32,
    pub v: u32,
    pub te: u32,
    pub n_train: u32,
    pub key: u32,
    pub direct: u32,
    pub c_off: u32,
    pub w1_off: u32,
    pub b1_off: u32,
    pub w2_off: u32,
    pub b2_off: u32,
    pub w3_off: u32,
    pub n_params: u32,
    pub optimizer: u32,
    pub l2_c: f32,
    pub l2_w1: f32,
    pub l2_w2: f32,
    pub wd: f32,
    pub beta1: f32,
    pub one_minus_beta1: f32,
    pub beta2: f32,
    pub one_minus_beta2: f32,
    pub eps: f32,
    pub dc_chunk: u32,
    pub dc_off: u32,
    pub _pad: u32,
}

/// `Step` in common.wgsl: one training step or evaluation tile.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct Step {
    pub step_no: u32,
    pub slot: u32,
    pub rows: u32,
    pub offset: u32,
    pub lr: f32,
    pub bc1: f32,
    pub bc2: f32,
    pub mode: u32,
}

/// `Arena` in common.wgsl: where the hardware kernels find each activation (in
/// f32 elements) and how their weight gradients split the batch.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct Arena {
    pub xb: u32,
    pub yb: u32,
    pub emb: u32,
    pub h: u32,
    pub logits: u32,
    pub dh: u32,
    pub demb: u32,
    pub rowloss: u32,
    pub split_rows: u32,
    pub splits: u32,
    pub groups: u32,
    pub loss_parts: u32,
    pub grad_parts: u32,
    pub c_groups: u32,
    pub _pad: [u32; 2],
}

pub const MODE_TRAIN: u32 = 0;
pub const MODE_EVAL: u32 = 1;

/// `Mat` in matmul.wgsl: shapes, strides and epilogue of one linear layer pass.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct Mat {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub rows_in: u32,
    pub a: [u32; 3], // offset, stride along m, stride along k
    pub ones_row: u32,
    pub b: [u32; 3], // offset, stride along k, stride along n
    pub epilogue: u32,
    pub out_off: u32,
    pub out_sm: u32,
    pub bias_off: u32,
    pub splits: u32,
}

pub const EPI_NONE: u32 = 0;
pub const EPI_BIAS: u32 = 1;
pub const EPI_BIAS_TANH: u32 = 2;
pub const EPI_TANH_GRAD: u32 = 3;
pub const EPI_ACCUMULATE: u32 = 4;
/// `Mat::rows_in` bits: whether M or K is the step's row count.
pub const ROWS_M: u32 = 1;
pub const ROWS_K: u32 = 2;

/// `Tiled` in matmul_tiled.wgsl: one linear layer pass of the tiled program.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Tiled {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub rows_in: u32,
    pub a: [u32; 3], // offset, stride along m, stride along k (in the activations)
    pub ones_row: u32,
    pub b: [u32; 3], // offset, stride along k, stride along n
    pub flags: u32,
    pub out_off: u32,
    pub out_sm: u32,
    /// The bias (in the parameters) or h (in the activations) of the epilogue.
    pub aux_off: u32,
    pub split_rows: u32,
    pub split_stride: u32,
    pub _pad: [u32; 3],
}

/// `Tiled::flags` (matmul_tiled.wgsl).
pub const A_ALONG_M: u32 = 1;
pub const B_ALONG_K: u32 = 2;
pub const B_ACT: u32 = 4;
pub const OUT_PARTS: u32 = 8;
pub const B_VEC4: u32 = 16;

impl Tiled {
    /// The tiled form of a layer of [`super::plan::mats`]: its activations at the
    /// arena's regions; a weight gradient's split partials in params.wgsl's layout
    /// (split s of parameter i at `grad_parts` + s·n_params + i).
    pub fn from_spec(spec: &MatSpec, arena: &Arena, n_params: u32, split_rows: u32) -> Tiled {
        let m = &spec.mat;
        let region = |b: Buf| match b {
            Buf::Emb => arena.emb,
            Buf::H => arena.h,
            Buf::Logits => arena.logits,
            Buf::Dh => arena.dh,
            Buf::Demb => arena.demb,
            // The tiled program has no table path.
            Buf::Params | Buf::Grads | Buf::Tables | Buf::TableGrads => 0,
        };
        let b_act = spec.bufs[1] != Buf::Params;
        let b = [region(spec.bufs[1]) + m.b[0], m.b[1], m.b[2]];
        let along_k = b[1] == 1 && b[2] != 1;
        // vec4 loads need every row (or column) of B to start on a multiple of 4.
        let vec4 = !b_act && b[0].is_multiple_of(4) && (if along_k { b[2] } else { b[1] }).is_multiple_of(4);
        let grad = m.rows_in & ROWS_K != 0;
        let flags = [
            (m.a[1] == 1 && m.a[2] != 1, A_ALONG_M),
            (along_k, B_ALONG_K),
            (b_act, B_ACT),
            (grad, OUT_PARTS),
            (vec4, B_VEC4),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |f, (_, bit)| f | bit);
        Tiled {
            m: m.m,
            n: m.n,
            k: m.k,
            rows_in: m.rows_in,
            a: [region(spec.bufs[0]) + m.a[0], m.a[1], m.a[2]],
            ones_row: m.ones_row,
            b,
            flags,
            out_off: if grad { arena.grad_parts + m.out_off } else { region(spec.bufs[3]) + m.out_off },
            out_sm: m.out_sm,
            aux_off: if m.epilogue == EPI_TANH_GRAD { region(spec.bufs[2]) } else { m.bias_off },
            split_rows: if grad { split_rows } else { m.k },
            split_stride: if grad { n_params } else { 0 },
            _pad: [0; 3],
        }
    }
}

/// `Table` in table.wgsl: one gather or scatter of the table path.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct Table {
    pub n: u32,
    pub off: u32,
    pub bias_off: u32,
    pub hidden: u32,
}

/// `Sum` in reduce.wgsl: `parts` partials of `len` values, added into `off`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct Sum {
    pub len: u32,
    pub parts: u32,
    pub off: u32,
    pub _pad: u32,
}

/// How a kernel sees one of its bindings (group 0, numbered in order).
#[derive(Clone, Copy)]
pub enum Slot {
    Uniform,
    Read,
    Write,
}

/// A compute pipeline with its group-0 layout; group 1 is the shared step uniform.
pub struct Kernel {
    pub pipeline: ComputePipeline,
    pub layout: BindGroupLayout,
}

impl Kernel {
    /// The pipeline for `entry` of `src`, with its pipeline-overridable `constants`.
    /// Never inlined: each of the ~25 calls would carry its own copy of wgpu's
    /// descriptor code (about 1 KB of wasm each).
    #[inline(never)]
    fn new(
        device: &Device,
        step_layout: &BindGroupLayout,
        (name, src, entry): (&str, &str, &str),
        slots: &[Slot],
        constants: &[(&str, f64)],
    ) -> Self {
        let layout = bind_group_layout(device, name, slots, false);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(name),
            source: wgpu::ShaderSource::Wgsl(format!("{COMMON}\n{src}").into()),
        });
        let groups: &[Option<&BindGroupLayout>] =
            if slots.is_empty() { &[] } else { &[Some(&layout), Some(step_layout)] };
        let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(name),
            bind_group_layouts: groups,
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(name),
            layout: Some(&pl),
            module: &module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions { constants, ..Default::default() },
            cache: None,
        });
        Kernel { pipeline, layout }
    }

    /// A bind group with `resources` at bindings 0, 1, ...
    #[inline(never)]
    pub fn bind(&self, device: &Device, resources: &[BindingResource<'_>]) -> BindGroup {
        let entries: Vec<wgpu::BindGroupEntry> = resources
            .iter()
            .enumerate()
            .map(|(i, r)| wgpu::BindGroupEntry { binding: i as u32, resource: r.clone() })
            .collect();
        bind_group(device, &wgpu::BindGroupDescriptor { label: None, layout: &self.layout, entries: &entries })
    }
}

/// The step bind group (group 1 of every kernel): the [`Step`] at a dynamic offset of `steps`.
pub fn step_bind(device: &Device, step_layout: &BindGroupLayout, steps: &Buffer) -> BindGroup {
    let resource = uniform_at(steps, 0, std::mem::size_of::<Step>() as u64);
    let entries = [wgpu::BindGroupEntry { binding: 0, resource }];
    bind_group(device, &wgpu::BindGroupDescriptor { label: Some("step"), layout: step_layout, entries: &entries })
}

/// Bind groups made in this process (test hook): a backend makes all of its own
/// when it is built, so training and evaluation must not add any.
#[cfg(feature = "test-hooks")]
pub static BIND_GROUPS_MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Every bind group of the backend is made here.
#[inline(never)]
fn bind_group(device: &Device, desc: &wgpu::BindGroupDescriptor<'_>) -> BindGroup {
    #[cfg(feature = "test-hooks")]
    BIND_GROUPS_MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    device.create_bind_group(desc)
}

#[inline(never)]
pub fn bind_group_layout(device: &Device, label: &str, slots: &[Slot], dynamic: bool) -> BindGroupLayout {
    let entries: Vec<wgpu::BindGroupLayoutEntry> = slots
        .iter()
        .enumerate()
        .map(|(i, s)| wgpu::BindGroupLayoutEntry {
            binding: i as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: match s {
                    Slot::Uniform => wgpu::BufferBindingType::Uniform,
                    Slot::Read => wgpu::BufferBindingType::Storage { read_only: true },
                    Slot::Write => wgpu::BufferBindingType::Storage { read_only: false },
                },
                has_dynamic_offset: dynamic,
                min_binding_size: None,
            },
            count: None,
        })
        .collect();
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(label), entries: &entries })
}

/// The hardware set's pipelines (`rows.wgsl`, `params.wgsl`, `matmul_tiled.wgsl`),
/// built only when it runs.
pub struct HwKernels {
    pub rows: Kernel,
    pub gather: Kernel,
    pub xent: Kernel,
    pub fused: Kernel,
    pub partial: Kernel,
    pub partial_c: Kernel,
    pub reduce: Kernel,
    /// The tiled matmul, one pipeline per epilogue (`EPI_*`): only for the tiled program.
    pub tiled: Option<[Kernel; 5]>,
}

/// Every pipeline of the backend, built once per device.
pub struct Kernels {
    pub step_layout: BindGroupLayout,
    pub batch: Kernel,
    pub embed_forward: Kernel,
    pub embed_backward: Kernel,
    /// The table path's gather and scatter (table.wgsl).
    pub table_forward: Kernel,
    pub table_backward: Kernel,
    /// One matmul pipeline per epilogue (`EPI_*`).
    pub matmul: [Kernel; 5],
    pub reduce: Kernel,
    pub xent: Kernel,
    pub loss: Kernel,
    pub optim: Kernel,
    pub noop: Kernel,
    pub hw: Option<HwKernels>,
}

impl Kernels {
    /// The software set's pipelines, and with `hardware` the hardware set's too
    /// (the hardware set evaluates with the software loss kernel); with `tiled`
    /// the tiled matmul with that adapter class's tile.
    pub fn new(device: &Device, hardware: bool, tiled: Option<&Tuning>) -> Self {
        use Slot::*;
        let step_layout = bind_group_layout(device, "step", &[Uniform], true);
        let hw = hardware.then(|| {
            let rows = format!("{SUMS}\n{}", wgsl!("rows.wgsl"));
            let params = format!("{UPDATE}\n{SUMS}\n{}", wgsl!("params.wgsl"));
            let p_slots = [Uniform, Uniform, Read, Write, Write, Write, Write, Write, Write, Write];
            let p = |entry| Kernel::new(device, &step_layout, ("params", params.as_str(), entry), &p_slots, &[]);
            let r_slots = [Uniform, Uniform, Read, Read, Read, Write, Write];
            let r = |entry| Kernel::new(device, &step_layout, ("rows", rows.as_str(), entry), &r_slots, &[]);
            HwKernels {
                rows: r("main"),
                gather: r("gather_rows"),
                xent: r("xent_rows"),
                fused: p("fused"),
                partial: p("partial"),
                partial_c: p("partial_c"),
                reduce: p("reduce"),
                tiled: tiled.map(|t| tiled_kernels(device, &step_layout, t)),
            }
        });
        let k = |name: &str, src: &str, entry: &str, slots: &[Slot]| {
            Kernel::new(device, &step_layout, (name, src, entry), slots, &[])
        };
        let matmul = |epilogue: u32| {
            let src = wgsl!("matmul.wgsl");
            let slots = [Uniform, Read, Read, Read, Write];
            Kernel::new(device, &step_layout, ("matmul", src, "main"), &slots, &[("EPILOGUE", f64::from(epilogue))])
        };
        let embed = wgsl!("embed.wgsl");
        let embed_slots = [Uniform, Read, Read, Write];
        let table = wgsl!("table.wgsl");
        let table_slots = [Uniform, Uniform, Read, Read, Read, Write];
        Kernels {
            batch: k("batch", wgsl!("batch.wgsl"), "main", &[Uniform, Read, Read, Write, Write]),
            embed_forward: k("embed_forward", embed, "forward", &embed_slots),
            embed_backward: k("embed_backward", embed, "backward", &embed_slots),
            table_forward: k("table_forward", table, "forward", &table_slots),
            table_backward: k("table_backward", table, "backward", &table_slots),
            matmul: [EPI_NONE, EPI_BIAS, EPI_BIAS_TANH, EPI_TANH_GRAD, EPI_ACCUMULATE].map(matmul),
            reduce: k("reduce", wgsl!("reduce.wgsl"), "main", &[Uniform, Read, Write]),
            xent: k("xent", wgsl!("xent.wgsl"), "main", &[Uniform, Read, Write, Write]),
            loss: k("loss", &format!("{SUMS}\n{}", wgsl!("loss.wgsl")), "main", &[Uniform, Read, Read, Write, Write]),
            optim: k(
                "optim",
                &format!("{UPDATE}\n{}", wgsl!("optim.wgsl")),
                "main",
                &[Uniform, Read, Read, Write, Write, Write],
            ),
            noop: k("noop", wgsl!("noop.wgsl"), "main", &[]),
            step_layout,
            hw,
        }
    }
}

/// `matmul_tiled.wgsl` with `tuning`'s tile, one pipeline per epilogue.
pub fn tiled_kernels(device: &Device, step_layout: &BindGroupLayout, tuning: &Tuning) -> [Kernel; 5] {
    use Slot::*;
    let src =
        format!("const TILE: u32 = {}u;\nconst TILE_K: u32 = {TILE_K}u;\n{}", tuning.tile, wgsl!("matmul_tiled.wgsl"));
    let slots = [Uniform, Write, Read, Read, Write];
    [EPI_NONE, EPI_BIAS, EPI_BIAS_TANH, EPI_TANH_GRAD, EPI_ACCUMULATE].map(|epilogue| {
        let constants = [("EPILOGUE", f64::from(epilogue))];
        Kernel::new(device, step_layout, ("matmul_tiled", src.as_str(), "main"), &slots, &constants)
    })
}

/// A grid of `n` workgroups, folded into two dimensions past the dispatch limit.
pub fn grid(n: u32, max_dim: u32) -> (u32, u32) {
    let x = n.clamp(1, max_dim);
    (x, n.div_ceil(x).max(1))
}

/// Chunks of the embedding backward for `rows` rows of T positions, `chunk` positions each.
pub fn dc_chunks(rows: u32, t: u32, chunk: u32) -> u32 {
    (rows * t).div_ceil(chunk)
}

/// K splits of a software weight-gradient pass with a (rows, n) output and K =
/// `batch`: about `split_k_groups` workgroups, at least `min_split` rows per split.
pub fn k_splits(rows: u32, n: u32, batch: u32, tuning: &Tuning) -> u32 {
    let tiles = rows.div_ceil(TILE) * n.div_ceil(TILE);
    (tuning.split_k_groups / tiles).min(batch / tuning.min_split).max(1)
}

/// Sets `kernel` with its bind group and the step at `step_offset`, and dispatches (x, y).
pub fn dispatch(
    pass: &mut ComputePass<'_>,
    kernel: &Kernel,
    bind: &BindGroup,
    step: &BindGroup,
    step_offset: u32,
    (x, y): (u32, u32),
) {
    pass.set_pipeline(&kernel.pipeline);
    pass.set_bind_group(0, bind, &[]);
    pass.set_bind_group(1, step, &[step_offset]);
    pass.dispatch_workgroups(x, y, 1);
}

/// A uniform binding of `size` bytes at `offset` in `buffer`.
pub fn uniform_at(buffer: &Buffer, offset: u64, size: u64) -> BindingResource<'_> {
    BindingResource::Buffer(wgpu::BufferBinding { buffer, offset, size: wgpu::BufferSize::new(size) })
}
