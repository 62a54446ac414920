#!/usr/bin/env bash
# Builds the page: the wasm package (release, SIMD) into www/pkg, optimized with
# wasm-opt when it is installed, and the bundled word list into www/data.
# Both outputs are ignored by git.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

wasm-pack build --target web --release --out-dir www/pkg --no-pack

wasm=www/pkg/makemore_bg.wasm
# Older binaryen mangles the reference-types table that wasm-bindgen emits.
opt_version=$( (wasm-opt --version 2>/dev/null || true) | grep -oE '[0-9]+' | head -1)
if [[ -n "$opt_version" && "$opt_version" -ge 116 ]]; then
    wasm-opt -O3 "$wasm" -o "$wasm.opt"
    mv "$wasm.opt" "$wasm"
elif [[ -n "$opt_version" ]]; then
    echo "wasm-opt $opt_version is older than 116 and breaks this wasm; skipping it (the page works, just larger)" >&2
else
    echo "wasm-opt not found: the wasm is not size-optimized (install binaryen 116 or newer for a smaller file)" >&2
fi

mkdir -p www/data
cp data/names.txt www/data/names.txt
echo "built www/ ($(du -h "$wasm" | cut -f1) wasm)"
