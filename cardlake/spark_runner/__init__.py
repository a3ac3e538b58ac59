"""Run the Spark jobs of `contracts.jobs` wherever configuration says: local spark-submit, this process, or
EMR Serverless."""

from __future__ import annotations

from cardlake.config import ConfigError, PipelineConfig
from cardlake.spark_runner.base import SparkJobFailed, SparkJobResult, SparkRunner, read_job_results

__all__ = ["SparkJobFailed", "SparkJobResult", "SparkRunner", "get_runner", "read_job_results"]


def get_runner(config: PipelineConfig) -> SparkRunner:
    """The runner `settings.spark_runner` names, built from the resolved configuration."""
    settings = config.settings
    if settings.spark_runner == "emr-serverless":
        from cardlake.spark_runner.emr import EmrServerlessRunner

        if config.emr is None:
            raise ConfigError("spark_runner is emr-serverless but no EMR Serverless application block was loaded")
        return EmrServerlessRunner(config.emr)
    if config.pan_key is None:
        raise ConfigError(f"spark_runner {settings.spark_runner} needs a PAN token key")
    if settings.spark_runner == "local-session":
        from cardlake.spark_runner.local import LocalSessionRunner

        return LocalSessionRunner(config.pan_key, local=settings.local_spark)
    from cardlake.spark_runner.local import LocalSubmitRunner

    return LocalSubmitRunner(config.pan_key, settings.logs_dir, local=settings.local_spark)
