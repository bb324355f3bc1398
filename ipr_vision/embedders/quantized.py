"""A fine-tuned model's int8 network, kept beside its weights: ``<weights>.int8.xml`` and
``.int8.bin`` (OpenVINO's model format), run by default where it was checked
(:func:`.compiled.default_runtime`) or with ``IPR_VISION_RUNTIME=openvino-int8``.

Quantizing needs photos to see the range of each layer's values, so it cannot happen in a
gallery without making each gallery's vectors its own: it is done once, on the model's own
training photos, by ``python -m training.quantize <weights>`` (NNCF post-training
quantization), and the file travels with the weights. It holds the network the f32 path
compiles (photo to vector, and to cells where the model has axes), so the mirror image and the
cells work as on f32. Its vectors differ from f32's, so they carry their own model id, which
names the file's sha256. The file records the weights, cell axes and side it was made for: one
left beside other weights or axes is refused with a warning, and the model embeds in f32.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .weights import IN_CHECKOUT

log = logging.getLogger(__name__)

#: A model's int8 network, beside its weights: ``<weights>`` with this suffix added (and its
#: numbers in the same name ending ``.bin``).
INT8_SUFFIX = ".int8.xml"
#: What the file says it was made for, in its runtime information.
MADE_FOR = ("weights_sha256", "axes_sha256", "side", "outputs")


def int8_path(weights: Path) -> Path:
    return weights.with_name(weights.name + INT8_SUFFIX)


def int8_sha256(xml: Path) -> str:
    """One digest of both halves of the file: the graph and its numbers."""
    digest = hashlib.sha256()
    for part in (xml, xml.with_suffix(".bin")):
        digest.update(part.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Int8Network:
    """A usable int8 file: the network as OpenVINO read it (checked, then compiled from the
    same reading), its sha256 and the outputs it gives (``vectors``, then ``cells`` where it
    was made with the model's axes)."""

    network: Any
    sha256: str
    outputs: tuple[str, ...]


def load_int8(weights: Path, weights_sha256: str, axes_sha256: str | None, side: int,
              pinned: str | None = None) -> Int8Network | None:
    """The int8 network beside ``weights`` if it was made for them, their axes
    (``axes_sha256``; None: cells are not wanted) and ``side`` (and, for shipped weights, is
    the file published with them: sha256 ``pinned``); None, with a warning for a file made for
    something else, altered or unreadable, and silently without one."""
    path = int8_path(weights)
    if not path.is_file():
        return None
    try:
        import openvino as ov

        sha = int8_sha256(path)
        if pinned is not None and sha != pinned:
            raise ValueError(f"it is not the file published with these weights (sha256 "
                             f"{pinned[:16]}…); {IN_CHECKOUT}")
        network = ov.Core().read_model(path)
        made_for = {key: network.get_rt_info(["ipr_vision", key]).astype(str)
                    for key in MADE_FOR}
        outputs = tuple(made_for["outputs"].split(","))
        if made_for["weights_sha256"] != weights_sha256:
            raise ValueError(f"it was made for weights {made_for['weights_sha256'][:16]}, not "
                             f"these ({weights_sha256[:16]})")
        if int(made_for["side"]) != side:
            raise ValueError(f"it was made for {made_for['side']} px photos, not {side}")
        if axes_sha256 is None:
            outputs = outputs[:1]
        elif made_for["axes_sha256"] != axes_sha256:
            raise ValueError("it was made for other cell axes than those beside the weights")
    except (OSError, RuntimeError, ValueError) as error:
        log.warning("%s is not used (%s); embedding in f32", path, error)
        return None
    return Int8Network(network, sha, outputs)
