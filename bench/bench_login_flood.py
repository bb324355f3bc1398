"""Whether a flood of wrong logins slows down inspections or locks anyone out. Prints; asserts
nothing.

Starts the app on a free localhost port over a gallery of the demo sample (as bench_web.py
does), logs an officer in with gradio_client, and times the officer's ``/inspect`` round trips
(upload, inspect, record; p50/p95) with no flood, then during two floods of wrong passwords:
20 threads in another process posting to ``/login`` (form fields, as Gradio's login form and
gradio_client post them), one flood with a new name each time from 127.0.0.3 (every attempt
needs a password check), one for the officer's name from 127.0.0.4. It prints the attempts per
second and how the app answered them, then tries the officer's right password from the second
flood's address and from another one (127.0.0.2): a lockout by name refuses both.

Works against any version of the app with ``launch(service, port=..., block=False)``. To measure
the app as it was before a change, run this file from a worktree of that version::

    git worktree add /tmp/before HEAD
    cp bench/bench_login_flood.py /tmp/before/bench/
    cd /tmp/before && PYTHONPATH=. ../path/to/.venv/bin/python bench/bench_login_flood.py

Usage::

    .venv/bin/python bench/bench_login_flood.py [--calls N] [--threads N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from itertools import count, cycle
from pathlib import Path

import httpx
from bench_web import SAMPLE, FreshPhotos, percentiles

from ipr_vision import Gallery
from ipr_vision.app.web.app import launch, prepare_environment
from ipr_vision.intake.labelled import read_index

OFFICER, PASSWORD = "officer", "bench-password-1"


def flood(url: str, threads: int, address: str, many_names: bool, flooding: threading.Event,
          stop: threading.Event,
          results: multiprocessing.Queue[tuple[Counter[int], int, float]]) -> None:
    """Wrong passwords from ``threads`` threads connecting from ``address`` (in a process of
    its own, so the flood's client work does not compete with the server for one interpreter's
    lock), for the officer or a new name each time, from ``flooding`` until ``stop``; puts
    (answers by status, errors, seconds) on ``results``."""
    answers: Counter[int] = Counter()
    errors = 0
    lock = threading.Lock()

    def guess(thread: int) -> None:
        nonlocal errors
        transport = httpx.HTTPTransport(local_address=address)
        with httpx.Client(transport=transport, timeout=60) as client:
            for n in cycle(range(10**6)):
                if stop.is_set():
                    return
                name = f"name{thread}x{n}" if many_names else OFFICER
                try:
                    status = client.post(url + "login", data={
                        "username": name, "password": f"wrong guess {n}"}).status_code
                except httpx.HTTPError:
                    with lock:
                        errors += 1
                    continue
                with lock:
                    answers[status] += 1

    workers = [threading.Thread(target=guess, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    flooding.set()
    for worker in workers:
        worker.join()
    results.put((answers, errors, time.perf_counter() - started))


def right_password_from(url: str, address: str) -> int:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(transport=transport, timeout=60) as client:
        return client.post(url + "login", data={"username": OFFICER,
                                                "password": PASSWORD}).status_code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20, help="/inspect calls per phase")
    parser.add_argument("--threads", type=int, default=20, help="threads flooding /login")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "gallery"
        prepare_environment(root)
        from gradio_client import Client, handle_file

        from ipr_vision.app.service import Service

        gallery = Gallery(root)
        gallery.import_index(SAMPLE / "gallery.csv", brand="nike", added_by="bench")
        service = Service(gallery)
        service.users.add(OFFICER, "officer", PASSWORD)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        app, _ = launch(service, port=port, block=False)
        url = f"http://127.0.0.1:{port}/"
        photos = FreshPhotos([item.source for item in read_index(SAMPLE / "queries.csv")[0]],
                             root.parent / "sent")
        sent = (photos.path(k % len(photos)) for k in count())
        client = Client(url, auth=(OFFICER, PASSWORD), verbose=False)
        client.predict(handle_file(next(sent)), "nike", "", api_name="/inspect")

        def inspections() -> str:
            """Times of the officer's calls, failed ones (gradio_client gives up on a request
            unanswered for 5 s) timed until they failed and counted."""
            times, failed = [], Counter[str]()
            for _ in range(args.calls):
                photo = next(sent)
                started = time.perf_counter()
                try:
                    client.predict(handle_file(photo), "nike", "", api_name="/inspect")
                except Exception as error:  # noqa: BLE001 - a failure is a figure here
                    failed[type(error).__name__] += 1
                times.append(time.perf_counter() - started)
            shown = ", ".join(f"{n} {kind}" for kind, n in failed.items())
            return percentiles(times) + (f"; FAILED: {shown}" if failed else "")

        print(f"/inspect, no flood: {inspections()}", flush=True)
        context = multiprocessing.get_context("spawn")
        for what, address, many_names in (("new names", "127.0.0.3", True),
                                           ("the officer's name", "127.0.0.4", False)):
            flooding, stop, results = context.Event(), context.Event(), context.Queue()
            flooder = context.Process(target=flood, args=(url, args.threads, address,
                                                          many_names, flooding, stop, results),
                                      daemon=True)
            flooder.start()
            flooding.wait(timeout=300)
            time.sleep(1.0)  # under way
            try:
                during = inspections()
            finally:
                stop.set()
            answers, errors, seconds = results.get(timeout=600)
            flooder.join()
            attempts = sum(answers.values())
            shown = ", ".join(f"{status}: {count}" for status, count in sorted(answers.items()))
            print(f"/inspect, flood of {what}: {during}\n"
                  f"  {args.threads} threads from {address}: {attempts} attempts in "
                  f"{seconds:.0f} s = {attempts / seconds:.1f}/s (answers {shown}; {errors} "
                  "connection errors)", flush=True)
        print(f"then the officer's right password: from the flooding address "
              f"{right_password_from(url, '127.0.0.4')}, from another address "
              f"{right_password_from(url, '127.0.0.2')}")
        print(f"machine: {os.cpu_count()} cores")
        app.close()
        service.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
