"""The fine-tuned embedding network (MobileNetV2 features and a small projection head) and the
embedder that serves a trained checkpoint. The training loop lives in ``training/``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
import torchvision
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from . import weights as weights_mod
from .mobilenet import PATCH_STAGE, SquashEmbedder, fold_batch_norm

#: What a checkpoint's embedding is: the projection head's output, or the backbone's pooled
#: features with the head used only to train them (``training.train --search``).
HEAD, POOLED = "head", "pooled"
Net = TypeVar("Net", bound="EmbeddingNet")


class EmbeddingNet(nn.Module):
    """MobileNetV2 features, average pooled, projected to ``dim`` by a small head.

    Metric learning shapes the head's ``dim``-d output, and through it the backbone (at a lower
    learning rate). Which of the two a gallery searches is ``searched``: the head's output is
    5x smaller, but a loss over product x label classes pulls each class together there, while
    the pooled 1280-d features below it keep what tells one item (and seller) from another as
    well as what the head learnt to separate, and that is what a nearest-neighbour search over
    a gallery lives on (the head is then discarded at inference, as in SimCLR; the figures are
    in ``weights/MODEL_CARD.md``).
    """

    def __init__(self, dim: int = 256, searched: str = HEAD) -> None:
        super().__init__()
        if searched not in (HEAD, POOLED):
            raise ValueError(f"searched must be {HEAD!r} or {POOLED!r}, not {searched!r}")
        self.features = torchvision.models.mobilenet_v2(weights=None).features
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, dim))
        self.dim = dim
        self.searched = searched

    @property
    def embedding_dim(self) -> int:
        """Length of the vectors a gallery stores."""
        return 1280 if self.searched == POOLED else self.dim

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.from_stem(self.stem(images))

    def stem(self, images: torch.Tensor) -> torch.Tensor:
        """Stride-16 features: what the heat maps read, and what training may freeze."""
        return self.features[:PATCH_STAGE](images)

    def pooled(self, stem_features: torch.Tensor) -> torch.Tensor:
        """The rest of the backbone, average pooled: 1280 numbers per photo."""
        return self.features[PATCH_STAGE:](stem_features).mean(dim=(2, 3))

    def from_stem(self, stem_features: torch.Tensor) -> torch.Tensor:
        return self.from_pooled(self.pooled(stem_features))

    def from_pooled(self, pooled: torch.Tensor) -> torch.Tensor:
        """The searched embedding, L2-normalised."""
        return nn.functional.normalize(pooled if self.searched == POOLED else self.head(pooled),
                                       dim=1)

    @classmethod
    def from_imagenet(cls: type[Net], weights_path: str | Path, dim: int = 256,
                      searched: str = HEAD) -> Net:
        """Start from torchvision's ImageNet MobileNetV2 file (the ``classifier`` is dropped)."""
        net = cls(dim, searched)
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
        save_file(state, str(path), metadata={"dim": str(self.dim), "searched": self.searched,
                                              "training": json.dumps(metadata),
                                              "trained_on": json.dumps(sorted(trained_on))})

    @classmethod
    def load(cls: type[Net], path: str | Path, searched: str | None = None) -> Net:
        """The checkpoint's network, searching what it records unless ``searched`` says."""
        info = CheckpointInfo.read(path)
        net = cls(info.dim, searched or info.searched)
        net.load_state_dict(load_file(str(path)), strict=True)
        return net.eval()


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint written by ``training.train`` says of itself (safetensors metadata)."""

    dim: int
    training: dict[str, Any]  # the run's settings and history
    trained_on: frozenset[str]  # sha256 of the training photos (empty for older checkpoints)
    searched: str = HEAD  # HEAD or POOLED (older checkpoints: HEAD)

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
                   frozenset(json.loads(meta.get("trained_on", "[]"))),
                   meta.get("searched", HEAD))


class FineTunedEmbedder(SquashEmbedder):
    """A trained :class:`EmbeddingNet` checkpoint behind the ``Embedder`` protocol.

    Preprocessing is the ImageNet embedder's (whole photo squashed to a square), so training,
    galleries and inspections see photos the same way.
    """

    architecture = "mobilenet_v2_metric"

    def __init__(self, checkpoint: str | Path, *, input_size: int | None = None,
                 searched: str | None = None, mirror: bool = True,
                 runtime: str | None = None) -> None:
        """``input_size`` and ``searched`` override what the checkpoint records, ``mirror``
        the averaging with the mirror image, ``runtime`` the numeric path (for evaluating it
        other ways; the model id says which was used). Training flips photos at random, so
        the mirror image is on by default (validation figures in ``weights/MODEL_CARD.md``)."""
        checkpoint = Path(checkpoint)
        info = CheckpointInfo.read(checkpoint)
        self.net = fold_batch_norm(EmbeddingNet.load(checkpoint, searched))
        self.input_size, self.mirror = input_size or info.input_size, mirror
        self.trained_on = info.trained_on
        sha = weights_mod.sha256_file(checkpoint)
        output = "_pooled" if self.net.searched == POOLED else str(self.net.dim)
        self._model_id = f"{self.architecture}{output}@{sha[:16]}/{self.view}"
        self._compile(self.net, runtime)

    @property
    def dim(self) -> int:
        return self.net.embedding_dim

    def _stem(self, batch: torch.Tensor) -> torch.Tensor:
        return self.net.stem(batch)

    def _vectors(self, batch: torch.Tensor) -> torch.Tensor:
        return self.net(batch)
