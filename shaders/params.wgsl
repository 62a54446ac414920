// Hardware set (real GPUs): the weight gradients, the step's loss and guard, and
// the optimizer update, with each invocation owning one parameter (owner-computes:
// no atomics, no serial read-modify-write chain through global memory).
//   fused   (small batches) one pass: gradient over all rows, loss, guard, update
//   partial (large batches) split s of the rows: gradient partials and a loss partial
//   reduce  the partials added in split order, then loss, guard, update
//   partial_c (the tiled program, largest batches) as partial, for C's entries only:
//           matmul_tiled.wgsl writes the other partials in the same layout
// Parameter i's gradient is a dot product over rows of two activation columns
// (W1: emb·dpre, b1: dpre, W2: h·dlogits, b2: dlogits, W3: emb·dlogits); C's entry
// (v, e) adds demb over the positions whose token is v. The splits keep every loop
// under plan::HW_MAX_LOOP and fixed orders keep the sums deterministic. Every
// workgroup computes the same loss in the same order; workgroup 0 stores it and
// raises status[0] when it is not finite (the others reach the same verdict).

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<uniform> ar: Arena;
@group(0) @binding(2) var<storage, read> act: array<f32>;
@group(0) @binding(3) var<storage, read_write> params: array<f32>;
@group(0) @binding(4) var<storage, read_write> grads: array<f32>;
@group(0) @binding(5) var<storage, read_write> m1: array<f32>;
@group(0) @binding(6) var<storage, read_write> m2: array<f32>;
@group(0) @binding(7) var<storage, read_write> losses: array<f32>;
@group(0) @binding(8) var<storage, read_write> status: array<u32>;
@group(0) @binding(9) var<storage, read_write> parts: array<f32>; // [0] L2 term; loss and gradient partials

const WG: u32 = 256u;
var<workgroup> red: array<f32, WG>;

// Σ of parameter i's gradient terms over rows [r0, r1).
fn grad(i: u32, r0: u32, r1: u32) -> f32 {
    var g = 0.0;
    if (i >= dims.c_off && i < dims.c_off + dims.v * dims.e) {
        let tok = (i - dims.c_off) / dims.e;
        let e = (i - dims.c_off) % dims.e;
        for (var p = r0 * dims.t; p < r1 * dims.t; p++) {
            if (bitcast<u32>(act[ar.xb + p]) == tok) {
                g += act[ar.demb + p * dims.e + e];
            }
        }
        return g;
    }
    // g = Σ_r A[r, a_col]·B[r, b_col], A = 1 for the biases.
    var a_off = 0u;
    var a_w = 0u;
    var b_off = 0u;
    var b_w = 0u;
    var ones = false;
    if (i >= dims.w1_off && i < dims.w1_off + dims.te * dims.h) {
        let j = i - dims.w1_off;
        a_off = ar.emb + j / dims.h;
        a_w = dims.te;
        b_off = ar.dh + j % dims.h;
        b_w = dims.h;
    } else if (i >= dims.b1_off && i < dims.b1_off + dims.h) {
        ones = true;
        b_off = ar.dh + i - dims.b1_off;
        b_w = dims.h;
    } else if (i >= dims.w2_off && i < dims.w2_off + dims.h * dims.v) {
        let j = i - dims.w2_off;
        a_off = ar.h + j / dims.v;
        a_w = dims.h;
        b_off = ar.logits + j % dims.v;
        b_w = dims.v;
    } else if (i >= dims.b2_off && i < dims.b2_off + dims.v) {
        ones = true;
        b_off = ar.logits + i - dims.b2_off;
        b_w = dims.v;
    } else if (dims.direct != 0u && i >= dims.w3_off && i < dims.w3_off + dims.te * dims.v) {
        let j = i - dims.w3_off;
        a_off = ar.emb + j / dims.v;
        a_w = dims.te;
        b_off = ar.logits + j % dims.v;
        b_w = dims.v;
    } else {
        return 0.0;
    }
    for (var r = r0; r < r1; r++) {
        let a = select(act[a_off + r * a_w], 1.0, ones);
        g += a * act[b_off + r * b_w];
    }
    return g;
}

// Stores parameter i's gradient and, unless the guard tripped, updates it.
fn finish(i: u32, g: f32, skip: bool) {
    grads[i] = g;
    if (!skip) {
        update(i, g);
    }
}

// The step's loss from its cross-entropy sum `ce`; whether the update must be skipped.
fn guard(ce: f32, first: bool) -> bool {
    let loss = ce / f32(st.rows) + parts[0];
    let before = status[0] != 0u;
    if (first) {
        if (before) {
            // A quiet NaN built at run time: WGSL rejects a constant NaN.
            losses[st.slot] = bitcast<f32>(0x7fc00000u | (st.slot & 0u));
        } else {
            losses[st.slot] = loss;
            if (!is_finite(loss)) {
                status[0] = 1u;
            }
        }
    }
    return before || !is_finite(loss);
}

// Split s's cross-entropy sum over rows [r0, r1), into its loss partial.
fn loss_partial(s: u32, r0: u32, r1: u32, li: u32) {
    var ce = 0.0;
    for (var r = r0 + li; r < r1; r += WG) {
        ce += act[ar.rowloss + r];
    }
    ce = wg_sum(ce, li);
    if (li == 0u) {
        parts[ar.loss_parts + s] = ce;
    }
}

@compute @workgroup_size(256)
fn fused(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
    let f = flat_workgroup(wid, nwg);
    var ce = 0.0;
    for (var r = li; r < st.rows; r += WG) {
        ce += act[ar.rowloss + r];
    }
    let skip = guard(wg_sum(ce, li), f == 0u && li == 0u);
    let i = f * WG + li;
    if (i < dims.n_params) {
        finish(i, grad(i, 0u, st.rows), skip);
    }
}

// Split s = f / groups of the rows: the loss partial, and the gradient partials of
// the `count` parameters from `first` (workgroup f % groups takes 256 of them).
fn split_partials(f: u32, groups: u32, first: u32, count: u32, li: u32) {
    let s = f / groups;
    let j = (f % groups) * WG + li;
    let r0 = s * ar.split_rows;
    let r1 = min(st.rows, r0 + ar.split_rows);
    if (f % groups == 0u) {
        loss_partial(s, r0, r1, li);
    }
    if (j < count) {
        let i = first + j;
        parts[ar.grad_parts + s * dims.n_params + i] = grad(i, r0, r1);
    }
}

@compute @workgroup_size(256)
fn partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    split_partials(flat_workgroup(wid, nwg), ar.groups, 0u, dims.n_params, li);
}

@compute @workgroup_size(256)
fn partial_c(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    split_partials(flat_workgroup(wid, nwg), ar.c_groups, dims.c_off, dims.v * dims.e, li);
}

@compute @workgroup_size(256)
fn reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let f = flat_workgroup(wid, nwg);
    var ce = 0.0;
    for (var s = li; s < ar.splits; s += WG) {
        ce += parts[ar.loss_parts + s];
    }
    let skip = guard(wg_sum(ce, li), f == 0u && li == 0u);
    let i = f * WG + li;
    if (i < dims.n_params) {
        var g = 0.0;
        for (var s = 0u; s < ar.splits; s++) {
            g += parts[ar.grad_parts + s * dims.n_params + i];
        }
        finish(i, g, skip);
    }
}
