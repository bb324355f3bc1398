"""Running an installation: ``fetch-weights``, ``serve`` and ``user``."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import socket
import sys
import threading

from ...embedders import weights
from ...errors import IprVisionError
from ...gallery import local_actor
from ..accounts import Accounts
from .parser import PROG


def fetch_weights(args: argparse.Namespace) -> int:
    print(f"ImageNet weights ready at {weights.fetch()}")
    return 0


def serve(args: argparse.Namespace) -> int:
    keys = args.signing_keys
    if keys is not None and not keys.is_dir():
        raise IprVisionError(f"--signing-keys {keys}: no such folder")
    from ...embedders import default_embedder
    from ...embedders.batching import BatchingEmbedder
    from ..service import Service
    from ..web.app import launch, prepare_environment

    # Many officers at once: their photos queue for the network and are embedded together.
    # ... and none waits on an import for the brand to be recalibrated.
    service = Service.open(args.gallery, create=False, signing_keys=keys,
                           embedder=BatchingEmbedder(default_embedder()),
                           refresh_in_background=True)
    # This server's own folder for Gradio's uploads: Gradio deletes the files it made when it
    # stops, and servers sharing a gallery would otherwise delete each other's uploads.
    own = service.location / "servers" / f"{socket.gethostname()}-{os.getpid()}"
    try:
        prepare_environment(own)  # before gradio is imported
        for found in service.settle_interrupted_writes():
            print(f"{PROG}: {found.describe()}", flush=True)
        service.reembed_stale(lambda brand, count, model: print(
            f"{PROG}: re-embedding {count} reference(s) of {brand} with {model} before serving",
            flush=True))
        # Each brand loaded and calibrated while the server starts, not at its first officer.
        threading.Thread(target=service.gallery.load_brands, name="load-brands",
                         daemon=True).start()
        print(f"{PROG}: serving {service.gallery.shown_location} at "
              f"http://{args.host}:{args.port} (Ctrl-C stops)", flush=True)
        launch(service, host=args.host, port=args.port)
    finally:
        service.close()
        shutil.rmtree(own, ignore_errors=True)
    return 0


def user(args: argparse.Namespace) -> int:
    users = Accounts.open(args.gallery, existing=True)
    by = local_actor("cli")
    try:
        if args.verb == "add":
            added = users.add(args.name, args.role, _password(args), args.brands, by=by)
            brands = f" for {', '.join(added.brands)}" if added.brands else ""
            print(f"added {added.role} {added.name}{brands}")
        elif args.verb == "passwd":
            users.set_password(args.name, _password(args), by=by)
            print(f"password of {args.name} changed")
        elif args.verb == "list":
            for each in users.users():
                if args.json:
                    print(json.dumps({"name": each.name, "role": each.role,
                                      "brands": list(each.brands),
                                      "created_at": each.created_at}))
                else:
                    print(f"{each.name}\t{each.role}\t{','.join(each.brands) or '-'}"
                          f"\t{each.created_at}")
        elif not users.remove(args.name, by=by):
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
    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != first:
        raise IprVisionError("the two passwords differ")
    return first
