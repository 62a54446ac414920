#!/usr/bin/env bash
# Builds the npm package into pkg/ (ignored by git): wasm-pack's --target web
# output (makemore.js, makemore.d.ts, the wasm) plus the drop-in element
# (element.js with worker.js, chart.js, the vendored uPlot and the bundled
# names.txt), the package README (scripts/package/README.md) and package.json
# fields for them. Then `npm pack` in pkg/ makes the tarball, unless --no-pack.
#
#   scripts/build-package.sh [--no-pack]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

rm -rf pkg
scripts/build-wasm.sh simd128 pkg
scripts/build-wasm.sh relaxed pkg/relaxed --no-pack

# The element and its worker; in the package the wasm bindings sit next to them,
# the relaxed-SIMD build in relaxed/ (the single-threaded builds only: wasm.js
# falls back to them).
cp www/element.js www/chart.js www/client.js www/worker.js www/adapter.js www/diagnostics.js www/format.js pkg/
sed -e "s#'./pkg/makemore.js'#'./makemore.js'#" -e "s#'./pkg-relaxed/makemore.js'#'./relaxed/makemore.js'#" www/wasm.js > pkg/wasm.js
for import in "import('./makemore.js')" "import('./relaxed/makemore.js')"; do
    grep -qF "$import" pkg/wasm.js || { echo "wasm.js: its wasm imports were not rewritten ($import)" >&2; exit 1; }
done
rm -f pkg/relaxed/.gitignore
mkdir -p pkg/vendor/uplot pkg/data
cp www/vendor/uplot/{uPlot.esm.js,uPlot.min.css,LICENSE} pkg/vendor/uplot/
cp data/names.txt pkg/data/names.txt
cp scripts/package/README.md pkg/README.md
cp scripts/package/element.d.ts pkg/element.d.ts

node - <<'JS'
const fs = require('fs');
const path = 'pkg/package.json';
const pkg = JSON.parse(fs.readFileSync(path, 'utf8'));
pkg.files = [...new Set([...(pkg.files ?? []), 'element.js', 'element.d.ts', 'worker.js', 'wasm.js', 'client.js', 'adapter.js', 'diagnostics.js', 'format.js', 'chart.js', 'vendor/', 'data/', 'relaxed/', 'README.md'])];
pkg.exports = {
    '.': { types: './makemore.d.ts', default: './makemore.js' },
    './element.js': { types: './element.d.ts', default: './element.js' },
    './element': { types: './element.d.ts', default: './element.js' },
    './worker.js': './worker.js',
    './wasm.js': './wasm.js',
    './data/names.txt': './data/names.txt',
    './vendor/uplot/uPlot.min.css': './vendor/uplot/uPlot.min.css',
    './makemore_bg.wasm': './makemore_bg.wasm',
    './relaxed/makemore_bg.wasm': './relaxed/makemore_bg.wasm',
    './package.json': './package.json',
};
pkg.sideEffects = [...new Set([...(pkg.sideEffects ?? []), './element.js', './worker.js', './wasm.js'])];
fs.writeFileSync(path, JSON.stringify(pkg, null, 2) + '\n');
JS

if [[ "${1:-}" != "--no-pack" ]]; then
    (cd pkg && npm pack --silent)
fi
echo "built pkg/ ($(node -p "require('./pkg/package.json').name + '@' + require('./pkg/package.json').version"))"
