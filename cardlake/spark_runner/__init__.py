"""Run the Spark jobs of contracts section 4 wherever configuration says: local spark-submit, this process,
or EMR Serverless."""

from __future__ import annotations

from cardlake.settings import Settings
from cardlake.spark_runner.base import (
    SparkJobFailed,
    SparkJobRequest,
    SparkJobResult,
    SparkRunner,
    build_job_args,
    read_job_results,
)

__all__ = [
    "SparkJobFailed",
    "SparkJobRequest",
    "SparkJobResult",
    "SparkRunner",
    "build_job_args",
    "get_runner",
    "read_job_results",
]


def get_runner(settings: Settings) -> SparkRunner:
    """The runner named by `settings.spark_runner`."""
    if settings.spark_runner == "local-submit":
        from cardlake.spark_runner.local import LocalSubmitRunner

        return LocalSubmitRunner(settings)
    if settings.spark_runner == "local-session":
        from cardlake.spark_runner.local import LocalSessionRunner

        return LocalSessionRunner(settings)
    if settings.spark_runner == "emr-serverless":
        from cardlake.spark_runner.emr import EmrServerlessRunner

        return EmrServerlessRunner.from_settings(settings)
    raise ValueError(
        f"unknown spark_runner {settings.spark_runner!r}: use local-submit, local-session or emr-serverless"
    )
