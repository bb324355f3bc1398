"""Evaluate an embedding model with the core's own ``Gallery.evaluate``, in three protocols.

1. ``known-fakes``: the gallery holds both labels of the training side; queries are the
   held-out photo groups (``RUN/split.json``).
2. ``genuine-only``: the same queries against the training side's genuine photos only.
3. ``unseen-product``: a model trained without ``--product`` (``--products air_force_1``) is
   evaluated on that product alone, split by photo group into gallery and queries.

Each run prints and writes AUROC, fake recall at 1 % and 5 % of genuine flagged, and expected
calibration error, and saves the ROC curve as PNG::

    python -m training.evaluate --index ../shared/datasets/nike_af1_j1/index.csv \\
        --split runs/nike/split.json --model runs/nike/model.safetensors --out reports/nike
    python -m training.evaluate ... --model imagenet          # the frozen baseline

A checkpoint trained with ``--objective binary`` is the classifier baseline: it needs no gallery,
so each query's softmax "fake" probability is scored directly. ``--queries validation`` scores
the run's validation groups instead (against a gallery without the held-out groups), for
choosing settings without looking at the held-out photos.

In protocols 1 and 2 the gallery is the training side: the photos the model trained on, which
the brand's calibration leaves out (``ipr_vision.core.suggest.calibrate_brand``), and the run's
validation groups, which it is calibrated on, as a right holder's gallery of new photos would
be. A run without validation groups leaves only its training photos to calibrate on, which is
optimistic; ``--calibration-share 0.5`` then moves half of the query groups into the gallery
to calibrate on instead. ``--model imagenet@SIDE`` runs the frozen baseline at another side;
``--model CHECKPOINT@SIDE#head`` a checkpoint at another side or searching its other output.

``--folds K`` replaces the single split by K-fold cross-validation by photo group
(:mod:`training.crossval`): protocol 1 on every photo once, mean and spread over folds, and
bootstrap intervals over photo groups, written to ``OUT/crossval.json``. A fine-tuned model is
then named per fold, ``--model 'runs/cv/fold{fold}/model.safetensors'``, each trained by
``training.train --folds K --fold I``; a checkpoint is refused on any fold it has seen::

    python -m training.evaluate --index ../shared/datasets/nike_af1_j1/index.csv --folds 5 \\
        --model imagenet --model imagenet@320 --out reports/cv

``--cross-fit`` judges each half of a fold's photo groups by a gallery that also holds the
other half (:func:`training.crossval.cross_fitted`): set against the plain run, what twice as
many new photos to calibrate on would buy.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from ipr_vision import Evaluation, Gallery, Policy
from ipr_vision.core.metrics import (
    auroc,
    expected_calibration_error,
    recall_at_flag_rate,
    roc_curve,
)
from ipr_vision.embedders import Embedder
from ipr_vision.embedders.compiled import RUNTIMES
from ipr_vision.embedders.finetuned import HEAD, POOLED, CheckpointInfo, FineTunedEmbedder
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder, squash_batch
from ipr_vision.figures.plots import roc_plot
from ipr_vision.intake.labelled import LabelledPhoto, group_key, write_index
from ipr_vision.intake.photo import read_photo

from . import trained_margin
from .backbones import BACKBONES, EfficientNetLiteEmbedder
from .classifier import BINARY, BinaryClassifier, objective_of
from .data import load_index, split
from .multiview import Concatenated, MultiViewEmbedder

PROTOCOLS = ("known-fakes", "genuine-only", "unseen-product")
#: ``--model`` names of frozen ImageNet features.
FROZEN = ("imagenet", *BACKBONES)
#: ``--model`` suffix of the multi-view embedder (:mod:`training.multiview`).
CROPS = "crops"
#: The one brand of a throw-away gallery.
BRAND = "eval"


def protocol_sides(items: list[LabelledPhoto], query_groups: set[str], protocol: str,
                   product: str = "jordan_1", seed: int = 0, unused_groups: frozenset[str] =
                   frozenset(), calibration_share: float = 0.0
                   ) -> tuple[list[LabelledPhoto], list[LabelledPhoto]]:
    """(gallery, queries) of a protocol; a photo group is never on both sides, and
    ``unused_groups`` on neither. ``calibration_share`` of the query groups join the gallery
    instead: photos the model never trained on, which the brand is then calibrated on (the
    training photos are left out of calibration, see ``calibrate_brand``)."""
    if protocol == "unseen-product":
        return split([i for i in items if i.product == product], 0.2, seed)
    queries = [i for i in items if group_key(i) in query_groups]
    gallery = [i for i in items if group_key(i) not in query_groups | unused_groups]
    if calibration_share:
        calibration, queries = split(queries, 1 - calibration_share, seed)
        gallery += calibration
    if protocol == "genuine-only":
        gallery = [i for i in gallery if i.label == "genuine"]
    return gallery, queries


@contextlib.contextmanager
def built_gallery(embedder: Embedder, items: list[LabelledPhoto], policy: Policy | None = None
                  ) -> Iterator[Gallery]:
    """A throw-away gallery of ``items`` under this model (and ``policy``), brand ``BRAND``."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        with Gallery(root / "gallery", embedder=embedder, policy=policy) as gallery:
            # Every photo the figures are about, however poor: the evaluation is of the model.
            gallery.import_index(write_index(root / "gallery.csv", items), brand=BRAND,
                                 added_by="evaluation", allow_poor_quality=True)
            yield gallery


