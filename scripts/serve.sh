#!/usr/bin/env bash
# Builds the page (scripts/build-web.sh) and serves www/ on http://127.0.0.1:8000,
# cross-origin isolated so the CPU path trains on every core (the threaded build).
# PORT=... picks another port; --no-build serves what was built last.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[[ "${1:-}" == "--no-build" ]] || scripts/build-web.sh
exec node scripts/serve.mjs --root www --port "${PORT:-8000}" --isolate
