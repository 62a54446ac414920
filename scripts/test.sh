#!/usr/bin/env bash
# Runs every test: lint, native unit/integration tests (CPU reference, gradient
# checks, GPU kernels and CPU/GPU parity on Mesa's lavapipe), a fuzz smoke run,
# then the browser suites (wasm-bindgen tests in headless Chromium on CPU and
# WebGPU/SwiftShader, and the end-to-end tests of the served page).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== cargo fmt --check && cargo clippy"
cargo fmt --check
cargo clippy --release --all-targets -- -D warnings

echo "== native tests (GPU kernels on Mesa's lavapipe)"
cargo test --release

echo "== fuzz smoke: each cargo-fuzz target for 15 s from the committed seeds"
FUZZ_SECONDS="${FUZZ_SECONDS:-15}" bash scripts/fuzz-smoke.sh

echo "== browser tests"
bash scripts/test-web.sh
