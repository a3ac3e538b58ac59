"""Copy a local export to (moto) S3 with s3:// file URIs, the way production exports look."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def upload_export(manifest_path: str, s3: Any, bucket: str, prefix: str = "exports") -> str:
    manifest = json.loads(Path(manifest_path).read_text())
    run = manifest["run_id"]
    for name, entry in manifest["tables"].items():
        uris = []
        for file in entry["files"]:
            key = f"{prefix}/{run}/{name}/{Path(file).name}"
            s3.put_object(Bucket=bucket, Key=key, Body=Path(file).read_bytes())
            uris.append(f"s3://{bucket}/{key}")
        entry["files"] = uris
    key = f"{prefix}/{run}/_export.json"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
    return f"s3://{bucket}/{key}"
