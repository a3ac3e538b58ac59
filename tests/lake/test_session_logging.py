"""A Spark session started inside a cardlake process keeps the JVM's warnings out of the terminal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

START_A_SESSION = """
import sys
from contracts.jobs import LocalSpark
from spark_jobs.session import get_spark
spark = get_spark("log-test", LocalSpark(log_file=sys.argv[1]))
print("rows", spark.range(3).count())
spark.stop()
"""


def test_the_jvm_start_up_warnings_go_to_the_log_file_not_the_terminal(tmp_path: Path) -> None:
    log_file = tmp_path / "logs with space" / "spark.log"
    done = subprocess.run(
        [sys.executable, "-c", START_A_SESSION, str(log_file)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert "rows 3" in done.stdout
    terminal = done.stdout + done.stderr
    assert " WARN " not in terminal and "Setting default log level" not in terminal, terminal
    # The warnings are kept, in the file (this machine's native-Hadoop warning is always there).
    assert "NativeCodeLoader" in log_file.read_text()


FAIL_A_STREAMING_CALLBACK = """
import logging, sys
from contracts.jobs import LocalSpark
from spark_jobs.session import get_spark
logging.basicConfig()  # a console handler on the root logger, as Prefect installs one
spark = get_spark("log-test", LocalSpark(log_file=sys.argv[1]))
def each(batch, batch_id):
    raise ValueError("cut short")
query = spark.readStream.format("rate").load().writeStream.foreachBatch(each).start()
try:
    query.awaitTermination(120)
except Exception:
    print("query failed")
spark.stop()
"""


def test_a_failed_streaming_callback_logs_its_traceback_to_the_file_not_the_terminal(tmp_path: Path) -> None:
    """What Ctrl-C during a micro-batch does to `cardlake stream`: py4j logs the Python side's traceback."""
    log_file = tmp_path / "spark.log"
    done = subprocess.run(
        [sys.executable, "-c", FAIL_A_STREAMING_CALLBACK, str(log_file)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert "query failed" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    assert "ValueError: cut short" in log_file.with_name("py4j.log").read_text()