def inspect_all(gallery: Gallery, queries: list[LabelledPhoto]) -> Evaluation:
    """Every query inspected by a :func:`built_gallery` and compared with its label. No
    intervals per evaluation: cross-validation resamples all folds' photos pooled."""
    with tempfile.TemporaryDirectory() as folder:
        return gallery.evaluate(write_index(Path(folder) / "queries.csv", queries), brand=BRAND,
                                resamples=0)


def evaluate(embedder: Embedder, gallery_items: list[LabelledPhoto],
             queries: list[LabelledPhoto], policy: Policy | None = None) -> Evaluation:
    """Build a throw-away gallery with this model (and ``policy``) and inspect the queries
    against it."""
    with built_gallery(embedder, gallery_items, policy) as gallery:
        return inspect_all(gallery, queries)


def classify(checkpoint: str | Path, queries: list[LabelledPhoto], batch_size: int = 16,
             input_size: int | None = None, mirror: bool = True
             ) -> tuple[np.ndarray, np.ndarray]:
    """(is_fake, p_fake) of each query under the classifier baseline, preprocessed as the
    fine-tuned embedder preprocesses (the whole photo squashed to the checkpoint's inference
    side unless ``input_size`` says otherwise, and averaged with its mirror image unless
    ``mirror`` is false), so the baseline sees photos exactly as the embedding does."""
    net = BinaryClassifier.load(checkpoint)
    input_size = input_size or CheckpointInfo.read(checkpoint).input_size
    p_fake = []
    for start in range(0, len(queries), batch_size):
        images = [read_photo(i.source).image for i in queries[start:start + batch_size]]
        batch = squash_batch(images, input_size)
        p = net.p_fake(batch)
        p_fake.append(((p + net.p_fake(batch.flip(3))) / 2 if mirror else p).numpy())
    return np.array([i.label == "fake" for i in queries]), np.concatenate(p_fake)


