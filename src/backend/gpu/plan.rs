//! The pass table: for a model, a run and a kernel set, every dispatch of a
//! training step or evaluation tile, in order, with its grid and what it costs.
//! The command encoder ([`super::GpuBackend`]) dispatches exactly these rows, and
//! `makemore gpu-plan` prints them, so the report cannot drift from what runs.
//! Everything here comes from shapes and limits alone: no device is needed.
//!
//! Cost columns (per dispatch): workgroups, invocations per workgroup, the longest
//! serial loop one invocation runs (iterations of its longest loop nest), FLOPs,
//! compulsory global bytes (each distinct element read or written once),
//! workgroup memory and barriers per invocation. [`bound_us`] turns the totals into
//! a roofline lower bound per GPU class: a bound from published peaks, not a
//! measurement.

use serde::Serialize;

use super::kernels::*;
use super::tuning::{Tuning, TILED_WG, TILE_K};
use crate::backend::cpu::use_tables;
use crate::backend::KernelSet;
use crate::config::{Optimizer, TrainConfig};
use crate::model::ModelConfig;
use crate::model::{Layout, Tensor};

/// The hardware set's longest serial loop: a pass whose loop over the batch would
/// run longer splits the batch across workgroups (split-K) instead.
pub const HW_MAX_LOOP: u32 = 512;
/// Invocations per workgroup of the hardware per-row pass (one workgroup per row).
pub const HW_ROW_WG: u32 = 64;
/// Invocations per workgroup of the hardware per-parameter passes.
pub const HW_PARAM_WG: u32 = 256;
/// Invocations per workgroup of the software matmul (8×8, each a 4×4 block).
const MATMUL_WG: u32 = 64;
/// WebGPU's default `maxComputeWorkgroupsPerDimension`, for reports without a device.
pub const DEFAULT_MAX_DIM: u32 = 65_535;

/// Training step or evaluation tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Train,
    Eval,
}

/// The shapes and run constants the table depends on.
#[derive(Clone, Debug)]
pub struct Shapes {
    pub t: u32,
    pub e: u32,
    pub h: u32,
    pub v: u32,
    pub te: u32,
    pub direct: bool,
    pub batch: u32,
    pub n_params: u32,
    pub optimizer: Optimizer,
    /// Whether any L2 λ is non-zero (the loss then reads the parameters).
    pub l2: bool,
    pub max_dim: u32,
    /// The adapter class's parallelism constants.
    pub tuning: Tuning,
    /// Whether the software set's training steps go through the embedding tables
    /// (the CPU backend's rule, [`use_tables`]; see `shaders/table.wgsl`).
    pub table: bool,
    layout: Layout,
}

impl Shapes {
    pub fn new(m: &ModelConfig, cfg: &TrainConfig, max_dim: u32, tuning: Tuning) -> Self {
        let layout = Layout::new(m);
        Shapes {
            t: m.block_size as u32,
            e: m.n_embd as u32,
            h: m.n_hidden as u32,
            v: m.vocab_size as u32,
            te: m.n_in() as u32,
            direct: m.direct,
            batch: cfg.batch_size as u32,
            n_params: layout.total as u32,
            optimizer: cfg.optimizer,
            l2: cfg.l2.c != 0.0 || cfg.l2.w1 != 0.0 || cfg.l2.w2 != 0.0,
            max_dim,
            tuning,
            table: use_tables(m, cfg.batch_size),
            layout,
        }
    }

    /// Where tensor `t` starts in the parameters (0 for W3 without direct connections).
    pub fn off(&self, t: Tensor) -> u32 {
        self.layout.range(t).start as u32
    }

    /// Where C starts in the parameters.
    pub fn c_off(&self) -> u32 {
        self.off(Tensor::C)
    }

    /// Whether a hardware training step of `rows` rows runs the tiled program
    /// (`matmul_tiled.wgsl`), chosen by shape as TF.js's `BatchMatMul_impl` does:
    /// only when its passes over the batch, TILE rows per workgroup, reach the
    /// adapter's `split_k_groups` workgroups. Below that the tiles leave the GPU
    /// idle, and the per-row kernel (one workgroup per row, ≤ 3 dispatches a step)
    /// fills it better; above it the per-row kernel rereads every weight per row,
    /// and staging weight tiles in workgroup memory saves that traffic.
    pub fn tiled(&self, rows: u32) -> bool {
        rows.div_ceil(self.tuning.tile) >= self.tuning.split_k_groups
    }

