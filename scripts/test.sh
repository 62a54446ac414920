#!/usr/bin/env bash
# Runs every test: lint, native unit/integration tests (CPU reference, gradient
# checks, GPU kernels and CPU/GPU parity on Mesa's lavapipe), a fuzz smoke run,
# then the browser suites (wasm-bindgen tests in headless Chromium on CPU and
# WebGPU/SwiftShader, and the end-to-end tests of the served page).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/phase.sh

phase "setup (scripts/setup.sh)" bash scripts/setup.sh
phase "cargo fmt --check" cargo fmt --check
phase "cargo clippy" cargo clippy --release --all-targets -- -D warnings
# The native tests build with release's optimizations but not its link-time
# optimization into one codegen unit: for the ~20 test binaries that cost 676 s of
# CPU time against 144 s without (cargo test --release --no-run from an empty
# target directory, 2026-11-30), so roughly four minutes less on 2 cores.
phase "native tests (GPU kernels on Mesa's lavapipe)" \
    env CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo test --release
phase "fuzz smoke: each cargo-fuzz target for 15 s from the committed seeds" \
    env FUZZ_SECONDS="${FUZZ_SECONDS:-15}" bash scripts/fuzz-smoke.sh
phase "browser tests (scripts/test-web.sh, timed by phase above)" bash scripts/test-web.sh
