// Register-blocked tiled matmul with strided operands, used by every linear layer:
//   out[m, n] = epilogue( Σ_k A1[m, k]·B1[k, n] + Σ_k A2[m, k]·B2[k, n] )
// Strides make transposes free, so one kernel covers
//   forward          h = tanh(emb @ W1 + b1),  logits = h @ W2 + b2 (+ emb @ W3)
//   weight gradients [dW; db] = [A, 1]ᵀ @ dY   (the ones row gives the bias gradient)
//   input gradients  dpre = (dlogits @ W2ᵀ) ⊙ (1 − h²),  demb = dpre @ W1ᵀ (+ dlogits @ W3ᵀ)
// A workgroup of 8×8 threads computes a 32×32 tile, 4×4 values per thread, from
// 32-deep slices of A and B staged in workgroup memory.

struct Mat {
    m: u32, n: u32, k1: u32, k2: u32, // k2 = 0: no second pair
    a1_off: u32, a1_sm: u32, a1_sk: u32, b1_off: u32,
    b1_sk: u32, b1_sn: u32, a2_off: u32, a2_sm: u32,
    a2_sk: u32, b2_off: u32, b2_sk: u32, b2_sn: u32,
    out_off: u32, out_sm: u32, bias_off: u32, epilogue: u32, // 0 none, 1 +bias, 2 tanh(+bias), 3 ⊙(1 − aux²)
    ones_row: u32, // 1: an extra output row m = M holds Σ_k B1[k, n]
    rows_in: u32,  // bit 0: M, bit 1: K1, bit 2: K2 is the step's row count
    _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> mat: Mat;
@group(0) @binding(1) var<storage, read> a1: array<f32>;
@group(0) @binding(2) var<storage, read> b1: array<f32>;
@group(0) @binding(3) var<storage, read> a2: array<f32>;
@group(0) @binding(4) var<storage, read> b2: array<f32>;
@group(0) @binding(5) var<storage, read> aux: array<f32>; // bias source, or h for the tanh derivative
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> st: Step;

const TS: u32 = 32u; // output tile edge
const TK: u32 = 32u; // reduction slice
var<workgroup> a_tile: array<f32, 1024>; // (TS, TK)
var<workgroup> b_tile: array<f32, 1024>; // (TK, TS)

fn dim(value: u32, bit: u32) -> u32 {
    return select(value, st.rows, (mat.rows_in & bit) != 0u);
}

fn load_a(p: u32, m: u32, k: u32, rows: u32, depth: u32) -> f32 {
    if (k >= depth) {
        return 0.0;
    }
    if (m >= rows) {
        return select(0.0, 1.0, m == rows && mat.ones_row == 1u && p == 0u);
    }
    if (p == 0u) {
        return a1[mat.a1_off + m * mat.a1_sm + k * mat.a1_sk];
    }
    return a2[mat.a2_off + m * mat.a2_sm + k * mat.a2_sk];
}

fn load_b(p: u32, k: u32, n: u32, depth: u32) -> f32 {
    if (k >= depth || n >= mat.n) {
        return 0.0;
    }
    if (p == 0u) {
        return b1[mat.b1_off + k * mat.b1_sk + n * mat.b1_sn];
    }
    return b2[mat.b2_off + k * mat.b2_sk + n * mat.b2_sn];
}

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let rows = dim(mat.m, 1u);
    let depths = vec2<u32>(dim(mat.k1, 2u), dim(mat.k2, 4u));
    let m0 = wid.y * TS;
    let n0 = wid.x * TS;
    var acc: array<f32, 16>;
    for (var p = 0u; p < 2u; p++) {
        let depth = depths[p];
        for (var k0 = 0u; k0 < depth; k0 += TK) {
            for (var i = li; i < TS * TK; i += 64u) {
                a_tile[i] = load_a(p, m0 + i / TK, k0 + i % TK, rows, depth);
                b_tile[i] = load_b(p, k0 + i / TS, n0 + i % TS, depth);
            }
            workgroupBarrier();
            for (var k = 0u; k < TK; k++) {
                var bv: array<f32, 4>;
                for (var j = 0u; j < 4u; j++) {
                    bv[j] = b_tile[k * TS + lid.x + 8u * j];
                }
                for (var i = 0u; i < 4u; i++) {
                    let av = a_tile[(lid.y + 8u * i) * TK + k];
                    for (var j = 0u; j < 4u; j++) {
                        acc[i * 4u + j] += av * bv[j];
                    }
                }
            }
            workgroupBarrier();
        }
    }
    let rows_out = rows + mat.ones_row;
    for (var i = 0u; i < 4u; i++) {
        let m = m0 + lid.y + 8u * i;
        for (var j = 0u; j < 4u; j++) {
            let n = n0 + lid.x + 8u * j;
            if (m < rows_out && n < mat.n) {
                var x = acc[i * 4u + j];
                switch mat.epilogue {
                    case 1u: { x += aux[mat.bias_off + n]; }
                    case 2u: { x = tanh(clamp(x + aux[mat.bias_off + n], -20.0, 20.0)); }
                    case 3u: { let y = aux[m * mat.out_sm + n]; x *= 1.0 - y * y; }
                    default: {}
                }
                out[mat.out_off + m * mat.out_sm + n] = x;
            }
        }
    }
}
