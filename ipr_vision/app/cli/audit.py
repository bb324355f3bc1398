"""``ipr-vision audit``: read the gallery's audit trail and check that nobody rewrote it."""

from __future__ import annotations

import argparse
import json

from ...gallery import Gallery
from ..record_trail import settle_beside


def audit(args: argparse.Namespace) -> int:
    with Gallery(args.gallery, create=False) as gallery:
        return _verify(gallery) if args.verb == "verify" else _list(gallery, args)


def _verify(gallery: Gallery) -> int:
    """Exit 1 with the first broken link; the head printed on success is worth keeping
    elsewhere (a rewrite of the whole chain would change it). Inspection writes and imports a
    stopped process left half done are first said so in the trail, and records with no entry
    named."""
    for found in settle_beside(gallery):
        print(found.describe())
    check = gallery.audit.verify()
    if not check.ok:
        print(f"audit trail BROKEN after {check.entries} sound entries: {check.broken}")
        return 1
    print(f"audit trail intact: {check.entries} entries, head {check.head}")
    return 0


def _list(gallery: Gallery, args: argparse.Namespace) -> int:
    for entry in gallery.audit.entries(since=args.since, actor=args.user, brand=args.brand):
        if args.json:
            print(json.dumps(entry.to_dict(), ensure_ascii=False))
            continue
        detail = json.dumps(entry.detail, ensure_ascii=False) if entry.detail else ""
        via = f"{entry.via} {entry.client}".strip()
        print(f"{entry.seq}\t{entry.at}\t{entry.actor} ({entry.role or '-'}, {via})\t"
              f"{entry.action}\t{entry.brand or '-'}\t{entry.target or '-'}\t{detail}")
    return 0

