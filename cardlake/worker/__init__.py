"""`cardlake worker`: a Prefect worker that runs each flow run in its own long-lived process, one at a time, so
the SparkSession of the `local-session` runner stays up between runs (docs/adr/0017, docs/deploy.md)."""

from __future__ import annotations

from cardlake.worker.execute import RunOutcome
from cardlake.worker.warm import WARM_WORKER_TYPE, WarmWorker

__all__ = ["WARM_WORKER_TYPE", "RunOutcome", "WarmWorker"]
