"""Fixtures of the warehouse tests: one throwaway PostgreSQL server per session, a fresh database per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cardlake.warehouse import Warehouse
from cardlake.warehouse.duckdb import DuckDBWarehouse
from tests.warehouse.pgserver import PgServer, PgUnavailable, throwaway_postgres


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        # fsync off: a test server holds nothing worth keeping; the benchmark keeps the durable defaults.
        with throwaway_postgres("fsync = off\n") as server:
            yield server
    except PgUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    """Each warehouse the loader supports, empty with its schema: DuckDB, and PostgreSQL (Redshift's stand-in)."""
    if request.param == "duckdb":
        wh: Warehouse = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    else:
        from cardlake.warehouse.postgres import PostgresWarehouse

        wh = PostgresWarehouse(request.getfixturevalue("pg_dsn"))
    wh.ensure_schema()
    yield wh
    wh.close()


@pytest.fixture()
def pg_dsn(pg_server: PgServer) -> Iterator[str]:
    """A fresh database on the session server; its DSN logs in as the (superuser) loader."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg_server.dsn(), autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    yield pg_server.dsn(name)
    with psycopg.connect(pg_server.dsn(), autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture()
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto S3 with the bucket `lake`, as production exports live on S3."""
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        yield client
