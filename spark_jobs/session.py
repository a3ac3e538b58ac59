"""SparkSession construction shared by job entry points, in-process runners and tests."""

from __future__ import annotations

import os
from pathlib import Path

from pyspark.sql import SparkSession

from contracts.jobs import LocalSpark

IN_PROCESS_LOG4J = Path(__file__).with_name("log4j2-in-process.properties")


def _under_submit() -> bool:
    return bool(os.environ.get("SPARK_ENV_LOADED")) or "spark.master" in os.environ.get("PYSPARK_SUBMIT_ARGS", "")


def get_spark(app_name: str = "cardlake", local: LocalSpark | None = None) -> SparkSession:
    """The active session, or a new one: tuned by `local` when started here, by the submitter otherwise.

    Either way the settings that make results reproducible (UTC session time zone) and the jobs' cache
    format are forced.
    """
    local = local or LocalSpark()
    builder = (
        SparkSession.builder.appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        # A job's caches live for one entity and are read a few times: compressing them costs more than it saves.
        .config("spark.sql.inMemoryColumnarStorage.compressed", "false")
        # Progress bars would flood a terminal (fraud train) or a log; each step reports its own line instead.
        .config("spark.ui.showConsoleProgress", "false")
    )
    if not _under_submit():
        builder = builder.config("spark.driver.extraJavaOptions", _log4j_options(local))
        builder = (
            builder.master(local.master)
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", str(local.shuffle_partitions))
            .config("spark.driver.memory", local.driver_memory)
            .config("spark.sql.adaptive.enabled", "true")
        )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel(local.log_level)
    return session


def _log4j_options(local: LocalSpark) -> str:
    """JVM options that send the driver's start-up warnings to `local.log_file` instead of the terminal."""
    options = [f"-Dlog4j2.configurationFile={IN_PROCESS_LOG4J.as_uri()}"]
    if local.log_file:
        Path(local.log_file).parent.mkdir(parents=True, exist_ok=True)
        options.append(f'"-Dcardlake.spark.log={local.log_file}"')  # quoted: Spark splits options on spaces
    return " ".join(options)