    /// Rows per split of the hardware weight gradients at `rows` rows: the
    /// embedding gradient walks rows × T positions, at most [`HW_MAX_LOOP`]. The
    /// tiled program splits further, until its weight gradient with the fewest
    /// workgroups reaches `split_k_groups`, keeping `min_split` rows per split.
    pub fn hw_split_rows(&self, rows: u32) -> u32 {
        let most = (HW_MAX_LOOP / self.t).max(1);
        if !self.tiled(rows) {
            return most;
        }
        let tile = self.tuning.tile;
        let (_, backward) = mats(self);
        let fewest = backward
            .iter()
            .filter(|spec| spec.mat.rows_in & ROWS_K != 0)
            .map(|spec| (spec.mat.m + spec.mat.ones_row).div_ceil(tile) * spec.mat.n.div_ceil(tile))
            .fold(self.hw_c_groups(), u32::min);
        let want = rows.saturating_mul(fewest).div_ceil(self.tuning.split_k_groups);
        want.max(self.tuning.min_split).min(most)
    }

    /// Splits of the hardware weight gradients at `rows` rows (1: the fused pass).
    pub fn hw_splits(&self, rows: u32) -> u32 {
        rows.div_ceil(self.hw_split_rows(rows)).max(1)
    }

    /// Workgroups over C's entries of `params.partial_c` (the tiled program).
    pub fn hw_c_groups(&self) -> u32 {
        (self.v * self.e).div_ceil(HW_PARAM_WG)
    }

    /// Workgroups of the hardware per-parameter passes.
    pub fn hw_param_groups(&self) -> u32 {
        self.n_params.div_ceil(HW_PARAM_WG)
    }
}

/// A buffer (or a region of the activation arena) a matmul pass binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buf {
    Emb,
    H,
    Logits,
    Dh,
    Demb,
    Params,
    Grads,
    /// The embedding tables C @ W_t of the table path: (T, V, H) then (T, V, V).
    Tables,
    /// Their gradients, laid out alike.
    TableGrads,
}

/// One linear-layer pass of the software set: its uniform and its buffers (a, b, aux, out).
#[derive(Clone, Copy, Debug)]
pub struct MatSpec {
    pub name: &'static str,
    pub mat: Mat,
    pub bufs: [Buf; 4],
}

impl MatSpec {
    /// Whether it reads the embeddings or writes their gradient: the layers the
    /// table path replaces.
    pub fn embedded(&self) -> bool {
        self.bufs[0] == Buf::Emb || self.bufs[3] == Buf::Demb
    }
}

/// The software set's matmul passes, forward then backward, in dispatch order
/// (see the module docs of [`super`]): (forward, backward).
pub fn mats(s: &Shapes) -> (Vec<MatSpec>, Vec<MatSpec>) {
    use Buf::*;
    let (h, v, te) = (s.h, s.v, s.te);
    let (w1, b1, w2, b2, w3) =
        (s.off(Tensor::W1), s.off(Tensor::B1), s.off(Tensor::W2), s.off(Tensor::B2), s.off(Tensor::W3));
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
        splits: k_splits(m + ones_row, n, s.batch, &s.tuning),
        ..Mat::default()
    };
    let spec = |name, mat, bufs| MatSpec { name, mat, bufs };
    let forward = [
        Some(spec(
            "h = tanh(emb@W1+b1)",
            rows_pass(h, te, [0, te, 1], [w1, h, 1], EPI_BIAS_TANH, b1),
            [Emb, Params, Params, H],
        )),
        Some(spec(
            "logits = h@W2+b2",
            rows_pass(v, h, [0, h, 1], [w2, v, 1], EPI_BIAS, b2),
            [H, Params, Params, Logits],
        )),
        s.direct.then(|| {
            spec(
                "logits += emb@W3",
                rows_pass(v, te, [0, te, 1], [w3, v, 1], EPI_ACCUMULATE, 0),
                [Emb, Params, Params, Logits],
            )
        }),
    ];
    let backward = [
        Some(spec("[dW2;db2] = [h,1]ᵀ@dlogits", grad_pass(h, v, w2, 1), [H, Logits, H, Grads])),
        s.direct.then(|| spec("dW3 = embᵀ@dlogits", grad_pass(te, v, w3, 0), [Emb, Logits, Emb, Grads])),
        Some(spec(
            "dpre = (dlogits@W2ᵀ)⊙(1−h²)",
            rows_pass(h, v, [0, v, 1], [w2, 1, v], EPI_TANH_GRAD, 0),
            [Logits, Params, H, Dh],
        )),
        Some(spec("[dW1;db1] = [emb,1]ᵀ@dpre", grad_pass(te, h, w1, 1), [Emb, Dh, Emb, Grads])),
        s.direct.then(|| {
            spec(
                "demb = dlogits@W3ᵀ",
                rows_pass(te, v, [0, v, 1], [w3, 1, v], EPI_NONE, 0),
                [Logits, Params, Params, Demb],
            )
        }),
        Some(spec(
            "demb (+)= dpre@W1ᵀ",
            rows_pass(te, h, [0, h, 1], [w1, 1, h], if s.direct { EPI_ACCUMULATE } else { EPI_NONE }, 0),
            [Dh, Params, Params, Demb],
        )),
    ];
    (present(forward), present(backward))
}

