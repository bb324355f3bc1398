"""``ipr-vision gallery ...``: show a gallery and change what it holds."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict

from ...core.health import ModelDifference, Separation
from ...domain import json_safe
from ...gallery import Gallery, local_actor, migrate
from ...gallery.model_choice import ModelComparison
from .parser import PROG

#: Who the audit trail names for a change made here: the OS user.
_BY = local_actor("cli")


def gallery(args: argparse.Namespace) -> int:
    if args.action == "migrate":
        return _migrate(args)
    with Gallery(args.gallery, create=False) as opened:
        return _ACTIONS[args.action](opened, args)


def _migrate(args: argparse.Namespace) -> int:
    report = migrate(args.source, args.target, _BY,
                     progress=lambda step: print(f"{PROG}: {step}", file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps({"rows": report.rows, "files_copied": report.files_copied,
                          "files_checked": report.files_checked,
                          "audit_head": report.audit_head[1]}))
        return 0
    rows = sum(target for _, target in report.rows.values())
    print(f"copied: {rows} rows in {len(report.rows)} tables, {report.files_copied} files "
          f"copied, {report.files_checked} photo files checked, audit trail head "
          f"{report.audit_head[1][:16]}… as in the source")
    return 0


def _info(gallery: Gallery, args: argparse.Namespace) -> int:
    summary = gallery.summary()
    # Figures only for models the brands are embedded with: embedding is `gallery model`'s.
    compared = {brand: gallery.compare_models(brand) for brand in summary.brands}
    if args.json:
        print(json.dumps({**summary.to_dict(), "brand_models": {
            brand: json_safe(comparison.to_dict()) for brand, comparison in compared.items()}}))
        return 0
    print(f"gallery {summary.path}  ({summary.bytes / 1e6:.1f} MB)")
    for brand, products in summary.brands.items():
        print(f"  brand {brand} (revision {summary.revisions[brand]})")
        for product, labels in products.items():
            print(f"    {product}: {labels.get('genuine', 0)} genuine, "
                  f"{labels.get('fake', 0)} fake")
    for model, count in summary.models.items():
        print(f"  embeddings from {model}: {count}")
    for brand, count in summary.stale_embeddings.items():
        model = next(m.model_id for m in compared[brand].models if m.chosen)
        print(f"  {count} reference(s) of {brand} are not embedded with the current "
              f"model {model} (no vector, or no cells where the model re-ranks by cells): "
              f"run `{PROG} gallery reembed --brand {brand}` "
              "(otherwise this happens on the brand's first use)")
    for comparison in compared.values():
        print("\n".join(_model_lines(comparison)))
    return 0


def _model(gallery: Gallery, args: argparse.Namespace) -> int:
    if args.model is not None:
        embedded = gallery.set_model(args.brand, args.model, by=_BY)
        print(f"{args.brand} now uses {gallery.model_for(args.brand).model_id} "
              f"({embedded} reference(s) embedded with it first)", file=sys.stderr)
    comparison = gallery.compare_models(args.brand, compute=args.compare)
    if args.json:
        print(json.dumps(json_safe(comparison.to_dict())))
    else:
        print("\n".join(_model_lines(comparison)))
    return 0


def _model_lines(comparison: ModelComparison) -> list[str]:
    """Each installed model's left-out figures on a brand, the one in use starred."""
    brand = comparison.brand
    lines = [f"  models of brand {brand} (operating point: at most "
             f"{comparison.max_genuine_flagged:.1%} of genuine flagged; * in use):"]
    for model in comparison.models:
        marks = ", ".join(m for m, on in (("default", model.default),
                                          ("chosen", model.chosen and comparison.choice))
                          if on)
        lines.append(f"  {'*' if model.chosen else ' '} {model.name}  {model.model_id}"
                     + (f"  [{marks}]" if marks else ""))
        if model.embedded:
            lines.append(f"        {model.embedded} reference(s) embedded with it just now")
        if model.missing:
            lines.append(f"        {model.missing} reference(s) not embedded with it: `{PROG} "
                         f"gallery model --brand {brand} --compare` embeds them (an embedding "
                         "pass over the brand's references)")
            continue
        for mode, figures in model.modes.items():
            lines.append(f"        {mode}: " + (figures if isinstance(figures, str)
                                                  else _figures(figures)))
        if model.skipped_training_photos:
            lines.append(f"        ({model.skipped_training_photos} reference(s) it was "
                         "trained on left out)")
        if model.versus_in_use is not None:
            lines.append(f"        {_versus(model.versus_in_use)}")
    return lines


#: What a model's difference from the one in use says, by its verdict.
_VERDICTS = {"better": "separates this brand's fakes better, beyond chance",
             "worse": "separates this brand's fakes worse, beyond chance",
             "no_clear_difference": "no clear difference (the interval holds zero)"}


def _versus(difference: ModelDifference) -> str:
    return (f"against the model in use: AUROC {difference.auroc:+.3f} (95 % interval "
            f"{difference.low:+.3f} to {difference.high:+.3f}, {difference.references} "
            f"references scored by both): {_VERDICTS[difference.verdict]}")


