"""checkov over infra/: no failed check except the ones infra/checkov-skips.yaml accepts, each with a reason."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from .tf_model import INFRA, REPO

SKIP_FILE = INFRA / "checkov-skips.yaml"


def _checkov() -> str:
    beside_python = Path(sys.executable).with_name("checkov")
    found = str(beside_python) if beside_python.exists() else shutil.which("checkov")
    assert found, "checkov is not installed (dev extra)"
    return found


def _skips() -> list[dict[str, Any]]:
    return yaml.safe_load(SKIP_FILE.read_text())["skips"]


def _accepted() -> set[tuple[str, str]]:
    return {(skip["check"], resource) for skip in _skips() for resource in skip["resources"]}


@pytest.fixture(scope="module")
def checkov_report() -> dict[str, Any]:
    """One checkov run per session: it takes several seconds even on this small module."""
    # BC_SKIP_MAPPING: no attempt to download guideline mappings (there is no network to the vendor's API).
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    command = [_checkov(), "-d", str(INFRA), "--framework", "terraform", "--quiet", "--compact", "-o", "json"]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    elapsed = time.perf_counter() - started
    print(f"checkov took {elapsed:.1f} s")
    assert result.stdout.strip().startswith(("{", "[")), f"checkov produced no report:\n{result.stderr[-3000:]}"
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    (terraform,) = [r for r in reports if r.get("check_type", "terraform") == "terraform"]
    terraform["elapsed_seconds"] = elapsed
    return terraform


def _failures(report: dict[str, Any]) -> list[dict[str, Any]]:
    return report.get("results", {}).get("failed_checks", [])


def test_every_skip_names_resources_and_gives_a_reason() -> None:
    skips = _skips()
    assert skips, "the skip file is empty: delete it rather than keep an empty list"
    for skip in skips:
        assert str(skip.get("check", "")).startswith("CKV"), skip
        assert skip.get("resources"), f"{skip['check']}: list the resources the skip applies to"
        reason = str(skip.get("reason", "")).strip()
        assert len(reason.split()) >= 12, f"{skip['check']}: the reason must explain why, not just restate it"
    ids = [skip["check"] for skip in skips]
    assert len(ids) == len(set(ids)), "one entry per check"


@pytest.mark.slow
def test_checkov_parsed_the_whole_module(checkov_report) -> None:
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] >= 40, summary
    assert summary["passed"] >= 150, summary


@pytest.mark.slow
def test_no_failed_check_outside_the_skip_file(checkov_report) -> None:
    unexpected = [
        f"{f['check_id']} {f['resource']} ({f['file_path']}:{f['file_line_range'][0]}): {f['check_name']}"
        for f in _failures(checkov_report)
        if (f["check_id"], f["resource"]) not in _accepted()
    ]
    assert unexpected == []


@pytest.mark.slow
def test_no_stale_skips(checkov_report) -> None:
    failing = {(f["check_id"], f["resource"]) for f in _failures(checkov_report)}
    assert sorted(_accepted() - failing) == [], "these skips no longer match a finding: remove them"


def test_readme_lists_every_skipped_check() -> None:
    readme = (INFRA / "README.md").read_text()
    missing = [skip["check"] for skip in _skips() if skip["check"] not in readme]
    assert missing == [], "infra/README.md must list every accepted checkov finding"
