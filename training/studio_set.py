"""Studio test set: the real sneaker photos' items cut out and shown as catalogues show them.

Right holders' references are often studio photos: the item alone on white, light grey or a
transparent background. The quality gate's thresholds were set on phone photos, where a white
backdrop filling half the frame does not occur, so its false refusals on studio photos have to
be measured on studio photos. None are at hand, so they are made from the real ones: the item
is cut out (GrabCut, started from a centre rectangle, the rotated copies' black corners marked
as background) and composited, square and centred with a margin, on

* ``white`` (255), ``grey`` (232, a light studio grey), ``shadow`` (white with a soft contact
  shadow under the item), and ``transparent`` (an RGBA PNG whose background is alpha 0).

The same white composites, degraded, are the photos the gate must still refuse:

* ``washed_out``: exposure pushed up until 60 % of the item's own pixels clip (the backdrop
  was white already, so only the item shows it);
* ``glare``: a blown elliptical highlight covering 15 % of the item, soft-edged, on the item;
* ``blurred``: Gaussian blur, sigma 2 at 640 px (the gate's phone-photo blur copies);
* ``dark``: brightness x0.2 (the gate's phone-photo dark copies).

One photo per photo group (``dup_group``): the copy with the least black rotation corners.
Photos whose item cannot be cut out (it runs along much of the frame, or the cut-out is tiny
or nearly the whole frame) are left out and counted, since a studio photo shows the item whole.
GrabCut is imperfect on cluttered phone photos: a share of cut-outs keep a hand, a box edge or
a patch of floor, which makes the set harder for the gate, not easier.
The set is written to a folder with an index CSV (``variant`` and ``source`` columns beside the
usual ones) that ``bench/bench_quality.py`` reads; no photo of it belongs in the repository.

Usage::

    python -m training.studio_set --index ../shared/datasets/nike_af1_j1/index.csv --out DIR
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import zlib
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ipr_vision.intake.labelled import LabelledPhoto, group_key, read_index, write_index
from ipr_vision.intake.photo import read_photo

#: Side of every photo in the set, and of the phone photos it comes from.
SIDE = 640
#: Side GrabCut runs at: enough for a shoe's outline, about a second a photo on 2 busy cores.
CUT_SIDE = 320
BACKDROPS = {"white": (255, 255, 255), "grey": (232, 232, 232)}
STUDIO = ("white", "grey", "shadow", "transparent")
NEGATIVES = ("washed_out", "glare", "blurred", "dark")
#: Share of the item's pixels a washed-out copy clips.
WASHED_OUT_CLIPPED = 0.60
#: Share of the item a glare copy's blown highlight covers.
GLARE_SHARE = 0.15
#: Item margin on each side of the square studio frame, as a share of the item's long side.
MARGIN = 0.12
#: A usable cut-out covers this share of the frame and at most this share of the frame's edge
#: (phone photos often crop the shoe; a quarter of the edge still leaves the item whole enough).
ITEM_SHARE = (0.06, 0.80)
MAX_EDGE_CONTACT = 0.25


def pick_copies(items: Sequence[LabelledPhoto]) -> list[LabelledPhoto]:
    """One photo per photo group: the copy with the fewest black corner pixels, so the item is
    cut from the least rotated, least padded copy."""
    groups: dict[str, list[LabelledPhoto]] = defaultdict(list)
    for item in items:
        groups[group_key(item)].append(item)
    return [min(copies, key=_black_corners) for _, copies in sorted(groups.items())]


def _black_corners(item: LabelledPhoto) -> int:
    pixels = np.asarray(read_photo(item.source).image)
    corner = max(4, min(pixels.shape[:2]) // 10)
    return sum(int((pixels[rows, cols].max(axis=2) < 12).sum())
               for rows in (slice(0, corner), slice(-corner, None))
               for cols in (slice(0, corner), slice(-corner, None)))


def cut_out(rgb: np.ndarray) -> np.ndarray | None:
    """The item's alpha (uint8, the photo's size), or None when it cannot be cut out cleanly.

    GrabCut at :data:`CUT_SIDE`, seeded with the centre as probable item and a frame of
    probable background; black corners from rotated copies are certain background. The
    largest component and any of at least a fifth its size are kept (a pair of shoes), holes
    filled, and the edge feathered by a pixel when scaled back, as a masking tool leaves it.
    """
    small = cv2.resize(rgb, (CUT_SIDE, CUT_SIDE), interpolation=cv2.INTER_AREA)
    seeds = np.full((CUT_SIDE, CUT_SIDE), cv2.GC_PR_BGD, np.uint8)
    inset = round(CUT_SIDE * 0.06)
    seeds[inset:-inset, inset:-inset] = cv2.GC_PR_FGD
    seeds[_border_connected(small.max(axis=2) < 12)] = cv2.GC_BGD
    models = (np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64))
    cv2.grabCut(np.ascontiguousarray(small[..., ::-1]), seeds, (0, 0, 0, 0), *models, 5,
                cv2.GC_INIT_WITH_MASK)
    item = ((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(item)
    if count < 2:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.r_[False, areas >= 0.2 * areas.max()]
    item = _fill_holes(keep[labels])
    ring = np.r_[item[0], item[-1], item[1:-1, 0], item[1:-1, -1]]
    if not ITEM_SHARE[0] <= item.mean() <= ITEM_SHARE[1] or ring.mean() > MAX_EDGE_CONTACT:
        return None
    alpha = cv2.resize(item.astype(np.uint8) * 255, (rgb.shape[1], rgb.shape[0]),
                       interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(alpha, (0, 0), 1.0)


def _border_connected(mask: np.ndarray) -> np.ndarray:
    _, labels = cv2.connectedComponents(mask.astype(np.uint8))
    edge = np.unique(np.r_[labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    return np.isin(labels, edge[edge > 0])


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """The mask with every region it encloses filled: laces' gaps belong to the shoe."""
    return ~_border_connected(~mask)


