//! Test hooks (cargo feature `test-hooks`, which the crate's own tests turn on
//! through its dev-dependency on itself): a traced training step, and one tiled
//! matmul on operands the test chooses. Release builds and the web page leave
//! them out.

use wgpu::{BufferUsages, Device, Queue};

use super::buffers::{res, Act};
use super::kernels::{
    bind_group_layout, dispatch, step_bind, tiled_kernels, uniform_at, Slot, Step, Tiled, ROWS_K, ROWS_M,
};
use super::readback;
use super::tuning::Tuning;
use super::GpuBackend;
use crate::backend::Backend;
use crate::Result;

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

impl GpuBackend {
    /// `n` values of one activation.
    async fn read_act<T: bytemuck::Pod>(&self, act: Act, n: usize) -> Result<Vec<T>> {
        let (buf, off) = self.work.acts.get(act);
        self.read_buffer(buf, off, n).await
    }

    /// Runs one training step and reads back every intermediate buffer.
    pub async fn trace_step(&mut self, step: u64, lr: f32) -> Result<StepTrace> {
        let loss = self.train(step, &[lr]).await?[0];
        let mc = &self.model;
        let b = self.cfg.batch_size;
        let (t, te, h, v) = (mc.block_size, mc.n_in(), mc.n_hidden, mc.vocab_size);
        let n = self.n_params();
        Ok(StepTrace {
            loss,
            xb: self.read_act(Act::Xb, b * t).await?,
            yb: self.read_act(Act::Yb, b).await?,
            emb: self.read_act(Act::Emb, b * te).await?,
            h: self.read_act(Act::H, b * h).await?,
            dlogits: self.read_act(Act::Logits, b * v).await?,
            rowloss: self.read_act(Act::Rowloss, b).await?,
            dpre: self.read_act(Act::Dh, b * h).await?,
            demb: self.read_act(Act::Demb, b * te).await?,
            grads: self.read_buffer(&self.work.grads, 0, n).await?,
            params: self.read_buffer(&self.work.params, 0, n).await?,
        })
    }
}

/// What one tiled matmul wrote: the activations buffer and the partials buffer.
pub struct TiledOut {
    pub act: Vec<f32>,
    pub parts: Vec<f32>,
}

/// Runs `matmul_tiled.wgsl` once with `tuning`'s tile and `epilogue` over `rows`
/// step rows, on an activations buffer holding `act`, parameters `params` and
/// `parts_len` zeroed partials, and reads both writable buffers back.
#[allow(clippy::too_many_arguments)]
pub async fn run_tiled(
    device: &Device,
    queue: &Queue,
    tuning: &Tuning,
    epilogue: u32,
    t: &Tiled,
    rows: u32,
    act: &[f32],
    params: &[f32],
    parts_len: usize,
) -> Result<TiledOut> {
    let step_layout = bind_group_layout(device, "step", &[Slot::Uniform], true);
    let kernels = tiled_kernels(device, &step_layout, tuning);
    let make = |label, bytes: &[u8], usage| {
        use wgpu::util::DeviceExt;
        device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: Some(label), contents: bytes, usage })
    };
    let rw = BufferUsages::STORAGE | BufferUsages::COPY_SRC;
    let act_buf = make("act", bytemuck::cast_slice(act), rw);
    let params_buf = make("params", bytemuck::cast_slice(params), BufferUsages::STORAGE);
    let parts_buf = make("parts", &vec![0u8; parts_len.max(1) * 4], rw);
    let uniform = make("tiled", bytemuck::bytes_of(t), BufferUsages::UNIFORM);
    let step = Step { rows, ..Step::default() };
    let step_buf = make("step", bytemuck::bytes_of(&step), BufferUsages::UNIFORM);
    let size = |b: &wgpu::Buffer| b.size();
    let bind = kernels[epilogue as usize].bind(
        device,
        &[uniform_at(&uniform, 0, size(&uniform)), res(&act_buf), res(&params_buf), res(&params_buf), res(&parts_buf)],
    );
    let step_bind = step_bind(device, &step_layout, &step_buf);
    let dim = |value: u32, bit: u32| if t.rows_in & bit != 0 { rows } else { value };
    let rows_out = dim(t.m, ROWS_M) + t.ones_row;
    let splits = dim(t.k, ROWS_K).div_ceil(t.split_rows).max(1);
    let grid = (t.n.div_ceil(tuning.tile), rows_out.div_ceil(tuning.tile) * splits);
    let staging = |b: &wgpu::Buffer| {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: b.size(),
            usage: BufferUsages::MAP_READ | BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    };
    let (act_back, parts_back) = (staging(&act_buf), staging(&parts_buf));
    let mut enc = device.create_command_encoder(&Default::default());
    {
        let mut pass = enc.begin_compute_pass(&Default::default());
        dispatch(&mut pass, &kernels[epilogue as usize], &bind, &step_bind, 0, grid);
    }
    enc.copy_buffer_to_buffer(&act_buf, 0, &act_back, 0, act_buf.size());
    enc.copy_buffer_to_buffer(&parts_buf, 0, &parts_back, 0, parts_buf.size());
    queue.submit([enc.finish()]);
    Ok(TiledOut {
        act: readback::read(device, &act_back, act.len()).await?,
        parts: readback::read(device, &parts_back, parts_len).await?,
    })
}
