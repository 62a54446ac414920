// Hardware set, largest batches only (real GPUs; see Shapes::tiled in
// src/backend/gpu/plan.rs): the linear layers of matmul.wgsl as a tiled matmul
// through workgroup memory,
//   out[m, n] = epilogue( Σ_k A[m, k]·B[k, n] )
// over the same layer table (plan::mats). Why tiles there: the per-row kernel
// (rows.wgsl) reads every weight from global memory once per row, so at tens of
// thousands of rows the weights cross the cache hierarchy per row. Here a workgroup
// stages a TILE × TILE_K slice of A and of B in workgroup memory with coalesced
// loads (consecutive lanes read consecutive addresses), and each staged value is
// used TILE/16 times from there. Small batches do not fill a GPU with TILE-row
// tiles, so they keep the fused per-row and per-parameter passes. Not for CPU
// drivers: there a barrier is a coroutine switch and workgroup memory is ordinary
// memory (matmul.wgsl's header).
// TILE and TILE_K are prepended from the per-adapter table (tuning.rs); workgroup
// memory is 2·TILE·TILE_K floats (8 KiB at TILE = 64).
// Loads: A is an activation (in the arena), read along k for the row passes
// (emb @ W1) and along m for the weight gradients (Aᵀ: [emb, 1]ᵀ @ dpre). B is a
// weight, read along n, or along k for the Wᵀ passes (dlogits @ W2ᵀ, dpre @ W1ᵀ), or
// an activation (dY of a weight gradient). A weight B whose rows start on a
// multiple of 4 is read as vec4 (B_VEC4); otherwise, and at ragged tile edges,
// one value at a time.
// Split-K: the weight gradients sum over the batch (K); split s takes rows
// [s·split_rows, (s + 1)·split_rows) and writes its partial at out_off + s·split_stride,
// laid out like params.wgsl's partials, whose reduce adds them in split order.

struct Tiled {
    m: u32, n: u32, k: u32, rows_in: u32, // rows_in bit 0: M, bit 1: K is the step's row count
    a_off: u32, a_sm: u32, a_sk: u32, ones_row: u32, // ones_row 1: output row M holds Σ_k B[k, n]
    b_off: u32, b_sk: u32, b_sn: u32, flags: u32,
    out_off: u32, out_sm: u32, aux_off: u32, split_rows: u32,
    split_stride: u32, _p0: u32, _p1: u32, _p2: u32,
}

// flags
const A_ALONG_M: u32 = 1u;  // A is contiguous along m (Aᵀ of a weight gradient)
const B_ALONG_K: u32 = 2u;  // B is contiguous along k (Wᵀ)
const B_ACT: u32 = 4u;      // B is an activation, else a weight
const OUT_PARTS: u32 = 8u;  // out is a gradient partial, else an activation
const B_VEC4: u32 = 16u;    // B is a weight whose rows start on multiples of 4

@group(0) @binding(0) var<uniform> tm: Tiled;
@group(0) @binding(1) var<storage, read_write> act: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read> params4: array<vec4<f32>>; // the same buffer
@group(0) @binding(4) var<storage, read_write> parts: array<f32>;

override EPILOGUE: u32 = 0u; // 0 none, 1 +bias, 2 tanh(+bias), 3 ⊙(1 − aux²), 4 +=
const SIDE: u32 = 16u; // the workgroup is SIDE × SIDE
const R: u32 = TILE / SIDE; // outputs per invocation along m and along n
const LOADS: u32 = TILE * TILE_K / (SIDE * SIDE); // values each invocation stages per operand

var<workgroup> ta: array<f32, TILE * TILE_K>; // [k][m]
var<workgroup> tb: array<f32, TILE_K * TILE>; // [k][n]

fn has(f: u32) -> bool {
    return (tm.flags & f) != 0u;
}

// A[m, k]: rows past M read 0, except the ones row.
fn load_a(m: u32, k: u32, rows: u32, k_end: u32) -> f32 {
    if (k >= k_end) {
        return 0.0;
    }
    if (m < rows) {
        return act[tm.a_off + m * tm.a_sm + k * tm.a_sk];
    }
    return select(0.0, 1.0, m == rows && tm.ones_row == 1u);
}

fn load_b(k: u32, n: u32, k_end: u32) -> f32 {
    if (k >= k_end || n >= tm.n) {
        return 0.0;
    }
    let i = tm.b_off + k * tm.b_sk + n * tm.b_sn;
    return select(params[i], act[i], has(B_ACT));
}

