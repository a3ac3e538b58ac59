"""SparkSession construction shared by job entry points, in-process runners and tests."""

from __future__ import annotations

import logging
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
        _send_py4j_log_to_file(local)
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


def _send_py4j_log_to_file(local: LocalSpark) -> None:
    """py4j logs a Python callback's exception with its traceback (e.g. a streaming micro-batch cut short by
    Ctrl-C): into the Spark log file beside the JVM's, never onto the terminal through the root logger."""
    if not local.log_file:
        return
    py4j_logger = logging.getLogger("py4j")
    py4j_logger.propagate = False
    target = str(Path(local.log_file).with_name("py4j.log"))
    if not any(getattr(h, "baseFilename", None) == target for h in py4j_logger.handlers):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(target)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        py4j_logger.addHandler(handler)


def _log4j_options(local: LocalSpark) -> str:
    """JVM options that send the driver's start-up warnings to `local.log_file` instead of the terminal."""
    options = [f"-Dlog4j2.configurationFile={IN_PROCESS_LOG4J.as_uri()}"]
    if local.log_file:
        Path(local.log_file).parent.mkdir(parents=True, exist_ok=True)
        options.append(f'"-Dcardlake.spark.log={local.log_file}"')  # quoted: Spark splits options on spaces
    return " ".join(options)