/// The table path's matmuls (software set, training steps with [`Shapes::table`]):
/// (the tables C @ W_t, the hidden layer's gradients from ds_h, the direct
/// connections' gradients from ds_v). The last hidden gradient pass adds a ones
/// row, whose output row lands on b1 (right after W1): Σ_v ds_h[T−1] = Σ_rows dpre.
pub fn table_mats(s: &Shapes) -> (Vec<MatSpec>, Vec<MatSpec>, Vec<MatSpec>) {
    use Buf::*;
    let (t, e, h, v) = (s.t, s.e, s.h, s.v);
    let c = s.c_off();
    let spec = |name, mat, bufs| MatSpec { name, mat, bufs };
    let mat = |m, n, k, a, b, out_off, out_sm, epilogue| Mat {
        m,
        n,
        k,
        a,
        b,
        out_off,
        out_sm,
        epilogue,
        splits: 1,
        ..Mat::default()
    };
    // Layer W (T·E, n) at w_off with tables at table_off: per position t, the table
    // C @ W_t, then dW_t = Cᵀ @ ds_t (+ the ones row) and dC (+)= ds_t @ W_tᵀ.
    let layer = |w_off: u32, n: u32, table_off: u32, first_dc: bool, bias: bool| {
        let tables: Vec<MatSpec> = (0..t)
            .map(|p| {
                let m = mat(v, n, e, [c, e, 1], [w_off + p * e * n, n, 1], table_off + p * v * n, n, EPI_NONE);
                spec("table_t = C@W_t", m, [Params, Params, Params, Tables])
            })
            .collect();
        let dw = (0..t).map(|p| {
            let mut m = mat(e, n, v, [c, 1, e], [table_off + p * v * n, n, 1], w_off + p * e * n, n, EPI_NONE);
            m.ones_row = u32::from(bias && p == t - 1);
            spec(
                if m.ones_row == 1 { "[dW_t; db] = [C,1]ᵀ@ds_t" } else { "dW_t = Cᵀ@ds_t" },
                m,
                [Params, TableGrads, Params, Grads],
            )
        });
        let dc = (0..t).map(|p| {
            let epilogue = if first_dc && p == 0 { EPI_NONE } else { EPI_ACCUMULATE };
            let m = mat(v, e, n, [table_off + p * v * n, n, 1], [w_off + p * e * n, 1, n], c, e, epilogue);
            spec("dC (+)= ds_t@W_tᵀ", m, [TableGrads, Params, Params, Grads])
        });
        (tables, dw.chain(dc).collect::<Vec<_>>())
    };
    let (mut tables, hidden) = layer(s.off(Tensor::W1), h, 0, true, true);
    let mut direct = Vec::new();
    if s.direct {
        let (t3, g3) = layer(s.off(Tensor::W3), v, t * v * h, false, false);
        tables.extend(t3);
        direct = g3;
    }
    (tables, hidden, direct)
}

/// Values of the table path's tables (and of their gradients): (T, V, H) then (T, V, V).
pub fn table_len(s: &Shapes) -> u64 {
    u64::from(s.t) * u64::from(s.v) * u64::from(s.h + if s.direct { s.v } else { 0 })
}

fn present<const N: usize>(specs: [Option<MatSpec>; N]) -> Vec<MatSpec> {
    specs.into_iter().flatten().collect()
}

/// The pipeline a pass runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KernelId {
    Batch,
    EmbedForward,
    /// The software matmul with this epilogue (`EPI_*`).
    Matmul(u32),
    Reduce,
    Xent,
    Loss,
    EmbedBackward,
    Optim,
    /// Table path: a row's layer input as Σ_t table[t, x_t].
    TableForward,
    /// Table path: the tables' gradient, scattered from the rows by token.
    TableBackward,
    /// Hardware: the whole forward and backward of one row per workgroup.
    Rows,
    /// Hardware, tiled program: gather and embed, one workgroup per row.
    RowsGather,
    /// Hardware, tiled program: softmax cross-entropy, one workgroup per row.
    RowsXent,
    /// Hardware, tiled program: `matmul_tiled.wgsl` with this epilogue (`EPI_*`).
    Tiled(u32),
    /// Hardware, tiled program: C's gradient partials and the loss partials.
    ParamsC,
    /// Hardware: weight gradients, loss, guard and update in one pass (small batches).
    ParamsFused,
    /// Hardware: one split's weight gradients and loss partial (large batches).
    ParamsPartial,
    /// Hardware: the splits added in order, then loss, guard and update.
    ParamsReduce,
}

