"""A photo's cells (:mod:`ipr_vision.core.cells`) from the same pass as its vector.

Two layers describe each place on the item: the last feature map (9 x 9 cells at 288 px, 1280
numbers each, reduced to the first principal axes of the model's training photos' cells) and
the stride-16 stem the heat maps read (each cell averaged over its 3 x 3 neighbourhood, then
2 x 2 cells averaged to the last map's grid). Both come out of the network the vector is
pooled from, so cells cost a few small operations beyond it, not another pass. The axes are a
file beside the model's weights (``<weights>.cells.safetensors``, written by
``python -m training.cell_axes``); a model without one has no cells.

What was screened (``training/patch_screen.py --shortlist 20 --small-bank 64``) is what runs
here: the same maps, axes fitted the same way, the mirror image averaged cell for cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..core.cells import CellLayout
from .mobilenet import normalise
from .weights import sha256_file

if TYPE_CHECKING:
    from .finetuned import EmbeddingNet

#: The stem's cells are averaged this many to a side, to the last map's grid.
STEM_POOL = 2
#: A model's axes file, beside its weights: ``<weights>`` with this suffix added.
AXES_SUFFIX = ".cells.safetensors"


def axes_path(weights: Path) -> Path:
    return weights.with_name(weights.name + AXES_SUFFIX)


def save_axes(path: Path, axes: torch.Tensor, metadata: dict[str, str]) -> None:
    """``axes`` ``(1280, d)``, with what they were fitted on (safetensors: no code runs when
    they are read)."""
    save_file({"axes": axes.float().contiguous()}, str(path), metadata=metadata)


def load_axes(path: Path) -> tuple[torch.Tensor, str]:
    """The axes in ``path`` and the file's sha256 (which names the cells they make)."""
    with safe_open(str(path), framework="pt") as handle:
        axes = handle.get_tensor("axes").float()
    if axes.ndim != 2:
        raise ValueError(f"{path}: the axes are not a (channels, d) matrix")
    return axes, sha256_file(path)


class CellsAndVector(torch.nn.Module):
    """From a normalised batch to each photo's vector (as ``net`` embeds it) and its cells, a
    ``(n, h, w, d + stem channels)`` grid: the last map on the axes, then the stem."""

    def __init__(self, net: EmbeddingNet, axes: torch.Tensor) -> None:
        super().__init__()
        self.net = net
        # A 1 x 1 convolution is the projection of every cell on the axes.
        self.project = torch.nn.Conv2d(axes.shape[0], axes.shape[1], 1, bias=False)
        self.project.weight.data = axes.T.reshape(axes.shape[1], axes.shape[0], 1, 1).clone()

    def forward(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        stem = self.net.stem(batch)
        last = self.net.last_map(stem)
        vector = self.net.from_pooled(self.net.pool(last))
        local = torch.nn.functional.avg_pool2d(stem, 3, stride=1, padding=1)
        local = torch.nn.functional.avg_pool2d(local, STEM_POOL)
        cells = torch.cat([self.project(last), local], dim=1)
        return vector, cells.permute(0, 2, 3, 1)

    def layout(self, side: int) -> CellLayout:
        """The cells of a photo squashed to ``side`` (a multiple of 32, so that the stem's
        grid pools exactly onto the last map's)."""
        if side % (16 * STEM_POOL):
            raise ValueError(f"cells need a side that is a multiple of {16 * STEM_POOL}, "
                             f"not {side}")
        with torch.no_grad():  # axes that do not fit the network fail here, not in a search
            _, cells = self(torch.zeros(1, 3, side, side))
        return CellLayout(cells.shape[1] * cells.shape[2],
                          (self.project.out_channels, cells.shape[3] - self.project.out_channels))


class SquashedToCells(torch.nn.Module):
    """:class:`~ipr_vision.embedders.mobilenet.SquashedToVectors` for vectors and cells: from
    squashed photos as pixels to both, the mirror image's cells flipped back (the grid's width
    is its third axis) and added to the photo's."""

    def __init__(self, views: CellsAndVector, mirror: bool) -> None:
        super().__init__()
        self.views, self.mirror = views, mirror

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch = normalise(pixels)
        if not self.mirror:
            return self.views(batch)
        vectors, cells = self.views(torch.cat([batch, batch.flip(3)]))
        count = pixels.shape[0]
        return (torch.nn.functional.normalize(vectors[:count] + vectors[count:], dim=1),
                cells[:count] + cells[count:].flip(2))