def studio_frame(rgb: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The item centred in a square of :data:`SIDE` with a :data:`MARGIN` around it, as a
    catalogue frames it (the photo and its alpha, padded where the frame leaves the photo)."""
    ys, xs = np.nonzero(alpha > 127)
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    side = round(max(bottom - top, right - left) * (1 + 2 * MARGIN))
    y0, x0 = (top + bottom - side) // 2, (left + right - side) // 2
    pad = side  # enough for any frame that leaves the photo
    photo = np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    mask = np.pad(alpha, pad)
    crop = (slice(y0 + pad, y0 + pad + side), slice(x0 + pad, x0 + pad + side))
    return (cv2.resize(photo[crop], (SIDE, SIDE), interpolation=cv2.INTER_AREA),
            cv2.resize(mask[crop], (SIDE, SIDE), interpolation=cv2.INTER_AREA))


def on_backdrop(rgb: np.ndarray, alpha: np.ndarray, colour: tuple[int, int, int],
                shadow: bool = False) -> np.ndarray:
    """The item over a plain backdrop, optionally with a soft contact shadow below it (the
    item's silhouette blurred, dropped by 2 % of the side, darkening the backdrop by up to a
    third)."""
    backdrop = np.empty_like(rgb, dtype=np.float32)
    backdrop[:] = colour
    if shadow:
        drop = round(SIDE * 0.02)
        silhouette = np.zeros(alpha.shape, np.float32)
        silhouette[drop:] = alpha[:-drop] / 255.0
        shade = cv2.GaussianBlur(silhouette, (0, 0), SIDE * 0.015)
        backdrop *= (1.0 - 0.35 * shade)[..., None]
    weight = (alpha / 255.0)[..., None]
    return np.clip(rgb * weight + backdrop * (1.0 - weight) + 0.5, 0, 255).astype(np.uint8)


def washed_out(on_white: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Exposure pushed up until :data:`WASHED_OUT_CLIPPED` of the item's pixels clip."""
    luma = on_white.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    level = float(np.quantile(luma[alpha > 127], 1.0 - WASHED_OUT_CLIPPED))
    gain = 255.0 / max(level, 1.0)
    return np.clip(on_white * gain, 0, 255).astype(np.uint8)


def glare(on_white: np.ndarray, alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A blown highlight on the item: an ellipse of :data:`GLARE_SHARE` of the item's area,
    centred well inside the item, white at its core and fading over its last fifth."""
    inside = alpha > 127
    depth = cv2.distanceTransform(inside.astype(np.uint8), cv2.DIST_L2, 5)
    ys, xs = np.nonzero(depth >= 0.5 * depth.max())
    pick = int(rng.integers(len(ys)))
    axes = np.sqrt(GLARE_SHARE * inside.sum() / np.pi) * np.array([1.6, 1 / 1.6])
    angle = float(rng.uniform(0, np.pi))
    yy, xx = np.mgrid[:SIDE, :SIDE].astype(np.float32)
    dy, dx = yy - ys[pick], xx - xs[pick]
    u = (dx * np.cos(angle) + dy * np.sin(angle)) / axes[0]
    v = (-dx * np.sin(angle) + dy * np.cos(angle)) / axes[1]
    blown = np.clip((1.1 - np.sqrt(u * u + v * v)) / 0.2, 0, 1) * (alpha / 255.0)
    return np.clip(on_white + (255.0 - on_white) * blown[..., None], 0, 255).astype(np.uint8)


def blurred(on_white: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(on_white, (0, 0), 2.0)


def dark(on_white: np.ndarray) -> np.ndarray:
    return (on_white * 0.2 + 0.5).astype(np.uint8)


def variants(rgb: np.ndarray, alpha: np.ndarray, seed: int) -> dict[str, Image.Image]:
    """Every studio photo and every negative made from one cut-out item, by variant name."""
    white = on_backdrop(rgb, alpha, BACKDROPS["white"])
    transparent = np.dstack([rgb, alpha])
    return {
        "white": Image.fromarray(white),
        "grey": Image.fromarray(on_backdrop(rgb, alpha, BACKDROPS["grey"])),
        "shadow": Image.fromarray(on_backdrop(rgb, alpha, BACKDROPS["white"], shadow=True)),
        "transparent": Image.fromarray(transparent, "RGBA"),
        "washed_out": Image.fromarray(washed_out(white, alpha)),
        "glare": Image.fromarray(glare(white, alpha, np.random.default_rng(seed))),
        "blurred": Image.fromarray(blurred(white)),
        "dark": Image.fromarray(dark(white)),
    }


def build(index_csv: Path, out: Path, limit: int | None = None) -> tuple[Path, int, int]:
    """Write the set under ``out`` (``<variant>/<group>.png|jpg`` and ``index.csv``); returns
    the index and how many photo groups were used and left out.

    Photos are written as a catalogue would serve them: JPEG at quality 95, the transparent
    ones as PNG. A rebuild in a new process writes the same files (checked on the first six
    groups): the glare's placement is seeded by the photo group, and GrabCut's colour models
    start from OpenCV's random generator, which each process starts in the same state.
    """
    items, failures = read_index(index_csv)
    for where, reason in failures:
        print(f"skipped {where}: {reason}", file=sys.stderr)
    chosen = pick_copies(items)[:limit]
    rows: list[LabelledPhoto] = []
    left_out = 0
    for number, item in enumerate(chosen, start=1):
        if number % 100 == 0:
            print(f"{number}/{len(chosen)} photo groups, {left_out} left out", file=sys.stderr)
        rgb = np.asarray(read_photo(item.source).image.resize((SIDE, SIDE),
                                                              Image.Resampling.LANCZOS))
        alpha = cut_out(rgb)
        if alpha is None:
            left_out += 1
            continue
        name = group_key(item).split(":", 1)[-1]
        source = os.path.relpath(item.source, index_csv.parent)
        framed, framed_alpha = studio_frame(rgb, alpha)
        for variant, image in variants(framed, framed_alpha, zlib.crc32(name.encode())).items():
            path = out / variant / f"{name}.{'png' if image.mode == 'RGBA' else 'jpg'}"
            path.parent.mkdir(parents=True, exist_ok=True)
            image.save(path, quality=95)
            rows.append(LabelledPhoto(path, item.product, item.label, item.group,
                                      (("variant", variant), ("source", source))))
    return write_index(out / "index.csv", rows), len(chosen) - left_out, left_out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="the real photos' index CSV")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the set to")
    parser.add_argument("--limit", type=int, help="use only the first N photo groups")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    index, used, left_out = build(args.index, args.out, args.limit)
    print(f"{index}: {used} photo groups x {len(STUDIO)} studio + {len(NEGATIVES)} degraded "
          f"variants; {left_out} groups left out (no clean cut-out); "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