def _figures(figures: Separation) -> str:
    def share(value: float | None) -> str:
        return "-" if value is None or value != value else f"{value:.0%}"

    at = ", ".join(f"{share(caught)} at {rate:.0%}"
                   for rate, caught in figures.fake_caught_at.items())
    auroc = "-" if figures.auroc != figures.auroc else f"{figures.auroc:.3f}"
    return (f"AUROC {auroc}; fakes caught {share(figures.fake_caught)} at the operating "
            f"point, {at} of genuine flagged ({figures.genuine} genuine, {figures.fake} fake "
            "left out)")


def _list(gallery: Gallery, args: argparse.Namespace) -> int:
    for ref in gallery.references(args.brand, args.product):
        if args.json:
            print(json.dumps({"ref": ref.id, "brand": ref.brand, "product": ref.product,
                              "label": ref.label, "source_name": ref.source_name,
                              "photo_group": ref.photo_group, "added_by": ref.added_by,
                              "added_at": ref.added_at, "note": ref.note,
                              "sha256": ref.sha256, "path": str(ref.path),
                              "origin": asdict(ref.origin) if ref.origin else None}))
        else:
            print(f"#{ref.id}\t{ref.brand}\t{ref.product}\t{ref.label}\t"
                  f"{ref.source_name}\t{ref.added_by}\t{ref.added_at}"
                  + (f"\t{ref.origin.label}" if ref.origin else ""))
    return 0


def _remove(gallery: Gallery, args: argparse.Namespace) -> int:
    removed = gallery.remove(args.refs, by=_BY, reason=args.reason)
    print(f"removed {removed} of {len(args.refs)} reference(s); their photos are kept until "
          f"purged (`{PROG} gallery purge`)")
    return 0 if removed == len(args.refs) else 1


def _removed(gallery: Gallery, args: argparse.Namespace) -> int:
    for gone in gallery.removed(args.brand):
        ref = gone.reference
        if args.json:
            print(json.dumps({"ref": ref.id, "brand": ref.brand, "product": ref.product,
                              "label": ref.label, "source_name": ref.source_name,
                              "sha256": ref.sha256, "removed_by": gone.removed_by,
                              "removed_at": gone.removed_at, "reason": gone.reason,
                              "purged_by": gone.purged_by, "purged_at": gone.purged_at}))
        else:
            purged = f"\tpurged {gone.purged_at} by {gone.purged_by}" if gone.purged_at else ""
            print(f"#{ref.id}\t{ref.brand}\t{ref.product}\t{ref.label}\tremoved "
                  f"{gone.removed_at} by {gone.removed_by}: {gone.reason or '-'}{purged}")
    return 0


def _purge(gallery: Gallery, args: argparse.Namespace) -> int:
    purged = gallery.purge(args.refs, by=_BY)
    print(f"purged the photos of {purged} of {len(args.refs)} removed reference(s)")
    return 0 if purged == len(args.refs) else 1


def _note(gallery: Gallery, args: argparse.Namespace) -> int:
    gallery.set_note(args.ref, args.text, by=_BY)
    print(f"note set on reference #{args.ref}")
    return 0


def _operating_point(gallery: Gallery, args: argparse.Namespace) -> int:
    point = (gallery.operating_point(args.brand) if args.max_genuine_flagged is None
             else gallery.set_operating_point(args.brand, args.max_genuine_flagged, by=_BY))
    print(json.dumps(json_safe(point)))
    return 0


def _reembed(gallery: Gallery, args: argparse.Namespace) -> int:
    model = gallery.model_for(args.brand).model_id if args.brand else "each brand's model"
    print(f"embedded {gallery.reembed(args.brand)} reference(s) with {model}")
    return 0


def _points(gallery: Gallery, args: argparse.Namespace) -> int:
    if args.verb == "add":
        added = gallery.add_point(args.ref, args.box, args.note,
                                  by=local_actor("cli", args.added_by))
        print(f"added identification point #{added} on reference #{args.ref}")
    elif args.verb == "list":
        for point in gallery.points(brand=args.brand):
            if args.json:
                print(json.dumps({"point": point.id, "ref": point.ref_id, "box": point.box,
                                  "note": point.note, "added_by": point.added_by,
                                  "added_at": point.added_at}))
            else:
                x0, y0, x1, y1 = point.box
                print(f"#{point.id}\tref #{point.ref_id}\t({x0:.3f},{y0:.3f})-({x1:.3f},"
                      f"{y1:.3f})\t{point.note}")
    elif not gallery.remove_point(args.point, by=_BY):
        print(f"{PROG}: no identification point #{args.point}", file=sys.stderr)
        return 1
    return 0


_ACTIONS: dict[str, Callable[[Gallery, argparse.Namespace], int]] = {
    "info": _info, "list": _list, "remove": _remove, "removed": _removed, "purge": _purge,
    "note": _note,
    "operating-point": _operating_point, "model": _model, "reembed": _reembed,
    "points": _points,
}
