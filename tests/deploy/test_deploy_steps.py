"""The deploy-time steps of prefect.yaml's ECS deployments (flows/deployments.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from flows.deployments import DeploymentConfigError, image_tag, production_environment

GOOD = {
    "CARDLAKE_LAKE_BUCKET": "cardlake-123456789012-eu-west-2",
    "CARDLAKE_AWS_REGION": "eu-west-2",
    "CARDLAKE_API_BASE_URL": "https://api.example-cards.com/",
    "CARDLAKE_ECR_REPOSITORY": "123456789012.dkr.ecr.eu-west-2.amazonaws.com/cardlake-flows",
}


def test_production_environment_builds_the_lake_and_landing_uris_from_terraform_outputs():
    values = production_environment(GOOD)
    assert values == {
        "landing_uri": "s3://cardlake-123456789012-eu-west-2/landing",
        "lake_uri": "s3://cardlake-123456789012-eu-west-2/lake",
        "region": "eu-west-2",
        "api_base_url": "https://api.example-cards.com",
        "image_repository": "123456789012.dkr.ecr.eu-west-2.amazonaws.com/cardlake-flows",
    }
    custom = production_environment({**GOOD, "CARDLAKE_LAKE_PREFIX": "/lake-v2/"})
    assert custom["lake_uri"] == "s3://cardlake-123456789012-eu-west-2/lake-v2"


def test_production_environment_names_every_missing_or_malformed_input_at_once():
    with pytest.raises(DeploymentConfigError) as caught:
        production_environment({"CARDLAKE_LAKE_BUCKET": "s3://my-bucket", "CARDLAKE_API_BASE_URL": "http://api"})
    message = str(caught.value)
    assert "CARDLAKE_AWS_REGION is not set (terraform output -raw region)" in message
    assert "CARDLAKE_ECR_REPOSITORY is not set" in message
    assert "not an S3 bucket name" in message
    assert "must be an https:// URL" in message


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


def test_image_tag_is_the_commit_of_a_clean_tree_and_refuses_a_dirty_one(tmp_path: Path):
    git(tmp_path, "init", "-q")
    (tmp_path / "flow.py").write_text("x = 1\n")
    git(tmp_path, "add", "flow.py")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "one")
    assert image_tag(str(tmp_path), environ={}) == {"tag": git(tmp_path, "rev-parse", "--short=12", "HEAD")}

    (tmp_path / "flow.py").write_text("x = 2\n")
    with pytest.raises(DeploymentConfigError, match="uncommitted changes"):
        image_tag(str(tmp_path), environ={})
    assert image_tag(str(tmp_path), environ={"CARDLAKE_IMAGE_TAG": "hotfix-1"}) == {"tag": "hotfix-1"}
    with pytest.raises(DeploymentConfigError, match="not a valid image tag"):
        image_tag(str(tmp_path), environ={"CARDLAKE_IMAGE_TAG": "bad tag"})


def test_image_tag_outside_a_git_repository_asks_for_an_explicit_tag(tmp_path: Path):
    with pytest.raises(DeploymentConfigError, match="set CARDLAKE_IMAGE_TAG"):
        image_tag(str(tmp_path / "nowhere"), environ={})
