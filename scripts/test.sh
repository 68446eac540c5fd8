#!/usr/bin/env bash
# The test command (README's second command; .ci/run calls it too).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec python -m pytest "$@"
