"""Per-epoch training state, so that an interrupted run continues where it stopped.

On 2 CPU cores one run of the shipped recipe takes 38 minutes and cross-validation five of them:
a run killed near its end (a reboot, a shared machine's limits) would otherwise start again
from ImageNet. After every epoch ``OUT/resume.pt`` holds what the next epoch depends on: the
weights, the optimiser's moments, the learning-rate schedule's step, the gallery-score loss's
memory, the loss history, the time spent, and each process's random number generators (the
batch sampler draws from NumPy's, augmentation from torch's) and batch sampler's class order.
``--resume`` then carries on the same run: with ``--workers 0`` it ends with the very weights
of an uninterrupted run. With loader processes it ends as another draw of the same recipe,
since each new loader process seeds its augmentations afresh.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

#: The state file in a run's folder.
STATE = "resume.pt"
#: Settings a resumed run may change: they decide how fast it trains, not what.
FREE = frozenset({"resume", "workers", "save_every"})


def settings(args: dict[str, object]) -> dict[str, str]:
    """The command's settings as a resumed run must repeat them."""
    return {k: str(v) for k, v in sorted(args.items()) if k not in FREE}


def process_states(sampler_order: list[int]) -> list[dict[str, Any]]:
    """Every process's random number generators and batch sampler's class order (the sampler
    shuffles it in place, so each epoch starts from the last one's): gathered from all under
    DDP, where each process draws its own batches."""
    name, keys, position, has_gauss, gauss = np.random.get_state(legacy=True)
    mine = {"torch": torch.get_rng_state(), "numpy": [name, torch.from_numpy(np.asarray(
        keys, dtype=np.int64)), int(position), int(has_gauss), float(gauss)],
        "sampler": sampler_order}
    if not (dist.is_available() and dist.is_initialized()):
        return [mine]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, mine)
    return gathered


def restore_process(states: list[dict[str, Any]], rank: int, world: int) -> list[int]:
    """Set this process's generators as they were; returns its sampler's class order."""
    if len(states) != world:
        raise ValueError(f"{STATE} was written by {len(states)} processes: resume with as many")
    state = states[rank]
    torch.set_rng_state(state["torch"])
    name, keys, position, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, gauss))
    order: list[int] = state["sampler"]
    return order


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Write the state atomically: a run killed while writing keeps the previous epoch's."""
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    os.replace(partial, path)


def load_state(path: Path, wanted: dict[str, str]) -> dict[str, Any] | None:
    """The state a run left in ``path``, or None when it left none; a state written by
    another command is refused, since continuing it would train neither recipe."""
    if not path.is_file():
        return None
    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    # A setting the run predates was at its default: options added since default to None.
    changed = sorted(k for k in wanted.keys() | state["settings"].keys()
                     if wanted.get(k, "None") != state["settings"].get(k, "None"))
    if changed:
        raise ValueError(f"{path} was written by another command (it differs in "
                         f"{', '.join('--' + k.replace('_', '-') for k in changed)}): run "
                         "that command with --resume, or start afresh in another folder")
    return state
