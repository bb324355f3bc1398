"""The fine-tuned embedding network (MobileNetV2 features and a small projection head) and the
embedder that serves a trained checkpoint. The training loop lives in ``training/``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
import torchvision
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from ..core.cells import CellLayout
from ..core.scoring import TrainedOnMargin
from . import weights as weights_mod
from .cells import CellsAndVector, SquashedToCells, axes_path, load_axes
from .compiled import CompiledNetwork, wanted_precision
from .margin import load_margin, margin_path
from .mobilenet import PATCH_STAGE, SquashEmbedder, fold_batch_norm, squash_uint8
from .quantized import Int8Network, load_int8

log = logging.getLogger(__name__)

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

    def last_map(self, stem_features: torch.Tensor) -> torch.Tensor:
        """The rest of the backbone: the last feature map, whose cells galleries re-rank by."""
        return self.features[PATCH_STAGE:](stem_features)

    @staticmethod
    def pool(last_map: torch.Tensor) -> torch.Tensor:
        """The last feature map averaged over its cells: 1280 numbers per photo."""
        return last_map.mean(dim=(2, 3))

    def pooled(self, stem_features: torch.Tensor) -> torch.Tensor:
        return self.pool(self.last_map(stem_features))

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
    galleries and inspections see photos the same way. With an axes file beside the checkpoint
    (:mod:`.cells`) it also describes each photo by cells, from the same pass
    (:meth:`embed_with_cells`), which a gallery stores under :attr:`cells_id`.
    """

    architecture = "mobilenet_v2_metric"
    #: The cells a photo gets, or None without an axes file.
    cell_layout: CellLayout | None = None
    cells_id: str = ""
    #: How far it puts its own training photos from new ones (:mod:`.margin`), if measured.
    trained_on_margin: TrainedOnMargin | None = None
    _cells_graph: SquashedToCells
    _cells_compiled: CompiledNetwork | None = None

    def __init__(self, checkpoint: str | Path, *, input_size: int | None = None,
                 searched: str | None = None, mirror: bool = True,
                 runtime: str | None = None, cells: bool = True) -> None:
        """``input_size`` and ``searched`` override what the checkpoint records, ``mirror``
        the averaging with the mirror image, ``runtime`` the numeric path (for evaluating it
        other ways; the model id says which was used). Training flips photos at random, so
        the mirror image is on by default (validation figures in ``weights/MODEL_CARD.md``).
        ``cells=False`` leaves out the cells an axes file beside the checkpoint would give
        (searching by vectors only, as before them: to compare the two)."""
        checkpoint = Path(checkpoint)
        info = CheckpointInfo.read(checkpoint)
        self.net = fold_batch_norm(EmbeddingNet.load(checkpoint, searched))
        self.input_size, self.mirror = input_size or info.input_size, mirror
        self.trained_on = info.trained_on
        sha = self.weights_sha256 = weights_mod.sha256_file(checkpoint)
        output = "_pooled" if self.net.searched == POOLED else str(self.net.dim)
        self._model_id = f"{self.architecture}{output}@{sha[:16]}/{self.view}"
        shipped = sha == weights_mod.FINETUNED.sha256
        axes = axes_path(checkpoint) if cells and axes_path(checkpoint).is_file() else None
        int8 = None
        if wanted_precision(runtime) == "int8":
            int8 = load_int8(checkpoint, sha,
                             None if axes is None else weights_mod.sha256_file(axes),
                             self.input_size,
                             weights_mod.FINETUNED_INT8.sha256 if shipped else None)
        self._compile(self.net, runtime, int8)
        if axes is not None:
            self._compile_cells(axes, runtime, int8)
        self.trained_on_margin = load_margin(
            margin_path(checkpoint), sha, weights_mod.FINETUNED_MARGIN.sha256 if shipped else None)

    def _compile_cells(self, path: Path, runtime: str | None, int8: Int8Network | None
                       ) -> None:
        """Cells from the axes in ``path``, on the numeric path the vectors take (in int8, the
        network that gives the vectors gives the cells too); a file that does not fit the
        network is warned about and the model goes without cells."""
        try:
            axes, sha = load_axes(path)
            if (self.weights_sha256 == weights_mod.FINETUNED.sha256
                    and sha != weights_mod.FINETUNED_CELLS.sha256):
                raise ValueError(f"its sha256 is {sha}, the shipped model's axes "
                                 f"{weights_mod.FINETUNED_CELLS.sha256}; "
                                 f"{weights_mod.FINETUNED_CELLS.remedy}")
            views = CellsAndVector(self.net, axes).eval()
            layout = views.layout(self.input_size)
        except (OSError, ValueError, RuntimeError) as error:
            log.warning("%s cannot give this model cells (%s); searching by vectors only",
                        path, error)
            return
        self.cell_layout = layout
        self.cells_id = f"{self._model_id}/cells{axes.shape[1]}@{sha[:16]}"
        self._cells_graph = SquashedToCells(views, self.mirror).eval().to(self._device)
        precision = wanted_precision(runtime)
        self._cells_compiled = (
            None if precision is None else
            self._compiled if int8 is not None else
            CompiledNetwork(SquashedToCells(views, mirror=False).eval(), self.input_size,
                            self.cells_id, "f32" if precision == "int8" else precision,
                            mirror=self.mirror, outputs=("vectors", "cells")))

    def embed_with_cells(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """Each photo's vector (as :meth:`embed` gives it) and its cells, flattened rows of
        ``cell_layout.dim`` numbers, unit per layer and cell, from one pass; the cells as
        float16, as galleries keep them (a cosine of two moves by under 1e-3)."""
        layout = self.cell_layout
        if layout is None:
            raise ValueError(f"{self.model_id} has no cells: no axes file beside its weights")
        if not images:
            return np.zeros((0, self.dim), np.float32), np.zeros((0, layout.dim), np.float16)
        pixels = squash_uint8(images, self.input_size)
        if self._cells_compiled is not None:
            vectors, grid = self._cells_compiled.run(pixels)
        else:
            with torch.inference_mode():
                rows, cells = self._cells_graph(torch.from_numpy(pixels).to(self._device))
            vectors, grid = rows.cpu().numpy(), cells.cpu().numpy()
        cells = layout.unit(grid.reshape(len(images), layout.cells, layout.width))
        return (vectors.astype(np.float32),
                cells.reshape(len(images), layout.dim).astype(np.float16))

    @property
    def dim(self) -> int:
        return self.net.embedding_dim

    def _stem(self, batch: torch.Tensor) -> torch.Tensor:
        return self.net.stem(batch)

    def _vectors(self, batch: torch.Tensor) -> torch.Tensor:
        return self.net(batch)

