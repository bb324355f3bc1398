"""The fine-tuned embedding network (MobileNetV2 features and a small projection head) and the
embedder that serves a trained checkpoint. The training loop lives in ``training/``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torchvision
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from .. import weights as weights_mod
from .mobilenet import PATCH_STAGE, SquashEmbedder, fold_batch_norm


class EmbeddingNet(nn.Module):
    """MobileNetV2 features, average pooled, projected to ``dim`` and L2-normalised.

    A 128-256-d embedding is what metric learning shapes (and 5-10x less to search than the
    1280-d ImageNet features); the backbone is fine-tuned with it, at a lower learning rate.
    """

    def __init__(self, dim: int = 256) -> None:
        super().__init__()
        self.features = torchvision.models.mobilenet_v2(weights=None).features
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, dim))
        self.dim = dim

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.from_stem(self.stem(images))

    def stem(self, images: torch.Tensor) -> torch.Tensor:
        """Stride-16 features: what the heat maps read, and what training may freeze and cache."""
        return self.features[:PATCH_STAGE](images)

    def pooled(self, stem_features: torch.Tensor) -> torch.Tensor:
        """The rest of the backbone, average pooled: 1280 numbers per photo."""
        return self.features[PATCH_STAGE:](stem_features).mean(dim=(2, 3))

    def from_stem(self, stem_features: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.head(self.pooled(stem_features)), dim=1)

    @classmethod
    def from_imagenet(cls, weights_path: str | Path, dim: int = 256) -> EmbeddingNet:
        """Start from torchvision's ImageNet MobileNetV2 file (the ``classifier`` is dropped)."""
        net = cls(dim)
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        features = {k.removeprefix("features."): v for k, v in state.items()
                    if k.startswith("features.")}
        net.features.load_state_dict(features, strict=True)
        return net

    def save(self, path: str | Path, metadata: dict[str, object],
             trained_on: Iterable[str] = ()) -> None:
        """safetensors: loading it runs no code, unlike a pickled state dict. ``trained_on``
        (the training photos' sha256) travels with the weights, so a gallery holding those
        photos knows not to calibrate on them."""
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(path), metadata={"dim": str(self.dim),
                                              "training": json.dumps(metadata),
                                              "trained_on": json.dumps(sorted(trained_on))})

    @classmethod
    def load(cls, path: str | Path) -> EmbeddingNet:
        net = cls(CheckpointInfo.read(path).dim)
        net.load_state_dict(load_file(str(path)), strict=True)
        return net.eval()


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint written by ``training.train`` says of itself (safetensors metadata)."""

    dim: int
    training: dict[str, Any]  # the run's settings and history
    trained_on: frozenset[str]  # sha256 of the training photos (empty for older checkpoints)

    @property
    def input_size(self) -> int:
        """The side inference squashes photos to: the one chosen on validation photos after
        training (``embed_size``), else the side it was trained at."""
        return int(self.training.get("embed_size") or self.training.get("size", 224))

    @classmethod
    def read(cls, path: str | Path) -> CheckpointInfo:
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
        return cls(int(meta["dim"]), json.loads(meta.get("training", "{}")),
                   frozenset(json.loads(meta.get("trained_on", "[]"))))


class FineTunedEmbedder(SquashEmbedder):
    """A trained :class:`EmbeddingNet` checkpoint behind the ``Embedder`` protocol.

    Preprocessing is the ImageNet embedder's (whole photo squashed to a square), so training,
    galleries and inspections see photos the same way.
    """

    architecture = "mobilenet_v2_metric"

    def __init__(self, checkpoint: str | Path, *, input_size: int | None = None) -> None:
        checkpoint = Path(checkpoint)
        info = CheckpointInfo.read(checkpoint)
        self.net = fold_batch_norm(EmbeddingNet.load(checkpoint))
        self.input_size = input_size or info.input_size
        self.trained_on = info.trained_on
        sha = weights_mod.sha256_file(checkpoint)
        self._model_id = f"{self.architecture}{self.net.dim}@{sha[:16]}/squash{self.input_size}"

    @property
    def dim(self) -> int:
        return self.net.dim

    def _stem(self, batch: torch.Tensor) -> torch.Tensor:
        return self.net.stem(batch)

    def _vectors(self, batch: torch.Tensor) -> torch.Tensor:
        return self.net(batch)
