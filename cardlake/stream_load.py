"""The production stream's warehouse side: load the micro-batch alert exports the EMR driver wrote, in order.

Each micro-batch with alerts leaves `<stream exports root>/<run id>/_export.json` (spark_jobs/stream_driver.py).
Run ids sort in micro-batch order, so the exports after the newest one the warehouse recorded
(`Warehouse.stream_loaded_through`) are the ones to load, oldest first: a later micro-batch's version of an
alert then wins. Each load upserts by `alert_key` and records its run id in one transaction, so a load that
stops half-way resumes at the first export it did not commit, and no alert is ever stored twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cardlake.warehouse.base import Warehouse
from cardlake.warehouse.export import is_s3, split_s3
from contracts import lake

_LAST = "~"  # sorts after every character of a run id: S3 listing starts after everything of that run


def pending_stream_exports(exports_root: str, after: str | None, s3_client: Any | None = None) -> list[str]:
    """Manifest URIs of the stream exports whose run id sorts after `after`, in run id order."""
    root = exports_root.rstrip("/")
    if is_s3(root):
        return _pending_on_s3(root, after, s3_client)
    found = sorted(Path(root).glob(f"*/{lake.EXPORT_MANIFEST}")) if Path(root).is_dir() else []
    return [str(path) for path in found if after is None or path.parent.name > after]


def _pending_on_s3(root: str, after: str | None, s3_client: Any | None) -> list[str]:
    if s3_client is None:
        import boto3

        s3_client = boto3.client("s3")
    bucket, prefix = split_s3(root)
    arguments: dict[str, Any] = {"Bucket": bucket, "Prefix": f"{prefix}/"}
    if after is not None:
        arguments["StartAfter"] = f"{prefix}/{after}/{_LAST}"
    manifests = []
    for page in s3_client.get_paginator("list_objects_v2").paginate(**arguments):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) + 1 :].split("/")
            if len(relative) == 2 and relative[1] == lake.EXPORT_MANIFEST:
                manifests.append((relative[0], f"s3://{bucket}/{item['Key']}"))
    return [uri for _, uri in sorted(manifests)]


def load_stream_exports(warehouse: Warehouse, exports_root: str, s3_client: Any | None = None) -> list[tuple[str, int]]:
    """Load every pending stream export in order; (manifest URI, rows upserted) each."""
    pending = pending_stream_exports(exports_root, warehouse.stream_loaded_through(), s3_client)
    return [(uri, warehouse.load_stream_export(uri)) for uri in pending]
