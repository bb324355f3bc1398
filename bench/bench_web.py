"""How long an officer waits in the web app, measured through its API. Prints; asserts nothing.

Starts the app on a free localhost port over a gallery of the demo sample (48 real reference
photos), logs in as an officer with gradio_client, and times, over the sample's 12 held-back
photos (each a round trip: upload, inspect, record):

1. ``/inspect`` end to end (what a script or a one-photo page upload costs);
2. ``Service.explain`` in-process (the heat map, alignment and points the page adds for one
   photo);
3. five officers inspecting at once (the same 12 photos each), as the page's queue serves them;
4. sustained load: ``--officers`` officers (default 25) each inspecting photo after photo for
   ``--seconds`` (default 45): requests, errors, p50/p95 and throughput, through Gradio's API
   and through the plain JSON endpoint ``POST /api/v1/inspect``.

Every request sends a photo the server has not seen: the sample's bytes with a tag appended
after the JPEG's end (the same pixels, another sha256), because the inspector keeps the
vectors of the last photos it embedded and twelve photos sent over and over would measure
that memory, not an inspection (a run before this measured 74 inspections/s on a network
that embeds at most about 60 photos/s).

Each is measured twice in one run: on today's path (PyTorch, each request computed alone) and
on what ``ipr-vision serve`` runs now (the OpenVINO path behind the batching queue), with the
ratios at the end: the machines are shared and noisy, and ratios in one run are what count.

Usage::

    .venv/bin/python bench/bench_web.py [--rounds N] [--officers 25] [--seconds 45]
        [--runtime openvino|openvino-bf16|openvino-int8]
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from ipr_vision import Gallery
from ipr_vision.app.web.app import launch, prepare_environment
from ipr_vision.embedders import Embedder, default_embedder
from ipr_vision.embedders.batching import BatchingEmbedder
from ipr_vision.embedders.compiled import RUNTIME_ENV, default_runtime
from ipr_vision.intake.labelled import read_index

if TYPE_CHECKING:  # imported at run time only after prepare_environment (Gradio's settings)
    from ipr_vision.app.service import Service

REPO = Path(__file__).resolve().parent.parent

SAMPLE = REPO / "demo" / "sample"
OFFICERS = 5


class FreshPhotos:
    """The sample's photos, each request's a file the server has never seen (see above)."""

    def __init__(self, photos: list[Path], folder: Path) -> None:
        self.names = [photo.name for photo in photos]
        self.data = [photo.read_bytes() for photo in photos]
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._sent = itertools.count()

    def __len__(self) -> int:
        return len(self.data)

    def content(self, k: int) -> tuple[str, bytes]:
        """Photo ``k``'s name and bytes, tagged after its end with a number never used."""
        return self.names[k], self.data[k] + f"ipr-bench-{next(self._sent)}".encode()

    def path(self, k: int) -> str:
        """Photo ``k`` as a new file (Gradio's API uploads files)."""
        name, data = self.content(k)
        path = self.folder / f"{next(self._sent)}-{name}"
        path.write_bytes(data)
        return str(path)


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (f"p50 {1000 * statistics.median(ordered):.0f} ms, p95 {1000 * p95:.0f} ms "
            f"(n={len(ordered)})")


def sustained(officers: int, seconds: float, request: Callable[[int, int], str | None]
              ) -> tuple[str, float, float]:
    """Every officer makes request after request until the time is up (``request(n, i)``:
    officer n's i-th, returning an error's text or None); what they got, as a line, and the
    throughput (photos/s) and p95 (s) for ratios."""
    deadline = time.perf_counter() + seconds

    def work(n: int) -> tuple[list[float], list[str]]:
        spent, errors = [], []
        for i in range(10**9):
            if time.perf_counter() >= deadline:
                break
            started = time.perf_counter()
            error = request(n, i)
            if error is None:
                spent.append(time.perf_counter() - started)
            else:
                errors.append(error[:120])
        return spent, errors

    started = time.perf_counter()
    with ThreadPoolExecutor(officers) as pool:
        done = list(pool.map(work, range(officers)))
    wall = time.perf_counter() - started
    times = [t for spent, _ in done for t in spent]
    errors = [e for _, failed in done for e in failed]
    rate = len(times) / wall
    ordered = sorted(times) or [float("nan")]
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    first = f"; first error: {errors[0]}" if errors else ""
    return (f"{len(times) + len(errors)} requests, {len(errors)} errors, "
            f"{percentiles(times) if times else 'none answered'}, "
            f"{rate:.2f} photos/s{first}"), rate, p95


