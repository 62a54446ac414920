#!/usr/bin/env bash
# Prints the pinned nightly toolchain that builds the wasm (scripts/build-wasm.sh:
# build-std) and the fuzz targets: nightly-2026-05-20 (rustc e50aa6fba), or the plain `nightly` install
# when it is that same build. Exits 1 when neither is installed; scripts/setup.sh
# then installs the pinned one with rust-src.
PINNED=nightly-2026-05-20
COMMIT=e50aa6fba
if rustup run "$PINNED" rustc --version >/dev/null 2>&1; then
    echo "$PINNED"
elif rustc +nightly --version 2>/dev/null | grep -q "$COMMIT"; then
    echo nightly
else
    echo "$PINNED"
    exit 1
fi
