// Both sets: the software set every step; the hardware set for evaluation tiles.
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

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32) {
    var ce = 0.0;
    for (var i = li; i < st.rows; i += WG) {
        ce += rowloss[i];
    }
    ce = wg_sum(ce, li);
    if (st.mode == 1u) {
        if (li == 0u) {
            losses[st.slot] = ce;
        }
        return;
    }
    let reg = l2_term(li);
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
