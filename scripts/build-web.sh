#!/usr/bin/env bash
# Builds the page: the wasm package (release, SIMD) into www/pkg, its threaded
# twin (nightly, atomics, rayon on Web Workers) into www/pkg-threads, both
# optimized with wasm-opt when a good one is installed, and the bundled word list
# into www/data. The outputs are ignored by git. www/wasm.js picks the build.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

wasm-pack build --target web --release --out-dir www/pkg --no-pack

# Shared memory for the pool: atomics and bulk memory, an imported shared memory
# of at most 2 GiB, and the TLS symbols wasm-bindgen sets up per thread. Atomics
# need the standard library rebuilt with them (build-std, nightly only).
THREADS_FLAGS=(
    -C target-feature=+atomics,+bulk-memory,+simd128
    -C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=2147483648
    -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size
    -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base
)
NIGHTLY=$(scripts/nightly.sh) || { echo "no pinned nightly: run scripts/setup.sh" >&2; exit 1; }
RUSTFLAGS="${THREADS_FLAGS[*]}" rustup run "$NIGHTLY" wasm-pack build --target web --release \
    --out-dir www/pkg-threads --no-pack -- --features threads -Z build-std=panic_abort,std

# Older binaryen mangles the reference-types table that wasm-bindgen emits.
opt_version=$( (wasm-opt --version 2>/dev/null || true) | grep -oE '[0-9]+' | head -1)
for wasm in www/pkg/makemore_bg.wasm www/pkg-threads/makemore_bg.wasm; do
    if [[ -n "$opt_version" && "$opt_version" -ge 116 ]]; then
        wasm-opt -O3 --enable-threads --enable-bulk-memory --enable-simd "$wasm" -o "$wasm.opt"
        mv "$wasm.opt" "$wasm"
    fi
done
if [[ -n "$opt_version" && "$opt_version" -lt 116 ]]; then
    echo "wasm-opt $opt_version is older than 116 and breaks this wasm; skipping it (the page works, just larger)" >&2
elif [[ -z "$opt_version" ]]; then
    echo "wasm-opt not found: the wasm is not size-optimized (install binaryen 116 or newer for a smaller file)" >&2
fi

mkdir -p www/data
cp data/names.txt www/data/names.txt
echo "built www/ ($(du -h www/pkg/makemore_bg.wasm | cut -f1) wasm, $(du -h www/pkg-threads/makemore_bg.wasm | cut -f1) threaded)"
