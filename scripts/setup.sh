#!/usr/bin/env bash
# Installs what building, serving and testing need, skipping whatever is
# already there: Debian packages (Chromium + driver for browser tests, Mesa's
# lavapipe Vulkan driver for native GPU tests), the wasm target, a pinned
# nightly for the wasm builds (build-std), wasm-pack, the wasm-bindgen CLI pinned
# to Cargo.lock's version, and binaryen's wasm-opt from npm (scripts/package.json).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "[setup] $*" >&2; }

if ! command -v cargo >/dev/null; then
    log "cargo not found: install Rust with rustup (https://rustup.rs), then run this again"
    exit 1
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
pkgs=()
for p in chromium chromium-driver mesa-vulkan-drivers nodejs npm; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || pkgs+=("$p")
done
# node/npm may come from elsewhere (nodesource, nvm): only install them if missing.
command -v node >/dev/null && pkgs=("${pkgs[@]/nodejs}")
command -v npm >/dev/null && pkgs=("${pkgs[@]/npm}")
read -r -a pkgs <<<"${pkgs[*]}"
if [ "${#pkgs[@]}" -gt 0 ]; then
    log "apt-get install ${pkgs[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

# The pinned toolchain of rust-toolchain.toml, with its components and the wasm target.
TOOLCHAIN=$(sed -n 's/^channel = "\(.*\)"$/\1/p' rust-toolchain.toml)
rustup toolchain list | grep -q "^$TOOLCHAIN-" \
    || { log "rustup toolchain install $TOOLCHAIN"; rustup toolchain install "$TOOLCHAIN" --profile minimal; }
for c in rustfmt clippy; do
    rustup component list --toolchain "$TOOLCHAIN" --installed 2>/dev/null | grep -q "^$c" \
        || { log "rustup component add $c ($TOOLCHAIN)"; rustup component add "$c" --toolchain "$TOOLCHAIN"; }
done
rustup target list --toolchain "$TOOLCHAIN" --installed 2>/dev/null | grep -q wasm32-unknown-unknown \
    || { log "rustup target add wasm32-unknown-unknown ($TOOLCHAIN)"; rustup target add wasm32-unknown-unknown --toolchain "$TOOLCHAIN"; }

# The wasm builds: a pinned nightly with rust-src (they rebuild the standard library: build-std).
NIGHTLY=$(scripts/nightly.sh) || { log "rustup toolchain install $NIGHTLY"; rustup toolchain install "$NIGHTLY" --profile minimal; }
rustup component list --toolchain "$NIGHTLY" --installed 2>/dev/null | grep -q rust-src \
    || { log "rustup component add rust-src ($NIGHTLY)"; rustup component add rust-src --toolchain "$NIGHTLY"; }

WASM_PACK_VERSION=0.15.1
if ! wasm-pack --version 2>/dev/null | grep -q "$WASM_PACK_VERSION"; then
    log "cargo install wasm-pack $WASM_PACK_VERSION"
    cargo install wasm-pack --version "$WASM_PACK_VERSION"
fi

# wasm-bindgen's CLI must be exactly the version of the crate in Cargo.lock.
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [ -n "$WB_VERSION" ] && ! wasm-bindgen --version 2>/dev/null | grep -q "$WB_VERSION"; then
    log "cargo install wasm-bindgen-cli $WB_VERSION"
    cargo install wasm-bindgen-cli --version "$WB_VERSION"
fi

# wasm-opt for scripts/build-web.sh: binaryen pinned in scripts/package.json (distro
# packages are often too old for the reference types wasm-bindgen emits).
BINARYEN_VERSION=$(node -p "require('./scripts/package.json').dependencies.binaryen")
if ! scripts/node_modules/.bin/wasm-opt --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
    log "npm ci in scripts/ (binaryen $BINARYEN_VERSION)"
    (cd scripts && npm ci --no-audit --no-fund --silent --ignore-scripts)
fi

if [ -f e2e/package-lock.json ] && [ ! -d e2e/node_modules ]; then
    log "npm ci in e2e/"
    (cd e2e && npm ci --no-audit --no-fund --silent)
fi
log "ready"
