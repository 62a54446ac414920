#!/usr/bin/env bash
# Builds one of the crate's wasm builds with wasm-pack into OUT_DIR, then
# optimizes it with binaryen's wasm-opt (the npm package pinned in
# scripts/package.json; scripts/setup.sh installs it), and prints its size
# before and after. scripts/build-web.sh and scripts/build-package.sh use it.
#
#   scripts/build-wasm.sh simd128|relaxed|threads OUT_DIR [wasm-pack build options]
#
#   simd128  release, simd128 (.cargo/config.toml): what most pages run
#   relaxed  the same plus relaxed-simd (fused multiply-add), for the browsers
#            that validate it
#   threads  nightly, atomics, rayon on Web Workers (simd128, not relaxed), for
#            cross-origin isolated pages
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

variant=${1:?simd128, relaxed or threads}
out=${2:?an output directory}
shift 2
WASM_OPT=scripts/node_modules/.bin/wasm-opt
[ -x "$WASM_OPT" ] || { echo "binaryen's wasm-opt is missing: run scripts/setup.sh" >&2; exit 1; }

case "$variant" in
simd128)
    wasm-pack build --target web --release --out-dir "$out" "$@"
    ;;
relaxed)
    # RUSTFLAGS replaces .cargo/config.toml's flags, so it names simd128 again; a
    # target directory of its own keeps the two builds from rebuilding each other.
    CARGO_TARGET_DIR=target/relaxed RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" \
        wasm-pack build --target web --release --out-dir "$out" "$@"
    ;;
threads)
    # Shared memory for the pool: atomics and bulk memory, an imported shared memory
    # whose maximum is src/memory.rs's WASM_THREADS_MEMORY_BYTES (the page's memory
    # check counts against it), and the TLS symbols wasm-bindgen sets up per thread.
    # Atomics need the standard library rebuilt with them (build-std, nightly only).
    max_memory=$(sed -n 's/^pub const WASM_THREADS_MEMORY_BYTES: u64 = \(.*\);$/\1/p' src/memory.rs)
    [ -n "$max_memory" ] || { echo "WASM_THREADS_MEMORY_BYTES not found in src/memory.rs" >&2; exit 1; }
    flags=(
        -C target-feature=+atomics,+bulk-memory,+simd128
        -C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=$((max_memory))
        -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size
        -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base
    )
    NIGHTLY=$(scripts/nightly.sh) || { echo "no pinned nightly: run scripts/setup.sh" >&2; exit 1; }
    RUSTFLAGS="${flags[*]}" rustup run "$NIGHTLY" wasm-pack build --target web --release --out-dir "$out" "$@" \
        -- --features threads -Z build-std=panic_abort,std
    ;;
*)
    echo "unknown wasm build $variant: use simd128, relaxed or threads" >&2
    exit 2
    ;;
esac

# wasm-opt reads the features the wasm uses from its target_features section.
wasm="$out/makemore_bg.wasm"
before=$(stat -c %s "$wasm")
"$WASM_OPT" -O3 "$wasm" -o "$wasm.opt"
mv "$wasm.opt" "$wasm"
size=$(stat -c %s "$wasm")
echo "$variant: $wasm is $size bytes ($before before wasm-opt)"

# A ceiling for the single-threaded builds, which every page without cross-origin
# isolation downloads: set about 4% over their size then (672,857 bytes); the
# settings descriptions merged beside it took main to 692,755 (fed3f73), so the
# headroom is now about 1%: a change that adds more than ~7 KB fails here.
MAX_BYTES=700000
if [ "$variant" != threads ] && [ "$size" -gt "$MAX_BYTES" ]; then
    echo "$variant: $wasm is $size bytes, over the $MAX_BYTES-byte ceiling for a single-threaded build." >&2
    echo "See what grew (docs/architecture.md, \"What the wasm is made of\"), then cut it, or raise MAX_BYTES in scripts/build-wasm.sh on purpose." >&2
    exit 1
fi
