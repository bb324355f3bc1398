"""MobileNetV2 features as photo embeddings: small, fast on a 2-core CPU, offline weights."""

from __future__ import annotations

import itertools
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar, cast

import numpy as np
import torch
import torchvision
from PIL import Image

from . import weights as weights_mod
from .compiled import (
    TORCH_CUDA,
    CompiledNetwork,
    asked_runtime,
    chosen_runtime,
    torch_device,
    wanted_precision,
)
from .quantized import Int8Network

log = logging.getLogger(__name__)

#: MobileNetV2 stage after which patch features are read (stride 16, 96 channels).
PATCH_STAGE = 14

#: ImageNet's channel means and standard deviations (of pixels in [0, 1]): what MobileNetV2's
#: weights expect, in inference here and in training (``training/data.py``).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_MEAN = np.array(IMAGENET_MEAN, dtype=np.float32) * 255.0
_STD = np.array(IMAGENET_STD, dtype=np.float32) * 255.0

Folded = TypeVar("Folded", bound=torch.nn.Module)


def fold_batch_norm(module: Folded) -> Folded:
    """Fold each batch norm into the convolution before it, in place, for inference.

    Measured on a 2-core CPU with channels-last tensors: about 1.4x (batch 1) to 2.3x (batch 8)
    faster than the eager module (bench/bench_engine.py); embeddings agree to 1e-6. The module
    keeps its structure, so its stages can still be sliced (as the patch features need).
    """
    module.eval()
    for parent in module.modules():
        if not isinstance(parent, torch.nn.Sequential):
            continue
        children = list(parent)
        for i, (conv, norm) in enumerate(itertools.pairwise(children)):
            if isinstance(conv, torch.nn.Conv2d) and isinstance(norm, torch.nn.BatchNorm2d):
                parent[i] = torch.nn.utils.fusion.fuse_conv_bn_eval(conv, norm)
                parent[i + 1] = torch.nn.Identity()
    return module.to(memory_format=torch.channels_last)


def squash_uint8(images: Sequence[Image.Image], size: int) -> np.ndarray:
    """Resize each whole photo to a ``size`` square: ``(n, size, size, 3)`` uint8, what
    :class:`SquashedToVectors` takes. No PyTorch operation runs here: on the OpenVINO path,
    PyTorch's worker threads would otherwise stay awake after it and fight OpenVINO's for the
    cores (measured: an embedding took twice as long on a busy 2-core machine)."""
    return np.stack([
        np.asarray(image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0))
        for image in images])


def squash_batch(images: Sequence[Image.Image], size: int) -> torch.Tensor:
    """Photos squashed and normalised as the network takes them: a channels-last float batch
    (for the patch features, training and evaluation)."""
    return normalise(torch.from_numpy(squash_uint8(images, size)))


def normalise(pixels: torch.Tensor) -> torch.Tensor:
    """``(n, h, w, 3)`` uint8 pixels as ImageNet-normalised floats, ``(n, 3, h, w)`` in
    channels-last memory (the layout the folded network runs fastest in)."""
    mean = torch.tensor(_MEAN, device=pixels.device).view(1, 3, 1, 1)
    std = torch.tensor(_STD, device=pixels.device).view(1, 3, 1, 1)
    return (pixels.permute(0, 3, 1, 2).float() - mean) / std


class SquashedToVectors(torch.nn.Module):
    """From squashed photos as pixels, ``(n, side, side, 3)`` uint8, to unit vectors: the
    normalisation, the mirror image and the averaging of the two inside one module, so that
    PyTorch runs the whole computation as the reference and OpenVINO compiles all of it (no
    per-photo float arithmetic left in NumPy; measured 2 ms of 22 per inspection before)."""

    def __init__(self, network: torch.nn.Module, mirror: bool) -> None:
        super().__init__()
        self.network, self.mirror = network, mirror

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        batch = normalise(pixels)
        if not self.mirror:
            return self.network(batch)
        # One call on photos and mirror images together: a batch of two runs faster on a CPU
        # than two batches of one.
        both = self.network(torch.cat([batch, batch.flip(3)]))
        count = pixels.shape[0]
        return torch.nn.functional.normalize(both[:count] + both[count:], dim=1)


