"""The embedding network compiled for the CPU by OpenVINO Runtime, several times faster than
PyTorch on a laptop CPU: in f32 with PyTorch's vectors (largest difference about 1e-7), in int8
(the default where it was checked) with its own.

The network is exported once per model to ONNX with PyTorch's own exporter and cached beside
the weights (``weights/compiled/``, where exports unused for a month are deleted); OpenVINO
Runtime reads that file and compiles it for this CPU at start-up (a fraction of a second). The
ONNX route rather than ``openvino.convert_model``: the converter reports usage to Intel by
default, which a customs installation must never do, while reading ONNX in the runtime sends
nothing.

Precision is pinned: on CPUs with bf16 OpenVINO would otherwise quietly compute in bf16,
which changes vectors (cosine 0.998 to 0.9999 on real photos) without changing the model id.
A model that ships an int8 network (a file made once from its training photos, :mod:`.quantized`)
runs it by default on x86 CPUs with AVX2 or later, where it was checked to give the same
vectors with and without int8 dot-product instructions (VNNI): on 2 cores one inspection 15 ms
against f32's 20, imports 1.5-1.6x as fast, and on the shipped recipe's five folds the same
figures within noise (``weights/MODEL_CARD.md``). Its vectors carry their own model id
(``…/int8@<sha256>``), so a gallery embedded in f32 is re-embedded once rather than mixed.
Elsewhere (ARM, older x86, a model without an int8 file) the network runs in f32, PyTorch's
vectors to about 1e-7. ``IPR_VISION_RUNTIME=openvino`` asks for f32 everywhere,
``openvino-int8`` for int8 everywhere (unchecked off x86), ``openvino-bf16`` for bf16 on a
CPU that has it (about as fast as int8; its own model id; opt-in, since a CPU without bf16
units computes bf16 another way, while one model id must mean one set of vectors on every
server of a gallery).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from .._version import __version__
from . import weights as weights_mod

log = logging.getLogger(__name__)

#: Which numeric path embeds: "openvino" (f32), "openvino-bf16" (where the CPU has bf16),
#: "openvino-int8" (a model's int8 file beside its weights, :mod:`.quantized`; f32 for a model
#: without one), "torch" (the reference) or "torch-cuda" (the reference on a GPU, f32 without
#: TF32: for evaluating many models on a training machine, not for the app). Unset:
#: :func:`default_runtime`.
RUNTIME_ENV = "IPR_VISION_RUNTIME"
TORCH_CUDA = "torch-cuda"
RUNTIMES = ("openvino", "openvino-bf16", "openvino-int8", "torch", TORCH_CUDA)
#: The CPUs, as PyTorch names their capability, on which int8 networks were checked to give the
#: same vectors bit for bit (with and without VNNI; ``tests/train/test_quantize.py``).
INT8_CHECKED_ON = frozenset({"AVX2", "AVX512"})

_warned: set[str] = set()


def default_runtime(capability: str | None = None) -> str:
    """The path taken when none is asked for: ``openvino-int8`` on a CPU of
    :data:`INT8_CHECKED_ON` (``capability``, else this CPU's), else ``openvino`` (f32)."""
    capability = capability or torch.backends.cpu.get_cpu_capability()
    return "openvino-int8" if capability in INT8_CHECKED_ON else "openvino"


def asked_runtime(runtime: str | None = None) -> str | None:
    """``runtime``, else ``$IPR_VISION_RUNTIME``: the path someone asked for, if any."""
    return runtime or os.environ.get(RUNTIME_ENV) or None


def chosen_runtime(runtime: str | None = None) -> str:
    """The path asked for (:func:`asked_runtime`), else :func:`default_runtime`; an unknown
    name is warned about (once) and read as ``openvino``."""
    chosen = asked_runtime(runtime) or default_runtime()
    if chosen not in RUNTIMES:
        if chosen not in _warned:
            _warned.add(chosen)
            log.warning("$%s=%s is not one of %s; using openvino", RUNTIME_ENV, chosen,
                        ", ".join(RUNTIMES))
        chosen = "openvino"
    return chosen


def torch_device(runtime: str | None = None) -> torch.device:
    """Where PyTorch embeds: the GPU when ``torch-cuda`` asks and one is there, else the CPU.
    TF32 is turned off there, so the vectors match the CPU's to about 1e-6 and keep its model
    id."""
    if chosen_runtime(runtime) != TORCH_CUDA:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        log.warning("%s asked for, but PyTorch sees no GPU; embedding on the CPU", TORCH_CUDA)
        return torch.device("cpu")
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    return torch.device("cuda")


def wanted_precision(runtime: str | None = None) -> str | None:
    """The precision to run the network in on OpenVINO Runtime (``f32``, ``bf16`` or
    ``int8``), or None for PyTorch: as ``runtime`` (one of :data:`RUNTIMES`), else
    ``$IPR_VISION_RUNTIME``, asks, where OpenVINO (and bf16) are available."""
    chosen = chosen_runtime(runtime)
    if chosen in ("torch", TORCH_CUDA):
        return None
    try:
        import openvino as ov
    except ImportError:
        log.info("OpenVINO Runtime is not installed; embedding with PyTorch")
        return None
    if chosen == "openvino-int8":
        return "int8"
    if chosen == "openvino-bf16":
        if "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
            return "bf16"
        log.warning("this CPU has no bf16; embedding in f32")
    return "f32"


class CompiledNetwork:
    """A module from a batch of ``side`` x ``side`` photos as uint8 pixels, ``(n, side, side,
    3)``, to rows, run by OpenVINO Runtime; safe to call from several threads at once (one
    infer request each). A module with more outputs (``outputs`` names them) gives rows first,
    then grids ``(n, h, w, d)`` (a photo's cells: :mod:`.cells`).

    With ``mirror``, a photo's row is the sum of the module's rows for the photo and its mirror
    image, L2-normalised (:class:`~ipr_vision.embedders.mobilenet.SquashedToVectors`' mirror
    averaging, for a module that gives unit vectors). The two views then run as two requests
    at once on two streams, each on half the cores, rather than as one batch of two on all of
    them: a network at one or two photos a call leaves the cores idle between its layers, and
    two independent streams fill some of those gaps (on 2 cores, interleaved with the batch of
    two: the network 22.7 against 24.1 ms p50 over 40 real photos x 5 rounds, a whole
    inspection 0.97x paired over 447; vectors within 1e-8; bench/README.md). A grid's mirror
    image is flipped back before the two are summed, so that a cell is one place on the item.
    """

    def __init__(self, module: torch.nn.Module | Any, side: int, model_id: str,
                 precision: str = "f32", *, mirror: bool = False,
                 outputs: tuple[str, ...] = ("vectors",)) -> None:
        """``module`` may instead be an OpenVINO model already read and made for this (a
        quantized network: :mod:`.quantized`); ``outputs`` must then name its outputs."""
        import openvino as ov

        core = ov.Core()
        network = (core.read_model(_exported(module, side, model_id, mirror_apart=mirror,
                                             outputs=outputs))
                   if isinstance(module, torch.nn.Module) else module)
        self.precision, self.mirror, self.outputs = precision, mirror, len(outputs)
        streams = ({"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": 2} if mirror
                   else {"PERFORMANCE_HINT": "LATENCY"})
        # An int8 network's layers left unquantized run in f32, never quietly in bf16.
        self._compiled = core.compile_model(network, "CPU", {
            "INFERENCE_PRECISION_HINT": "f32" if precision == "int8" else precision,
            **streams})
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.run(batch)[0]

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """Every output of the module for ``batch``."""
        pixels = np.ascontiguousarray(batch, dtype=np.uint8)
        if not self.mirror:
            return self._run([pixels])[0]
        # Photos are (n, h, w, 3), as grids are (n, h, w, d): the mirror image flips the width.
        photo, mirrored = self._run([pixels, _mirrored(pixels)])
        rows = photo[0] + mirrored[0]
        return [rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12),
                *(grid + flipped[:, :, ::-1] for grid, flipped in
                  zip(photo[1:], mirrored[1:], strict=True))]

    def _run(self, inputs: list[np.ndarray]) -> list[list[np.ndarray]]:
        """Each input on its own infer request, all at once; each one's outputs."""
        requests = []
        for _ in inputs:
            try:
                requests.append(self._requests.get_nowait())
            except queue.Empty:
                requests.append(self._compiled.create_infer_request())
        try:
            for request, pixels in zip(requests, inputs, strict=True):
                request.start_async({0: pixels})
            for request in requests:
                request.wait()
            return [[np.array(request.get_output_tensor(n).data) for n in range(self.outputs)]
                    for request in requests]
        finally:
            for request in requests:
                self._requests.put(request)