/// The bind group a pass uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BindId {
    /// The split's gather (software batch, hardware rows).
    Gather,
    EmbedForward,
    /// The i-th matmul of [`mats`] (forward then backward).
    Mat(usize),
    /// The reduce after the i-th matmul's split-K partials.
    MatReduce(usize),
    Xent,
    Loss,
    EmbedBackward,
    EmbedReduce,
    Optim,
    /// The table path's i-th matmul of [`table_mats`] (tables, hidden, direct).
    TableMat(usize),
    /// The table path's gather (0 hidden, 1 direct connections).
    TableForward(usize),
    /// The table path's scatter (0 hidden, 1 direct connections).
    TableBackward(usize),
    /// The hardware per-parameter passes.
    Params,
    /// The tiled program's i-th matmul of [`mats`] (forward then backward).
    Tiled(usize),
}

/// One dispatch of the table.
#[derive(Clone, Debug, Serialize)]
pub struct Pass {
    pub name: String,
    pub kernel: KernelId,
    pub bind: BindId,
    /// The dispatch grid (x, y).
    pub grid: (u32, u32),
    pub invocations: u32,
    pub longest_loop: u64,
    pub flops: u64,
    pub bytes: u64,
    pub workgroup_bytes: u32,
    pub barriers: u32,
    /// Whether it reads per-row activations (a pass over the batch).
    pub over_batch: bool,
}

impl Pass {
    pub fn workgroups(&self) -> u64 {
        u64::from(self.grid.0) * u64::from(self.grid.1)
    }
}

/// Barriers of a tree sum over `wg` lanes in workgroup memory.
fn tree_barriers(wg: u32) -> u32 {
    wg.trailing_zeros() + 2
}

/// loss.wgsl (one workgroup) over `rows` row losses, plus `l2_sums` L2 sums over
/// `l2_params` parameters.
fn loss_pass(rows: u32, l2_params: u64, l2_sums: u32) -> Pass {
    let r = u64::from(rows);
    Pass {
        name: "loss".into(),
        kernel: KernelId::Loss,
        bind: BindId::Loss,
        grid: (1, 1),
        invocations: WG_1D,
        longest_loop: u64::from(rows.div_ceil(WG_1D)).max(l2_params.div_ceil(u64::from(WG_1D))),
        flops: r + 2 * l2_params,
        bytes: 4 * (r + l2_params + 1),
        workgroup_bytes: WG_1D * 4,
        barriers: tree_barriers(WG_1D) * (1 + l2_sums),
        over_batch: true,
    }
}

/// The dispatches of one training step (`Mode::Train`, rows = the batch) or
/// evaluation tile of `rows` rows, in order.
pub fn passes(s: &Shapes, set: KernelSet, mode: Mode, rows: u32) -> Vec<Pass> {
    match set {
        KernelSet::Software => software(s, mode, rows),
        KernelSet::Hardware => hardware(s, mode, rows),
    }
}

