// Reduces a step's row losses to one number in losses[slot], in one workgroup:
// training: mean cross-entropy + Σ λ·mean(P²) over C, W1, W2; a non-finite loss
// raises status[0], which stops every later update of the chunk (and their losses
// read NaN). Evaluation tiles store their Σ −log p[y]; the host adds the tiles.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> rowloss: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;
@group(0) @binding(4) var<storage, read_write> status: array<u32>;

const WG: u32 = 256u;
var<workgroup> red: array<f32, WG>;

fn sum(x: f32, li: u32) -> f32 {
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
    return lambda * sum(s, li) / f32(n);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32) {
    var ce = 0.0;
    for (var i = li; i < st.rows; i += WG) {
        ce += rowloss[i];
    }
    ce = sum(ce, li);
    if (st.mode == 1u) {
        if (li == 0u) {
            losses[st.slot] = ce;
        }
        return;
    }
    let reg = l2(dims.l2_c, dims.c_off, dims.v * dims.e, li)
        + l2(dims.l2_w1, dims.w1_off, dims.te * dims.h, li)
        + l2(dims.l2_w2, dims.w2_off, dims.h * dims.v, li);
    if (li == 0u) {
        var loss = ce / f32(st.rows) + reg;
        if (status[0] != 0u) {
            // A quiet NaN built at run time: WGSL rejects a constant NaN.
            loss = bitcast<f32>(0x7fc00000u | (st.slot & 0u));
        } else if (!is_finite(loss)) {
            status[0] = 1u;
        }
        losses[st.slot] = loss;
    }
}
