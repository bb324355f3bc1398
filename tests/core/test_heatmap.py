"""Where a photo differs: genuine photos stay cold, a changed region lights up."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ipr_vision.core.heatmap import build_memory, heat_map, nearest_distances, overlay


def test_nearest_distances_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    memory, queries = rng.normal(size=(500, 16)), rng.normal(size=(40, 16))
    brute = np.sqrt(((queries[:, None, :] - memory[None]) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(nearest_distances(memory.astype(np.float32),
                                                 queries.astype(np.float32), chunk=7),
                               brute, rtol=1e-4)


def test_memory_scale_keeps_genuine_cold_and_finds_the_odd_patch() -> None:
    rng = np.random.default_rng(1)
    genuine = rng.normal(0, 1, size=(40, 6, 6, 8)).astype(np.float32)
    memory = build_memory(genuine, np.arange(40))
    typical = rng.normal(0, 1, size=(6, 6, 8)).astype(np.float32)
    assert heat_map(memory, typical).novelty < 1.0
    odd = typical.copy()
    odd[2, 3] += 12.0  # one patch unlike anything genuine
    heat = heat_map(memory, odd)
    assert heat.heat[2, 3] == 1.0 and heat.novelty == 1.0
    assert np.unravel_index(np.argmax(heat.distances), heat.distances.shape) == (2, 3)
    with pytest.raises(ValueError, match="two photo groups"):
        build_memory(genuine[:3], np.zeros(3))


def test_overlay_leaves_cold_areas_untouched() -> None:
    image = Image.new("RGB", (140, 140), (40, 90, 160))
    heat = np.zeros((14, 14), dtype=np.float32)
    heat[:4, :4] = 1.0
    drawn = np.asarray(overlay(image, heat)).astype(int)
    assert drawn.shape == (140, 140, 3)
    assert (drawn[-20:, -20:] == (40, 90, 160)).all()  # cold corner: the photo itself
    assert drawn[10, 10, 0] > 150  # hot corner: drawn red-yellow
