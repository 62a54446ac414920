// Software set, training steps of at least 2V rows (see Shapes::table in
// src/backend/gpu/plan.rs): the embedding tables of the CPU backend
// (src/backend/cpu/layers.rs, embed_table and its neighbours). A layer fed by the
// embeddings, emb @ W with W = [W_0; …; W_{T−1}] (T·E, N), equals
// Σ_t (C @ W_t)[x_t]: matmul.wgsl makes the tables C @ W_t (T, V, N) once a step,
// and a row then costs T gathered rows instead of a T·E-long dot product.
//   forward:  out (rows, N) = tanh(bias + Σ_t table[t, x_t])  (hidden)
//             or out += Σ_t table[t, x_t]                     (direct connections)
//   backward: ds (T, V, N) = Σ_rows onehot(x[row, t]) ⊗ dout[row], owner-computes:
//             one invocation per (t, v, n) walks the rows in order (no atomics,
//             deterministic); matmul.wgsl then makes dW_t = Cᵀ @ ds_t and dC += ds_t @ W_tᵀ.

struct Table {
    n: u32,         // N: H for the hidden layer, V for the direct connections
    off: u32,       // where the tables (forward) or the table gradient (backward) start
    bias_off: u32,  // forward: the bias in the parameters
    hidden: u32,    // forward: 1 tanh(bias + Σ), 0 out += Σ
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<uniform> tab: Table;
@group(0) @binding(2) var<storage, read> xb: array<u32>;
@group(0) @binding(3) var<storage, read> src: array<f32>; // forward: tables; backward: dout (rows, N)
@group(0) @binding(4) var<storage, read> params: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_invocation(gid, nwg); // over (rows, N)
    if (i >= st.rows * tab.n) {
        return;
    }
    let r = i / tab.n;
    let j = i % tab.n;
    var s = 0.0;
    for (var t = 0u; t < dims.t; t++) {
        s += src[tab.off + (t * dims.v + xb[r * dims.t + t]) * tab.n + j];
    }
    if (tab.hidden != 0u) {
        out[i] = tanh(clamp(s + params[tab.bias_off + j], -20.0, 20.0));
    } else {
        out[i] += s;
    }
}

@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_invocation(gid, nwg); // over (T, V, N)
    if (i >= dims.t * dims.v * tab.n) {
        return;
    }
    let t = i / (dims.v * tab.n);
    let v = (i / tab.n) % dims.v;
    let j = i % tab.n;
    var s = 0.0;
    for (var r = 0u; r < st.rows; r++) {
        if (xb[r * dims.t + t] == v) {
            s += src[r * tab.n + j];
        }
    }
    out[tab.off + i] = s;
}