def through_gradio(url: str, photos: FreshPhotos, officers: int
                   ) -> Callable[[int, int], str | None]:
    """Officers inspecting through Gradio's API (gradio_client)."""
    from gradio_client import Client, handle_file

    clients = [Client(url, auth=(f"officer{n}", "bench-password-1"), verbose=False)
               for n in range(officers)]

    def request(n: int, i: int) -> str | None:
        try:
            clients[n].predict(handle_file(photos.path((n + i) % len(photos))), "nike", "",
                               api_name="/inspect")
        except Exception as error:  # noqa: BLE001 - counted and shown: what a load test is for
            return f"{type(error).__name__}: {error}"
        return None

    return request


def through_json(url: str | Sequence[str], photos: FreshPhotos,
                 officers: int) -> Callable[[int, int], str | None]:
    """Officers inspecting through the plain JSON endpoint (httpx, one session each); with
    several servers' URLs, officer n stays on server n modulo their number."""
    urls = [url] if isinstance(url, str) else list(url)
    clients = []
    for n in range(officers):
        client = httpx.Client(base_url=urls[n % len(urls)], timeout=120)
        client.post("login", data={"username": f"officer{n}", "password": "bench-password-1"})
        clients.append(client)

    def request(n: int, i: int) -> str | None:
        answer = clients[n].post("api/v1/inspect", data={"brand": "nike"},
                                 files={"photo": photos.content((n + i) % len(photos))})
        return None if answer.status_code == 200 else f"{answer.status_code}: {answer.text}"

    return request


def paths(runtime: str) -> list[tuple[str, Embedder]]:
    """Today's path (PyTorch, each request computed alone) and what `ipr-vision serve` runs
    now (the OpenVINO path behind a queue that embeds waiting photos together), on
    ``runtime`` (OpenVINO's numeric path: f32, bf16 or int8)."""
    made = []
    for path in ("torch", runtime):
        os.environ[RUNTIME_ENV] = path
        made.append(default_embedder())
    del os.environ[RUNTIME_ENV]
    serve = "OpenVINO f32" if runtime == "openvino" else runtime
    return [("PyTorch, each request alone (before)", made[0]),
            (f"{serve} + batching queue (serve now)", BatchingEmbedder(made[1]))]