def _mirrored(pixels: np.ndarray) -> np.ndarray:
    """Each photo of ``(n, h, w, 3)`` pixels flipped left to right: by OpenCV, as NumPy's copy
    of a reversed view took 0.45 ms of an int8 import's 13 ms a photo (OpenCV: 0.02 ms)."""
    flipped = np.empty_like(pixels)
    for photo, out in zip(pixels, flipped, strict=True):
        cv2.flip(photo, 1, dst=out)
    return flipped


#: An export not used for this long is deleted when another is written: each upgrade of
#: ipr-vision or torch, and each retrained model, writes a new file (about 10 MB) and nothing
#: else would ever remove the old ones. One deleted too early is only exported again.
UNUSED_FOR_S = 30 * 24 * 3600


def _prune(folder: Path) -> None:
    """Delete the exports, and the halves of exports a killed process left, unused for
    :data:`UNUSED_FOR_S`."""
    cutoff = time.time() - UNUSED_FOR_S
    for old in [*folder.glob("*.onnx"), *folder.glob(".*.onnx.*")]:
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:  # another process pruned or used it meanwhile
            continue


def _exported(module: torch.nn.Module, side: int, model_id: str, *,
              mirror_apart: bool = False, outputs: tuple[str, ...] = ("vectors",)) -> Path:
    """The module as an ONNX file, exported once per model, torch and ipr-vision version;
    ``mirror_apart``: a model whose id says "+mirror" exported without the mirror image, which
    :class:`CompiledNetwork` then adds itself (a separate file from the whole graph's)."""
    mirror = "|mirror-apart" if mirror_apart else ""
    named = "" if outputs == ("vectors",) else "|" + ",".join(outputs)
    key = hashlib.sha256(f"{model_id}|{side}|{torch.__version__}|{__version__}|uint8-nhwc{mirror}"
                         f"{named}".encode())
    path = weights_mod.weights_dir() / "compiled" / f"{key.hexdigest()[:24]}.onnx"
    if path.is_file():
        with contextlib.suppress(OSError):  # a read-only folder is never pruned either
            os.utime(path)  # in use: see _prune
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    _prune(path.parent)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        export_onnx(module, side, outputs, temp)
        os.replace(temp, path)  # a reader sees the whole file or none
    finally:
        temp.unlink(missing_ok=True)
    return path


def export_onnx(module: torch.nn.Module, side: int, outputs: tuple[str, ...], path: Path
                ) -> None:
    """``module`` (``side`` x ``side`` photos as uint8 pixels in, ``outputs`` out, any batch
    size) to an ONNX file, as OpenVINO Runtime reads it."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notices
        torch.onnx.export(module.eval(), (torch.zeros(1, side, side, 3, dtype=torch.uint8),),
                          str(path), dynamo=False, input_names=["photos"],
                          output_names=list(outputs), opset_version=17,
                          dynamic_axes={"photos": {0: "n"}} | {name: {0: "n"}
                                                               for name in outputs})
