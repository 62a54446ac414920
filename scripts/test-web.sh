#!/usr/bin/env bash
# The browser tests: builds the page, runs the wasm API tests (tests/web.rs) in
# headless Chromium on the CPU and on WebGPU (SwiftShader), the CPU ones again
# on the relaxed-SIMD build, then the end-to-end
# suite (e2e/) against the served page. Runs both suites, fails if either did.
# Screenshots land in e2e/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
# WebGPU on SwiftShader is a software GPU: allow each wasm test minutes, not the default 20 s.
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-300}"

source scripts/phase.sh

phase "build the page (scripts/build-web.sh)" scripts/build-web.sh
# The npm package in pkg/, for e2e/package.test.mjs (reuses the release build).
phase "build the npm package" scripts/build-package.sh --no-pack

failed=()
phase "wasm API tests in headless Chromium (webdriver.json: WebGPU on SwiftShader)" \
    wasm-pack test --headless --chrome --release -- --test web || failed+=("wasm-pack test")

# The tests whose names say cpu again, on the relaxed-SIMD build (fused multiply-adds,
# its own tolerances); the flags and target directory are scripts/build-wasm.sh's.
phase "the CPU tests on the relaxed-SIMD build" \
    env CARGO_TARGET_DIR=target/relaxed RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" \
    wasm-pack test --headless --chrome --release -- --test web -- cpu || failed+=("wasm-pack test (relaxed SIMD)")

e2e() (
    cd e2e
    [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund
    node --test --test-concurrency=1
)
phase "end-to-end tests of the page (playwright-core, /usr/bin/chromium)" e2e || failed+=("e2e")

if [ "${#failed[@]}" -gt 0 ]; then
    echo "browser tests failed: ${failed[*]}" >&2
    exit 1
fi
