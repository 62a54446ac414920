// Software set (lavapipe, SwiftShader, WARP; see src/backend/gpu/plan.rs): the hardware
// set does this work inside rows.wgsl / params.wgsl instead.
// Softmax cross-entropy, forward and backward in one pass over logits (rows, V):
// one invocation per row keeps the row's max and sum, writes the row's −log p[y]
// to rowloss and overwrites the logits with dlogits = (softmax − onehot(y)) / rows.
// (No workgroup reductions: a row is a few dozen characters, and barriers cost far
// more than the loop on CPU drivers.)

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> yb: array<u32>;
@group(0) @binding(2) var<storage, read_write> logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> rowloss: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = flat_invocation(gid, nwg);
    if (r >= st.rows) {
        return;
    }
    let base = r * dims.v;
    let y = yb[r];
    var mx = -3.0e38;
    for (var c = 0u; c < dims.v; c++) {
        mx = max(mx, logits[base + c]);
    }
    var s = 0.0;
    for (var c = 0u; c < dims.v; c++) {
        s += exp(logits[base + c] - mx);
    }
    let zt = logits[base + y];
    let scale = 1.0 / f32(st.rows);
    let inv = scale / s;
    for (var c = 0u; c < dims.v; c++) {
        logits[base + c] = exp(logits[base + c] - mx) * inv - select(0.0, scale, c == y);
    }
    rowloss[r] = log(s) - (zt - mx);
}
