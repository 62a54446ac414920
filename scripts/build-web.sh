#!/usr/bin/env bash
# Builds the page: the three wasm builds (scripts/build-wasm.sh: www/pkg with
# SIMD, www/pkg-relaxed with relaxed SIMD, www/pkg-threads for cross-origin
# isolated pages), each optimized with wasm-opt, and the bundled word list into
# www/data. The outputs are ignored by git; www/wasm.js picks the build.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build-wasm.sh simd128 www/pkg --no-pack
scripts/build-wasm.sh relaxed www/pkg-relaxed --no-pack
scripts/build-wasm.sh threads www/pkg-threads --no-pack

mkdir -p www/data
cp data/names.txt www/data/names.txt
echo "built www/"
