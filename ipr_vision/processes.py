"""Whether a process that left work behind is still running (crash recovery, same host)."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True if a process with this id exists on this host (or we may not signal it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