fn software(s: &Shapes, mode: Mode, rows: u32) -> Vec<Pass> {
    let md = s.max_dim;
    let (r, t, te, v) = (u64::from(rows), u64::from(s.t), u64::from(s.te), u64::from(s.v));
    let one_d = |name: &str, kernel, bind, n: u32, longest_loop, flops, bytes, over_batch| {
        one_d_pass(md, name, (kernel, bind), n, (longest_loop, flops, bytes), over_batch)
    };
    let table = mode == Mode::Train && s.table;
    let mut out = vec![one_d("batch", KernelId::Batch, BindId::Gather, rows, t, 0, 4 * r * (2 * t + 2), true)];
    if !table {
        out.push(one_d(
            "emb = C[xb]",
            KernelId::EmbedForward,
            BindId::EmbedForward,
            rows * s.te,
            1,
            0,
            4 * (r * t + 2 * r * te),
            true,
        ));
    }
    let (forward, backward) = mats(s);
    let n_forward = forward.len();
    let mat_pass = |out: &mut Vec<Pass>, bind: BindId, spec: &MatSpec| {
        let m = &spec.mat;
        let c = MatCost::new(spec, rows, m.splits);
        out.push(Pass {
            name: spec.name.into(),
            kernel: KernelId::Matmul(m.epilogue),
            bind,
            grid: (m.n.div_ceil(TILE), c.rows_out.div_ceil(TILE) * m.splits),
            invocations: MATMUL_WG,
            longest_loop: u64::from(c.k.div_ceil(m.splits)),
            flops: c.flops,
            bytes: c.bytes,
            workgroup_bytes: 0,
            barriers: 0,
            over_batch: m.rows_in != 0,
        });
        if let (true, BindId::Mat(i)) = (m.splits > 1, bind) {
            let (rows_out, partials) = (c.rows_out, c.partials);
            let len = rows_out * m.n;
            let flops = u64::from(m.splits) * u64::from(len);
            let bytes = 4 * (partials + u64::from(len));
            out.push(one_d(
                "reduce split-K",
                KernelId::Reduce,
                BindId::MatReduce(i),
                len,
                u64::from(m.splits),
                flops,
                bytes,
                false,
            ));
        }
    };
    let (tables, hidden, direct) = if table { table_mats(s) } else { Default::default() };
    let n_tables = tables.len();
    // The table path's gather (0 hidden, 1 direct) over (rows, n) outputs.
    let gather = |i: usize, n: u32, name: &str| {
        let work = r * u64::from(n);
        one_d(
            name,
            KernelId::TableForward,
            BindId::TableForward(i),
            rows * n,
            t,
            t * work,
            4 * (r * t + work * (t + 1)),
            true,
        )
    };
    tables.iter().enumerate().for_each(|(i, spec)| mat_pass(&mut out, BindId::TableMat(i), spec));
    for (i, spec) in forward.iter().enumerate() {
        if !table || !spec.embedded() {
            mat_pass(&mut out, BindId::Mat(i), spec);
        } else if i == 0 {
            out.push(gather(0, s.h, "h = tanh(b1 + Σ_t table_t[x_t])"));
        }
    }
    if table && s.direct {
        out.push(gather(1, s.v, "logits += Σ_t table3_t[x_t]"));
    }
    out.push(one_d("softmax xent", KernelId::Xent, BindId::Xent, rows, 3 * v, 5 * r * v, 4 * r * (2 * v + 2), true));
    let l2_params = if mode == Mode::Train && s.l2 { u64::from(s.v * s.e + s.te * s.h + s.h * s.v) } else { 0 };
    let l2_sums = if mode == Mode::Train && s.l2 { 3 } else { 0 };
    out.push(loss_pass(rows, l2_params, l2_sums));
    if mode == Mode::Eval {
        return out;
    }
    for (i, spec) in backward.iter().enumerate().filter(|(_, spec)| !table || !spec.embedded()) {
        mat_pass(&mut out, BindId::Mat(n_forward + i), spec);
    }
    if table {
        // The scatter over (T, V, n) table entries, each walking the rows.
        let scatter = |i: usize, n: u32, name: &str| {
            let entries = s.t * s.v * n;
            let bytes = 4 * (r * t + r * u64::from(n) + u64::from(entries));
            one_d(
                name,
                KernelId::TableBackward,
                BindId::TableBackward(i),
                entries,
                r,
                r * u64::from(entries),
                bytes,
                true,
            )
        };
        out.push(scatter(0, s.h, "ds_h = Σ dpre rows by token"));
        let at = n_tables;
        hidden.iter().enumerate().for_each(|(i, spec)| mat_pass(&mut out, BindId::TableMat(at + i), spec));
        if s.direct {
            out.push(scatter(1, s.v, "ds_v = Σ dlogits rows by token"));
            let at = n_tables + hidden.len();
            direct.iter().enumerate().for_each(|(i, spec)| mat_pass(&mut out, BindId::TableMat(at + i), spec));
        }
    } else {
        embed_backward(s, rows, &mut out);
    }
    let n = u64::from(s.n_params);
    out.push(one_d("optimizer", KernelId::Optim, BindId::Optim, s.n_params, 1, 10 * n, update_bytes(s), false));
    out
}

/// A software 1-D pass over `n` invocations: (longest loop, FLOPs, bytes).
fn one_d_pass(
    md: u32,
    name: &str,
    (kernel, bind): (KernelId, BindId),
    n: u32,
    cost: (u64, u64, u64),
    over_batch: bool,
) -> Pass {
    let (longest_loop, flops, bytes) = cost;
    Pass {
        name: name.into(),
        kernel,
        bind,
        grid: grid(n.div_ceil(WG_1D), md),
        invocations: WG_1D,
        longest_loop,
        flops,
        bytes,
        workgroup_bytes: 0,
        barriers: 0,
        over_batch,
    }
}

