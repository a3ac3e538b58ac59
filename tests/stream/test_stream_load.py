"""Which stream exports the loader takes next: those after the newest one loaded, oldest first (moto for S3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from cardlake.stream_load import pending_stream_exports

BUCKET = "cardlake-123456789012-us-east-1"
ROOT = f"s3://{BUCKET}/lake/exports/stream"
RUNS = ("stream-00000002", "stream-00000010", "stream-00000003")  # written in any order, loaded in batch order


@pytest.fixture()
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        for run in RUNS:
            client.put_object(Bucket=BUCKET, Key=f"lake/exports/stream/{run}/fraud_alerts/part-00000.parquet", Body=b"")
            client.put_object(Bucket=BUCKET, Key=f"lake/exports/stream/{run}/_export.json", Body=b"{}")
        # A micro-batch whose export is being rewritten has no manifest yet: it is not ready to load.
        client.put_object(Bucket=BUCKET, Key="lake/exports/stream/stream-00000011/fraud_alerts/part-00000.parquet",
                          Body=b"")  # fmt: skip
        client.put_object(Bucket=BUCKET, Key="lake/exports/stream/stream-00000004/_redshift/fraud_alerts.manifest",
                          Body=b"")  # fmt: skip
        yield client


def test_s3_exports_after_the_newest_loaded_come_in_batch_order(s3: object) -> None:
    everything = [f"{ROOT}/{run}/_export.json" for run in sorted(RUNS)]
    assert pending_stream_exports(ROOT, None, s3) == everything
    assert pending_stream_exports(f"{ROOT}/", "stream-00000002", s3) == everything[1:]
    assert pending_stream_exports(ROOT, "stream-00000010", s3) == []


def test_local_exports_after_the_newest_loaded_come_in_batch_order(tmp_path: Path) -> None:
    for run in RUNS:
        (tmp_path / run).mkdir()
        (tmp_path / run / "_export.json").write_text("{}")
    (tmp_path / "stream-00000011").mkdir()  # no manifest yet
    assert [Path(uri).parent.name for uri in pending_stream_exports(str(tmp_path), "stream-00000002")] == [
        "stream-00000003",
        "stream-00000010",
    ]
    assert pending_stream_exports(str(tmp_path / "none-yet"), None) == []
