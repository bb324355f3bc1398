"""Demo: build a small Nike gallery from the bundled sample and open the web app on it.

Usage::

    .venv/bin/python demo/run_demo.py [--gallery DIR] [--port N]   # the web app (make demo)
    .venv/bin/python demo/run_demo.py --cli                        # inspect in the terminal

The web app gets four demo accounts (admin, officer, holder: right holder of nike, trainer),
each with a random password made on first run and kept in ``GALLERY/demo-logins.txt``; the
terminal and the login page show them, since this gallery is a local demo, not a deployment.

Why it works this way:

* The gallery is built from ``demo/sample/gallery.csv`` (48 photos: 12 genuine and 12 fake for
  each of two products) the first time only; later runs reuse it, so a rerun takes seconds and
  photos you add to the demo gallery yourself are kept.
* The 12 photos in ``demo/sample/queries.csv`` were never imported: they come from other photo
  groups (the sample holds one file per group), so the demo cannot "recognise" a copy of a
  reference photo and look better than it is; and from groups the shipped model was never
  trained on, so it cannot have memorised them either.
* Each photo is inspected with its product given, as an officer would after reading the label.
* Twelve photos show how the output reads; they do not measure accuracy. Use
  ``ipr-vision evaluate`` on a larger, group-split set for that.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
from pathlib import Path

from ipr_vision import Gallery, IprVisionError, Match, Suggestion
from ipr_vision.intake.labelled import read_index

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "demo" / "sample"
BRAND = "nike"
DEFAULT_GALLERY = REPO / "galleries" / "demo"
DEMO_USERS = (("admin", "admin", ()), ("officer", "officer", ()),
              ("holder", "right_holder", (BRAND,)), ("trainer", "trainer", ()))
LOGINS = "demo-logins.txt"


def short_name(name: str) -> str:
    """``0097_jpg.rf.<32 hex>.jpg`` -> ``0097.jpg``: the Roboflow export suffix is only noise."""
    return re.sub(r"_(jpe?g|png)\.rf\.[0-9a-f]+(?=\.\w+$)", "", name)


def _nearest(matches: list[Match]) -> tuple[str, str]:
    if not matches:
        return "-", "-"
    best = matches[0]
    return f"#{best.ref} {short_name(best.source_name)}", f"{best.similarity:.2f}"


def ensure_gallery(path: Path) -> Gallery:
    """Open the demo gallery, importing the sample's gallery photos only when they are missing.

    "Missing" is judged by count, so an earlier run that was interrupted half-way is completed
    (photos already there are recognised by checksum and skipped) instead of reused as is.
    """
    gallery = Gallery(path)
    try:
        wanted = len(read_index(SAMPLE / "gallery.csv")[0])
        have = len(gallery.references(BRAND)) if BRAND in gallery.brands() else 0
        if have >= wanted:
            print(f"Reusing the demo gallery at {_shown(path)} ({have} reference photos).")
            return gallery
        print(f"Building the demo gallery at {_shown(path)} from "
              f"{_shown(SAMPLE / 'gallery.csv')} ...")
        # Two of the sample's known fakes are seizure photos, one blurred and one dark: kept on
        # purpose (fakes are rarely photographed well), and the audit trail records it.
        report = gallery.import_index(SAMPLE / "gallery.csv", brand=BRAND, added_by="demo",
                                      allow_poor_quality=True)
    except BaseException:
        gallery.close()
        raise
    print(f"  {report.summary()}")
    for source, reason in report.failed:
        print(f"  skipped {source}: {reason}")
    return gallery


def _shown(path: Path) -> str:
    """A path as the user would type it from where they stand (relative when shorter)."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return relative if len(relative) < len(str(path)) else str(path)


def _row(true_label: str, s: Suggestion) -> list[str]:
    p = "-" if s.p_counterfeit is None else f"{s.p_counterfeit:.2f}"
    genuine_ref, genuine_sim = _nearest(s.nearest_genuine)
    fake_ref, fake_sim = _nearest(s.nearest_fake)
    return [f"{s.product}/{short_name(Path(s.photo).name)}", true_label, s.verdict, p,
            genuine_ref, genuine_sim, fake_ref, fake_sim]


def _describe_operating_point(point: dict[str, float | None] | None) -> str:
    """Say what the gallery's own left-out photos promise, so the verdicts can be read in context.

    The threshold is set on the gallery's photos, each scored with its own photo group left out;
    with a dozen photos per cell these figures are rough, and saying so beats hiding them.
    """
    if point is None or point.get("threshold") is None:
        return "The gallery is not calibrated yet, so no photo is called counterfeit."
    flagged, recall = point.get("genuine_flagged"), point.get("expected_fake_recall")
    text = (f"Operating point, from the gallery's own photos each left out in turn: counterfeit "
            f"above score {point['threshold']:.3f}, which flags "
            f"{_percent(flagged)} of genuine references")
    if recall is not None:
        text += f" and catches {_percent(recall)} of known fakes"
    return text + "."


