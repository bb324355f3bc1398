"""Commands on photos: ``import``, ``inspect``, ``evaluate`` and ``split``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from ...domain import Role, User, json_safe
from ...errors import IprVisionError, PhotoError
from ...evidence import write_evidence_pack
from ...figures import EvidenceFigure, explanation_figures
from ...gallery import Gallery, local_actor
from ...intake.labelled import split_index
from ...results import Suggestion
from .parser import PROG

if TYPE_CHECKING:
    from ..inspected import InspectionOutcome


def import_photos(args: argparse.Namespace) -> int:
    if (args.folder is None) == (args.index is None):
        raise IprVisionError("give either a folder or --index CSV")
    by = local_actor("cli", args.added_by)
    with Gallery(args.gallery, create=True) as gallery:
        if args.index is not None:
            report = gallery.import_index(args.index, brand=args.brand, by=by,
                                          allow_poor_quality=args.allow_poor_quality)
        else:
            report = gallery.import_folder(args.folder, brand=args.brand, by=by,
                                           allow_poor_quality=args.allow_poor_quality)
    for source, reason in [*report.failed, *report.skipped]:
        print(f"{PROG}: skipped {source}: {reason}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(report.summary())
    return 1 if report.failed else 0


def inspect_photos(args: argparse.Namespace) -> int:
    """Each photo is inspected as one item and recorded in the gallery's inspection log under
    the officer (default: the OS user), like an inspection in the web app."""
    from ..service import Service

    failed = 0
    actor = local_actor("cli", args.officer)
    officer = User(actor.name, Role.OFFICER)
    if args.evidence is not None:  # an unusable folder is fatal before any photo is inspected
        try:
            args.evidence.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise IprVisionError(f"cannot create the evidence folder {args.evidence}: "
                                 f"{error.strerror or error}") from None
    if args.brand is None and args.product is not None:
        raise IprVisionError("--product needs --brand (without both, each photo's brand and "
                             "product are proposed)")
    service = Service.open(args.gallery, create=False)
    try:
        if args.brand is not None:
            service.gallery.store.require_brand(args.brand)
        for photo in args.photos:
            brand, candidates = args.brand, None
            if brand is None:
                try:
                    candidates = service.identify(officer, photo)
                except PhotoError as error:  # no brand to record it under: reported only
                    failed += 1
                    print(f"{PROG}: skipped {photo}: {error}", file=sys.stderr)
                    if args.json:
                        print(json.dumps({"photo": str(photo), "error": str(error)}))
                    continue
                brand = candidates[0].brand
            outcome = service.inspect(officer, brand, args.product, [photo], actor=actor)
            inspected = outcome.inspected(0)
            if isinstance(inspected, str):
                failed += 1
                print(f"{PROG}: skipped {inspected}", file=sys.stderr)
                if args.json:
                    print(json.dumps({"photo": str(photo), "error": _reason(outcome),
                                      "inspection": outcome.inspection.id}))
                continue
            _, result = inspected
            line = {**result.to_dict(), "inspection": outcome.inspection.id}
            if candidates is not None:
                line["brand_proposed"] = True
                line["item_candidates"] = [asdict(c) for c in candidates]
            if args.evidence is not None:
                line["evidence"] = _evidence(service.gallery, result, photo, args.evidence,
                                             actor.name, outcome.inspection.id)
                if line["evidence"] is None:
                    failed += 1
            if args.json:
                print(json.dumps(line, allow_nan=False), flush=True)
            else:
                proposed = "" if candidates is None else "\n  brand proposed: " + ", ".join(
                    f"{c.brand}/{c.product} ({c.similarity:.2f})" for c in candidates)
                print(_describe(result) + proposed
                      + f"\n  recorded as inspection {outcome.inspection.id}", flush=True)
                if args.evidence is not None:
                    print(f"  evidence: {line['evidence'] or 'not written (see above)'}",
                          flush=True)
    finally:
        service.close()
    return 1 if failed else 0


def _reason(outcome: InspectionOutcome) -> str:
    _, error = outcome.results[0]
    return error.reason if isinstance(error, PhotoError) else str(error)


def _evidence(gallery: Gallery, suggestion: Suggestion, photo: Path, out_dir: Path,
              officer: str, inspection: str) -> str | None:
    """Write one photo's evidence pack, with the heat map of where it differs when there is
    one; a failure is reported and counts as a failed input."""
    figures: list[EvidenceFigure] = []
    try:
        figures = explanation_figures(gallery.explain(photo, brand=suggestion.brand,
                                                      product=suggestion.product))
    except IprVisionError as error:
        print(f"{PROG}: no heat map for {photo}: {error}", file=sys.stderr)
    try:
        return str(write_evidence_pack(suggestion, photo, out_dir, officer=officer,
                                       extra_figures=figures, inspection=inspection).folder)
    except (IprVisionError, OSError) as error:
        print(f"{PROG}: no evidence pack for {photo}: {error}", file=sys.stderr)
        return None


def _describe(s: Suggestion) -> str:
    p = "  -" if s.p_counterfeit is None else f"{s.p_counterfeit:5.2f}"
    product = f"{s.product} (proposed)" if s.product_proposed else str(s.product)
    lines = [f"{s.photo}: {s.verdict.upper()}  p_counterfeit {p}  {s.brand} / {product}"]
    if s.reason:
        lines.append(f"  why: {s.reason}")
    for title, matches in (("nearest genuine", s.nearest_genuine),
                           ("nearest fake", s.nearest_fake)):
        if matches:
            refs = ", ".join(f"#{m.ref} {m.similarity:.2f}" for m in matches)
            lines.append(f"  {title}: {refs}")
    return "\n".join(lines)


def evaluate(args: argparse.Namespace) -> int:
    with Gallery(args.gallery, create=False) as gallery:
        evaluation = gallery.evaluate(args.index, brand=args.brand)
    data = evaluation.to_dict()
    if args.json:
        print(json.dumps(json_safe(data)))
        return 0
    print(f"photos {evaluation.photos} (genuine {evaluation.genuine}, fake {evaluation.fake}, "
          f"unreadable {evaluation.failed})  model {evaluation.model}")
    keys = ("auroc", "accuracy", "fake_recall", "genuine_flagged", "fake_cleared",
            "inconclusive")
    print(f"{'':14}" + "".join(f"{k:>16}" for k in keys))
    rows = [("all", data), *data["per_product"].items()]
    for name, figures in rows:
        print(f"{name:14}" + "".join(f"{figures[k]:16.3f}" for k in keys))
    if evaluation.ci95:
        print(f"95 % intervals over the {evaluation.groups} photo groups (resampled within "
              "product and label): " + "; ".join(
                  f"{name} {low:.3f}-{high:.3f}" for name, (low, high)
                  in evaluation.ci95.items()))
    for kind, photos in evaluation.wrong().items():
        said = "genuine photos called counterfeit" if kind == "genuine_flagged" else (
            "fakes called genuine")
        print(f"{said}: {len(photos)}" + "".join(f"\n  {photo}" for photo in photos))
    return 0


def split(args: argparse.Namespace) -> int:
    gallery_csv, queries_csv, failed = split_index(args.index, args.out,
                                                   query_share=args.query_share, seed=args.seed)
    for source, reason in failed:
        print(f"{PROG}: skipped {source}: {reason}", file=sys.stderr)
    print(f"wrote {gallery_csv} and {queries_csv}")
    return 1 if failed else 0