def choose_input_size(checkpoint: Path, gallery_items: list[LabelledPhoto],
                      queries: list[LabelledPhoto], sizes: Sequence[int]
                      ) -> tuple[int, dict[int, dict[str, float | int]]]:
    """The inference side with the best AUROC on these (validation) queries, and the figures
    at every side tried; a tie goes to the smaller, cheaper side, and so does a validation set
    too small to give any AUROC.

    Random crops in training show an item larger than the whole photo squashed to the training
    side does, so a network sees best at a somewhat larger side at inference (Touvron et al.,
    "Fixing the train-test resolution discrepancy", 2019). How much larger is measured, on
    photo groups kept out of both training and the held-out evaluation.
    """
    binary = objective_of(checkpoint) == BINARY
    figures: dict[int, dict[str, float | int]] = {}
    for size in sorted(set(sizes)):
        if binary:
            figures[size] = classifier_summary(*classify(checkpoint, queries, input_size=size))
        else:
            embedder = FineTunedEmbedder(checkpoint, input_size=size)
            figures[size] = summary(evaluate(embedder, gallery_items, queries))
    scored = [size for size, row in figures.items() if np.isfinite(row["auroc"])]
    return (max(scored, key=lambda size: figures[size]["auroc"]) if scored else min(figures),
            figures)


def classifier_summary(is_fake: np.ndarray, p_fake: np.ndarray) -> dict[str, float | int]:
    return {"queries": len(p_fake), "auroc": auroc(is_fake, p_fake),
            "fake_recall_at_1pct": recall_at_flag_rate(is_fake, p_fake, 0.01),
            "fake_recall_at_5pct": recall_at_flag_rate(is_fake, p_fake, 0.05),
            "ece": expected_calibration_error(is_fake, p_fake), "inconclusive": 0}


def summary(evaluation: Evaluation) -> dict[str, float | int]:
    return {"queries": evaluation.photos, "auroc": evaluation.auroc,
            "fake_recall_at_1pct": evaluation.fake_recall_at_1pct,
            "fake_recall_at_5pct": evaluation.fake_recall_at_5pct, "ece": evaluation.ece,
            "inconclusive": evaluation.inconclusive}


def roc_points(evaluation: Evaluation) -> tuple[np.ndarray, np.ndarray]:
    scored = [(f, p) for f, p in zip(evaluation.is_fake, evaluation.p_counterfeit, strict=True)
              if p is not None]
    return roc_curve(np.array([f for f, _ in scored]), np.array([p for _, p in scored]))


