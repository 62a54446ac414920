// The optimizer step, one invocation per parameter, with the L2 gradient 2λP/numel
// of C, W1, W2 added on the fly: SGD with coupled weight decay, Adam, or AdamW
// (decoupled decay). Skipped once status[0] says a loss of this chunk was not finite.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> grads: array<f32>;
@group(0) @binding(2) var<storage, read> status: array<u32>;
@group(0) @binding(3) var<storage, read_write> params: array<f32>;
@group(0) @binding(4) var<storage, read_write> m1: array<f32>;
@group(0) @binding(5) var<storage, read_write> m2: array<f32>;

fn l2_grad(i: u32, w: f32) -> f32 {
    var lambda = 0.0;
    var n = 1u;
    if (i >= dims.c_off && i < dims.c_off + dims.v * dims.e) {
        lambda = dims.l2_c;
        n = dims.v * dims.e;
    } else if (i >= dims.w1_off && i < dims.w1_off + dims.te * dims.h) {
        lambda = dims.l2_w1;
        n = dims.te * dims.h;
    } else if (i >= dims.w2_off && i < dims.w2_off + dims.h * dims.v) {
        lambda = dims.l2_w2;
        n = dims.h * dims.v;
    }
    return 2.0 * lambda * w / f32(n);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_invocation(gid, nwg);
    if (i >= dims.n_params || status[0] != 0u) {
        return;
    }
    let p = params[i];
    let g = grads[i] + l2_grad(i, p);
    if (dims.optimizer == 0u) {
        params[i] = p - st.lr * (g + dims.wd * p);
        return;
    }
    let decay = select(0.0, st.lr * dims.wd, dims.optimizer == 2u);
    let m = dims.beta1 * m1[i] + dims.one_minus_beta1 * g;
    let v = dims.beta2 * m2[i] + dims.one_minus_beta2 * g * g;
    m1[i] = m;
    m2[i] = v;
    params[i] = p - (decay * p + st.lr * (m / st.bc1) / (sqrt(v / st.bc2) + dims.eps));
}
