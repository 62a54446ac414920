// The embedding as a forward/backward pair over the same bindings:
//   forward:  out = emb (rows, T*E) = C[xb],             table = params
//   backward: out = grads, dC (V, E) = Σ demb rows by token, table = demb (rows, T*E)
// The backward is an owner-computes gather: each invocation owns one (token, channel)
// of dC and walks every batch position in order, so there are no atomics and the
// sum is deterministic (and in the same order as the CPU's embed_backward).

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> xb: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> st: Step;

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_invocation(gid, nwg); // over (rows, T, E)
    if (i >= st.rows * dims.te) {
        return;
    }
    let pos = i / dims.e;
    out[i] = table[dims.c_off + xb[pos] * dims.e + i % dims.e];
}

const CH: u32 = 64u; // channels per workgroup, and positions per shared tile
var<workgroup> toks: array<u32, CH>;

// One workgroup per (token, group of CH channels).
@compute @workgroup_size(64)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let groups = (dims.e + CH - 1u) / CH;
    let w = flat_workgroup(wid, nwg);
    let tok = w / groups;
    let e = (w % groups) * CH + li;
    let live = tok < dims.v && e < dims.e;
    let n = st.rows * dims.t; // positions
    var acc = 0.0;
    for (var p0 = 0u; p0 < n; p0 += CH) {
        if (p0 + li < n) {
            toks[li] = xb[p0 + li];
        } else {
            toks[li] = 0xffffffffu;
        }
        workgroupBarrier();
        if (live) {
            for (var j = 0u; j < CH; j++) {
                if (toks[j] == tok) {
                    acc += table[(p0 + j) * dims.e + e];
                }
            }
        }
        workgroupBarrier();
    }
    if (live) {
        out[dims.c_off + tok * dims.e + e] = acc;
    }
}
