"""Tiny flows for the `cardlake worker` tests, deployed from this file's entrypoints.

`spark_probe` resolves the configuration at its entry like every cardlake flow, takes the SparkSession the
`local-session` runner would (`get_spark` with the settings' `LocalSpark`), and appends one JSON line of what it
saw: the Spark application id, the JVM's pid, the runner the settings name, and PROBE_MARK from the environment.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from prefect import flow, task

from cardlake.config import resolve_config
from cardlake.spark_runner import get_runner
from contracts.jobs import LocalSpark


@task
def spark_identity(local: LocalSpark) -> dict[str, Any]:
    from spark_jobs.session import get_spark

    spark = get_spark("cardlake-warm-probe", local)
    assert spark.range(10).count() == 10
    return {
        "app_id": spark.sparkContext.applicationId,
        "jvm_pid": int(spark._jvm.java.lang.ProcessHandle.current().pid()),
    }


@flow(name="warm-spark-probe")
def spark_probe(out: str, fail: bool = False) -> None:
    config = resolve_config()
    record = {
        **spark_identity(config.settings.local_spark),
        "runner": config.settings.spark_runner,
        "runner_class": type(get_runner(config)).__name__,
        "mark": os.environ.get("PROBE_MARK"),
        "python_pid": os.getpid(),
    }
    with open(out, "a") as lines:
        lines.write(json.dumps(record) + "\n")
    if fail:
        raise ValueError("the probe was told to fail")


@task
def wait(seconds: float) -> None:
    time.sleep(seconds)


@task
def touch(path: str) -> None:
    Path(path).write_text("done")


@flow(name="warm-two-steps")
def two_steps(seconds: float, done: str) -> None:
    wait(seconds)
    touch(done)
