"""The baseline most projects would build: MobileNetV2 fine-tuned as a genuine/fake classifier.

It shares :class:`EmbeddingNet`'s backbone, checkpoint format and training loop (``python -m
training.train --objective binary``) so the comparison differs only in what is learnt: a
two-way decision instead of an embedding searched against a gallery.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ipr_vision.embedders.finetuned import CheckpointInfo, EmbeddingNet

METRIC, BINARY = "metric", "binary"


class BinaryClassifier(EmbeddingNet):
    """Logits ``(n, 2)``: column 1 is "fake" (built with ``dim=2``)."""

    def from_stem(self, stem_features: torch.Tensor) -> torch.Tensor:
        return self.head(self.pooled(stem_features))

    @torch.inference_mode()
    def p_fake(self, batch: torch.Tensor) -> torch.Tensor:
        return self(batch).softmax(dim=1)[:, 1]


def objective_of(checkpoint: str | Path) -> str:
    """Which objective a checkpoint written by ``training.train`` was trained with."""
    return str(CheckpointInfo.read(checkpoint).training.get("objective", METRIC))