class SquashEmbedder(ABC):
    """What every MobileNetV2-based embedder shares: the whole photo squashed to a square,
    optionally averaged with its mirror image, the model id, and patch features read from the
    stride-16 stem.

    Subclasses set ``input_size``, ``mirror`` and ``_model_id`` (ending in :attr:`view`),
    implement :meth:`_stem` (photos to stride-16 features) and hand :meth:`_compile` the
    network from a normalised batch to L2-normalised vectors.
    """

    input_size: int
    #: Pixels to vectors, run by PyTorch (the reference) when nothing is compiled.
    _graph: SquashedToVectors
    #: The same, compiled by OpenVINO Runtime, or None to run it with PyTorch.
    _compiled: CompiledNetwork | None = None
    #: Where PyTorch runs it (``torch-cuda``: a GPU).
    _device: torch.device = torch.device("cpu")
    #: Embed the photo and its mirror image and average the two: for a network trained on
    #: randomly flipped photos both are equally its view of the item, and their mean is a
    #: steadier one, at twice the cost.
    mirror: bool = False
    _model_id: str

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def view(self) -> str:
        """How photos are presented to the network, as the model id records it."""
        return f"squash{self.input_size}" + ("+mirror" if self.mirror else "")

    @property
    @abstractmethod
    def dim(self) -> int: ...

    def preprocess(self, images: Sequence[Image.Image]) -> torch.Tensor:
        return squash_batch(images, self.input_size)

    @abstractmethod
    def _stem(self, batch: torch.Tensor) -> torch.Tensor: ...

    @property
    def runtime(self) -> str:
        """Which numeric path embeds: ``openvino-f32``, ``torch`` or ``torch-cuda`` (the same
        vectors), or ``openvino-bf16`` or ``openvino-int8`` (each its own model id)."""
        if self._compiled is not None:
            return f"openvino-{self._compiled.precision}"
        return "torch" if self._device.type == "cpu" else TORCH_CUDA

    @property
    def bulk_batch(self) -> int:
        """Photos per network call when many are embedded (an import): one in f32, int8 and on
        PyTorch, eight in bf16. Measured on 2 cores importing 400 real photos with the shipped
        model: f32 49.5 photos/s at one a call, 43.8 at eight; bf16 62.7 at one, 73.2 at eight
        (bench/README.md); int8, 240 photos three times: 64.7-70.5 at one, 63.1-74.2 at four,
        65.4-69.1 at eight, no call size ahead."""
        return 8 if self.runtime == "openvino-bf16" else 1

    def _compile(self, network: torch.nn.Module, runtime: str | None = None,
                 int8: Int8Network | None = None) -> None:
        """Embed with ``network`` (a normalised batch to unit vectors): on OpenVINO Runtime,
        unless ``runtime`` (else ``$IPR_VISION_RUNTIME``) is ``torch`` or OpenVINO is not
        installed; in int8, the model's ``int8`` network where ``openvino-int8`` is asked for
        or the default (:func:`.compiled.default_runtime`) and there is one, else f32, with a
        warning only where it was asked for. bf16 and int8 change the vectors, so they change
        the model id too."""
        chosen = chosen_runtime(runtime)
        self._device = torch_device(chosen)
        self._graph = SquashedToVectors(network, self.mirror).eval().to(self._device)
        precision = wanted_precision(chosen)
        if precision == "int8" and int8 is None:
            (log.warning if asked_runtime(runtime) else log.info)(
                "%s has no usable int8 network (python -m training.quantize makes one); "
                "embedding in f32", self._model_id)
            precision = "f32"
        # Compiled, the mirror image runs beside the photo rather than in one batch with it
        # (CompiledNetwork): the same sum, normalised.
        self._compiled = (
            None if precision is None else
            CompiledNetwork(int8.network, self.input_size, self._model_id, precision,
                            mirror=self.mirror, outputs=int8.outputs) if int8 is not None else
            CompiledNetwork(SquashedToVectors(network, mirror=False).eval(), self.input_size,
                            self._model_id, precision, mirror=self.mirror))
        if precision == "bf16":
            self._model_id += "/bf16"
        elif int8 is not None:
            self._model_id += f"/int8@{int8.sha256[:16]}"

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        pixels = squash_uint8(images, self.input_size)
        if self._compiled is not None:
            return self._compiled(pixels)
        with torch.inference_mode():
            vectors = self._graph(torch.from_numpy(pixels).to(self._device))
        return vectors.cpu().numpy().astype(np.float32)

    @torch.inference_mode()
    def patch_features(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Mid-level features on a grid of side ``input_size / 16`` (14 x 14 at 224 px),
        ``(n, h, w, c)``, each averaged over its 3x3
        neighbourhood (PatchCore's locally aware patches): where a photo departs from genuine
        references shows up here before it is pooled away in the embedding."""
        local = torch.nn.functional.avg_pool2d(
            self._stem(self.preprocess(images).to(self._device)), 3, stride=1, padding=1)
        return local.permute(0, 2, 3, 1).contiguous().cpu().numpy().astype(np.float32)


class MobileNetV2Embedder(SquashEmbedder):
    """Global-average-pooled MobileNetV2 features (1280-d), L2-normalised.

    The whole photo is resized to ``input_size`` square rather than centre-cropped: officers'
    photos often put the identifying detail (heel tab, size label) near an edge, and a crop would
    throw it away (measured: squash beat a centre crop on the sneaker photos at every split).
    """

    architecture = "mobilenet_v2"

    def __init__(self, weights_path: str | Path | None = None, *, input_size: int = 224,
                 mirror: bool = False, num_threads: int | None = None,
                 runtime: str | None = None) -> None:
        if weights_path is None:
            weights_path = weights_mod.require(weights_mod.IMAGENET_MOBILENET_V2)
            sha = weights_mod.IMAGENET_MOBILENET_V2.sha256
        else:
            weights_path = Path(weights_path)
            sha = weights_mod.sha256_file(weights_path)
        if num_threads:
            torch.set_num_threads(num_threads)
        network = torchvision.models.mobilenet_v2(weights=None)
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        network.load_state_dict(state, strict=True)
        # Split at stride 16 so that the mid-level patch features (local texture, stitching,
        # print) are read from the same folded stem the embedding runs through.
        features = fold_batch_norm(cast(torch.nn.Sequential, network.features))
        self._stem_net, self._head_net = features[:PATCH_STAGE], features[PATCH_STAGE:]
        self._pooled = PooledFeatures(features)
        self.input_size, self.mirror = input_size, mirror
        self.weights_sha256 = sha
        self._model_id = f"{self.architecture}@{sha[:16]}/{self.view}"
        self._compile(self._pooled, runtime)

    @property
    def dim(self) -> int:
        return 1280

    def _stem(self, batch: torch.Tensor) -> torch.Tensor:
        return self._stem_net(batch)

    def _vectors(self, batch: torch.Tensor) -> torch.Tensor:
        return self._pooled(batch)


class PooledFeatures(torch.nn.Module):
    """MobileNetV2's features, average pooled and L2-normalised: the ImageNet embedding, as
    one module (PyTorch runs it, and OpenVINO compiles it)."""

    def __init__(self, features: torch.nn.Module) -> None:
        super().__init__()
        self.features = features

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.normalize(self.features(batch).mean(dim=(2, 3)), dim=1)