@dataclass(frozen=True)
class ModelArgument:
    """A ``--model`` argument: ``imagenet``, an EfficientNet-Lite (``efficientnet_lite0``, ``1``
    or ``2``: frozen ImageNet features, :mod:`training.backbones`) or a checkpoint path, then
    optionally ``@SIDE`` (the inference side; default 224 for ImageNet, a Lite's own, the
    checkpoint's own), for a checkpoint ``#head`` or ``#pooled`` (which of its outputs is
    searched; default its own), ``*crops`` (the whole photo and four crops, each embedded as
    the model embeds a photo: :class:`training.multiview.MultiViewEmbedder`), ``+mirror`` or
    ``-mirror`` (average each photo with its mirror image, or not; default as the package runs
    it: ImageNet without, checkpoints with), and last ``=RUNTIME`` (the numeric path, one of
    ``ipr_vision.embedders.compiled.RUNTIMES``; default ``$IPR_VISION_RUNTIME``'s, else the
    package's: int8 for a checkpoint with an int8 file beside it on an x86 CPU with AVX2, else
    f32), so two paths of one model are compared photo for photo in one run. After all that,
    ``|NAME=VALUE`` (repeatable) sets a field of the galleries' :class:`~ipr_vision.Policy`
    (``|k=5``, ``|shortlist=40``), so ``--choose`` makes a scoring choice on validation groups
    as it makes a model choice; the vectors are the model's either way (embedded once, cached).

    Frozen models joined by commas are an ensemble (``imagenet@320,efficientnet_lite2``,
    :class:`training.multiview.Concatenated`): ensembles are for screening frozen features, as
    a checkpoint's photos seen are checked by its one path, per fold. Views are checked by their
    checkpoint's path like the checkpoint itself."""

    name: str
    side: int | None = None
    searched: str | None = None
    mirror: bool | None = None
    runtime: str | None = None
    views: str | None = None
    parts: tuple[ModelArgument, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> ModelArgument:
        text, *given = text.split("|")
        if given:
            return replace(cls.parse(text), settings=tuple(_setting(g) for g in given))
        if "," in text:
            parts = tuple(cls.parse(part) for part in text.split(","))
            if not all(part.is_frozen for part in parts):
                raise argparse.ArgumentTypeError(f"{text}: an ensemble joins frozen features "
                                                 f"({', '.join(FROZEN)}), not checkpoints")
            return cls(text, parts=parts)
        rest, _, runtime = text.partition("=")
        if runtime and runtime not in RUNTIMES:
            raise argparse.ArgumentTypeError(f"{text}: '=' takes one of {', '.join(RUNTIMES)}")
        mirror = None
        for suffix, value in (("+mirror", True), ("-mirror", False)):
            if rest.endswith(suffix):
                rest, mirror = rest.removesuffix(suffix), value
        rest, star, views = rest.partition("*")
        rest, _, searched = rest.partition("#")
        name, _, side = rest.partition("@")
        if searched not in ("", HEAD, POOLED) or (searched and name in FROZEN):
            raise argparse.ArgumentTypeError(f"{text}: '#' takes 'head' or 'pooled', after a "
                                             "checkpoint")
        if star and views != CROPS:
            raise argparse.ArgumentTypeError(f"{text}: '*' takes '{CROPS}'")
        return cls(name, int(side) if side else None, searched or None, mirror, runtime or None,
                   views or None)

    @property
    def policy(self) -> Policy:
        """The galleries' policy: the default with this argument's settings."""
        default = Policy()
        return replace(default, **{name: type(getattr(default, name))(value)
                                   for name, value in self.settings})

    @property
    def mirrored(self) -> bool:
        return (not self.is_frozen) if self.mirror is None else self.mirror

    @property
    def is_imagenet(self) -> bool:
        return self.name == "imagenet"

    @property
    def is_frozen(self) -> bool:
        """ImageNet's features as they are: nothing trained on any photo here."""
        return all(part.is_frozen for part in self.parts) if self.parts else (
            self.name in FROZEN)

    @property
    def is_classifier(self) -> bool:
        return not self.is_frozen and objective_of(self.name) == BINARY

    def embedder(self) -> Embedder:
        if self.parts:
            return Concatenated([part.embedder() for part in self.parts])
        if self.views:
            return MultiViewEmbedder(ModelArgument(self.name, self.side, self.searched,
                                                   self.mirror, self.runtime).embedder())
        if self.is_imagenet:
            return MobileNetV2Embedder(input_size=self.side or 224, mirror=self.mirrored,
                                       runtime=self.runtime)
        if self.name in BACKBONES:
            return EfficientNetLiteEmbedder(BACKBONES[self.name], self.side,
                                            mirror=self.mirrored, runtime=self.runtime)
        return FineTunedEmbedder(self.name, input_size=self.side, searched=self.searched,
                                 mirror=self.mirrored, runtime=self.runtime)

    @property
    def label(self) -> str:
        """For plots: ImageNet with its side; a run's checkpoint by its run folder
        (runs/nike/model.safetensors: "nike"), a shipped one by its file name."""
        if self.parts:
            return " & ".join(part.label for part in self.parts)
        mirror = "" if self.mirror is None else (" +mirror" if self.mirror else " -mirror")
        mirror += f" on {self.runtime}" if self.runtime else ""
        mirror += " with 4 crops" if self.views else ""
        if self.is_imagenet:
            return f"ImageNet (frozen, {self.side or 224} px{mirror})"
        if self.name in BACKBONES:
            backbone = BACKBONES[self.name]
            return f"{backbone.title} (frozen, {self.side or backbone.native_side} px{mirror})"
        mirror += "".join(f" {name}={value}" for name, value in self.settings)
        path = Path(self.name)
        name = path.parent.name if path.stem == "model" else path.stem
        return name + (f" @{self.side}" if self.side else "") + (
            f" ({self.searched})" if self.searched else "") + mirror


def _setting(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` of a number field of :class:`~ipr_vision.Policy`, checked."""
    name, _, value = text.partition("=")
    numbers = {f.name for f in fields(Policy) if isinstance(getattr(Policy(), f.name),
                                                             (int, float))}
    if name not in numbers:
        raise argparse.ArgumentTypeError(f"|{text}: the policy's settings are "
                                         f"{', '.join(sorted(numbers))}")
    try:
        type(getattr(Policy(), name))(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"|{text}: {value!r} is not a number") from None
    return name, value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--split", type=Path, help="the run's split.json (without --folds)")
    parser.add_argument("--folds", type=int, default=0, metavar="K",
                        help="cross-validate over K folds by photo group instead of one split")
    parser.add_argument("--fold", type=int, action="append", metavar="I",
                        help="with --folds: score only this fold (repeat for several), as when "
                        "screening a recipe on one fold or while the others still train")
    parser.add_argument("--split-seed", type=int, default=0,
                        help="with --folds: which folds (as training.train --split-seed)")
    parser.add_argument("--resamples", type=int, default=2000,
                        help="with --folds: bootstrap resamples of the photo groups")
    parser.add_argument("--choose", action="store_true",
                        help="with --folds and several models: also report the model chosen in "
                        "each fold on validation groups of its training side")
    parser.add_argument("--validation-share", type=float, default=0.15,
                        help="with --choose: the training side's share of photo groups it "
                        "chooses on (as training.train --validation-share)")
    parser.add_argument("--model", action="append", required=True,
                        help="'imagenet', 'efficientnet_lite0' (1, 2) or a .safetensors "
                        "checkpoint, optionally @SIDE "
                        "(inference side), for a checkpoint #head or #pooled (what is searched), "
                        "*crops (the whole photo and 4 crops, each embedded as the model "
                        "embeds a photo), "
                        "+mirror or -mirror (average with the mirror image, or not; by "
                        "default checkpoints do and ImageNet does not), and =RUNTIME (torch, "
                        "openvino, openvino-bf16 or torch-cuda), then |NAME=VALUE to set the "
                        "galleries' policy (|k=5, |shortlist=40); frozen models joined by "
                        "commas are an ensemble; repeat to compare")
    parser.add_argument("--protocol", choices=PROTOCOLS, action="append")
    parser.add_argument("--product", default="jordan_1", help="unseen-product protocol")
    parser.add_argument("--queries", choices=("held-out", "validation"), default="held-out")
    parser.add_argument("--calibration-share", type=float, default=0.0,
                        help="move this share of the query groups into the gallery, so the "
                        "brand is calibrated on photos the model never trained on")
    parser.add_argument("--cross-fit", action="store_true",
                        help="with --folds: each fold's photo groups are dealt in two halves, "
                        "each judged by a gallery that also holds the other half, so about "
                        "twice as many photos the model never trained on set the operating "
                        "point: what more new photos in a gallery would buy")
    parser.add_argument("--margin-for", type=Path, metavar="WEIGHTS",
                        help="with --folds, the first --model naming fine-tuned fold "
                        "checkpoints: write the training photos' margin its folds measured "
                        "beside WEIGHTS, the model the same recipe trained on all photos "
                        "(training.trained_margin)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.margin_for and not args.folds:
        parser.error("--margin-for needs --folds (the first --model's fold checkpoints)")
    if args.cross_fit and (not args.folds or args.margin_for):
        parser.error("--cross-fit needs --folds, and no --margin-for (the trained-on margin is "
                     "measured against galleries of the other folds alone)")
    if args.margin_for and not args.margin_for.is_file():
        parser.error(f"--margin-for: no weights at {args.margin_for}")
    if args.folds:
        if args.split or args.protocol or args.calibration_share or args.queries != "held-out":
            parser.error("--folds scores protocol 1 on folds of its own: no --split, "
                         "--protocol, --queries or --calibration-share")
        return cross_validation(args)
    if args.split is None:
        parser.error("--split (a run's split.json) or --folds is needed")
    items = load_index(args.index)
    run_split = json.loads(args.split.read_text())
    held = set(run_split["held_out_groups"])
    query_groups, unused = held, frozenset[str]()
    if args.queries == "validation":
        query_groups, unused = set(run_split["validation_groups"]), frozenset(held)
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, dict[str, float | int]]] = {}
    for protocol in args.protocol or PROTOCOLS[:2]:
        gallery_items, queries = protocol_sides(items, query_groups, protocol, args.product,
                                                unused_groups=unused,
                                                calibration_share=args.calibration_share)
        curves = {}
        for text in args.model:
            model = ModelArgument.parse(text)
            if model.is_classifier:
                is_fake, p_fake = classify(model.name, queries, input_size=model.side,
                                           mirror=model.mirrored)
                figures = classifier_summary(is_fake, p_fake)
                points = roc_curve(is_fake, p_fake)
            else:
                evaluation = evaluate(model.embedder(), gallery_items, queries, model.policy)
                figures, points = summary(evaluation), roc_points(evaluation)
            results.setdefault(protocol, {})[text] = figures
            curves[f"{model.label} (AUROC {figures['auroc']:.3f})"] = points
            print(f"{protocol:15s} {text}: " + ", ".join(
                f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                for k, v in figures.items()), flush=True)
        title = f"ROC, protocol {protocol}: {len(queries)} held-out photos"
        roc_plot(curves, operating_point=0.01, title=title).save(
            args.out / f"roc-{protocol}.png")
    (args.out / "results.json").write_text(json.dumps(results, indent=1, allow_nan=True))
    return 0


def cross_validation(args: argparse.Namespace) -> int:
    """``--folds``: every model cross-validated, the table printed and written to JSON."""
    # Imported here: crossval builds on this module's galleries and model arguments.
    from .crossval import (
        PHOTO_COLUMNS,
        SeenPhotosError,
        choose,
        cross_validate,
        differences,
        for_fold,
        report,
    )

    items = load_index(args.index)
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}
    first_fold = (args.fold or [0])[0]  # the others' checkpoints may not be trained yet
    for text in args.model:
        model = ModelArgument.parse(text)
        if for_fold(model, first_fold).is_classifier:
            print(f"{text}: the classifier baseline needs no gallery; evaluate it with --split",
                  file=sys.stderr)
            return 2
        print(f"{text}:", flush=True)
        try:
            results[text] = cross_validate(items, model, args.folds, args.split_seed, args.out,
                                           args.resamples,
                                           args.validation_share if args.choose else 0.0,
                                           args.fold, args.cross_fit)
        except SeenPhotosError as error:
            print(f"refused: {error}", file=sys.stderr)
            return 2
    if args.choose:
        results["chosen"] = choose(results)
    (args.out / "crossval.json").write_text(json.dumps({
        "index": str(args.index), "folds": args.folds, "split_seed": args.split_seed,
        "scored_folds": args.fold or list(range(args.folds)),
        "models": {t: r.to_dict() for t, r in results.items()},
        "paired_with_first": differences(results)},
        indent=1, allow_nan=True))
    with (args.out / "photos.csv").open("w", newline="") as sheet:
        writer = csv.DictWriter(sheet, PHOTO_COLUMNS)
        writer.writeheader()
        for text, result in results.items():  # "chosen" has none: its rows are the models'
            writer.writerows({"model": text, **row} for row in result.photos)
    print(report(results, args.folds, args.out), flush=True)
    if args.margin_for:
        result = results[args.model[0]]
        if not result.trained:
            print(f"{args.model[0]}: a frozen model has no training photos to measure a margin "
                  "on", file=sys.stderr)
            return 2
        written = trained_margin.write(args.margin_for, result.trained, result.policy, {
            "model": args.model[0], "index": str(args.index), "folds": args.folds,
            "scored_folds": args.fold or list(range(args.folds)), "split_seed": args.split_seed})
        print(f"margin written to {written}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
