"""Spark on this machine: `spark-submit` in a child process, or the job functions in this process."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from cardlake.config import PanKey
from cardlake.spark_runner.base import SparkJobFailed, SparkJobResult, SparkRunner, read_job_results
from contracts.jobs import PAN_KEY_ENV, JobRequest, LocalSpark
from contracts.results import JobResult

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ENTRY_POINT = PROJECT_ROOT / "spark_jobs" / "main.py"
GUARD = Path(__file__).with_name("guard.py")  # run as a script: it imports nothing but the standard library
TAIL_LINES = 40

# Lines Spark and log4j print on every run; they bury the Python traceback that explains a failure.
_NOISE = re.compile(
    r"^(\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} (INFO|WARN|DEBUG) |\s*$|Using Spark's default log4j"
    r"|Setting default log level|To adjust logging level|WARNING: .*(illegal|reflective|Unsafe))"
)


def failure_tail(log_path: Path, secret: str | None = None, lines: int = TAIL_LINES) -> str:
    """The last `lines` meaningful lines of a Spark log, with the secret masked should a job have printed it."""
    if not log_path.exists():
        return "(no log written)"
    kept = [line for line in log_path.read_text(errors="replace").splitlines() if not _NOISE.match(line)]
    text = "\n".join(kept[-lines:])
    return text.replace(secret, "***") if secret else text


class LocalSubmitRunner(SparkRunner):
    """`spark-submit --master local[2] spark_jobs/main.py ...` as a child process with its own process group."""

    def __init__(
        self,
        pan_key: PanKey,
        logs_dir: Path,
        *,
        local: LocalSpark | None = None,
        entry_point: Path = DEFAULT_ENTRY_POINT,
        spark_conf: Mapping[str, str] | None = None,
        spark_submit: Path | None = None,
        timeout_s: float | None = None,
    ) -> None:
        self.pan_key = pan_key
        self.logs_dir = Path(logs_dir)
        self.local = local or LocalSpark()
        self.entry_point = Path(entry_point)
        self.spark_conf = dict(spark_conf or {})
        self.spark_submit = spark_submit or Path(sys.executable).parent / "spark-submit"
        self.timeout_s = timeout_s

    def command(self, request: JobRequest) -> list[str]:
        conf = {
            "spark.ui.enabled": "false",
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.shuffle.partitions": str(self.local.shuffle_partitions),
            "spark.driver.memory": self.local.driver_memory,
            **self.spark_conf,
        }
        cmd = [str(self.spark_submit), "--master", self.local.master]
        for key, value in conf.items():
            cmd += ["--conf", f"{key}={value}"]
        return [*cmd, str(self.entry_point), *request.to_argv()]

    def log_path(self, run_id: str) -> Path:
        return (self.logs_dir / "spark" / f"{run_id}.log").resolve()

    def run(self, request: JobRequest) -> SparkJobResult:
        key = self.pan_key.value.get_secret_value()
        log_path = self.log_path(request.run_id)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
            PAN_KEY_ENV: key,  # only in the child's environment: never an argument, never logged
        }
        cmd = self.command(request)
        log.info("spark-submit %s (log: %s)", " ".join(cmd[1:]), log_path)
        started = time.monotonic()
        with open(log_path, "ab") as log_file:
            # Through the guard, the leader of the new session: if this process dies, even by SIGKILL, the guard
            # takes spark-submit and everything it started down with it.
            guarded = [sys.executable, str(GUARD), str(os.getpid()), *cmd]
            proc = subprocess.Popen(
                guarded, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT, start_new_session=True
            )
            try:
                returncode = self._wait(proc, started)
            except BaseException:
                # Interrupted, cancelled or timed out: take Spark's JVM and Python workers down with us.
                stop_process_group(proc)
                raise
        duration = time.monotonic() - started
        job_run_id = f"local-{request.run_id}-{proc.pid}"
        if returncode != 0:
            raise SparkJobFailed(
                f"FAILED (exit code {returncode})", failure_tail(log_path, key), str(log_path), job_run_id
            )
        return SparkJobResult(
            job_run_id=job_run_id,
            state="SUCCESS",
            results=read_job_results(request.lake_uri, request.run_id, request.jobs),
            log_uri=str(log_path),
            duration_s=round(duration, 3),
        )

    def _wait(self, proc: subprocess.Popen[bytes], started: float) -> int:
        # Short waits in a loop keep the main thread responsive to KeyboardInterrupt and cancellation.
        while True:
            try:
                return proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                if self.timeout_s is not None and time.monotonic() - started > self.timeout_s:
                    raise TimeoutError(f"spark-submit ran longer than {self.timeout_s} s") from None


def stop_process_group(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM to the child's process group (a JVM and its Python workers), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log.warning("process group of pid %s stopped", proc.pid)


RunRequest = Callable[[JobRequest, str, LocalSpark], dict[str, JobResult]]


def _spark_jobs_main(request: JobRequest, pan_key: str, local: LocalSpark) -> dict[str, JobResult]:
    from spark_jobs.main import run_request

    return run_request(request, pan_key, local)


class LocalSessionRunner(SparkRunner):
    """The jobs in this process, on the active (or a new local) SparkSession: no JVM start per run."""

    def __init__(
        self, pan_key: PanKey, *, local: LocalSpark | None = None, run_request: RunRequest = _spark_jobs_main
    ) -> None:
        self.pan_key = pan_key
        self.local = local or LocalSpark()
        self._run_request = run_request

    def run(self, request: JobRequest) -> SparkJobResult:
        key = self.pan_key.value.get_secret_value()
        started = time.monotonic()
        try:
            results = self._run_request(request, key, self.local)
        except Exception as exc:
            details = f"{type(exc).__name__}: {exc}".replace(key, "***")
            raise SparkJobFailed("FAILED", details, "this process's log", f"session-{request.run_id}") from exc
        return SparkJobResult(
            job_run_id=f"session-{request.run_id}",
            state="SUCCESS",
            results=results,
            duration_s=round(time.monotonic() - started, 3),
        )
