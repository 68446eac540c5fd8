#!/usr/bin/env bash
# Install shopfuse with every extra and the dev tools into the active Python environment.
# torch is pinned first: an unpinned torch (or a package asking for a newer one) pulls a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q --upgrade pip
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[dev]"
python -m pip check
python - <<'PY'
import torch
assert torch.__version__.startswith("2.13.0"), f"torch {torch.__version__}: expected the 2.13.0 CPU build"
PY
