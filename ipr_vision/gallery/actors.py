"""Who acts when no logged-in user does: the person running this process."""

from __future__ import annotations

import getpass
import socket

from ..domain import Actor


def current_user() -> str:
    """The OS user name, recorded as who added references or inspected by default."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def local_actor(via: str = "python", name: str | None = None) -> Actor:
    """Whoever runs this process, for the audit trail: the OS user on this host (or the
    ``name`` they gave, e.g. ``--by``), with full access to the gallery's files, so an
    "operator" whatever role they hold in the web app."""
    return Actor((name or "").strip() or current_user(), "operator", via, socket.gethostname())


def acting(by: Actor | None, added_by: str | None = None) -> Actor:
    """Who makes a change: ``by``, else the name an older caller passed as ``added_by`` (for
    the Python API), else the OS user."""
    return by or local_actor(name=added_by)


#: Who appends the entries for writes nobody finished: the software itself, on start or when an
#: admin checks the trail.
SETTLER = Actor("ipr-vision", "", "recovery")
