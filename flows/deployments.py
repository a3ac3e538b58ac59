"""Deployment-time helpers for prefect.yaml: steps that `prefect deploy` runs before registering a deployment.

A prefect.yaml step is any importable function taking keyword arguments and returning a dict; its outputs are
referenced as `{{ <step id>.<key> }}`. `production_environment` turns the Terraform outputs an operator exports
into the non-secret settings of the ECS deployments, and stops the deploy with one clear message when one is
missing (an unset `{{ $VAR }}` placeholder would otherwise be registered literally and fail at run time).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping

# Environment variable -> where its value comes from (docs/deploy.md, step 4).
PRODUCTION_INPUTS: dict[str, str] = {
    "CARDLAKE_LAKE_BUCKET": "terraform output -raw lake_bucket",
    "CARDLAKE_AWS_REGION": "terraform output -raw region",
    "CARDLAKE_API_BASE_URL": "the card API's base URL (https://...)",
    "CARDLAKE_ECR_REPOSITORY": "terraform output -raw ecr_repository_url",
}
OPTIONAL_INPUTS: dict[str, str] = {
    "CARDLAKE_LANDING_PREFIX": "landing",  # terraform output -raw landing_prefix
    "CARDLAKE_LAKE_PREFIX": "lake",  # terraform output -raw lake_prefix
}
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_ECR = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class DeploymentConfigError(ValueError):
    """A deploy-time input is missing or malformed; the message says which and where to get it."""


def production_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ECS deployments' settings from the deployer's environment, checked; raises naming every problem."""
    env = os.environ if environ is None else environ
    values = {name: env.get(name, "").strip() for name in PRODUCTION_INPUTS}
    problems = [f"{name} is not set ({source})" for name, source in PRODUCTION_INPUTS.items() if not values[name]]
    bucket, region, api = values["CARDLAKE_LAKE_BUCKET"], values["CARDLAKE_AWS_REGION"], values["CARDLAKE_API_BASE_URL"]
    if bucket and not _BUCKET.match(bucket):
        problems.append(f"CARDLAKE_LAKE_BUCKET={bucket!r} is not an S3 bucket name (give the name, not s3://...)")
    if region and not _REGION.match(region):
        problems.append(f"CARDLAKE_AWS_REGION={region!r} is not an AWS region such as eu-west-2")
    if api and not api.startswith("https://"):
        problems.append(f"CARDLAKE_API_BASE_URL={api!r} must be an https:// URL in production")
    repository = values["CARDLAKE_ECR_REPOSITORY"]
    if repository and not _ECR.match(repository):
        problems.append(f"CARDLAKE_ECR_REPOSITORY={repository!r} is not an ECR repository URL (no tag)")
    if problems:
        raise DeploymentConfigError("cannot deploy the cardlake ECS deployments:\n  - " + "\n  - ".join(problems))
    prefixes = {name: env.get(name, default).strip().strip("/") or default for name, default in OPTIONAL_INPUTS.items()}
    return {
        "landing_uri": f"s3://{bucket}/{prefixes['CARDLAKE_LANDING_PREFIX']}",
        "lake_uri": f"s3://{bucket}/{prefixes['CARDLAKE_LAKE_PREFIX']}",
        "region": region,
        "api_base_url": api.rstrip("/"),
        "image_repository": repository,
    }


def image_tag(directory: str = ".", environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The flow image's tag: CARDLAKE_IMAGE_TAG if set, else the short commit of a clean work tree.

    ECR tags are immutable, so one tag must always name one build: a tree with uncommitted changes would be
    built into an image named after a commit it does not match, and is refused.
    """
    env = os.environ if environ is None else environ
    explicit = env.get("CARDLAKE_IMAGE_TAG", "").strip()
    if explicit:
        if not _TAG.match(explicit):
            raise DeploymentConfigError(f"CARDLAKE_IMAGE_TAG={explicit!r} is not a valid image tag")
        return {"tag": explicit}
    try:
        commit = _git(directory, "rev-parse", "--short=12", "HEAD")
        dirty = _git(directory, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError) as exc:
        raise DeploymentConfigError(
            f"cannot name the image from git in {directory!r} ({exc}); set CARDLAKE_IMAGE_TAG"
        ) from exc
    if dirty:
        raise DeploymentConfigError(
            "the work tree has uncommitted changes; commit them (the image is tagged with the commit) "
            "or set CARDLAKE_IMAGE_TAG to a new tag"
        )
    return {"tag": commit}


def _git(directory: str, *args: str) -> str:
    done = subprocess.run(["git", "-C", directory, *args], capture_output=True, text=True, check=True, timeout=30)
    return done.stdout.strip()
