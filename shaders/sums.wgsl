// Workgroup sums, shared by loss.wgsl, rows.wgsl and params.wgsl; each declares
// WG (its lanes, a power of two), `red: array<f32, WG>` in workgroup memory and
// `params`. The tree order is fixed, so the sums are deterministic.

// Σ x over the workgroup's lanes, returned to every lane.
fn wg_sum(x: f32, li: u32) -> f32 {
    red[li] = x;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (li < s) {
            red[li] += red[li + s];
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

// λ·mean(P²) of the n parameters at off (0 when λ = 0).
fn l2(lambda: f32, off: u32, n: u32, li: u32) -> f32 {
    if (lambda == 0.0) {
        return 0.0;
    }
    var s = 0.0;
    for (var i = li; i < n; i += WG) {
        let w = params[off + i];
        s += w * w;
    }
    return lambda * wg_sum(s, li) / f32(n);
}

// Σ λ·mean(P²) over C, W1 and W2: the loss's L2 term.
fn l2_term(li: u32) -> f32 {
    return l2(dims.l2_c, dims.c_off, dims.v * dims.e, li)
        + l2(dims.l2_w1, dims.w1_off, dims.te * dims.h, li)
        + l2(dims.l2_w2, dims.w2_off, dims.h * dims.v, li);
}
