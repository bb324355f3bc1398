"""Integration on real phone photos of genuine and fake sneakers (../shared/datasets/nike_af1_j1).

Skips cleanly when the dataset is absent. Splits are always by photo group (dup_group).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ipr_vision import Gallery
from ipr_vision.core.splits import split_groups
from ipr_vision.embedders import MODEL_ENV
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from tests.support import nike_rows, write_index


def one_per_group(rows: list[dict[str, str]], per_cell: int, seed: int) -> list[dict[str, str]]:
    """A few dozen photos, one per photo group, balanced over product and label."""
    rng = np.random.default_rng(seed)
    picked: list[dict[str, str]] = []
    seen: set[str] = set()
    for index in rng.permutation(len(rows)):
        row = rows[index]
        cell = (row["product"], row["label"])
        if row["dup_group"] in seen or sum(
                (r["product"], r["label"]) == cell for r in picked) >= per_cell:
            continue
        seen.add(row["dup_group"])
        picked.append(row)
    return picked


@pytest.fixture(scope="module")
def small_nike(nike_dir: Path, tmp_path_factory: pytest.TempPathFactory,
               embedder: MobileNetV2Embedder) -> tuple[Gallery, list[dict[str, str]], Path]:
    rows = one_per_group(nike_rows(nike_dir), per_cell=13, seed=0)  # 52 photos
    on_query = split_groups([r["dup_group"] for r in rows],
                            [f"{r['product']}/{r['label']}" for r in rows], 0.25, seed=0)
    root = tmp_path_factory.mktemp("nike")
    gallery_csv = write_index(root / "gallery.csv",
                              [r for r, q in zip(rows, on_query, strict=True) if not q], nike_dir)
    write_index(root / "queries.csv", [r for r, q in zip(rows, on_query, strict=True) if q],
                nike_dir)
    gallery = Gallery(root / "g", embedder=embedder)
    report = gallery.import_index(gallery_csv, brand="nike", allow_poor_quality=True)
    assert not report.failed and len(report.added) == int((~on_query).sum())
    return gallery, [r for r, q in zip(rows, on_query, strict=True) if q], root


def test_real_photos_import_and_inspect(small_nike: tuple[Gallery, list, Path],
                                        nike_dir: Path) -> None:
    gallery, queries, _ = small_nike
    assert gallery.store.integrity_problems() == []
    proposed_right = 0
    for row in queries:
        suggestion = gallery.inspect(nike_dir / row["path"], brand="nike")
        proposed_right += suggestion.product == row["product"]
        assert suggestion.verdict in ("genuine", "counterfeit", "inconclusive")
        assert suggestion.nearest_genuine and suggestion.nearest_fake
        assert all(m.product == suggestion.product for m in suggestion.nearest_genuine)
        if suggestion.p_counterfeit is not None:
            assert 0.0 <= suggestion.p_counterfeit <= 1.0
    # Air Force 1 and Jordan 1 look different: the product is proposed right nearly always.
    assert proposed_right >= len(queries) - 2


def test_a_reference_finds_itself(small_nike: tuple[Gallery, list, Path]) -> None:
    gallery, _, _ = small_nike
    ref = gallery.references("nike", "jordan_1")[0]
    suggestion = gallery.inspect(ref.path, brand="nike", product="jordan_1")
    nearest = suggestion.nearest_genuine if ref.label == "genuine" else suggestion.nearest_fake
    assert nearest[0].ref == ref.id and nearest[0].similarity == pytest.approx(1.0, abs=1e-3)


def test_rotated_phone_photo_matches_its_upright_reference(
        small_nike: tuple[Gallery, list, Path], tmp_path: Path) -> None:
    """A photo shot sideways (EXIF orientation 6) is compared upright with its reference."""
    from PIL import Image

    gallery, _, _ = small_nike
    ref = gallery.references("nike", "air_force_1")[0]
    upright = Image.open(ref.path).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways = tmp_path / "sideways.jpg"
    upright.transpose(Image.Transpose.ROTATE_90).save(sideways, exif=exif, quality=95)
    suggestion = gallery.inspect(sideways, brand="nike", product="air_force_1")
    best = max(suggestion.nearest_genuine + suggestion.nearest_fake, key=lambda m: m.similarity)
    assert best.ref == ref.id and best.similarity > 0.97


@pytest.mark.slow
def test_held_out_groups_reach_the_auroc_target(nike_dir: Path, tmp_path: Path) -> None:
    """The core issue's bar: gallery from 80 % of photo groups, AUROC >= 0.80 on the rest,
    through the CLI exactly as documented. The shipped model trained on nearly every one of
    these photos (all but the demo sample's), so it would score photos it memorised: the
    pipeline is checked with the frozen ImageNet features, which never saw them."""
    env = {**os.environ, MODEL_ENV: "imagenet"}

    def run(*args: object) -> str:
        result = subprocess.run([sys.executable, "-m", "ipr_vision", *map(str, args)],
                                capture_output=True, text=True, check=False, timeout=900,
                                env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout

    run("split", "--index", nike_dir / "index.csv", "--out", tmp_path, "--query-share", "0.2",
        "--seed", "0")
    # Every photo of the split, however poor (about 2 % are blurred or dark): the bar is about
    # the model on these photos, as the figures in weights/MODEL_CARD.md were measured.
    run("import", "--index", tmp_path / "gallery.csv", "--gallery", tmp_path / "g",
        "--brand", "nike", "--allow-poor-quality")
    figures = json.loads(run("evaluate", "--index", tmp_path / "queries.csv", "--gallery",
                             tmp_path / "g", "--brand", "nike", "--json"))
    print(json.dumps(figures, indent=1))
    assert figures["auroc"] >= 0.80
    assert figures["ece"] <= 0.05  # p_counterfeit is calibrated, not just ordered
    assert figures["genuine_flagged"] <= 0.03  # operating point: 1 % of genuine references
    assert figures["photos"] > 500
    # Copies of one photo are one group, and the AUROC's interval over them is not a point.
    assert figures["groups"] < figures["photos"]
    low, high = figures["ci95"]["auroc"]
    assert low < figures["auroc"] < high and high - low > 0.01
