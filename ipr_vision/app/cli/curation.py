"""``ipr-vision gallery ...``: show a gallery and change what it holds."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict

from ...domain import json_safe
from ...gallery import Gallery, local_actor, migrate
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
    if args.json:
        print(json.dumps(summary.to_dict()))
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
        print(f"  {count} reference(s) of {brand} are not embedded with the current "
              f"model {summary.model}: run `{PROG} gallery reembed --brand {brand}` "
              "(otherwise this happens on the brand's first use)")
    return 0


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
    print(f"embedded {gallery.reembed(args.brand)} reference(s) with "
          f"{gallery.embedder.model_id}")
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
    "operating-point": _operating_point, "reembed": _reembed, "points": _points,
}