/// The software set's embedding backward (dC by token, in chunks) and its reduce.
fn embed_backward(s: &Shapes, rows: u32, out: &mut Vec<Pass>) {
    let (r, t, v, e) = (u64::from(rows), u64::from(s.t), u64::from(s.v), u64::from(s.e));
    let md = s.max_dim;
    let one_d = |name: &str, kernel, bind, n: u32, longest_loop, flops, bytes, over_batch| {
        one_d_pass(md, name, (kernel, bind), n, (longest_loop, flops, bytes), over_batch)
    };
    let chunks = dc_chunks(rows, s.t, s.tuning.dc_chunk);
    let positions = r * t;
    out.push(one_d(
        "dC = Σ demb by token",
        KernelId::EmbedBackward,
        BindId::EmbedBackward,
        chunks * s.e,
        v + u64::from(s.tuning.dc_chunk).min(positions),
        positions * e,
        4 * (positions + positions * e + u64::from(chunks) * v * e),
        true,
    ));
    if chunks > 1 {
        let len = s.v * s.e;
        let (c, l) = (u64::from(chunks), u64::from(len));
        out.push(one_d(
            "reduce dC chunks",
            KernelId::Reduce,
            BindId::EmbedReduce,
            len,
            c,
            c * l,
            4 * (c * l + l),
            false,
        ));
    }
}

/// Compulsory bytes of the optimizer update: params and gradients (+ Adam's moments).
fn update_bytes(s: &Shapes) -> u64 {
    let n = u64::from(s.n_params);
    4 * if s.optimizer == Optimizer::Sgd { 3 * n } else { 7 * n }
}

/// What one matmul pass over `rows` rows with `splits` K splits computes and moves.
struct MatCost {
    k: u32,
    rows_out: u32,
    flops: u64,
    /// Compulsory bytes, the partials included.
    bytes: u64,
    /// Values of the split-K partials (0 unsplit).
    partials: u64,
}

impl MatCost {
    fn new(spec: &MatSpec, rows: u32, splits: u32) -> Self {
        let m = &spec.mat;
        let dim = |value: u32, bit: u32| if m.rows_in & bit != 0 { rows } else { value };
        let (mm, k) = (dim(m.m, ROWS_M), dim(m.k, ROWS_K));
        let rows_out = mm + m.ones_row;
        let (m64, n64, k64) = (u64::from(rows_out), u64::from(m.n), u64::from(k));
        let partials = if splits > 1 { u64::from(splits) * m64 * n64 } else { 0 };
        MatCost {
            k,
            rows_out,
            flops: 2 * m64 * n64 * k64,
            bytes: 4 * (u64::from(mm) * k64 + k64 * n64 + m64 * n64 + partials),
            partials,
        }
    }
}

/// The pass that adds the hardware set's split partials in order, then loss, guard and update.
fn params_reduce(s: &Shapes, splits: u32) -> Pass {
    let n = u64::from(s.n_params);
    let sp = u64::from(splits);
    Pass {
        name: "params: splits added, loss, guard, update".into(),
        kernel: KernelId::ParamsReduce,
        bind: BindId::Params,
        grid: grid(s.hw_param_groups(), s.max_dim),
        invocations: HW_PARAM_WG,
        longest_loop: sp,
        flops: sp * n + 10 * n,
        bytes: 4 * sp * (n + 1) + update_bytes(s),
        workgroup_bytes: HW_PARAM_WG * 4,
        barriers: tree_barriers(HW_PARAM_WG),
        over_batch: false,
    }
}

