// Software set (lavapipe, SwiftShader, WARP; see src/backend/gpu/plan.rs): the hardware
// set does this work inside rows.wgsl / params.wgsl instead.
// Adds `parts` partial results laid out one after another, (parts, len), in part
// order, into out[off .. off + len]: the second pass of the split-K weight gradients
// and of the chunked embedding backward. A fixed order keeps the sums deterministic.

struct Sum {
    len: u32, parts: u32, off: u32, _p0: u32,
}

@group(0) @binding(0) var<uniform> sum: Sum;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_invocation(gid, nwg);
    if (i >= sum.len) {
        return;
    }
    var s = 0.0;
    for (var p = 0u; p < sum.parts; p++) {
        s += part[p * sum.len + i];
    }
    out[sum.off + i] = s;
}
