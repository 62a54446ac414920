#!/usr/bin/env bash
# Builds one of the crate's wasm builds with wasm-pack into OUT_DIR, then
# optimizes it with binaryen's wasm-opt (the npm package pinned in
# scripts/package.json; scripts/setup.sh installs it), and prints its size
# before and after. scripts/build-web.sh and scripts/build-package.sh use it.
#
#   scripts/build-wasm.sh simd128|relaxed|threads OUT_DIR [wasm-pack build options]
#
#   simd128  release, simd128: what most pages run
#   relaxed  the same plus relaxed-simd (fused multiply-add), for the browsers
#            that validate it
#   threads  atomics, rayon on Web Workers (simd128, not relaxed), for cross-origin
#            isolated pages
#
# All three build with the pinned nightly (scripts/nightly.sh) and the standard
# library rebuilt with them (-Z build-std): the threaded build needs it for atomics,
# and the single-threaded ones for their size (every page without cross-origin
# isolation downloads one): the standard library built for size
# (optimize_for_size: small sorts and formatting; the CPU path's speed was the same
# side by side) and a panic that stops the wasm at once (panic=immediate-abort,
# which leaves out the panic machinery and every panic message: about 40 KB).
# A panic is a bug either way, and the page shows it as "The trainer stopped";
# to see its message in the console, build with PANIC_MESSAGES=1 (that build may
# exceed the size ceiling below, which it then does not check).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

variant=${1:?simd128, relaxed or threads}
out=${2:?an output directory}
shift 2
WASM_OPT=scripts/node_modules/.bin/wasm-opt
[ -x "$WASM_OPT" ] || { echo "binaryen's wasm-opt is missing: run scripts/setup.sh" >&2; exit 1; }
NIGHTLY=$(scripts/nightly.sh) || { echo "no pinned nightly: run scripts/setup.sh" >&2; exit 1; }

# The single-threaded builds' flags (RUSTFLAGS replaces .cargo/config.toml's).
small=(-Z unstable-options -C panic=immediate-abort)
[ "${PANIC_MESSAGES:-0}" = 1 ] && small=()
std=(-Z build-std=panic_abort,std)
features=()
case "$variant" in
simd128)
    flags=(-C target-feature=+simd128 "${small[@]}")
    std+=(-Z build-std-features=optimize_for_size)
    ;;
relaxed)
    # A target directory of its own keeps the two builds from rebuilding each other.
    export CARGO_TARGET_DIR=target/relaxed
    flags=(-C target-feature=+simd128,+relaxed-simd "${small[@]}")
    std+=(-Z build-std-features=optimize_for_size)
    ;;
threads)
    # Shared memory for the pool: atomics and bulk memory, an imported shared memory
    # whose maximum is src/memory.rs's WASM_THREADS_MEMORY_BYTES (the page's memory
    # check counts against it), and the TLS symbols wasm-bindgen sets up per thread.
    max_memory=$(sed -n 's/^pub const WASM_THREADS_MEMORY_BYTES: u64 = \(.*\);$/\1/p' src/memory.rs)
    [ -n "$max_memory" ] || { echo "WASM_THREADS_MEMORY_BYTES not found in src/memory.rs" >&2; exit 1; }
    flags=(
        -C target-feature=+atomics,+bulk-memory,+simd128
        -C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=$((max_memory))
        -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size
        -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base
    )
    features=(--features threads)
    ;;
*)
    echo "unknown wasm build $variant: use simd128, relaxed or threads" >&2
    exit 2
    ;;
esac
RUSTFLAGS="${flags[*]}" rustup run "$NIGHTLY" wasm-pack build --target web --release --out-dir "$out" "$@" . \
    -- "${features[@]}" "${std[@]}"

# wasm-opt reads the features the wasm uses from its target_features section.
wasm="$out/makemore_bg.wasm"
before=$(stat -c %s "$wasm")
"$WASM_OPT" -O3 "$wasm" -o "$wasm.opt"
mv "$wasm.opt" "$wasm"
size=$(stat -c %s "$wasm")
echo "$variant: $wasm is $size bytes ($before before wasm-opt)"

# The single-threaded builds' ceiling, issue 15's floor: 590,966 bytes at efef2eb
# (2026-11-30), so a change that adds more than ~9 KB fails here.
MAX_BYTES=600000
if [ "$variant" != threads ] && [ "${PANIC_MESSAGES:-0}" != 1 ] && [ "$size" -gt "$MAX_BYTES" ]; then
    echo "$variant: $wasm is $size bytes, over the $MAX_BYTES-byte ceiling for a single-threaded build." >&2
    echo "See what grew (docs/architecture.md, \"What the wasm is made of\"), then cut it, or raise MAX_BYTES in scripts/build-wasm.sh on purpose." >&2
    exit 1
fi
