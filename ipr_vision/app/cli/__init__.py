"""The ``ipr-vision`` command line: a stable contract that others script against.

Exit status: 0 all went well; 1 the command ran but some inputs failed (each reported on
stderr); 2 wrong arguments or a fatal error (one line on stderr). Tracebacks only with
``--debug`` or ``IPR_VISION_DEBUG=1``.

Each command's handler lives in a module of this package, imported only when that command runs,
so ``ipr-vision --help`` and ``user list`` never wait for the model's libraries.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

from ...errors import IprVisionError
from .parser import PROG, build_parser

#: command -> (module of this package, handler)
_HANDLERS = {
    "import": ("photos", "import_photos"),
    "inspect": ("photos", "inspect_photos"),
    "evaluate": ("photos", "evaluate"),
    "split": ("photos", "split"),
    "gallery": ("curation", "gallery"),
    "fetch-weights": ("admin", "fetch_weights"),
    "serve": ("admin", "serve"),
    "user": ("admin", "user"),
    "audit": ("audit", "audit"),
    "keys": ("packages", "keys"),
    "package": ("packages", "package"),
    "db": ("database", "database"),
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    debug = args.debug or os.environ.get("IPR_VISION_DEBUG") == "1"
    logging.basicConfig(level=logging.INFO if debug else logging.WARNING,
                        format=f"{PROG}: %(message)s")
    try:
        return _handler(args.command)(args)
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


def _handler(command: str) -> Callable[[argparse.Namespace], int]:
    module, name = _HANDLERS[command]
    handler: Callable[[argparse.Namespace], int] = getattr(
        importlib.import_module(f"{__name__}.{module}"), name)
    return handler


__all__ = ["main"]
