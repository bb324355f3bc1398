"""A fine-tuned model's trained-on margin (:class:`ipr_vision.core.scoring.TrainedOnMargin`),
kept in a file beside its weights: ``<weights>.margin.json``.

The margin is measured by cross-validation of the recipe the model was trained by
(``python -m training.evaluate --folds 5 ... --margin-for <weights>``), after the weights were
written, so it cannot live in their metadata without changing their sha256 and with it every
gallery's model id. The file names the sha256 of the weights it was measured for: a margin
left beside retrained weights is refused, not applied to a model it says nothing about.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from ..core.scoring import TrainedOnMargin
from .weights import IN_CHECKOUT

log = logging.getLogger(__name__)

#: A model's margin file, beside its weights: ``<weights>`` with this suffix added.
MARGIN_SUFFIX = ".margin.json"


def margin_path(weights: Path) -> Path:
    return weights.with_name(weights.name + MARGIN_SUFFIX)


def save_margin(path: Path, margin: TrainedOnMargin, weights_sha256: str,
                measured: dict[str, Any]) -> None:
    """Write the margin for the weights of ``weights_sha256``, with how it was measured
    (folds, figures, command), atomically: a reader never sees half a file."""
    text = json.dumps({"weights_sha256": weights_sha256, **margin.to_dict(),
                       "measured": measured}, indent=1, sort_keys=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text + "\n", encoding="utf-8")
    partial.replace(path)


def load_margin(path: Path, weights_sha256: str, pinned: str | None = None
                ) -> TrainedOnMargin | None:
    """The margin in ``path`` if it was measured for these weights (and, for shipped weights,
    is the file published with them: sha256 ``pinned``); None, with a warning for a file that
    is unreadable, altered or belongs to other weights, and silently without one."""
    if not path.is_file():
        return None
    try:
        raw = path.read_bytes()
        if pinned is not None and hashlib.sha256(raw).hexdigest() != pinned:
            raise ValueError(f"it is not the file published with these weights (sha256 "
                             f"{pinned[:16]}…); {IN_CHECKOUT}")
        stored = json.loads(raw.decode("utf-8"))
        if stored["weights_sha256"] != weights_sha256:
            raise ValueError(f"it was measured for weights {stored['weights_sha256'][:16]}, "
                             f"not these ({weights_sha256[:16]})")
        genuine, fake = float(stored["genuine"]), float(stored["fake"])
        if not (0.0 <= genuine < 1.0 and -1.0 < fake <= 0.0):
            raise ValueError(f"margins {genuine} / {fake} are out of range")
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.warning("%s is not used (%s): training photos in a gallery are calibrated on "
                    "unmoved", path, error)
        return None
    return TrainedOnMargin(genuine, fake)
