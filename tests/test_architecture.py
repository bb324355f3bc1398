"""The architecture's import rules bite, and the command line starts without the model's libraries.

``make test`` runs ``lint-imports`` on the tree (pyproject.toml's ``[tool.importlinter]``); here
a copy of the tree is broken on purpose, once per kind of rule, and the linter must name it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

LINT = Path(sys.executable).with_name("lint-imports")

#: (file to break, line appended, contract that must then be reported broken)
VIOLATIONS = [
    ("ipr_vision/core/metrics.py", "import sqlite3", "The core is pure"),
    ("ipr_vision/core/quality.py", "import torch", "Only the embedders"),
    ("ipr_vision/storage/files.py", "from ..gallery import Gallery", "Layers"),
    ("ipr_vision/app/web/render.py", "from ...storage import Change", "never to storage"),
    ("ipr_vision/app/cli/admin.py", "from ...storage import SqliteUserStore",
     "never to storage"),
    ("training/losses.py", "from ipr_vision.gallery.importer import Importer",
     "training/ uses ipr_vision's public modules"),
]


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": ""}, timeout=300, check=False)


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> str:
    """lint-imports' report on a copy of the tree with every violation above in it."""
    root = tmp_path_factory.mktemp("tree")
    for part in ("ipr_vision", "training"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root)
    for file, line, _ in VIOLATIONS:
        with (root / file).open("a", encoding="utf-8") as handle:
            handle.write(f"\n{line}  # noqa\n")
    result = lint(root)
    assert result.returncode == 1, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize(("file", "line", "contract"), VIOLATIONS)
def test_each_rule_reports_a_violation(broken: str, file: str, line: str, contract: str) -> None:
    reported = " ".join(broken.split())  # the report wraps long contract names
    assert f"{contract}" in reported
    module = file.removesuffix(".py").replace("/", ".")
    assert module in reported, f"{module} is not named in the report"


def test_the_tree_keeps_every_rule() -> None:
    result = lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_command_line_starts_without_torch() -> None:
    """Listing users or reading a gallery must not wait seconds for the model's libraries."""
    code = ("import sys; import ipr_vision, ipr_vision.app.cli.admin, ipr_vision.app.cli.curation,"
            " ipr_vision.app.cli.photos, ipr_vision.app.service, ipr_vision.app.web.app;"
            " loaded = [m for m in ('torch', 'torchvision', 'gradio') if m in sys.modules];"
            " print(loaded); sys.exit(1 if loaded else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