// Stages B's tile (k0.., n0..) as vec4 loads where all four values are in range.
fn stage_b_vec4(li: u32, k0: u32, n0: u32, k_end: u32) {
    for (var e = li; e < TILE * TILE_K / 4u; e += SIDE * SIDE) {
        var kk: u32;
        var nn: u32;
        var step: vec2<u32>; // (k, n) between the four values
        if (has(B_ALONG_K)) {
            nn = e / (TILE_K / 4u);
            kk = (e % (TILE_K / 4u)) * 4u;
            step = vec2<u32>(1u, 0u);
        } else {
            kk = e / (TILE / 4u);
            nn = (e % (TILE / 4u)) * 4u;
            step = vec2<u32>(0u, 1u);
        }
        let k = k0 + kk;
        let n = n0 + nn;
        var v: vec4<f32>;
        if (k + 3u * step.x < k_end && n + 3u * step.y < tm.n) {
            v = params4[(tm.b_off + k * tm.b_sk + n * tm.b_sn) / 4u];
        } else {
            for (var q = 0u; q < 4u; q++) {
                v[q] = load_b(k + q * step.x, n + q * step.y, k_end);
            }
        }
        for (var q = 0u; q < 4u; q++) {
            tb[(kk + q * step.x) * TILE + nn + q * step.y] = v[q];
        }
    }
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let rows = select(tm.m, st.rows, (tm.rows_in & 1u) != 0u);
    let depth = select(tm.k, st.rows, (tm.rows_in & 2u) != 0u);
    let rows_out = rows + tm.ones_row;
    let row_tiles = (rows_out + TILE - 1u) / TILE;
    let split = wid.y / row_tiles;
    let m0 = (wid.y % row_tiles) * TILE;
    let n0 = wid.x * TILE;
    let k_begin = split * tm.split_rows;
    let k_end = min(depth, k_begin + tm.split_rows);
    var acc: array<f32, R * R>;
    for (var k0 = k_begin; k0 < k_end; k0 += TILE_K) {
        // Consecutive lanes take consecutive addresses of each operand.
        for (var q = 0u; q < LOADS; q++) {
            let e = li + q * SIDE * SIDE;
            var mm = e / TILE_K;
            var kk = e % TILE_K;
            if (has(A_ALONG_M)) {
                mm = e % TILE;
                kk = e / TILE;
            }
            ta[kk * TILE + mm] = load_a(m0 + mm, k0 + kk, rows, k_end);
        }
        if (has(B_VEC4)) {
            stage_b_vec4(li, k0, n0, k_end);
        } else {
            for (var q = 0u; q < LOADS; q++) {
                let e = li + q * SIDE * SIDE;
                var nn = e % TILE;
                var kk = e / TILE;
                if (has(B_ALONG_K)) {
                    nn = e / TILE_K;
                    kk = e % TILE_K;
                }
                tb[kk * TILE + nn] = load_b(k0 + kk, n0 + nn, k_end);
            }
        }
        workgroupBarrier();
        // Invocation (ty, tx) owns rows ty + 16·i and columns tx + 16·j of the tile.
        for (var kk = 0u; kk < TILE_K; kk++) {
            var bv: array<f32, R>;
            for (var j = 0u; j < R; j++) {
                bv[j] = tb[kk * TILE + lid.x + SIDE * j];
            }
            for (var i = 0u; i < R; i++) {
                let av = ta[kk * TILE + lid.y + SIDE * i];
                for (var j = 0u; j < R; j++) {
                    acc[i * R + j] += av * bv[j];
                }
            }
        }
        workgroupBarrier();
    }
    let base = tm.out_off + split * tm.split_stride;
    for (var i = 0u; i < R; i++) {
        let m = m0 + lid.y + SIDE * i;
        for (var j = 0u; j < R; j++) {
            let n = n0 + lid.x + SIDE * j;
            if (m < rows_out && n < tm.n) {
                let o = base + m * tm.out_sm + n;
                var x = acc[i * R + j];
                switch EPILOGUE {
                    case 1u: { x += params[tm.aux_off + n]; }
                    case 2u: { x = tanh(clamp(x + params[tm.aux_off + n], -20.0, 20.0)); }
                    case 3u: { let y = act[tm.aux_off + m * tm.out_sm + n]; x *= 1.0 - y * y; }
                    case 4u: { x += act[o]; }
                    default: {}
                }
                if (has(OUT_PARTS)) {
                    parts[o] = x;
                } else {
                    act[o] = x;
                }
            }
        }
    }
}
