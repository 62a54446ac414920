// The optimizer update of one parameter, shared by optim.wgsl (software set) and
// params.wgsl (hardware set): the L2 gradient 2λP/numel of C, W1, W2 added on the
// fly, then SGD with coupled weight decay, Adam, or AdamW (decoupled decay).
// Reads and writes the module's `params`, `m1`, `m2`.

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

// Applies the step's update to parameter i with raw gradient `grad`.
fn update(i: u32, grad: f32) {
    let p = params[i];
    let g = grad + l2_grad(i, p);
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
