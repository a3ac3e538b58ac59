"""The import layers of pyproject.toml's [tool.importlinter], checked by the real tool on the real tree, and shown
to fail on a copy of the tree with one forbidden import added."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("contracts", "spark_jobs", "cardlake", "flows", "blocks", "cardapi")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root, env={"PYTHONPATH": str(root), "PATH": str(Path(sys.executable).parent)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def copy_of_the_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    for package in PACKAGES:
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_layers_hold():
    done = lint_imports(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "broken" in done.stdout and " 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "forbidden_import", "contract"),
    [
        ("spark_jobs/jobs/gold.py", "from cardlake.settings import Settings", "spark_jobs (the EMR bundle)"),
        ("contracts/lake.py", "import spark_jobs.session", "contracts imports nothing else"),
        ("cardlake/summary.py", "import flows.report", "library code never imports flows"),
        ("blocks/warehouse.py", "import cardlake.config", "blocks import no pipeline code"),
    ],
)
def test_a_forbidden_import_breaks_the_check(tmp_path: Path, module: str, forbidden_import: str, contract: str):
    root = copy_of_the_tree(tmp_path)
    target = root / module
    target.write_text(target.read_text() + f"\n{forbidden_import}  # noqa\n")
    done = lint_imports(root)
    assert done.returncode != 0
    broken = [line for line in done.stdout.splitlines() if "BROKEN" in line]
    assert any(contract in line for line in broken), done.stdout
