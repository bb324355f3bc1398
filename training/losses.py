"""The gallery-score loss: train the embedding on the score inspection computes.

An inspection compares a photo with its product's references and scores it by how much nearer
its nearest fakes are than its nearest genuine references (``ipr_vision.core.scoring``). A loss over
a handful of photos per class (multi-similarity, say) pulls *every* genuine photo of a product
towards every other, which flattens what the search lives on: a new photo's nearest references
are usually photos of the same item from the same seller, not the class average. This loss
instead scores each training photo exactly as a gallery would: against a memory of every other
training photo of its product, its own photo group left out, and asks its top-``k`` same-label
similarity to beat its top-``k`` other-label similarity by a margin. Photos whose neighbourhood
already says the right thing give no gradient; the ones a gallery would get wrong do.

The memory holds one detached embedding per training photo, refreshed whenever the photo is in
a batch (a cross-batch memory, Wang et al., "Cross-Batch Memory for Embedding Learning", 2020);
under DDP every process keeps the same memory by gathering each step's embeddings.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn


class GalleryScoreLoss(nn.Module):
    """``softplus(scale * (s_other - s_same + margin)) / scale``, averaged over the batch, where
    ``s_same`` and ``s_other`` are the mean of the top-``k`` cosine similarities to the photo's
    own label and to the other label among the memory's photos of its product, photo group
    excluded.
    """

    # Buffers: moved with the module between devices, and kept in its state.
    memory: torch.Tensor
    is_fake: torch.Tensor
    product: torch.Tensor
    group: torch.Tensor

    def __init__(self, memory: torch.Tensor, is_fake: torch.Tensor, product: torch.Tensor,
                 group: torch.Tensor, k: int = 3, margin: float = 0.1,
                 scale: float = 16.0) -> None:
        super().__init__()
        self.register_buffer("memory", nn.functional.normalize(memory.float(), dim=1))
        self.register_buffer("is_fake", is_fake.bool())
        self.register_buffer("product", product.long())
        self.register_buffer("group", group.long())
        self.k, self.margin, self.scale = k, margin, scale

    def forward(self, embeddings: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        wrongness = self.wrongness(embeddings, indices)
        self.remember(embeddings.detach(), indices)
        return _soft_margin(wrongness, self.margin, self.scale, embeddings)

    def wrongness(self, embeddings: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        """``s_other - s_same`` per photo: the counterfeit score a gallery of the memory would
        give a genuine photo, or minus it for a fake (``ipr_vision.core.scoring``), so positive
        means the gallery would lean the wrong way; NaN where the product lacks either label."""
        sims = embeddings @ self.memory.T
        usable = ((self.product[indices][:, None] == self.product[None, :])
                  & (self.group[indices][:, None] != self.group[None, :]))
        same = self.is_fake[indices][:, None] == self.is_fake[None, :]
        wrongness = (_top_k_mean(sims, usable & ~same, self.k)
                     - _top_k_mean(sims, usable & same, self.k))
        return wrongness.where(wrongness.isfinite(), float("nan"))

    @torch.no_grad()
    def remember(self, embeddings: torch.Tensor, indices: torch.Tensor) -> None:
        """Store the batch's embeddings (every process's, under DDP) in the memory.

        Out of place: this step's similarities still need the old memory for their gradient.
        """
        if dist.is_available() and dist.is_initialized():
            embeddings, indices = _gather(embeddings), _gather(indices)
        self.memory = self.memory.index_copy(
            0, indices, nn.functional.normalize(embeddings.float(), dim=1))


class CellScoreLoss(nn.Module):
    """The gallery-score loss on the places of the item (``--cell-loss``): galleries re-rank a
    photo's shortlist by its cells (``ipr_vision.core.cells``), each cell's best match among
    the fakes less its best among the genuine ones, averaged over the photo; here each photo
    of a batch is scored so against the batch's other photos of its product, its own photo
    group left out, and a soft margin penalises a photo whose places lean to the wrong label.

    In the batch rather than against a memory: one photo's cells are 81 x 1280 numbers at 288
    px, so a memory of every training photo's would be gigabytes, while a batch of 48 (12 per
    product and label) matches about as many references per label as the galleries' shortlist
    of 20. The cells are the last feature map's, unit length each (the galleries' cells are
    those on their principal axes, fitted after training, and the stem's).
    """

    is_fake: torch.Tensor
    product: torch.Tensor
    group: torch.Tensor

    def __init__(self, is_fake: torch.Tensor, product: torch.Tensor, group: torch.Tensor,
                 margin: float = 0.05, scale: float = 16.0) -> None:
        super().__init__()
        self.register_buffer("is_fake", is_fake.bool())
        self.register_buffer("product", product.long())
        self.register_buffer("group", group.long())
        self.margin, self.scale = margin, scale

    def forward(self, feature_map: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        return _soft_margin(self.wrongness(feature_map, indices), self.margin, self.scale,
                            feature_map)

    def wrongness(self, feature_map: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        """Per photo, the mean over its cells of (best fake cell - best genuine cell) among the
        batch's other photo groups of its product, sign turned for a fake: positive leans the
        wrong way. NaN where the batch lacks either label of the product."""
        cells = nn.functional.normalize(feature_map.float().flatten(2).transpose(1, 2), dim=2)
        n_cells = cells.shape[1]
        out = torch.full((len(cells),), float("nan"), device=cells.device)
        product, group, is_fake = (t[indices] for t in (self.product, self.group, self.is_fake))
        for code in product.unique():
            rows = torch.nonzero(product == code).squeeze(1)
            flat = cells[rows].reshape(-1, cells.shape[2])
            n = len(rows)
            # (query photo, its cell, other photo): the query cell's best cell in that photo
            best = (flat @ flat.T).reshape(n, n_cells, n, n_cells).amax(dim=3)
            other = group[rows][:, None] != group[rows][None, :]
            fakes = other & is_fake[rows][None, :]
            genuine = other & ~is_fake[rows][None, :]
            fake_best = best.masked_fill(~fakes[:, None, :], float("-inf")).amax(dim=2)
            genuine_best = best.masked_fill(~genuine[:, None, :], float("-inf")).amax(dim=2)
            contrast = (fake_best - genuine_best).mean(dim=1)
            out[rows] = torch.where(is_fake[rows], -contrast, contrast)
        return out.where(out.isfinite(), float("nan"))


def _soft_margin(wrongness: torch.Tensor, margin: float, scale: float,
                 inputs: torch.Tensor) -> torch.Tensor:
    """``softplus(scale * (wrongness + margin)) / scale`` averaged over the photos that have a
    wrongness (NaN: the batch or memory lacks a label of their product); with none, a zero
    still tied to ``inputs``, which keeps the graph (and DDP's reducer) whole."""
    known = torch.isfinite(wrongness)
    if not known.any():
        return inputs.sum() * 0.0
    return nn.functional.softplus(scale * (wrongness[known] + margin)).mean() / scale


def _top_k_mean(sims: torch.Tensor, mask: torch.Tensor, k: int) -> torch.Tensor:
    """Mean of each row's ``k`` largest similarities where ``mask`` holds (-inf if none)."""
    masked = sims.masked_fill(~mask, float("-inf"))
    k = min(k, sims.shape[1])
    return masked.topk(k, dim=1).values.mean(dim=1)


def _gather(tensor: torch.Tensor) -> torch.Tensor:
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts)
