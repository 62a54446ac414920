// Prepended to every kernel: the model's constants, the per-step uniform, the
// minibatch stream (mirrors src/rng.rs) and flat ids for 2-D dispatch grids.

// The model and run constants; one uniform for the life of a backend.
struct Dims {
    t: u32, e: u32, h: u32, v: u32,
    te: u32, n_train: u32, key: u32, direct: u32,
    c_off: u32, w1_off: u32, b1_off: u32, w2_off: u32,
    b2_off: u32, w3_off: u32, n_params: u32, optimizer: u32, // 0 sgd, 1 adam, 2 adamw
    l2_c: f32, l2_w1: f32, l2_w2: f32, wd: f32,
    beta1: f32, one_minus_beta1: f32, beta2: f32, one_minus_beta2: f32,
    eps: f32,
    dc_chunk: u32, // positions per chunk of the embedding backward
    dc_off: u32,   // where it writes: C's offset in grads (one chunk), or 0 in its scratch
    _p0: u32,
}

// One training step or one evaluation tile, selected by a dynamic offset.
struct Step {
    step_no: u32, // 0-based optimizer step (seeds the minibatch)
    slot: u32,    // index of this step's (or tile's) loss in `losses`
    rows: u32,    // examples in the batch or tile
    offset: u32,  // first example of an evaluation tile
    lr: f32,
    bc1: f32,     // Adam's bias corrections 1 − β^t
    bc2: f32,
    mode: u32,    // 0: training step, 1: evaluation tile
}

// Group 1 of every kernel with bindings: the step, by dynamic offset.
@group(1) @binding(0) var<uniform> st: Step;

fn pcg_hash(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// Index of the i-th example of step `step`'s minibatch; same as rng::batch_index.
fn batch_index(key: u32, step: u32, i: u32, n: u32) -> u32 {
    return pcg_hash(pcg_hash(key ^ (step * 0x9E3779B9u)) ^ i) % n;
}

// Workgroups are laid out on a 2-D grid when one dimension would exceed the
// dispatch limit; these give the flat index of an invocation / a workgroup.
fn flat_invocation(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 256u;
}

fn flat_workgroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + wid.y * nwg.x;
}

fn is_finite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

// Where the hardware kernels find each activation in the arena buffer (in f32
// elements; xb and yb hold u32 bits) and how their weight gradients split the batch.
struct Arena {
    xb: u32, yb: u32, emb: u32, h: u32,
    logits: u32, dh: u32, demb: u32, rowloss: u32,
    split_rows: u32, splits: u32, groups: u32, loss_parts: u32, // groups: workgroups over the parameters
    grad_parts: u32, c_groups: u32, _p1: u32, _p2: u32, // c_groups: workgroups over C's entries
}