/// The hardware set's tiled program for the largest batches (see [`Shapes::tiled`]):
/// the layer table of [`mats`] through `matmul_tiled.wgsl`, with the per-row gather
/// and cross-entropy of `rows.wgsl` around it, C's gradient and the loss partials
/// from `params.wgsl`, and its reduce.
fn tiled(s: &Shapes, rows: u32) -> Vec<Pass> {
    let md = s.max_dim;
    let (r, t, te, v, e) = (u64::from(rows), u64::from(s.t), u64::from(s.te), u64::from(s.v), u64::from(s.e));
    let lanes = |n: u32| u64::from(n.div_ceil(HW_ROW_WG));
    let splits = s.hw_splits(rows);
    let split_rows = s.hw_split_rows(rows);
    let l2_params = u64::from(s.v * s.e + s.te * s.h + s.h * s.v);
    let l2_loop = if s.l2 { l2_params.div_ceil(u64::from(HW_ROW_WG)) } else { 0 };
    let mut out = vec![Pass {
        name: "rows: gather, emb = C[xb]".into(),
        kernel: KernelId::RowsGather,
        bind: BindId::Gather,
        grid: grid(rows + 1, md),
        invocations: HW_ROW_WG,
        longest_loop: lanes(s.te).max(l2_loop),
        flops: if s.l2 { 2 * l2_params } else { 0 },
        bytes: 4 * (r * (t + 1) + r * (t + 1 + te) + if s.l2 { l2_params } else { v * e }),
        workgroup_bytes: HW_ROW_WG * 4,
        barriers: if s.l2 { 3 * tree_barriers(HW_ROW_WG) } else { 0 },
        over_batch: true,
    }];
    let (forward, backward) = mats(s);
    let n_forward = forward.len();
    let tile = s.tuning.tile;
    let mat_pass = |i: usize, spec: &MatSpec| {
        let m = &spec.mat;
        let k_split = m.rows_in & ROWS_K != 0;
        let sp = if k_split { splits } else { 1 };
        let c = MatCost::new(spec, rows, sp);
        let per_split = if k_split { c.k.min(split_rows) } else { c.k };
        Pass {
            name: spec.name.into(),
            kernel: KernelId::Tiled(m.epilogue),
            bind: BindId::Tiled(i),
            grid: (m.n.div_ceil(tile), c.rows_out.div_ceil(tile) * sp),
            invocations: TILED_WG,
            longest_loop: u64::from(per_split),
            flops: c.flops,
            bytes: c.bytes,
            workgroup_bytes: s.tuning.tile_bytes(),
            barriers: 2 * per_split.div_ceil(TILE_K),
            over_batch: true,
        }
    };
    out.extend(forward.iter().enumerate().map(|(i, spec)| mat_pass(i, spec)));
    out.push(Pass {
        name: "rows: softmax xent".into(),
        kernel: KernelId::RowsXent,
        bind: BindId::Gather,
        grid: grid(rows, md),
        invocations: HW_ROW_WG,
        longest_loop: 2 * v,
        flops: 5 * r * v,
        bytes: 4 * r * (2 * v + 2),
        workgroup_bytes: 0,
        barriers: 1,
        over_batch: true,
    });
    out.extend(backward.iter().enumerate().map(|(i, spec)| mat_pass(n_forward + i, spec)));
    let sp = u64::from(splits);
    out.push(Pass {
        name: format!("params: dC and loss of {splits} row splits"),
        kernel: KernelId::ParamsC,
        bind: BindId::Params,
        grid: grid(s.hw_c_groups() * splits, md),
        invocations: HW_PARAM_WG,
        longest_loop: u64::from(split_rows) * t,
        flops: r * t * e,
        bytes: 4 * (r * t + r * te + r + sp * (v * e + 1)),
        workgroup_bytes: HW_PARAM_WG * 4,
        barriers: tree_barriers(HW_PARAM_WG),
        over_batch: true,
    });
    out.push(params_reduce(s, splits));
    out
}

fn hardware(s: &Shapes, mode: Mode, rows: u32) -> Vec<Pass> {
    if mode == Mode::Train && s.tiled(rows) {
        return tiled(s, rows);
    }
    let md = s.max_dim;
    let (r, t, te, h, v) = (u64::from(rows), u64::from(s.t), u64::from(s.te), u64::from(s.h), u64::from(s.v));
    let lanes = |n: u32| u64::from(n.div_ceil(HW_ROW_WG));
    let train = mode == Mode::Train;
    let w3 = if s.direct { te * v } else { 0 };
    // Per row: h, logits (+ direct), softmax; backward dpre and demb (+ direct).
    let fwd_flops = 2 * (te * h + h * v + w3) + 5 * v;
    let bwd_flops = 2 * (h * v + te * h + w3);
    let row_loops = [
        lanes(s.h) * te,
        lanes(s.v) * (h + if s.direct { te } else { 0 }),
        2 * v,
        if train { lanes(s.h) * v } else { 0 },
        if train { lanes(s.te) * (h + if s.direct { v } else { 0 }) } else { 0 },
    ];
    let l2_params = u64::from(s.v * s.e + s.te * s.h + s.h * s.v);
    let l2_loop = if train && s.l2 { l2_params.div_ceil(u64::from(HW_ROW_WG)) } else { 0 };
    let acts = if train { 2 * te + 3 * h + 2 * v + t + 2 } else { te + h + v + t + 2 };
    let weights = u64::from(s.n_params);
    let mut out = vec![Pass {
        name: if train { "rows: gather, forward, xent, backward" } else { "rows: gather, forward, xent" }.into(),
        kernel: KernelId::Rows,
        bind: BindId::Gather,
        grid: grid(rows + u32::from(train), md),
        invocations: HW_ROW_WG,
        longest_loop: row_loops.into_iter().max().unwrap_or(0).max(l2_loop),
        flops: r * (fwd_flops + if train { bwd_flops } else { 0 }),
        bytes: 4 * (r * (t + 1) + weights + r * acts),
        workgroup_bytes: HW_ROW_WG * 4,
        barriers: if train { 6 } else { 4 },
        over_batch: true,
    }];
    if !train {
        out.push(loss_pass(rows, 0, 0));
        return out;
    }
    let n = u64::from(s.n_params);
    let groups = s.hw_param_groups();
    let splits = s.hw_splits(rows);
    // Each weight gradient entry sums one product per row; dC entries scan rows × T positions.
    let grad_flops = 2 * r * (te * h + h + h * v + v + w3) + r * t * u64::from(s.e);
    let grad_bytes = 4 * r * (2 * te + 2 * h + v + t);
    let loss_barriers = tree_barriers(HW_PARAM_WG);
    if splits == 1 {
        out.push(Pass {
            name: "params: gradients, loss, guard, update".into(),
            kernel: KernelId::ParamsFused,
            bind: BindId::Params,
            grid: grid(groups, md),
            invocations: HW_PARAM_WG,
            longest_loop: (r * t).max(u64::from(rows.div_ceil(HW_PARAM_WG))),
            flops: grad_flops + 10 * n,
            bytes: grad_bytes + update_bytes(s),
            workgroup_bytes: HW_PARAM_WG * 4,
            barriers: loss_barriers,
            over_batch: true,
        });
        return out;
    }
    let split_rows = u64::from(s.hw_split_rows(rows));
    let sp = u64::from(splits);
    out.push(Pass {
        name: format!("params: gradients of {splits} row splits"),
        kernel: KernelId::ParamsPartial,
        bind: BindId::Params,
        grid: grid(groups * splits, md),
        invocations: HW_PARAM_WG,
        longest_loop: split_rows * t,
        flops: grad_flops,
        bytes: grad_bytes + 4 * sp * (n + 1),
        workgroup_bytes: HW_PARAM_WG * 4,
        barriers: loss_barriers,
        over_batch: true,
    });
    out.push(params_reduce(s, splits));
    out
}

