// Hardware set (real GPUs; not used on lavapipe, SwiftShader or WARP unless
// forced): the whole per-row work of a step in one dispatch, one workgroup per row.
//   gather  xb, yb from the split (batch_index for training steps)
//   forward emb = C[xb], h = tanh(emb@W1 + b1), logits = h@W2 + b2 (+ emb@W3)
//   xent    rowloss = −log softmax[y]; training overwrites logits with dlogits
//   backward dpre = (dlogits@W2ᵀ)⊙(1 − h²), demb = dpre@W1ᵀ (+ dlogits@W3ᵀ)
// The lanes share a row's outputs (lane j owns units j, j + 64, ...), so each loop is
// one output's dot product, never a walk over the batch; barriers separate the
// layers. Intermediates go to the activation arena, where params.wgsl reads them.
// In training steps one extra workgroup (index rows) adds Σ λ·mean(P²) for the loss
// into parts[0], before any parameter changes.
// Entry points: `main` runs it all; at the largest batches matmul_tiled.wgsl does
// the matmuls and this file only gathers (`gather`) and runs the cross-entropy (`xent`).

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<uniform> ar: Arena;
@group(0) @binding(2) var<storage, read> src_x: array<u32>;
@group(0) @binding(3) var<storage, read> src_y: array<u32>;
@group(0) @binding(4) var<storage, read> params: array<f32>;
@group(0) @binding(5) var<storage, read_write> act: array<f32>;
@group(0) @binding(6) var<storage, read_write> parts: array<f32>;

const WG: u32 = 64u;
var<workgroup> red: array<f32, WG>;

// The extra workgroup of a training step: the loss's L2 term into parts[0].
// Returns whether workgroup r holds no row.
fn past_rows(r: u32, li: u32) -> bool {
    if (r >= st.rows) {
        if (r == st.rows && st.mode == 0u) {
            let reg = l2_term(li);
            if (li == 0u) {
                parts[0] = reg;
            }
        }
        return true;
    }
    return false;
}

// Row r's xb, yb and emb = C[xb], from the split's example (batch_index in training).
fn gather(r: u32, li: u32) {
    var i = st.offset + r;
    if (st.mode == 0u) {
        i = batch_index(dims.key, st.step_no, r, dims.n_train);
    }
    let t = dims.t;
    let e = dims.e;
    let te = dims.te;
    for (var p = li; p < t; p += WG) {
        act[ar.xb + r * t + p] = bitcast<f32>(src_x[i * t + p]);
    }
    if (li == 0u) {
        act[ar.yb + r] = bitcast<f32>(src_y[i]);
    }
    let emb = ar.emb + r * te;
    for (var k = li; k < te; k += WG) {
        act[emb + k] = params[dims.c_off + src_x[i * t + k / e] * e + k % e];
    }
}

// Row r's h and logits.
fn forward(r: u32, li: u32) {
    let h = dims.h;
    let v = dims.v;
    let te = dims.te;
    let emb = ar.emb + r * te;
    let hid = ar.h + r * h;
    for (var j = li; j < h; j += WG) {
        var s = 0.0;
        for (var k = 0u; k < te; k++) {
            s += act[emb + k] * params[dims.w1_off + k * h + j];
        }
        act[hid + j] = tanh(clamp(s + params[dims.b1_off + j], -20.0, 20.0));
    }
    storageBarrier();
    let lg = ar.logits + r * v;
    for (var c = li; c < v; c += WG) {
        var s = 0.0;
        for (var j = 0u; j < h; j++) {
            s += act[hid + j] * params[dims.w2_off + j * v + c];
        }
        s += params[dims.b2_off + c];
        if (dims.direct != 0u) {
            var d = 0.0;
            for (var k = 0u; k < te; k++) {
                d += act[emb + k] * params[dims.w3_off + k * v + c];
            }
            s += d;
        }
        act[lg + c] = s;
    }
}

// Row r's loss, and in training its dlogits (over the logits).
fn xent(r: u32, li: u32) {
    let v = dims.v;
    let lg = ar.logits + r * v;
    let y = bitcast<u32>(act[ar.yb + r]);
    // Every lane scans the row's logits (V is a few dozen), so no reduction is needed.
    var mx = -3.0e38;
    for (var c = 0u; c < v; c++) {
        mx = max(mx, act[lg + c]);
    }
    var se = 0.0;
    for (var c = 0u; c < v; c++) {
        se += exp(act[lg + c] - mx);
    }
    let zt = act[lg + y];
    // Every lane has read the logits before any lane overwrites them.
    storageBarrier();
    if (li == 0u) {
        act[ar.rowloss + r] = log(se) - (zt - mx);
    }
    if (st.mode != 0u) {
        return;
    }
    let scale = 1.0 / f32(st.rows);
    let inv = scale / se;
    for (var c = li; c < v; c += WG) {
        act[lg + c] = exp(act[lg + c] - mx) * inv - select(0.0, scale, c == y);
    }
}

// Row r's dpre and demb.
fn backward(r: u32, li: u32) {
    let h = dims.h;
    let v = dims.v;
    let te = dims.te;
    let lg = ar.logits + r * v;
    let hid = ar.h + r * h;
    let dh = ar.dh + r * h;
    for (var j = li; j < h; j += WG) {
        var s = 0.0;
        for (var c = 0u; c < v; c++) {
            s += act[lg + c] * params[dims.w2_off + j * v + c];
        }
        let hv = act[hid + j];
        act[dh + j] = s * (1.0 - hv * hv);
    }
    storageBarrier();
    let de = ar.demb + r * te;
    for (var k = li; k < te; k += WG) {
        var d = 0.0;
        if (dims.direct != 0u) {
            for (var c = 0u; c < v; c++) {
                d += act[lg + c] * params[dims.w3_off + k * v + c];
            }
        }
        var s = 0.0;
        for (var j = 0u; j < h; j++) {
            s += act[dh + j] * params[dims.w1_off + k * h + j];
        }
        act[de + k] = d + s;
    }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let r = flat_workgroup(wid, nwg);
    if (past_rows(r, li)) {
        return;
    }
    gather(r, li);
    storageBarrier();
    forward(r, li);
    storageBarrier();
    xent(r, li);
    if (st.mode != 0u) {
        return;
    }
    storageBarrier();
    backward(r, li);
}

@compute @workgroup_size(64)
fn gather_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let r = flat_workgroup(wid, nwg);
    if (!past_rows(r, li)) {
        gather(r, li);
    }
}

@compute @workgroup_size(64)
fn xent_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let r = flat_workgroup(wid, nwg);
    if (r < st.rows) {
        xent(r, li);
    }
}
