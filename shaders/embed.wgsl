// Software set (lavapipe, SwiftShader, WARP; see src/backend/gpu/plan.rs): the hardware
// set does this work inside rows.wgsl / params.wgsl instead.
// The embedding as a forward/backward pair over the same bindings:
//   forward:  out = emb (rows, T*E) = C[xb],             table = params
//   backward: out = grads or dC partials, dC (V, E) = Σ demb rows by token, table = demb (rows, T*E)

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> xb: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_invocation(gid, nwg); // over (rows, T, E)
    if (i >= st.rows * dims.te) {
        return;
    }
    let pos = i / dims.e;
    out[i] = table[dims.c_off + xb[pos] * dims.e + i % dims.e];
}

// One invocation per (chunk of dims.dc_chunk positions, channel): it zeroes its
// channel of its chunk's dC partial (V, E) at out[dims.dc_off + chunk·V·E], then
// walks the chunk's positions in order, adding each demb row's channel to the row of
// its token. Invocations own disjoint columns, so there are no atomics and no
// barriers. One chunk writes dC in place (in the CPU's order); more write partials
// to a scratch buffer that reduce.wgsl adds in chunk order.
@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_invocation(gid, nwg); // over (chunks, E)
    let n = st.rows * dims.t; // positions
    let chunk = i / dims.e;
    let e = i % dims.e;
    if (chunk * dims.dc_chunk >= n) {
        return;
    }
    let base = dims.dc_off + chunk * dims.v * dims.e + e;
    for (var tok = 0u; tok < dims.v; tok++) {
        out[base + tok * dims.e] = 0.0;
    }
    let end = min(n, (chunk + 1u) * dims.dc_chunk);
    for (var p = chunk * dims.dc_chunk; p < end; p++) {
        let o = base + xb[p] * dims.e;
        out[o] += table[p * dims.e + e];
    }
}
