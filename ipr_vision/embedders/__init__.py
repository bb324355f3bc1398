"""Embedders turn photos into L2-normalised vectors; the gallery only ever sees this protocol.

Any model plugs in by offering ``model_id``, ``dim`` and ``embed``. ``model_id`` must change
whenever the vectors would change (architecture, weights, preprocessing), because the gallery
stores it with every embedding and re-embeds rather than mixing vectors from two models.
A model may also offer ``trained_on``, the sha256 of the photos it was trained on: the gallery
then leaves those photos out of its calibration (:func:`ipr_vision.core.suggest.calibrate_brand`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar, overload, runtime_checkable

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from ..core.cells import CellLayout

Out = TypeVar("Out")


@runtime_checkable
class Embedder(Protocol):
    """What the gallery needs from a model."""

    @property
    def model_id(self) -> str:
        """Identifies architecture, weights (by sha256) and preprocessing."""
        ...

    @property
    def dim(self) -> int:
        ...

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Return ``(len(images), dim)`` float32 rows of unit L2 norm."""
        ...


@runtime_checkable
class PatchEmbedder(Embedder, Protocol):
    """An embedder that can also say what each region of a photo looks like (for heat maps)."""

    def patch_features(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Return ``(len(images), h, w, c)`` float32 features on a spatial grid."""
        ...


@runtime_checkable
class CellEmbedder(Embedder, Protocol):
    """An embedder that also describes each photo by cells (:mod:`ipr_vision.core.cells`),
    from the same pass; a gallery stores them under ``cells_id`` beside the vectors."""

    @property
    def cells_id(self) -> str:
        """Identifies the cells as ``model_id`` does the vectors (and the axes file)."""
        ...

    def embed_with_cells(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """``(len(images), dim)`` float32 vectors and ``(len(images), cell_layout(self).dim)``
        float16 cells."""
        ...


def cell_layout(embedder: Embedder) -> CellLayout | None:
    """The cells the model describes photos by, or None (most models: vectors only)."""
    layout = getattr(embedder, "cell_layout", None)
    return layout if isinstance(layout, CellLayout) else None


def with_cells(embedder: Embedder) -> CellEmbedder | None:
    """The model as one that describes photos by cells too, or None when it gives vectors
    only (no :func:`cell_layout`: the ImageNet features, a checkpoint without an axes file)."""
    if cell_layout(embedder) is None or not isinstance(embedder, CellEmbedder):
        return None
    return embedder


def draft_size(embedder: Embedder) -> int | None:
    """The side a photo need be decoded at for this model (JPEG decodes several times faster at
    a reduced scale), or None when the model does not say and photos are decoded whole."""
    size = getattr(embedder, "input_size", None)
    return size if isinstance(size, int) else None


def bulk_batch(embedder: Embedder) -> int:
    """Photos per network call when many are embedded: as the model says (``bulk_batch``),
    else one. One is the default deliberately: with the shipped model on 2 cores a photo costs
    least alone in f32 and on PyTorch (v2, 320 px: batch 1 43.5 photos/s on OpenVINO and 30.7
    on PyTorch, batch 8 37.1 and 20.5; bench/README.md), while bf16 gains from batches."""
    size = getattr(embedder, "bulk_batch", 1)
    return size if isinstance(size, int) and size > 0 else 1


def embed_all(embedder: Embedder, images: Iterable[Image.Image], *, total: int | None = None,
              batch_size: int | None = None, progress: bool | None = None,
              description: str = "embedding") -> np.ndarray:
    """Embed any number of images in batches (``batch_size``, else :func:`bulk_batch`'s), with
    a progress bar on long runs. ``progress=None`` shows the bar only on a terminal and only
    for runs of over 50 photos."""
    rows = _in_batches(embedder.embed, images, total, batch_size or bulk_batch(embedder),
                       progress, description)
    if not rows:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.concatenate(rows)


@overload
def embed_all_with_cells(embedder: CellEmbedder, images: Iterable[Image.Image], *,
                         total: int | None = None, progress: bool | None = None,
                         description: str = "embedding") -> tuple[np.ndarray, np.ndarray]: ...


@overload
def embed_all_with_cells(embedder: Embedder, images: Iterable[Image.Image], *,
                         total: int | None = None, progress: bool | None = None,
                         description: str = "embedding"
                         ) -> tuple[np.ndarray, np.ndarray | None]: ...


def embed_all_with_cells(embedder: Embedder, images: Iterable[Image.Image], *,
                         total: int | None = None, progress: bool | None = None,
                         description: str = "embedding"
                         ) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`embed_all`, with each photo's cells from the same pass where the model has cells
    (:func:`with_cells`; ``embed_with_cells``), else None for them."""
    cells_of = with_cells(embedder)
    if cells_of is None:
        return embed_all(embedder, images, total=total, progress=progress,
                         description=description), None
    parts = _in_batches(cells_of.embed_with_cells, images, total, bulk_batch(cells_of),
                        progress, description)
    if not parts:
        layout = cell_layout(embedder)
        return (np.zeros((0, embedder.dim), dtype=np.float32),
                np.zeros((0, layout.dim if layout else 0), dtype=np.float16))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _in_batches(call: Callable[[Sequence[Image.Image]], Out], images: Iterable[Image.Image],
                total: int | None, batch_size: int, progress: bool | None,
                description: str) -> list[Out]:
    """``call`` on each ``batch_size`` images in turn, with the progress bar of
    :func:`embed_all`."""
    show = (total is None or total > 50) if progress is None else progress
    out: list[Out] = []
    batch: list[Image.Image] = []
    with tqdm(total=total, desc=description, unit="photo", disable=not show or None,
              leave=False) as bar:
        for image in images:
            batch.append(image)
            if len(batch) == batch_size:
                out.append(call(batch))
                bar.update(len(batch))
                batch = []
        if batch:
            out.append(call(batch))
            bar.update(len(batch))
    return out


log = logging.getLogger("ipr_vision")

#: Environment variable that picks the model: "imagenet", "finetuned" or a checkpoint path.
MODEL_ENV = "IPR_VISION_MODEL"
#: The model used when $IPR_VISION_MODEL is unset: the shipped fine-tuned checkpoint, which
#: separates genuine from fake better than the ImageNet features both on the products it was
#: trained on and, trained on one product, on another it never saw; its probabilities stay
#: calibrated (weights/MODEL_CARD.md). ``imagenet`` remains for products far from sneakers,
#: where features no sneaker photo has shaped may serve better: compare them on the brand's
#: own health panel.
DEFAULT_MODEL = "finetuned"


def default_embedder() -> Embedder:
    """The model ipr-vision uses when none is passed, as ``$IPR_VISION_MODEL`` names it:
    ``imagenet`` (frozen ImageNet MobileNetV2 features), ``finetuned`` (the checkpoint shipped
    in ``weights/``) or the path of a checkpoint written by ``training.train``; unset, it is
    :data:`DEFAULT_MODEL`. When the shipped checkpoint is missing or altered, ImageNet's
    features stand in with a warning: suggestions still work, but the gallery is embedded with
    another model than asked for. A gallery embedded with another model is re-embedded on its
    first use.
    """
    from ..errors import WeightsMissingError
    from . import weights
    from .finetuned import FineTunedEmbedder
    from .mobilenet import MobileNetV2Embedder

    chosen = os.environ.get(MODEL_ENV) or DEFAULT_MODEL
    if chosen == "imagenet":
        return MobileNetV2Embedder()
    if chosen != "finetuned":
        if not Path(chosen).is_file():
            raise WeightsMissingError(f"${MODEL_ENV} names {chosen}, which is not a file")
        return FineTunedEmbedder(chosen)
    try:
        return FineTunedEmbedder(weights.require(weights.FINETUNED))
    except WeightsMissingError as error:
        log.warning("%s. Falling back to ImageNet MobileNetV2 features.", error)
        return MobileNetV2Embedder()


#: The installed models a brand may choose by name (``gallery model --set``), as
#: $IPR_VISION_MODEL names them for the whole gallery.
MODELS = ("finetuned", "imagenet")

_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def installed_models() -> list[str]:
    """The :data:`MODELS` whose weights file is here (its sha256 is checked on loading)."""
    from . import weights

    files = {"finetuned": weights.FINETUNED, "imagenet": weights.IMAGENET_MOBILENET_V2}
    return [name for name in MODELS if files[name].path.is_file()]


def shared_model(name: str) -> Embedder:
    """One of :data:`MODELS`, loaded on first use and shared by every gallery of the process:
    an app server whose brands use two models holds each network once. Unlike
    :func:`default_embedder` nothing stands in for a missing file: a brand that chose this
    model must not be embedded with another under its name."""
    from . import weights
    from .finetuned import FineTunedEmbedder
    from .mobilenet import MobileNetV2Embedder

    if name not in MODELS:
        raise ValueError(f"no installed model is named {name!r} (models: {', '.join(MODELS)})")
    with _shared_lock:
        if name not in _shared:
            _shared[name] = (MobileNetV2Embedder() if name == "imagenet" else
                             FineTunedEmbedder(weights.require(weights.FINETUNED)))
        return _shared[name]


__all__ = ["MODELS", "CellEmbedder", "Embedder", "PatchEmbedder", "cell_layout",
           "default_embedder", "draft_size", "embed_all", "embed_all_with_cells",
           "installed_models", "shared_model", "with_cells"]
