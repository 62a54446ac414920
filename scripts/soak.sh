#!/usr/bin/env bash
# A long run in the page on the CPU and on WebGPU (SwiftShader), sampling the
# page's JS heap, the worker's wasm memory and its GPU buffers every minute, with
# bounds on their growth (scripts/soak.mjs says which and why). Not part of
# scripts/test.sh: 20 minutes a backend by default. Needs a built www/
# (scripts/build-web.sh) and e2e/node_modules (playwright-core).
#   scripts/soak.sh [--minutes N] [--backend cpu|webgpu|both] [--every SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d e2e/node_modules/playwright-core ] || (cd e2e && npm ci --no-audit --no-fund)
exec node scripts/soak.mjs "$@"
