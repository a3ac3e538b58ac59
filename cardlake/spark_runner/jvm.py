"""Stop this process's SparkSession and the JVM PySpark started for it, and wait for that JVM to exit."""

from __future__ import annotations

import subprocess
import sys
import warnings


def stop_spark_and_jvm() -> bool:
    """Stop the session (or bare context), then the JVM: it exits when its stdin closes; wait for it, so it never
    outlives this process. PySpark starts the JVM ignoring SIGINT, so Ctrl-C alone never stops it. Returns
    whether a session was running."""
    if "pyspark" not in sys.modules:  # never imported: no JVM, and no reason to import PySpark now
        return False
    from py4j.protocol import Py4JError
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    gateway = SparkContext._gateway
    session = SparkSession._instantiatedSession
    running = session is not None or SparkContext._active_spark_context is not None
    try:
        # A JVM that already got the group's SIGTERM makes PySpark warn that it could not shut it down cleanly;
        # it is waited for below either way, so the warning would only reach the user's terminal as noise.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Unable to cleanly shutdown Spark JVM process")
            if session is not None:
                session.stop()
            elif SparkContext._active_spark_context is not None:
                SparkContext._active_spark_context.stop()
    except (Py4JError, OSError):  # the JVM is gone already: a supervisor signalled the whole process group
        SparkSession._instantiatedSession = None
        SparkContext._active_spark_context = None
    proc = getattr(gateway, "proc", None)
    if gateway is not None and proc is not None:
        gateway.shutdown()
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        SparkContext._gateway = None
        SparkContext._jvm = None
    return running
