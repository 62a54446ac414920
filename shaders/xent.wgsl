// Softmax cross-entropy, forward and backward in one pass over logits (rows, V):
// one workgroup per row keeps the row's max and sum, writes the row's −log p[y]
// to rowloss and overwrites the logits with dlogits = (softmax − onehot(y)) / rows.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> yb: array<u32>;
@group(0) @binding(2) var<storage, read_write> logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> rowloss: array<f32>;
@group(1) @binding(0) var<uniform> st: Step;

const WG: u32 = 64u;
var<workgroup> red: array<f32, WG>;

fn reduce(x: f32, li: u32, take_max: bool) -> f32 {
    red[li] = x;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (li < s) {
            red[li] = select(red[li] + red[li + s], max(red[li], red[li + s]), take_max);
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let r = flat_workgroup(wid, nwg);
    let live = r < st.rows;
    let base = r * dims.v;
    var mx = -3.0e38;
    var zt = 0.0;
    var y = 0u;
    if (live) {
        y = yb[r];
        zt = logits[base + y];
        for (var c = li; c < dims.v; c += WG) {
            mx = max(mx, logits[base + c]);
        }
    }
    mx = reduce(mx, li, true);
    var s = 0.0;
    if (live) {
        for (var c = li; c < dims.v; c += WG) {
            s += exp(logits[base + c] - mx);
        }
    }
    s = reduce(s, li, false);
    storageBarrier();
    if (live) {
        let scale = 1.0 / f32(st.rows);
        let inv = scale / s;
        for (var c = li; c < dims.v; c += WG) {
            var d = exp(logits[base + c] - mx) * inv;
            if (c == y) {
                d -= scale;
            }
            logits[base + c] = d;
        }
        if (li == 0u) {
            rowloss[r] = log(s) - (zt - mx);
        }
    }
}