/// A GPU class for the roofline bound: published peak FP32 FLOP/s and memory bandwidth.
pub struct GpuClass {
    pub name: &'static str,
    pub flops: f64,
    pub bytes_per_s: f64,
}

/// Published peaks (not measured here):
/// - RTX 4070: 29.15 TFLOP/s FP32 (5888 CUDA cores × 2.475 GHz boost × 2) and 504.2 GB/s
///   (21 Gbps GDDR6X × 192 bit), NVIDIA's GeForce RTX 4070 family specifications page.
/// - Apple M2 (10-core GPU): 3.6 TFLOP/s and 100 GB/s, Apple's M2 announcement (June 2022).
/// - Intel Xe iGPU (Iris Xe, 96 EU, Core i7-1185G7): 96 EU × 16 FP32 FLOP/clock × 1.35 GHz
///   = 2.07 TFLOP/s, and 68.3 GB/s (dual-channel LPDDR4x-4266), Intel ARK.
/// - H200 (SXM): 67 TFLOP/s FP32 and 4.8 TB/s HBM3e, NVIDIA's H200 datasheet.
pub const GPU_CLASSES: [GpuClass; 4] = [
    GpuClass { name: "RTX 4070", flops: 29.15e12, bytes_per_s: 504.2e9 },
    GpuClass { name: "Apple M2", flops: 3.6e12, bytes_per_s: 100e9 },
    GpuClass { name: "Intel Xe iGPU", flops: 2.07e12, bytes_per_s: 68.3e9 },
    GpuClass { name: "H200", flops: 67e12, bytes_per_s: 4.8e12 },
];

/// Roofline lower bound in µs for `passes` on `gpu`: each dispatch takes at least
/// the longer of its FLOPs at peak and its compulsory bytes at full bandwidth, and
/// a step's dispatches depend on each other. A bound, not a measurement: it leaves
/// out launch overhead, occupancy and cache misses.
pub fn bound_us(passes: &[Pass], gpu: &GpuClass) -> f64 {
    passes.iter().map(|p| (p.flops as f64 / gpu.flops).max(p.bytes as f64 / gpu.bytes_per_s)).sum::<f64>() * 1e6
}

/// The longest serial loop of any invocation in `passes`.
pub fn longest_loop(passes: &[Pass]) -> u64 {
    passes.iter().map(|p| p.longest_loop).max().unwrap_or(0)
}

/// The fewest workgroups of any pass over the batch rows.
pub fn min_batch_workgroups(passes: &[Pass]) -> u64 {
    passes.iter().filter(|p| p.over_batch).map(Pass::workgroups).min().unwrap_or(0)
}

/// The most workgroup memory any pass uses, in bytes.
pub fn max_workgroup_bytes(passes: &[Pass]) -> u32 {
    passes.iter().map(|p| p.workgroup_bytes).max().unwrap_or(0)
}
