"""``ipr-vision db``: a local PostgreSQL server for one machine (several app servers on one
gallery) and for the tests. A deployment points ``--gallery`` at its own PostgreSQL instead."""

from __future__ import annotations

import argparse
from pathlib import Path

from ...storage.postgres.server import LocalServer


def database(args: argparse.Namespace) -> int:
    server = LocalServer(args.folder)
    if args.verb == "stop":
        print("stopped" if server.stop() else f"not running: {args.folder}")
        return 0
    url = server.start(args.port) if args.verb == "start" else server.url
    files: Path = (args.files or server.folder / "files").absolute()
    print(f"{url}?files={files}")
    return 0
