// Software set (lavapipe, SwiftShader, WARP; see src/backend/gpu/plan.rs): the hardware
// set does this work inside rows.wgsl / params.wgsl instead.
// Register-blocked matmul with strided operands, used by every linear layer:
//   out[m, n] = epilogue( Σ_k A[m, k]·B[k, n] )
// Strides make transposes free, so one kernel covers
//   forward          h = tanh(emb @ W1 + b1),  logits = h @ W2 + b2 (then += emb @ W3)
//   weight gradients [dW; db] = [A, 1]ᵀ @ dY   (the ones row gives the bias gradient)
//   input gradients  dpre = (dlogits @ W2ᵀ) ⊙ (1 − h²),  demb = dlogits @ W3ᵀ (then += dpre @ W1ᵀ)
// A workgroup of 8×8 invocations computes a 32×32 output tile, each invocation a 4×4
// block (rows 4·ty + i, columns tx + 8·j) read straight from storage: no workgroup
// memory and no barriers. CPU drivers (lavapipe, SwiftShader) pay per lane for every
// load, shared or not, and run barriers as coroutine switches, so staging tiles costs
// more than it saves there. Out-of-range rows and columns are clamped rather than
// branched on, and dropped at the store. EPILOGUE is a pipeline constant, so each
// pipeline carries only its own epilogue.
// Split-K: with splits > 1 the grid's y holds (split, row tile); split s reduces its
// slice of K and writes its partial (M + ones_row, N) at out_off + s·(M + ones_row)·out_sm
// of a scratch buffer, which reduce.wgsl then adds in split order (deterministic).

struct Mat {
    m: u32, n: u32, k: u32, rows_in: u32, // rows_in bit 0: M, bit 1: K is the step's row count
    a_off: u32, a_sm: u32, a_sk: u32, ones_row: u32, // ones_row 1: an extra output row m = M holds Σ_k B[k, n]
    b_off: u32, b_sk: u32, b_sn: u32, epilogue: u32, // = EPILOGUE
    out_off: u32, out_sm: u32, bias_off: u32, splits: u32,
}

@group(0) @binding(0) var<uniform> mat: Mat;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> aux: array<f32>; // bias source, or h for the tanh derivative
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override EPILOGUE: u32 = 0u; // 0 none, 1 +bias, 2 tanh(+bias), 3 ⊙(1 − aux²), 4 +=
const TS: u32 = 32u; // output tile edge

fn dim(value: u32, bit: u32) -> u32 {
    return select(value, st.rows, (mat.rows_in & bit) != 0u);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let rows = dim(mat.m, 1u);
    let depth = dim(mat.k, 2u);
    let rows_out = rows + mat.ones_row;
    let row_tiles = (rows_out + TS - 1u) / TS;
    let split = wid.y / row_tiles;
    let per_split = (depth + mat.splits - 1u) / mat.splits;
    let k_end = min(depth, (split + 1u) * per_split);
    let m0 = (wid.y % row_tiles) * TS + (li / 8u) * 4u;
    let n0 = wid.x * TS + li % 8u;
    let ms = vec4<u32>(m0) + vec4<u32>(0u, 1u, 2u, 3u);
    let ns = vec4<u32>(n0) + vec4<u32>(0u, 8u, 16u, 24u);
    // Rows m < M read A; row m = M is the ones row (when asked for); later rows read 0.
    let live = ms < vec4<u32>(rows);
    let ones = select(vec4<f32>(0.0), vec4<f32>(1.0), (ms == vec4<u32>(rows)) & vec4<bool>(mat.ones_row == 1u));
    let ra = vec4<u32>(mat.a_off) + min(ms, vec4<u32>(rows - 1u)) * mat.a_sm;
    let cb = vec4<u32>(mat.b_off) + min(ns, vec4<u32>(mat.n - 1u)) * mat.b_sn;
    var acc: array<vec4<f32>, 4>;
    for (var k = split * per_split; k < k_end; k++) {
        let ka = k * mat.a_sk;
        let kb = k * mat.b_sk;
        let bv = vec4<f32>(b[cb.x + kb], b[cb.y + kb], b[cb.z + kb], b[cb.w + kb]);
        let av = select(ones, vec4<f32>(a[ra.x + ka], a[ra.y + ka], a[ra.z + ka], a[ra.w + ka]), live);
        acc[0] += av.x * bv;
        acc[1] += av.y * bv;
        acc[2] += av.z * bv;
        acc[3] += av.w * bv;
    }
    let base = mat.out_off + split * rows_out * mat.out_sm;
    for (var i = 0u; i < 4u; i++) {
        let m = ms[i];
        for (var j = 0u; j < 4u; j++) {
            let n = ns[j];
            if (m < rows_out && n < mat.n) {
                let o = base + m * mat.out_sm + n;
                var x = acc[i][j];
                switch EPILOGUE {
                    case 1u: { x += aux[mat.bias_off + n]; }
                    case 2u: { x = tanh(clamp(x + aux[mat.bias_off + n], -20.0, 20.0)); }
                    case 3u: { let y = aux[m * mat.out_sm + n]; x *= 1.0 - y * y; }
                    case 4u: { x += out[o]; }
                    default: {}
                }
                out[o] = x;
            }
        }
    }
}
