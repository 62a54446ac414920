#!/usr/bin/env bash
# Creates bench/.venv with the pinned torch + numpy from bench/requirements.txt,
# used by bench/torch_bench.py as the PyTorch CPU peer reference.
# Idempotent: once a run has installed and smoke-tested the venv, it writes a
# stamp holding the hash of requirements.txt; later runs with the same
# requirements and a working `import torch` do nothing.
#
# Why the full (CUDA) wheel: only PyPI is reachable, and every PyPI torch wheel
# for linux x86_64 is a CUDA build. We tried the CPU-only route
# (`pip install --no-deps torch` plus its pure-Python deps: filelock,
# typing-extensions, sympy, networkx, jinja2, fsspec, mpmath, markupsafe);
# `import torch` fails, because libtorch_cpu.so itself (not just
# libtorch_cuda.so) is linked against libcudart.so.13 and libcupti.so.13, and
# libtorch.so against cuBLAS, cuDNN, NCCL, cuFFT, cuSPARSE, NVSHMEM, cuFile...
# So we install torch with its declared dependencies (nvidia-* packages,
# several GB on disk). The benchmark itself only ever runs on the CPU.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
stamp="$venv/.bench-setup-done"
want="$(sha256sum "$req" | cut -d' ' -f1)"

smoke_test() {
    "$venv/bin/python" - <<'PY'
import numpy, torch
x = torch.randn(64, 32, requires_grad=True)
w = torch.randn(32, 27, requires_grad=True)
loss = torch.nn.functional.cross_entropy(torch.tanh(x @ w), torch.zeros(64, dtype=torch.long))
loss.backward()
assert w.grad is not None and w.grad.shape == (32, 27)
print(f"torch {torch.__version__} numpy {numpy.__version__}: import, matmul and backward OK")
PY
}

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && smoke_test >/dev/null 2>&1; then
    echo "bench/.venv already set up ($(grep -v '^#' "$req" | paste -sd' '))"
    exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
    echo "creating venv at $venv"
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --disable-pip-version-check -r "$req"
smoke_test
echo "$want" > "$stamp"
echo "bench/.venv ready ($(du -sh "$venv" | cut -f1) on disk)"
