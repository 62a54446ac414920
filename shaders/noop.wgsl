// An empty kernel: dispatching it measures the per-dispatch overhead.

@compute @workgroup_size(1)
fn main() {
}
