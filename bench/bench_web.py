"""How long an officer waits in the web app, measured through its API. Prints; asserts nothing.

Starts the app on a free localhost port over a gallery of the demo sample (48 real reference
photos), logs in as an officer with gradio_client, and times, over the sample's 12 held-back
photos (each a round trip: upload, inspect, record):

1. ``/inspect`` end to end (what a script or a one-photo page upload costs);
2. ``Service.explain`` in-process (the heat map, alignment and points the page adds for one
   photo);
3. five officers inspecting at once (the same 12 photos each), as the page's queue serves them;
4. sustained load: ``--officers`` officers (default 25) each inspecting photo after photo for
   ``--seconds`` (default 45): requests, errors, p50/p95 and throughput.

Usage::

    .venv/bin/python bench/bench_web.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ipr_vision import Gallery
from ipr_vision.app.web.app import launch, prepare_environment
from ipr_vision.intake.labelled import read_index

REPO = Path(__file__).resolve().parent.parent

SAMPLE = REPO / "demo" / "sample"
OFFICERS = 5


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (f"p50 {1000 * statistics.median(ordered):.0f} ms, p95 {1000 * p95:.0f} ms "
            f"(n={len(ordered)})")


def sustained(url: str, photos: list[Path], officers: int, seconds: float) -> str:
    """Every officer inspects photo after photo until the time is up; what they got."""
    from gradio_client import Client, handle_file

    clients = [Client(url, auth=(f"officer{n}", "bench-password-1"), verbose=False)
               for n in range(officers)]
    deadline = time.perf_counter() + seconds

    def work(n: int) -> tuple[list[float], list[str]]:
        spent, errors = [], []
        for i in range(10**9):
            if time.perf_counter() >= deadline:
                break
            started = time.perf_counter()
            try:
                clients[n].predict(handle_file(str(photos[(n + i) % len(photos)])), "nike", "",
                                   api_name="/inspect")
                spent.append(time.perf_counter() - started)
            except Exception as error:  # noqa: BLE001 - counted and shown: what a load test is for
                errors.append(f"{type(error).__name__}: {error}"[:120])
        return spent, errors

    started = time.perf_counter()
    with ThreadPoolExecutor(officers) as pool:
        done = list(pool.map(work, range(officers)))
    wall = time.perf_counter() - started
    times = [t for spent, _ in done for t in spent]
    errors = [e for _, failed in done for e in failed]
    first = f"; first error: {errors[0]}" if errors else ""
    return (f"{len(times) + len(errors)} requests, {len(errors)} errors, "
            f"{percentiles(times) if times else 'none answered'}, "
            f"{len(times) / wall:.2f} photos/s{first}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="passes over the 12 photos")
    parser.add_argument("--officers", type=int, default=25, help="officers in the load test")
    parser.add_argument("--seconds", type=float, default=45.0, help="length of the load test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "gallery"
        prepare_environment(root)
        from gradio_client import Client, handle_file

        from ipr_vision.app.service import Service
        from ipr_vision.intake.photo import read_photo

        gallery = Gallery(root)
        gallery.import_index(SAMPLE / "gallery.csv", brand="nike", added_by="bench",
                             allow_poor_quality=True)
        service = Service(gallery)
        service.users.add("officer", "officer", "bench-password-1")
        for n in range(max(OFFICERS, args.officers)):
            service.users.add(f"officer{n}", "officer", "bench-password-1")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        app, _ = launch(service, port=port, block=False)
        url = f"http://127.0.0.1:{port}/"
        photos = [item.source for item in read_index(SAMPLE / "queries.csv")[0]]
        client = Client(url, auth=("officer", "bench-password-1"), verbose=False)
        client.predict(handle_file(str(photos[0])), "nike", "", api_name="/inspect")  # warm-up

        times = []
        for _ in range(args.rounds):
            for photo in photos:
                started = time.perf_counter()
                client.predict(handle_file(str(photo)), "nike", "", api_name="/inspect")
                times.append(time.perf_counter() - started)
        print(f"/inspect over HTTP, one officer:       {percentiles(times)}")

        user = service.user("officer")
        explain = []
        for photo in photos:
            inspected = service.inspect(user, "nike", None, [photo]).inspected(0)
            if isinstance(inspected, str):
                raise SystemExit(f"bench_web: {photo} could not be inspected: {inspected}")
            picture, suggestion = inspected
            started = time.perf_counter()
            service.explain(user, picture, suggestion)
            explain.append(time.perf_counter() - started)
        print(f"explain (heat map, alignment, points): {percentiles(explain)}")
        sizes = [read_photo(p).original_size for p in photos]
        print(f"  photos {min(sizes)} .. {max(sizes)} px")

        def officer(n: int) -> list[float]:
            own = Client(url, auth=(f"officer{n}", "bench-password-1"), verbose=False)
            spent = []
            for photo in photos:
                started = time.perf_counter()
                own.predict(handle_file(str(photo)), "nike", "", api_name="/inspect")
                spent.append(time.perf_counter() - started)
            return spent

        started = time.perf_counter()
        with ThreadPoolExecutor(OFFICERS) as pool:
            together = [t for spent in pool.map(officer, range(OFFICERS)) for t in spent]
        wall = time.perf_counter() - started
        print(f"/inspect, {OFFICERS} officers at once:       {percentiles(together)}; "
              f"{len(together) / wall:.1f} photos/s in all")
        load = sustained(url, photos, args.officers, args.seconds)
        print(f"/inspect, {args.officers} officers for {args.seconds:.0f} s: {load}")
        print(f"machine: {os.cpu_count()} cores")
        app.close()
        service.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
