#!/usr/bin/env bash
# Runs every test: lint, native unit/integration tests (CPU reference, gradient
# checks, GPU kernels and CPU/GPU parity on Mesa's lavapipe), then the browser
# suites (wasm-bindgen tests in headless Chromium on CPU and WebGPU/SwiftShader,
# and the end-to-end tests of the served page).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== cargo fmt --check && cargo clippy"
cargo fmt --check
cargo clippy --release --all-targets -- -D warnings

echo "== native tests (GPU kernels on Mesa's lavapipe)"
cargo test --release

echo "== browser tests"
bash scripts/test-web.sh
