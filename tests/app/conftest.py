"""The gallery the service tests share: brands nike and acme of generated photos, everyone in
:data:`PEOPLE`, built once per run on each backend, and each test's private copy of it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from ipr_vision import Gallery
from ipr_vision.app.accounts import Accounts
from ipr_vision.app.service import Service
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from tests.conftest import new_database
from tests.support import query_photo

query = partial(query_photo, suffix=".jpg")
FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
PASSWORD = "correct horse battery"
#: name: (role, brands); two officers so "own inspections" means something.
PEOPLE = {
    "olga": ("officer", ()), "oscar": ("officer", ()),
    "rita": ("right_holder", ("nike",)), "ron": ("right_holder", ("acme",)),
    "tom": ("trainer", ()), "ada": ("admin", ()),
}


def build(location: str | Path, embedder: MobileNetV2Embedder, photo_folder: Path) -> None:
    """Brands nike and acme (48 generated photos each), everyone in PEOPLE, one
    identification point per brand. Built once per backend; tests work on copies."""
    service = Service(Gallery(location, embedder=embedder),
                      users=Accounts.open(location, hasher=FAST))
    for brand in ("nike", "acme"):
        report = service.gallery.import_folder(photo_folder, brand=brand, added_by="setup")
        assert len(report.added) == 48 and not report.failed
        first = service.gallery.references(brand, "boot")[0]
        service.gallery.add_point(first.id, (10, 10, 60, 60), "the stitching", added_by="setup")
    for name, (role, brands) in PEOPLE.items():
        service.users.add(name, role, PASSWORD, brands)
    service.close()


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, embedder: MobileNetV2Embedder,
          photo_folder: Path) -> Path:
    """Session-wide because embedding is the slow part and nothing opens this folder itself:
    every user copies it (:func:`open_copy`)."""
    path = tmp_path_factory.mktemp("service") / "g"
    build(path, embedder, photo_folder)
    return path


@pytest.fixture(scope="session")
def built_postgres(tmp_path_factory: pytest.TempPathFactory, embedder: MobileNetV2Embedder,
                   photo_folder: Path, postgres: str) -> str:
    """Session-wide for the same reason as :func:`built`: it is only ever a template, which
    PostgreSQL copies and nobody connects to."""
    url = new_database(postgres, tmp_path_factory.mktemp("service-pg") / "g")
    build(url, embedder, photo_folder)
    return url


def open_copy(built: Path, path: Path, embedder: MobileNetV2Embedder) -> Service:
    """A service over a copy of the built gallery: copying is much cheaper than embedding."""
    shutil.copytree(built, path)
    return Service(Gallery(path, embedder=embedder), users=Accounts.open(path, hasher=FAST))


@pytest.fixture(params=["sqlite", "postgres"])
def service(request: pytest.FixtureRequest, tmp_path: Path, built: Path,
            embedder: MobileNetV2Embedder) -> Iterator[Service]:
    """A private copy of the built gallery, which the test may change: on each backend."""
    if request.param == "sqlite":
        opened = open_copy(built, tmp_path / "g", embedder)
    else:
        url = new_database(request.getfixturevalue("postgres"), tmp_path / "g",
                           template=request.getfixturevalue("built_postgres"))
        opened = Service(Gallery(url, embedder=embedder), users=Accounts.open(url, hasher=FAST))
    yield opened
    opened.close()


def snapshot(service: Service) -> dict[str, Any]:
    """Everything a refused operation must leave as it was: rows and files."""
    gallery, brands = service.gallery, service.gallery.brands()
    root = gallery.path
    return {
        "brands": brands,
        "products": {b: gallery.products(b) for b in brands},
        "refs": [(r.id, r.brand, r.product, r.label, r.note) for r in gallery.references()],
        "points": [(p.id, p.ref_id, p.box, p.note) for p in gallery.store.points()],
        "operating_points": {b: gallery.store.max_genuine_flagged(b) for b in brands},
        "models": {b: gallery.store.brand_model(b) for b in brands},
        "revisions": {b: gallery.store.revision(b) for b in brands},
        "users": service.users.users(),
        "inspections": [(i.id, i.outcome, i.outcome_by) for i in service.log.inspections()],
        "files": sorted(str(p.relative_to(root)) for p in root.rglob("*")
                        if ".sqlite" not in p.name),
    }
