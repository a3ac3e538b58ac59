"""prefect.yaml deployed to a real Prefect server and run by a real process worker, spark-submit included.

Everything a user does locally: start a server, create the `cardlake-local` pool, `prefect deploy`, start a worker,
`prefect deployment run` with parameters, then read the warehouse. The server, CLI and worker are child processes
with their own PREFECT_HOME; only the card API simulator runs in this process (a thread).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from cardapi.config import SimulatorConfig
from tests.deploy.processes import REPO, PrefectServer, counting_simulator, prefect_server

pytestmark = [pytest.mark.slow, pytest.mark.prefect]

LOCAL = {"pipeline-local": "pipeline", "alerts-local": "alerts", "backfill-local": "backfill"}
CONFIG = SimulatorConfig(seed=5, n_cards=20, start=date(2025, 5, 1), end=date(2025, 7, 1))
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def deployment(server: PrefectServer, name: str) -> dict[str, Any]:
    return server.api("GET", f"/deployments/name/{LOCAL[name]}/{name}")


def wait_for_flow_run(server: PrefectServer, flow_run_id: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        run = server.api("GET", f"/flow_runs/{flow_run_id}")
        if run["state_type"] in TERMINAL or time.monotonic() > deadline:
            return run
        time.sleep(2)


def flow_run_logs(server: PrefectServer, flow_run_id: str) -> str:
    logs = server.api("POST", "/logs/filter", json={"logs": {"flow_run_id": {"any_": [flow_run_id]}}, "limit": 200})
    return "\n".join(entry["message"] for entry in logs)


def test_prefect_yaml_names_the_contract_pools_and_keeps_docker_out_of_the_local_path():
    from prefect.cli.deploy._models import PrefectYamlModel, RawScheduleConfig

    spec = yaml.safe_load((REPO / "prefect.yaml").read_text())
    model = PrefectYamlModel.model_validate(spec)  # the schema `prefect deploy` reads the file with
    scheduled = {d.name: len(d.schedules or []) for d in model.deployments}
    assert scheduled == {"pipeline-local": 1, "alerts-local": 1, "stream-local": 0, "backfill-local": 0,
                         "maintenance-local": 1} | {"pipeline-warm": 1, "alerts-warm": 1} | {
        "pipeline-ecs": 1, "alerts-ecs": 1, "stream-ecs": 0, "stream-load-ecs": 1, "backfill-ecs": 0,
        "maintenance-ecs": 1,
    }  # fmt: skip
    for d in spec["deployments"]:
        for schedule in d["schedules"]:
            assert RawScheduleConfig.model_validate(schedule).timezone == "UTC"
    pools = {d["name"]: d["work_pool"]["name"] for d in spec["deployments"]}
    assert pools == {
        "pipeline-local": "cardlake-local",
        "alerts-local": "cardlake-local",
        "stream-local": "cardlake-local",
        "backfill-local": "cardlake-local",
        "maintenance-local": "cardlake-local",
        "pipeline-warm": "cardlake-warm",
        "alerts-warm": "cardlake-warm",
        "pipeline-ecs": "cardlake-ecs",
        "alerts-ecs": "cardlake-ecs",
        "stream-ecs": "cardlake-ecs",
        "stream-load-ecs": "cardlake-ecs",
        "backfill-ecs": "cardlake-ecs",
        "maintenance-ecs": "cardlake-ecs",
    }
    project_steps = str([spec.get("build"), spec.get("push"), spec.get("pull")])
    assert "prefect_docker" not in project_steps  # local deployments inherit these
    by_name = {d["name"]: d for d in spec["deployments"]}
    for d in spec["deployments"]:
        if d["name"].endswith(("-local", "-warm")):
            assert "build" not in d and "push" not in d and "pull" not in d
            assert not any(schedule["active"] for schedule in d["schedules"])  # a laptop has no 02:30 API
        else:
            env = d["work_pool"]["job_variables"]["env"]
            assert env["CARDLAKE_SPARK_RUNNER"] == "emr-serverless" and env["CARDLAKE_WAREHOUSE"] == "redshift"
            assert env["PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK"] == "s3-bucket/cardlake-results"
            assert d["pull"] == [{"prefect.deployments.steps.set_working_directory": {"directory": "/app"}}]
    # The warm deployments are their local twins on the cardlake-warm pool, with Spark in the worker's process.
    for flow in ("pipeline", "alerts"):
        warm, local = by_name[f"{flow}-warm"], by_name[f"{flow}-local"]
        assert {k: v for k, v in warm.items() if k not in ("name", "description", "work_pool")} == {
            k: v for k, v in local.items() if k not in ("name", "description", "work_pool")
        }
        warm_env, local_env = warm["work_pool"]["job_variables"]["env"], local["work_pool"]["job_variables"]["env"]
        assert warm_env == local_env | {"CARDLAKE_SPARK_RUNNER": "local-session"}
    text = (REPO / "prefect.yaml").read_text().lower()
    assert "password" not in text and "secret_access_key" not in text and "prefect.blocks.secret" not in text


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    with prefect_server(tmp_path_factory.mktemp("prefect-home")) as running:
        yield running


ECS_INPUTS = {
    "CARDLAKE_LAKE_BUCKET": "cardlake-123456789012-eu-west-2",
    "CARDLAKE_AWS_REGION": "eu-west-2",
    "CARDLAKE_API_BASE_URL": "https://cards.example.com",
    "CARDLAKE_ECR_REPOSITORY": "123456789012.dkr.ecr.eu-west-2.amazonaws.com/cardlake-flows",
    "CARDLAKE_IMAGE_TAG": "deploy-test",
}


def test_ecs_deployments_register_the_image_and_production_settings(server: PrefectServer):
    """The two ECS deployments that do not build (Docker is not here); pipeline-ecs differs only by its build."""
    server.cli("work-pool", "create", "cardlake-ecs", "--type", "ecs")
    with pytest.raises(AssertionError, match="CARDLAKE_LAKE_BUCKET is not set"):
        server.cli("--no-prompt", "deploy", "--name", "alerts-ecs")

    server.env.update(ECS_INPUTS)
    try:
        server.cli("--no-prompt", "deploy", "--name", "alerts-ecs", "--name", "backfill-ecs", timeout=240)
    finally:
        for name in ECS_INPUTS:
            server.env.pop(name)
    alerts = server.api("GET", "/deployments/name/alerts/alerts-ecs")
    backfill = server.api("GET", "/deployments/name/backfill/backfill-ecs")
    variables = alerts["job_variables"]
    assert variables["image"] == f"{ECS_INPUTS['CARDLAKE_ECR_REPOSITORY']}:deploy-test"
    env = variables["env"]
    assert env["CARDLAKE_LAKE_URI"] == "s3://cardlake-123456789012-eu-west-2/lake"
    assert env["CARDLAKE_LANDING_URI"] == "s3://cardlake-123456789012-eu-west-2/landing"
    assert env["CARDLAKE_API_BASE_URL"] == "https://cards.example.com" and env["AWS_DEFAULT_REGION"] == "eu-west-2"
    assert not any("{{" in str(value) for value in env.values())
    assert backfill["job_variables"] == variables
    assert alerts["pull_steps"] == [{"prefect.deployments.steps.set_working_directory": {"directory": "/app"}}]
    (every,) = alerts["schedules"]
    assert every["active"] and every["schedule"]["interval"] == 300.0
    assert backfill["schedules"] == [] and alerts["work_pool_name"] == "cardlake-ecs"


def test_local_deployments_run_the_pipeline_through_a_worker(server: PrefectServer, tmp_path: Path):
    cardlake_home = tmp_path / "cardlake-home"
    with counting_simulator(CONFIG) as (api_url, counter):
        server.cli("work-pool", "create", "cardlake-local", "--type", "process")
        deployed = server.cli("--no-prompt", "deploy", "--name", "*-local", timeout=240)
        assert "pipeline/pipeline-local" in deployed.stdout, deployed.stdout

        # Schedules as registered on the server: cron for the daily run, interval for alerts, none for backfill.
        pipeline_dep, alerts_dep, backfill_dep = (deployment(server, n) for n in LOCAL)
        (daily,) = pipeline_dep["schedules"]
        assert daily["schedule"]["cron"] == "30 2 * * *" and daily["schedule"]["timezone"] == "UTC"
        (every,) = alerts_dep["schedules"]
        assert every["schedule"]["interval"] == 300.0
        assert backfill_dep["schedules"] == []
        assert not daily["active"] and not every["active"]  # local schedules wait to be resumed
        assert alerts_dep["parameters"] == {"lookback_minutes": 15}
        assert pipeline_dep["work_pool_name"] == "cardlake-local"
        assert pipeline_dep["job_variables"]["env"]["CARDLAKE_SPARK_RUNNER"] == "local-submit"
        assert pipeline_dep["pull_steps"] == [
            {"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}
        ]

        server.cli(
            "deployment", "run", "pipeline/pipeline-local", "--param", "start=2025-06-10", "--param", "end=2025-06-11"
        )
        runs = server.api("POST", "/flow_runs/filter", json={"deployments": {"id": {"any_": [pipeline_dep["id"]]}}})
        assert len(runs) == 1, runs  # only the manual run: the inactive schedule created none
        flow_run_id = runs[0]["id"]
        # spark-submit reads spark-defaults.conf; a few shuffle partitions suit a day of 20 cards (Spark's 200
        # default makes thousands of empty tasks). The job settings themselves are untouched.
        spark_conf = tmp_path / "spark-conf"
        spark_conf.mkdir()
        (spark_conf / "spark-defaults.conf").write_text("spark.sql.shuffle.partitions 4\n")
        worker_env = {
            "SPARK_CONF_DIR": str(spark_conf),
            "CARDLAKE_HOME": str(cardlake_home),
            "CARDLAKE_API_BASE_URL": api_url,
            "CARDLAKE_PAN_TOKEN_KEY": "deploy-test-key",
        }
        with server.worker("cardlake-local", worker_env, tmp_path / "worker.log"):
            run = wait_for_flow_run(server, flow_run_id, timeout_s=300)
        worker_log = (tmp_path / "worker.log").read_text()[-4000:]
        logs = flow_run_logs(server, flow_run_id)
        assert run["state_type"] == "COMPLETED", f"{run['state_type']}: {run['state']['message']}\n{logs}\n{worker_log}"
        assert run["parameters"]["start"].startswith("2025-06-10")

    # The run used the simulator and the real spark-submit path, and loaded the DuckDB warehouse of CARDLAKE_HOME.
    assert counter.paths["/v3/statement/list"] > 0
    assert list((cardlake_home / "logs" / "spark").glob("*.log")), "spark-submit wrote no log: not local-submit?"
    with duckdb.connect(str(cardlake_home / "warehouse.duckdb"), read_only=True) as db:
        (rows,) = db.execute("SELECT COUNT(*) FROM fact_transaction").fetchone()
    assert rows > 0
