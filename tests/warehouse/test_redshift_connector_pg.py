"""The Redshift implementation's own connection and transaction code, through redshift_connector, against the
test PostgreSQL (behind tests/warehouse/pgwire_proxy.py, which drops the Redshift-only startup parameters and
shortens Debian's version string). Everything runs for real except COPY itself, which reads S3 with an IAM role:
`_copy` is replaced by inserting the manifest's Parquet rows BY POSITION, which is how COPY maps them. The
Redshift DDL (DISTKEY, SORTKEY) is not PostgreSQL syntax, so the tables come from the PostgreSQL DDL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import SecretStr

from blocks.warehouse import WarehouseConnection
from cardlake.warehouse.base import Cursor
from cardlake.warehouse.export import open_uri, split_s3
from cardlake.warehouse.postgres import PostgresWarehouse
from cardlake.warehouse.redshift import RedshiftWarehouse
from tests.warehouse.pgwire_proxy import PgWireProxy
from tests.warehouse.s3_export import upload_export
from tests.warehouse.star_data import MON, make_export, reward, star
from tests.warehouse.test_redshift_sql import ROLE

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


class CopyByPositionRedshift(RedshiftWarehouse):
    """Only COPY is emulated: it reads the COPY manifest this class wrote and inserts each row by position."""

    def _copy(self, cur: Cursor, staging: str, manifest_uri: str) -> None:
        bucket, key = split_s3(manifest_uri)
        entries = json.loads(self._s3_client().get_object(Bucket=bucket, Key=key)["Body"].read())["entries"]
        for entry in entries:
            with open_uri(entry["url"]) as handle:
                table = pq.read_table(handle)
            table = pa.table(
                [c.cast(pa.timestamp("us")) if pa.types.is_timestamp(c.type) else c for c in table.columns],
                names=table.column_names,
            )  # fmt: skip - COPY stores the UTC wall time
            marks = ", ".join(["%s"] * table.num_columns)
            cur.executemany(f"INSERT INTO {staging} VALUES ({marks})", [tuple(r.values()) for r in table.to_pylist()])  # type: ignore[attr-defined]


@pytest.fixture()
def redshift_on_pg(pg_dsn: str, pg_server, s3) -> Iterator[tuple[RedshiftWarehouse, PostgresWarehouse]]:
    dbname = psycopg.conninfo.conninfo_to_dict(pg_dsn)["dbname"]
    with psycopg.connect(pg_server.dsn(), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = 'rs_loader'").fetchone()
        if not exists:  # md5-hashed (password_encryption = md5): redshift_connector cannot do SCRAM
            admin.execute("CREATE ROLE rs_loader LOGIN SUPERUSER PASSWORD 'rs-loader-pw'")
    pg = PostgresWarehouse(pg_dsn)
    pg.ensure_schema()
    with PgWireProxy(pg_server.host, pg_server.port) as proxy:
        conn = WarehouseConnection(kind="redshift", host="127.0.0.1", port=proxy.port, database=dbname,
                                   user="rs_loader", password=SecretStr("rs-loader-pw"), ssl=False,
                                   copy_role_arn=ROLE)  # fmt: skip
        rs = CopyByPositionRedshift(conn, s3_client=s3)
        yield rs, pg
        rs.close()
    pg.close()


def test_redshift_loader_upserts_through_redshift_connector(redshift_on_pg, s3, tmp_path: Path) -> None:
    rs, pg = redshift_on_pg
    uri = upload_export(make_export(tmp_path / "exports", "run-1"), s3, "lake")
    expected = {name: len(rows) for name, rows in star().items()}
    assert rs.load_export(uri) == expected
    snapshot = {t: sorted(pg.query(f"SELECT * FROM {t}"), key=repr) for t in expected}
    assert rs.load_export(uri) == expected  # the same export again: MERGE updates, nothing new
    assert {t: sorted(pg.query(f"SELECT * FROM {t}"), key=repr) for t in expected} == snapshot
    assert rs.counts() == expected

    approved = {"fact_reward": [reward(1, "approved", "0.5", "0.30", MON, 1)]}
    change = upload_export(make_export(tmp_path / "exports", "run-2", approved), s3, "lake")
    rs.load_export(change)
    assert rs.query("SELECT reward_status FROM fact_reward WHERE reward_id = %s", ("rw_1",)) == [("approved",)]
    assert rs.counts()["fact_reward"] == expected["fact_reward"]
    (top,) = rs.query("SELECT category FROM rpt_top_categories WHERE spend_rank = 1 AND currency = 'GBP'")
    assert top == ("shopping_net",)


def test_a_failed_redshift_load_leaves_nothing_behind(redshift_on_pg, s3, tmp_path: Path) -> None:
    rs, _ = redshift_on_pg
    rows: dict[str, Any] = star()
    rows["fact_reward"] = [*rows["fact_reward"], rows["fact_reward"][0]]
    uri = upload_export(make_export(tmp_path / "exports", "run-bad", rows), s3, "lake")
    with pytest.raises(Exception, match="repeats primary keys"):
        rs.load_export(uri)
    assert set(rs.counts().values()) == {0}
