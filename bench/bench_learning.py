"""Does a gallery that adopts confirmed inspections judge later photos better? Prints; asserts
nothing.

Real photos (``nike_af1_j1``) arrive in a random order of photo groups: a starting gallery holds
a share of the groups (stratified by product and label), the rest come in rounds. Each round is
inspected twice, through the same ``Gallery.evaluate`` an officer's photos take: against the
starting gallery as it is (static), and against a gallery that adopted every earlier round with
its confirmed label (what ``Service.adopt_inspection`` does, one photo group per item). A photo
group is never on both sides of one comparison: a round is always judged before it joins.

Repeated over several orders (``--orders``): each figure is the mean over orders ± their sd,
which is how much the order of arrival alone moves it.

The default model is the frozen ImageNet MobileNetV2 (``--model imagenet``): the shipped model
was fine-tuned on most of these photos, so it would judge them as seen before. Vectors are
cached (``--cache``), so orders after the first cost only the searches.

Usage::

    cd bench && ../.venv/bin/python bench_learning.py [--orders 3] [--rounds 4] \\
        [--start-share 0.3] [--model imagenet] [--cache DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from bench_engine import Table, note, print_machine, section

from ipr_vision import Gallery
from ipr_vision.core.splits import split_groups
from ipr_vision.intake.labelled import LabelledPhoto, group_key, read_index, stratum, write_index
from training.crossval import cache_path
from training.embedding_cache import CachedEmbedder
from training.evaluate import ModelArgument

DATASET = Path(__file__).resolve().parents[1].parent / "shared/datasets/nike_af1_j1/index.csv"
BRAND = "nike"
FIGURES = (("AUROC", "auroc"), ("can't tell", "inconclusive"),
           ("fake recall @5 %", "fake_recall_at_5pct"), ("genuine flagged", "genuine_flagged"))


def arrival(items: list[LabelledPhoto], start_share: float, rounds: int, seed: int
            ) -> tuple[list[LabelledPhoto], list[list[LabelledPhoto]]]:
    """The starting gallery and the rounds that follow it, whole photo groups each."""
    groups = [group_key(item) for item in items]
    later = split_groups(groups, [stratum(i) for i in items], 1 - start_share, seed)
    start = [i for i, late in zip(items, later, strict=True) if not late]
    order = list(dict.fromkeys(g for g, late in zip(groups, later, strict=True) if late))
    np.random.default_rng(seed).shuffle(order)
    round_of = {group: n * rounds // len(order) for n, group in enumerate(order)}
    return start, [[i for i in items if round_of.get(group_key(i)) == r] for r in range(rounds)]


def run_order(items: list[LabelledPhoto], embedder: CachedEmbedder, args: argparse.Namespace,
              seed: int, scratch: Path) -> list[dict[str, dict[str, float]]]:
    """Per round: each gallery's figures on that round's photos."""
    start, rounds = arrival(items, args.start_share, args.rounds, seed)
    galleries = {name: Gallery(scratch / f"{seed}-{name}", embedder=embedder)
                 for name in ("static", "learning")}
    first = write_index(scratch / f"{seed}-start.csv", start)
    for gallery in galleries.values():
        gallery.import_index(first, brand=BRAND, added_by="bench")
    figures = []
    for number, photos in enumerate(rounds):
        batch = write_index(scratch / f"{seed}-round{number}.csv", photos)
        judged = {name: gallery.evaluate(batch, brand=BRAND, resamples=0)
                  for name, gallery in galleries.items()}
        figures.append({name: {key: float(getattr(e, key)) for _, key in FIGURES}
                        | {"photos": e.photos} for name, e in judged.items()})
        galleries["learning"].import_index(batch, brand=BRAND, added_by="bench")  # confirmed
    for gallery in galleries.values():
        gallery.close()
    embedder.save()
    return figures


def photo_arguments(description: str) -> argparse.ArgumentParser:
    """The options both real-photo benches take: the index, the model, its vector cache."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--index", type=Path, default=DATASET)
    parser.add_argument("--model", type=ModelArgument.parse, default=ModelArgument("imagenet"))
    parser.add_argument("--cache", type=Path, default=Path("../reports/cv-frozen/embeddings"))
    return parser


def real_photos(args: argparse.Namespace, title: str) -> list[LabelledPhoto]:
    """The index's photos, after the machine's description (none when the dataset is absent:
    the bench then says so and measures nothing)."""
    if not args.index.is_file():
        print(f"no dataset at {args.index}: nothing to measure")
        return []
    print_machine(quick=False, title=title)
    return read_index(args.index)[0]


def cached_model(args: argparse.Namespace) -> CachedEmbedder:
    """The chosen model, each photo embedded once across runs and benches."""
    base = args.model.embedder()
    return CachedEmbedder(base, cache_path(args.cache, base.model_id))


def main(argv: Sequence[str] | None = None) -> int:
    parser = photo_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--start-share", type=float, default=0.3)
    args = parser.parse_args(argv)
    items = real_photos(args, "ipr-vision: a gallery that adopts confirmed inspections")
    if not items:
        return 0
    embedder = cached_model(args)
    by_order = []
    with tempfile.TemporaryDirectory() as scratch:
        for seed in range(args.orders):
            with section(f"order {seed}"):
                by_order.append(run_order(items, embedder, args, seed, Path(scratch)))
    table = Table(("round", 5), ("photos", 6), ("figure", 16), ("static", 13),
                  ("learning", 13), ("change", 13))
    for number in range(args.rounds):
        for title, key in FIGURES:
            static, learning = (np.array([order[number][side][key] for order in by_order])
                                for side in ("static", "learning"))
            photos = int(np.mean([order[number]["static"]["photos"] for order in by_order]))
            table.row(str(number + 1), str(photos), title, _mean_sd(static),
                      _mean_sd(learning), _mean_sd(learning - static, signed=True))
    note(f"{len(items)} photos, {args.start_share:.0%} of the photo groups in the starting "
         f"gallery, the rest in {args.rounds} rounds; model {embedder.model_id}; mean ± sd over "
         f"{args.orders} orders of arrival. Round 1 is judged before anything was adopted, so "
         "its two columns agree.")
    return 0


def _mean_sd(values: np.ndarray, signed: bool = False) -> str:
    sign = "+" if signed else ""
    return f"{values.mean():{sign}.3f} ± {values.std(ddof=1) if len(values) > 1 else 0:.3f}"


if __name__ == "__main__":
    raise SystemExit(main())
