"""Two app servers on one PostgreSQL against one server on a gallery folder, under the same
load, in one run. Prints; asserts nothing.

Builds the demo sample's gallery (48 real reference photos) twice, in a folder and in a local
PostgreSQL (``ipr-vision db start``'s server), with ``--officers`` officers; starts
``ipr-vision serve`` as real processes (one on the folder, then two on the database) and has
the officers inspect the 12 held-back photos through ``POST /api/v1/inspect`` for
``--seconds``, each officer on one server (sessions are sticky: docs/postgres.md). Then, with
both database servers up: a reference added by a third process is timed until an inspection on
the second server uses it.

Then the faults, each under the same load for ``--fault-seconds``: PostgreSQL stopped for 3 s
and started again (requests in flight must fail cleanly, with 503 and a retry hint, none may
hang, and the servers must serve again afterwards), and one app server killed with SIGKILL
(the other must go on serving its officers); after both, the gallery's integrity check and
its audit trail's chain.

The load generator shares the two cores with the servers, and two servers share them with each
other: on this machine a second server adds availability, not throughput.

Usage::

    cd bench && ../.venv/bin/python bench_servers.py [--officers 25] [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
from bench_web import SAMPLE, FreshPhotos, sustained, through_json

from ipr_vision import Gallery
from ipr_vision.app.accounts import Accounts
from ipr_vision.embedders import default_embedder
from ipr_vision.intake.labelled import LabelledPhoto, read_index
from ipr_vision.storage.postgres.server import LocalServer, temporary_server

PASSWORD = "bench-password-1"
CLI = Path(sys.executable).with_name("ipr-vision")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def build(location: str | Path, officers: int) -> None:
    with Gallery(location) as gallery:
        gallery.import_index(SAMPLE / "gallery.csv", brand="nike", added_by="bench",
                             allow_poor_quality=True)
    users = Accounts.open(location)
    for n in range(officers):
        users.add(f"officer{n}", "officer", PASSWORD)
    users.close()


def serve(location: str | Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([str(CLI), "serve", "--gallery", str(location), "--port",
                                str(port)], stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "login", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.5)
    process.kill()
    raise SystemExit(f"bench_servers: the server on {location} did not start: "
                     f"{log.read_text()[-500:]}")


def stop(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def seen_within(gallery_url: str, server: str, photo: LabelledPhoto) -> float:
    """Add a held-back photo as a reference from this process (a third app server) and time
    how long until an inspection of it on ``server`` names the new reference."""
    client = httpx.Client(base_url=server, timeout=60)
    client.post("login", data={"username": "officer0", "password": PASSWORD})
    with Gallery(gallery_url, embedder=default_embedder()) as gallery:
        report = gallery.add_photos([photo.source], brand="nike", product=photo.product,
                                    label=photo.label, allow_poor_quality=True)
        added_at = time.perf_counter()
    new_ref = report.added[0][1]
    data = photo.source.read_bytes()
    while time.perf_counter() - added_at < 30:
        answer = client.post("api/v1/inspect", data={"brand": "nike"},
                             files={"photo": (photo.source.name, data)}).json()
        if any(match["ref"] == new_ref for match in answer.get(f"nearest_{photo.label}", [])):
            return time.perf_counter() - added_at
    return float("inf")


def restart(database: LocalServer) -> None:
    database.stop()
    time.sleep(3)
    database.start()


def under_fault(request: Callable[[int, int], str | None], args: argparse.Namespace,
                fault: Callable[[], None]) -> str:
    """The load for ``--fault-seconds`` with ``fault`` done 5 s in; answers by kind (with the
    first message of each), and the slowest answer (a hang would show as the client's 120 s
    timeout). A client that cannot connect waits 1 s before its next try, as a browser's user
    or a script's retry would."""
    outcomes: list[tuple[str, float]] = []
    first: dict[str, str] = {}

    def timed(n: int, i: int) -> str | None:
        started = time.perf_counter()
        try:
            error = request(n, i)
        except httpx.HTTPError as failure:
            error = f"no connection: {type(failure).__name__}"
            time.sleep(1.0)
        kind = "ok" if error is None else error.split(":", 1)[0]
        first.setdefault(kind, "" if error is None else error[:110])
        outcomes.append((kind, time.perf_counter() - started))
        return error

    timer = threading.Timer(5.0, fault)
    timer.start()
    sustained(args.officers, args.fault_seconds, timed)
    timer.join()
    kinds = Counter(kind for kind, _ in outcomes)
    return ("; ".join(f"{kind}: {count}" + (f" (first: {first[kind]})" if first[kind] else "")
                      for kind, count in kinds.most_common())
            + f"; slowest answer {max(t for _, t in outcomes):.1f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--officers", type=int, default=25)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--fault-seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    held_back = read_index(SAMPLE / "queries.csv")[0]
    running: list[subprocess.Popen[bytes]] = []
    with temporary_server() as (database, scratch):
        photos = FreshPhotos([item.source for item in held_back], scratch / "sent")
        try:
            url = f"{database.url}?files={scratch / 'pg-files'}"
            folder = scratch / "folder"
            for location in (folder, url):
                build(location, args.officers)
            print(f"{args.officers} officers, {args.seconds:.0f} s each run, through "
                  f"POST /api/v1/inspect; machine: {os.cpu_count()} cores", flush=True)
            process, server = serve(folder, scratch / "folder.log")
            running.append(process)
            line, _, _ = sustained(args.officers, args.seconds,
                                   through_json(server, photos, args.officers))
            print(f"one server, gallery folder (SQLite): {line}", flush=True)
            stop(running)
            running.clear()
            servers = []
            for n in range(2):
                process, server = serve(url, scratch / f"pg-{n}.log")
                running.append(process)
                servers.append(server)
            line, _, _ = sustained(args.officers, args.seconds,
                                   through_json(servers, photos, args.officers))
            print(f"two servers, one PostgreSQL:         {line}", flush=True)
            seconds = seen_within(url, servers[1], held_back[0])
            print(f"a reference added by a third process, used by the second server's next "
                  f"inspection after {seconds * 1000:.0f} ms", flush=True)
            request = through_json(servers, photos, args.officers)
            print("PostgreSQL stopped after 5 s for 3 s, then started: "
                  + under_fault(request, args, lambda: restart(database)), flush=True)
            print("app server 2 killed (SIGKILL) after 5 s: "
                  + under_fault(request, args, running[1].kill), flush=True)
            with Gallery(url) as gallery:
                print(f"afterwards: integrity problems {gallery.store.integrity_problems()}, "
                      f"audit trail {'intact' if gallery.audit.verify().ok else 'BROKEN'} "
                      f"({gallery.audit.verify().entries} entries)")
        finally:
            stop(running)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