def _percent(value: float | None) -> str:
    return "?" if value is None else f"{100 * value:.0f}%"


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gallery", type=Path, default=DEFAULT_GALLERY,
                        help="gallery folder (default: galleries/demo under the repo root)")
    parser.add_argument("--cli", action="store_true",
                        help="inspect the held-back photos in the terminal instead of serving")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    args = parser.parse_args(argv)
    if not (SAMPLE / "queries.csv").is_file():
        print(f"run_demo: {SAMPLE} is missing; run demo/make_sample.py first", file=sys.stderr)
        return 2
    return inspect_in_terminal(args) if args.cli else serve(args)


def demo_logins(gallery: Path) -> list[tuple[str, str, str]]:
    """(name, role, password) of the demo accounts, created with random passwords once."""
    from ipr_vision.app.accounts import Accounts

    logins_file = gallery / LOGINS
    known = {}
    if logins_file.is_file():
        for line in logins_file.read_text(encoding="utf-8").splitlines():
            name, _, password = line.partition(" ")
            known[name] = password
    users = Accounts.open(gallery)
    try:
        logins = []
        for name, role, brands in DEMO_USERS:
            if users.get(name) is None or name not in known:
                known[name] = secrets.token_urlsafe(9)
                if users.get(name) is None:
                    users.add(name, role, known[name], brands)
                else:
                    users.set_password(name, known[name])
            logins.append((name, role, known[name]))
    finally:
        users.close()
    logins_file.write_text("".join(f"{n} {p}\n" for n, _, p in logins), encoding="utf-8")
    logins_file.chmod(0o600)
    return logins


def serve(args: argparse.Namespace) -> int:
    from ipr_vision.app.web.app import launch, prepare_environment

    prepare_environment(args.gallery)  # Gradio's offline switches, before it is imported
    from ipr_vision.app.service import Service

    try:
        gallery = ensure_gallery(args.gallery)
        logins = demo_logins(args.gallery)
        service = Service(gallery)
    except IprVisionError as error:
        print(f"run_demo: {error}", file=sys.stderr)
        return 2
    table = "\n".join(f"  {name:<8} {password:<14} {role}" for name, password, role in
                      ((n, p, r) for n, r, p in logins))
    print(f"\nDemo accounts (also in {_shown(args.gallery / LOGINS)}):\n{table}\n"
          f"Open http://{args.host}:{args.port} in a browser; Ctrl-C stops.", flush=True)
    try:
        launch(service, host=args.host, port=args.port, login_message=login_hint(logins))
    finally:
        service.close()
    return 0


def login_hint(logins: list[tuple[str, str, str]]) -> str:
    """The login page's list of the demo accounts, shown before a language is chosen: so in
    both, each role by its name (an id like ``right_holder`` is nobody's word)."""
    from ipr_vision.app.web.i18n import t

    return "Demo accounts / 演示账号: " + "; ".join(
        f"{n} / {p} ({t('en', f'role_{r}')}, {t('zh', f'role_{r}')})" for n, r, p in logins)


def inspect_in_terminal(args: argparse.Namespace) -> int:
    try:
        with ensure_gallery(args.gallery) as gallery:
            queries, failed = read_index(SAMPLE / "queries.csv")
            rows: list[list[str]] = []
            reasons: list[str] = []
            operating_point: dict[str, float | None] | None = None
            right = wrong = inconclusive = 0
            for item in queries:
                s = gallery.inspect(item.source, brand=BRAND, product=item.product)
                rows.append(_row(item.label, s))
                operating_point = s.operating_point or operating_point
                if s.verdict == "inconclusive":
                    inconclusive += 1
                    reasons.append(f"  {short_name(Path(s.photo).name)}: {s.reason}")
                elif (s.verdict == "counterfeit") == (item.label == "fake"):
                    right += 1
                else:
                    wrong += 1
    except IprVisionError as error:
        print(f"run_demo: {error}", file=sys.stderr)
        return 2
    print(f"\nInspected {len(queries)} photos that are not in the gallery "
          f"(brand {BRAND}, product given):\n")
    _print_table(["photo", "true", "verdict", "p_cf", "nearest genuine", "sim",
                  "nearest fake", "sim"], rows)
    print(f"\n{right} right, {wrong} wrong, {inconclusive} inconclusive "
          f"out of {len(queries)} (a handful of photos: this shows the output, it is no "
          "accuracy figure).")
    if reasons:
        print("Why inconclusive:")
        print("\n".join(reasons))
    for source, reason in failed:
        print(f"  skipped {source}: {reason}")
    print(_describe_operating_point(operating_point))
    print("\nA verdict is a suggestion, not a legal determination: "
          "the officer and the right holder decide.")
    print("\nTry your own photo:\n"
          f"  .venv/bin/ipr-vision inspect PHOTO --gallery {_shown(args.gallery)} --brand {BRAND}"
          "\n  (add --product air_force_1 or --product jordan_1 if you know it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
