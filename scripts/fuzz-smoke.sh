#!/usr/bin/env bash
# Fuzz smoke run: every cargo-fuzz target in fuzz/ for FUZZ_SECONDS (default 30) each,
# starting from the committed seeds in fuzz/seeds/. Fails on any crash, leak or hang
# (the crashing input is saved under fuzz/artifacts/). Installs the nightly toolchain
# and the pinned cargo-fuzz when they are missing. fuzz/ builds the library without
# its GPU feature, so a cold build takes about 3.5 minutes on 2 cores. Extra
# arguments go to cargo fuzz build and run (e.g. --target-dir DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
seconds=${FUZZ_SECONDS:-30}

# The same pinned nightly as the threaded wasm build.
NIGHTLY=$(scripts/nightly.sh) || rustup toolchain install "$NIGHTLY" --profile minimal
if [[ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
cargo +"$NIGHTLY" fuzz build "$@"
for target in $(cargo +"$NIGHTLY" fuzz list); do
    dict=()
    [[ $target == weights* ]] && dict=(-dict=fuzz/weights.dict)
    mkdir -p "fuzz/corpus/$target"
    echo "fuzz $target for ${seconds}s"
    log=$(mktemp)
    if cargo +"$NIGHTLY" fuzz run "$@" "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -timeout=30 -print_final_stats=1 "${dict[@]}" >"$log" 2>&1; then
        grep -E '^(Done|stat::number_of_executed_units)' "$log"
        rm "$log"
    else
        tail -n 60 "$log" >&2
        echo "fuzz target $target failed (full log: $log); the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
