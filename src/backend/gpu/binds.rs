//! Every bind group of the backend, made once when it is built ([`GpuBackend::build`]):
//! the buffers a step uses, the split gathers, and one bind group per pass of the
//! table. A step only sets them.

use std::collections::HashMap;

use wgpu::{BindGroup, Buffer, BufferUsages, Device};

use super::buffers::{res, Act, Acts, Alloc, Owned};
use super::device::{max_binding, too_big};
use super::kernels::*;
use super::plan::{self, BindId, Shapes};
use super::{GpuBackend, SplitBufs, Work, CHUNK};
use crate::backend::KernelSet;
use crate::config::{Optimizer, TrainConfig};
use crate::data::{Dataset, Split};
use crate::model::{Params, Tensor};
use crate::optim::{ADAM_BETA1, ADAM_BETA2, ADAM_EPS};
use crate::rng::batch_key;
use crate::{Error, Result};

/// What [`GpuBackend::build`] makes.
pub(super) struct Built {
    pub work: Work,
    pub owned: Owned,
    pub splits: [SplitBufs; 3],
    pub step_bind: BindGroup,
    pub binds: HashMap<BindId, BindGroup>,
}

impl GpuBackend {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn build(
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
        let step_bind = step_bind(device, &k.step_layout, &w.steps);
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
        // The table path's tables and their gradients (a placeholder without it).
        let (tables, hidden, direct) = if shapes.table { plan::table_mats(shapes) } else { Default::default() };
        let table_bytes = if shapes.table { plan::table_len(shapes) * 4 } else { 4 };
        if table_bytes > max {
            let fix = "use a batch_size below twice the vocabulary, fewer hidden units or a smaller block_size";
            return Err(too_big("the embedding tables", table_bytes, max, fix));
        }
        let table_buf = a.storage("tables", table_bytes as usize);
        let table_grads = a.storage("table gradients", table_bytes as usize);
        let table_specs: Vec<_> = tables.into_iter().chain(hidden).chain(direct).collect();
        let stride = STEP_STRIDE as usize;
        let specs: Vec<_> = forward.into_iter().chain(backward).collect();
        let n_uniforms = 2 * specs.len() + 1 + table_specs.len() + 4;
        let mut uniform_bytes = vec![0u8; n_uniforms * stride];
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
        let table_at: Vec<u64> = table_specs.iter().map(|spec| put(bytemuck::bytes_of(&spec.mat))).collect();
        // The gathers and scatters: (n, where its tables start, bias, hidden).
        let (h, v) = (shapes.h, shapes.v);
        let direct_off = shapes.t * v * h;
        let b1 = shapes.off(Tensor::B1);
        let gathers =
            [Table { n: h, off: 0, bias_off: b1, hidden: 1 }, Table { n: v, off: direct_off, ..Table::default() }]
                .map(|tab| put(bytemuck::bytes_of(&tab)));
        let scatters = [Table { n: h, ..Table::default() }, Table { n: v, off: direct_off, ..Table::default() }]
            .map(|tab| put(bytemuck::bytes_of(&tab)));
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
            plan::Buf::Tables => res(&table_buf),
            plan::Buf::TableGrads => res(&table_grads),
        };
        for (i, (spec, (at, mat, reduce))) in specs.iter().zip(plans).enumerate() {
            let out = if reduce.is_some() { res(&parts) } else { buf(spec.bufs[3]) };
            let r = [uniform_at(&uniforms, at, mat_size), buf(spec.bufs[0]), buf(spec.bufs[1]), buf(spec.bufs[2]), out];
            binds.insert(BindId::Mat(i), k.matmul[mat.epilogue as usize].bind(device, &r));
            if let Some(at) = reduce {
                binds.insert(BindId::MatReduce(i), reducer(at));
            }
        }
        for (i, (spec, at)) in table_specs.iter().zip(table_at).enumerate() {
            let b = |j: usize| buf(spec.bufs[j]);
            let r = [uniform_at(&uniforms, at, mat_size), b(0), b(1), b(2), b(3)];
            binds.insert(BindId::TableMat(i), k.matmul[spec.mat.epilogue as usize].bind(device, &r));
        }
        let table_size = std::mem::size_of::<Table>() as u64;
        let table_io = [(Act::H, Act::Dh), (Act::Logits, Act::Logits)];
        for (i, (at, (out, dout))) in gathers.into_iter().zip(table_io).enumerate() {
            let r = [
                res(dims_buf),
                uniform_at(&uniforms, at, table_size),
                w.acts.bind(Act::Xb),
                res(&table_buf),
                res(&w.params),
                w.acts.bind(out),
            ];
            binds.insert(BindId::TableForward(i), k.table_forward.bind(device, &r));
            let r = [
                res(dims_buf),
                uniform_at(&uniforms, scatters[i], table_size),
                w.acts.bind(Act::Xb),
                w.acts.bind(dout),
                res(&w.params),
                res(&table_grads),
            ];
            binds.insert(BindId::TableBackward(i), k.table_backward.bind(device, &r));
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
