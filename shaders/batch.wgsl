// Software set (lavapipe, SwiftShader, WARP; see src/backend/gpu/plan.rs): the hardware
// set does this work inside rows.wgsl / params.wgsl instead.
// Minibatch gather: xb (rows, T), yb (rows) from a split's x (N, T), y (N).
// Training steps draw rows with batch_index; evaluation tiles copy contiguous rows.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> src_x: array<u32>;
@group(0) @binding(2) var<storage, read> src_y: array<u32>;
@group(0) @binding(3) var<storage, read_write> xb: array<u32>;
@group(0) @binding(4) var<storage, read_write> yb: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = flat_invocation(gid, nwg);
    if (r >= st.rows) {
        return;
    }
    var i = st.offset + r;
    if (st.mode == 0u) {
        i = batch_index(dims.key, st.step_no, r, dims.n_train);
    }
    for (var t = 0u; t < dims.t; t++) {
        xb[r * dims.t + t] = src_x[i * dims.t + t];
    }
    yb[r] = src_y[i];
}