def measure(service: Service, photos: FreshPhotos, args: argparse.Namespace
            ) -> tuple[float, float, float, float, float]:
    """Serve ``service`` on a free port and time it; the one-officer p50 (s), and the
    sustained load's throughput and p95 through Gradio's API and through the JSON endpoint."""
    from gradio_client import Client, handle_file

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app, _ = launch(service, port=port, block=False)
    url = f"http://127.0.0.1:{port}/"
    client = Client(url, auth=("officer", "bench-password-1"), verbose=False)
    client.predict(handle_file(photos.path(0)), "nike", "", api_name="/inspect")  # warm-up

    times = []
    for _ in range(args.rounds):
        for k in range(len(photos)):
            photo = photos.path(k)
            started = time.perf_counter()
            client.predict(handle_file(photo), "nike", "", api_name="/inspect")
            times.append(time.perf_counter() - started)
    print(f"/inspect over HTTP, one officer:       {percentiles(times)}")

    user = service.user("officer")
    explain = []
    for k in range(len(photos)):
        sent = Path(photos.path(k))
        inspected = service.inspect(user, "nike", None, [sent]).inspected(0)
        if isinstance(inspected, str):
            raise SystemExit(f"bench_web: {sent} could not be inspected: {inspected}")
        picture, suggestion = inspected
        started = time.perf_counter()
        service.explain(user, picture, suggestion)
        explain.append(time.perf_counter() - started)
    print(f"explain (heat map, alignment, points): {percentiles(explain)}")

    def officer(n: int) -> list[float]:
        own = Client(url, auth=(f"officer{n}", "bench-password-1"), verbose=False)
        spent = []
        for k in range(len(photos)):
            photo = photos.path(k)
            started = time.perf_counter()
            own.predict(handle_file(photo), "nike", "", api_name="/inspect")
            spent.append(time.perf_counter() - started)
        return spent

    started = time.perf_counter()
    with ThreadPoolExecutor(OFFICERS) as pool:
        together = [t for spent in pool.map(officer, range(OFFICERS)) for t in spent]
    wall = time.perf_counter() - started
    print(f"/inspect, {OFFICERS} officers at once:       {percentiles(together)}; "
          f"{len(together) / wall:.1f} photos/s in all")
    line, rate, p95 = sustained(args.officers, args.seconds,
                                through_gradio(url, photos, args.officers))
    print(f"/inspect, {args.officers} officers for {args.seconds:.0f} s: {line}")
    line, json_rate, json_p95 = sustained(args.officers, args.seconds,
                                          through_json(url, photos, args.officers))
    print(f"POST /api/v1/inspect, {args.officers} officers for {args.seconds:.0f} s: {line}")
    app.close()
    return statistics.median(times), rate, p95, json_rate, json_p95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="passes over the 12 photos")
    parser.add_argument("--officers", type=int, default=25, help="officers in the load test")
    parser.add_argument("--seconds", type=float, default=45.0, help="length of the load test")
    parser.add_argument("--runtime", choices=("openvino", "openvino-bf16", "openvino-int8"),
                        default=default_runtime(),
                        help="the numeric path `serve` runs here (default: its default here, "
                             f"{default_runtime()})")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "gallery"
        prepare_environment(root)
        from ipr_vision.app.service import Service

        configurations = paths(args.runtime)
        with Gallery(root, embedder=configurations[1][1]) as gallery:
            gallery.import_index(SAMPLE / "gallery.csv", brand="nike", added_by="bench",
                                 allow_poor_quality=True)
            Service(gallery).users.add("officer", "officer", "bench-password-1")
            for n in range(max(OFFICERS, args.officers)):
                Service(gallery).users.add(f"officer{n}", "officer", "bench-password-1")
        with Gallery(root, embedder=configurations[0][1]) as gallery:
            gallery.reembed("nike")  # PyTorch's own vectors where the served path's differ
        photos = [item.source for item in read_index(SAMPLE / "queries.csv")[0]]
        figures = []
        for number, (name, embedder) in enumerate(configurations):
            print(f"\n{name}\n{'=' * len(name)}", flush=True)
            # Each server its own upload folder: Gradio deletes every file it made when a
            # server stops, and the next one would find the same photos' uploads gone.
            uploads = Path(folder) / f"uploads-{number}"
            uploads.mkdir()
            os.environ["GRADIO_TEMP_DIR"] = str(uploads)
            service = Service(Gallery(root, embedder=embedder))
            figures.append(measure(service, FreshPhotos(photos, Path(folder) / f"sent-{number}"),
                                   args))
            service.close()
        (one_before, rate_before, p95_before, _, _), (one_now, rate_now, p95_now,
                                                        json_rate, json_p95) = figures
        print(f"\nratios, now / before (same run): one officer p50 {one_now / one_before:.2f}; "
              f"{args.officers} officers through Gradio's API: throughput "
              f"{rate_now / rate_before:.2f}, p95 {p95_now / p95_before:.2f}; through the JSON "
              f"endpoint against Gradio's API before: throughput {json_rate / rate_before:.2f}, "
              f"p95 {json_p95 / p95_before:.2f}")
        print(f"machine: {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
