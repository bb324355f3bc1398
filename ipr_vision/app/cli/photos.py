"""Commands on photos: ``import``, ``inspect``, ``evaluate`` and ``split``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ...domain import json_safe
from ...errors import IprVisionError, PhotoError
from ...evidence import write_evidence_pack
from ...figures import EvidenceFigure, explanation_figures
from ...gallery import Gallery, current_user
from ...intake.labelled import split_index
from ...results import Suggestion
from .parser import PROG


def import_photos(args: argparse.Namespace) -> int:
    if (args.folder is None) == (args.index is None):
        raise IprVisionError("give either a folder or --index CSV")
    with Gallery(args.gallery, create=True) as gallery:
        if args.index is not None:
            report = gallery.import_index(args.index, brand=args.brand, added_by=args.added_by)
        else:
            report = gallery.import_folder(args.folder, brand=args.brand,
                                           added_by=args.added_by)
    for source, reason in [*report.failed, *report.skipped]:
        print(f"{PROG}: skipped {source}: {reason}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(report.summary())
    return 1 if report.failed else 0


def inspect_photos(args: argparse.Namespace) -> int:
    failed = 0
    officer = (args.officer or "").strip() or current_user()
    if args.evidence is not None:  # an unusable folder is fatal before any photo is inspected
        try:
            args.evidence.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise IprVisionError(f"cannot create the evidence folder {args.evidence}: "
                                 f"{error.strerror or error}") from None
    with Gallery(args.gallery, create=False) as gallery:
        for photo, result in zip(args.photos, gallery.inspect_many(
                args.photos, brand=args.brand, product=args.product), strict=True):
            if isinstance(result, PhotoError):
                failed += 1
                print(f"{PROG}: skipped {result}", file=sys.stderr)
                if args.json:
                    print(json.dumps({"photo": str(photo), "error": result.reason}))
                continue
            line = result.to_dict()
            if args.evidence is not None:
                line["evidence"] = _evidence(gallery, result, photo, args.evidence, officer)
                if line["evidence"] is None:
                    failed += 1
            if args.json:
                print(json.dumps(line, allow_nan=False), flush=True)
            else:
                print(_describe(result), flush=True)
                if args.evidence is not None:
                    print(f"  evidence: {line['evidence'] or 'not written (see above)'}",
                          flush=True)
    return 1 if failed else 0


def _evidence(gallery: Gallery, suggestion: Suggestion, photo: Path, out_dir: Path,
              officer: str) -> str | None:
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
                                       extra_figures=figures).folder)
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
    keys = ("auroc", "accuracy", "fake_recall", "genuine_flagged", "inconclusive")
    print(f"{'':14}" + "".join(f"{k:>16}" for k in keys))
    rows = [("all", data), *data["per_product"].items()]
    for name, figures in rows:
        print(f"{name:14}" + "".join(f"{figures[k]:16.3f}" for k in keys))
    return 0


def split(args: argparse.Namespace) -> int:
    gallery_csv, queries_csv, failed = split_index(args.index, args.out,
                                                   query_share=args.query_share, seed=args.seed)
    for source, reason in failed:
        print(f"{PROG}: skipped {source}: {reason}", file=sys.stderr)
    print(f"wrote {gallery_csv} and {queries_csv}")
    return 1 if failed else 0
