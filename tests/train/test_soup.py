"""Averaging trainings of one recipe into one network (``training.soup``): the weights are the
ingredients' mean, the soup says what it was made of, and ingredients that would make its list
of training photos wrong are refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from ipr_vision.embedders import weights
from ipr_vision.embedders.finetuned import CheckpointInfo, EmbeddingNet, FineTunedEmbedder
from tests.support import synthetic_photo
from training.soup import SoupError, main, soup

TRAINED = {"a" * 64, "b" * 64}


def ingredient(folder: Path, seed: int, trained_on: set[str] = TRAINED,
               dim: int = 16) -> Path:
    """A checkpoint whose weights differ from ImageNet's by a seeded nudge, as one run's do."""
    torch.manual_seed(seed)
    net = EmbeddingNet.from_imagenet(weights.require(weights.IMAGENET_MOBILENET_V2), dim=dim)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    folder.mkdir(parents=True)
    path = folder / "model.safetensors"
    net.save(path, {"size": 64, "seed": seed}, trained_on=trained_on)
    (folder / "split.json").write_text(json.dumps({"held_out_groups": ["group:x"]}))
    return path


def test_the_soup_is_the_mean_of_its_ingredients_and_names_them(tmp_path: Path) -> None:
    first, second = ingredient(tmp_path / "a", 1), ingredient(tmp_path / "b", 2)
    out = soup([first, second], tmp_path / "soup" / "model.safetensors")
    mixed, a, b = (load_file(str(p)) for p in (out, first, second))
    assert set(mixed) == set(a)
    for name, tensor in mixed.items():
        if tensor.is_floating_point():
            torch.testing.assert_close(tensor, (a[name].double() + b[name].double()).div(2)
                                       .float())
        else:  # batch norm's step counters are counts, not weights
            assert torch.equal(tensor, a[name])
    assert not torch.equal(mixed["head.1.weight"], a["head.1.weight"])
    info = CheckpointInfo.read(out)
    assert info.trained_on == TRAINED and info.dim == 16 and info.training["seed"] == 1
    assert info.training["soup_of"] == [{"path": str(p), "sha256": weights.sha256_file(p)}
                                        for p in (first, second)]
    assert (out.parent / "split.json").read_text() == (first.parent / "split.json").read_text()
    # It is a checkpoint like any other: galleries embed with it.
    vectors = FineTunedEmbedder(out).embed([synthetic_photo("boot", "fake", 3)])
    assert vectors.shape == (1, 16) and np.isclose(np.linalg.norm(vectors), 1.0, atol=1e-5)


def test_ingredients_that_cannot_make_one_model_are_refused(tmp_path: Path) -> None:
    first = ingredient(tmp_path / "a", 1)
    other_photos = ingredient(tmp_path / "b", 2, trained_on={"a" * 64, "c" * 64})
    with pytest.raises(SoupError, match="same training photos"):
        soup([first, other_photos], tmp_path / "s1.safetensors")
    other_net = ingredient(tmp_path / "c", 3, dim=32)
    with pytest.raises(SoupError, match="not the same network"):
        soup([first, other_net], tmp_path / "s2.safetensors")
    with pytest.raises(SoupError, match="at least two"):
        soup([first], tmp_path / "s3.safetensors")
    with pytest.raises(SystemExit, match="refused: the checkpoints do not list"):
        main(["--out", str(tmp_path / "s4.safetensors"), str(first), str(other_photos)])
    assert not any((tmp_path / f"s{n}.safetensors").exists() for n in range(1, 5))
