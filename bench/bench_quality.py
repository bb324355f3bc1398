"""How often the quality gate refuses clean studio photos, and whether it still refuses bad ones.

Prints; asserts nothing. Reads the studio set that ``training.studio_set`` builds from the real
sneaker photos (white, grey, shadowed and transparent backgrounds, and their washed-out, glared,
blurred and dark copies) and the real phone photos themselves. Each photo goes the way an
inspection takes it: ``read_photo`` (decoded at the gate's scale, transparency composited as
intake does) then ``assess_quality``.

The photo groups (``dup_group``) are split once, stratified by product and label: the gate's
thresholds may be chosen on the ``tune`` side only; the figures to quote are the ``report``
side's. A rate is printed with its count and a Wilson 95 % interval. ``--save`` writes the
figures as JSON and ``--before`` prints a saved run beside this one, so the gate before a change
and after it are compared on the same photos.

Usage::

    .venv/bin/python -m training.studio_set --index ../shared/datasets/nike_af1_j1/index.csv \\
        --out /tmp/studio
    .venv/bin/python bench/bench_quality.py --studio /tmp/studio/index.csv [--save F] [--before F]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ipr_vision.core.quality import MEASURE_SIDE, assess_quality
from ipr_vision.core.splits import split_groups
from ipr_vision.intake.labelled import LabelledPhoto, group_key, read_index, stratum
from ipr_vision.intake.photo import read_photo
from training.studio_set import NEGATIVES, STUDIO

REPO = Path(__file__).resolve().parent.parent
DATASET = Path(os.environ.get("IPR_VISION_DATASETS", REPO.parent / "shared" / "datasets"))
#: Share of photo groups on the report side; the rest is where thresholds may be tuned.
REPORT_SHARE = 0.6
SIDES = ("tune", "report")
PHONE = "phone"


@dataclass(frozen=True)
class Judged:
    """One photo's outcome at the gate."""

    variant: str
    side: str
    refused: bool
    failed: tuple[str, ...]
    milliseconds: float


def wilson(hits: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion: unlike the normal one it stays inside [0, 1]
    and is honest at 0 hits, which is where a good gate's false refusals are."""
    if total == 0:
        return 0.0, 1.0
    share = hits / total
    centre = (share + z * z / (2 * total)) / (1 + z * z / total)
    half = z * np.sqrt(share * (1 - share) / total + z * z / (4 * total * total)) \
        / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def sides(items: Sequence[LabelledPhoto], seed: int) -> dict[str, str]:
    """Photo group -> side; the studio set and the phone photos share groups, so a group is on
    the same side in both."""
    groups = [group_key(item) for item in items]
    on_report = split_groups(groups, [stratum(item) for item in items], REPORT_SHARE, seed)
    return {group: SIDES[int(report)] for group, report in zip(groups, on_report, strict=True)}


def judge(items: Sequence[LabelledPhoto], side_of: dict[str, str]) -> list[Judged]:
    """Every photo through intake and the gate; only the gate is timed."""
    judged = []
    for item in items:
        photo = read_photo(item.source, draft_size=MEASURE_SIDE)
        start = time.perf_counter()
        report = assess_quality(photo.image, photo.original_size)
        elapsed = (time.perf_counter() - start) * 1000
        judged.append(Judged(dict(item.extra).get("variant", PHONE), side_of[group_key(item)],
                             not report.ok, tuple(c.name for c in report.failed), elapsed))
    return judged


@dataclass(frozen=True)
class Rate:
    """How many photos of one variant and side the gate refused, and for what."""

    refused: int
    total: int
    checks: dict[str, int]

    def __str__(self) -> str:
        low, high = wilson(self.refused, self.total)
        return (f"{self.refused}/{self.total} = {100 * self.refused / self.total:.1f} % "
                f"[{100 * low:.1f}, {100 * high:.1f}]")


#: variant -> side -> rate
Table = dict[str, dict[str, Rate]]


def figures(judged: Sequence[Judged]) -> Table:
    table: Table = {}
    for variant in (PHONE, *STUDIO, *NEGATIVES):
        for side in SIDES:
            rows = [j for j in judged if j.variant == variant and j.side == side]
            if rows:
                checks = Counter(c for j in rows for c in j.failed)
                table.setdefault(variant, {})[side] = Rate(sum(j.refused for j in rows),
                                                           len(rows), dict(checks.most_common()))
    return table


def show(table: Table, before: Table | None) -> None:
    """One line per variant and side: refused / total = rate [Wilson 95 %], before and now."""
    print(f"{'photos':<12} {'side':<7} {'before':<30} {'now':<30} checks failed now")
    for variant, by_side in table.items():
        if variant == NEGATIVES[0]:
            print("degraded copies (refusals wanted):")
        for side, rate in by_side.items():
            earlier = (before or {}).get(variant, {}).get(side)
            checks = ", ".join(f"{name} {count}" for name, count in rate.checks.items())
            print(f"{variant:<12} {side:<7} {earlier or '-'!s:<30} {rate!s:<30} {checks}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studio", type=Path, required=True,
                        help="the studio set's index.csv (python -m training.studio_set)")
    parser.add_argument("--dataset", type=Path, default=DATASET / "nike_af1_j1",
                        help="the real phone photos (their index.csv)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the tune/report split")
    parser.add_argument("--save", type=Path, help="write this run's figures as JSON")
    parser.add_argument("--before", type=Path, help="a saved run to print beside this one")
    args = parser.parse_args(argv)
    phone, _ = read_index(args.dataset / "index.csv")
    studio, _ = read_index(args.studio)
    side_of = sides(phone, args.seed)
    judged = judge([*phone, *studio], side_of)
    table = figures(judged)
    before = ({variant: {side: Rate(**rate) for side, rate in by_side.items()}
               for variant, by_side in json.loads(args.before.read_text()).items()}
              if args.before else None)
    print(f"quality gate: {len(phone)} phone photos, {len(studio)} studio-set photos "
          f"({len({group_key(i) for i in studio})} photo groups); thresholds may be tuned on "
          f"'tune' ({100 * (1 - REPORT_SHARE):.0f} % of groups), quote 'report'")
    show(table, before)
    for kind, studio_set in (("phone photos", False), ("studio set", True)):
        times = np.array([j.milliseconds for j in judged if (j.variant != PHONE) == studio_set])
        print(f"gate time per photo, {kind} (decoded at {MEASURE_SIDE} px): median "
              f"{np.median(times):.2f} ms, 95th percentile {np.percentile(times, 95):.2f} ms")
    if args.save:
        args.save.write_text(json.dumps(
            {variant: {side: asdict(rate) for side, rate in by_side.items()}
             for variant, by_side in table.items()}, indent=1))


if __name__ == "__main__":
    main()
