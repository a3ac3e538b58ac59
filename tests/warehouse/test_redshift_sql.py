"""Redshift without a Redshift: the generated DDL/COPY/MERGE as text, and the whole load run against a recording
connection with the export on moto S3 (COPY manifest written, statement order, one commit, rollback on error)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from blocks.warehouse import WarehouseConnection
from cardlake.warehouse import ExportError, WarehouseError
from cardlake.warehouse.ddl import create_table_sql, merge_sql, redshift_copy_sql
from cardlake.warehouse.redshift import RedshiftWarehouse, redshift_connect_kwargs
from contracts.tables import STAR_TABLES, TABLES_BY_NAME
from tests.warehouse.s3_export import upload_export
from tests.warehouse.star_data import make_export, star

ROLE = "arn:aws:iam::123456789012:role/cardlake-redshift-copy"
# From the Amazon Redshift "Reserved words" page: none may name a column, or every statement would need quoting.
_RESERVED_WORDS = """
aes128 aes256 all allowoverwrite analyse analyze and any array as asc authorization az64 backup between binary
blanksasnull both bytedict bzip2 case cast check collate column constraint create credentials cross
current_date current_time current_timestamp current_user current_user_id default deferrable deflate defrag
delta delta32k desc disable distinct do else emptyasnull enable encode encrypt encryption end except explicit
false for foreign freeze from full globaldict256 globaldict64k grant group gzip having identity ignore ilike
in initially inner intersect interval into is isnull join leading left like limit localtime localtimestamp lun
luns lzo lzop minus mostly16 mostly32 mostly8 natural new not notnull null nulls off offline offset oid old on
only open or order outer overlaps parallel partition percent permissions pivot placing primary raw readratio
recover references rejectlog resort respect restore right select session_user similar snapshot some sysdate
system table tag tdes text255 text32k then timestamp to top trailing true truncatecolumns union unique unnest
unpivot user using verbose wallet when where with without
"""
REDSHIFT_RESERVED = set(_RESERVED_WORDS.split())


def columns_of(ddl: str) -> list[str]:
    body = ddl.split("(\n", 1)[1].split("\n)", 1)[0]
    return [line.split()[0] for line in body.splitlines() if not line.strip().startswith("PRIMARY KEY")]


@pytest.mark.parametrize("table", STAR_TABLES, ids=lambda t: t.name)
def test_redshift_ddl_keeps_column_order_and_distribution(table) -> None:
    ddl = create_table_sql(table, "redshift", "public")
    assert columns_of(ddl) == table.column_names  # COPY maps Parquet columns by position
    assert f"PRIMARY KEY ({', '.join(table.primary_key)})" in ddl
    assert not set(table.column_names) & REDSHIFT_RESERVED


def test_redshift_distribution_follows_tables_py() -> None:
    ddl = {t.name: create_table_sql(t, "redshift", "public") for t in STAR_TABLES}
    for name in ("dim_date", "dim_time", "dim_address", "dim_merchant"):
        assert "DISTSTYLE ALL" in ddl[name] and "DISTKEY" not in ddl[name]
    for name in ("dim_customer", "fact_transaction", "fact_reward", "fraud_alerts"):
        assert "DISTSTYLE KEY DISTKEY (customer_key)" in ddl[name]
    assert ddl["fact_transaction"].endswith("SORTKEY (transaction_date)")
    assert ddl["fact_reward"].endswith("SORTKEY (reward_created_at)")
    assert "VARCHAR(65535)" in ddl["fact_transaction"] and "DECIMAL(18,2)" in ddl["fact_transaction"]
    assert "SORTKEY" not in create_table_sql(TABLES_BY_NAME["dim_time"], "postgres")  # only Redshift gets them


def test_copy_reads_a_parquet_manifest_with_the_iam_role() -> None:
    sql = redshift_copy_sql("stg_fact_reward", "s3://b/exports/r/_redshift/fact_reward.manifest", ROLE)
    assert sql == (
        "COPY stg_fact_reward FROM 's3://b/exports/r/_redshift/fact_reward.manifest' "
        f"IAM_ROLE '{ROLE}' FORMAT AS PARQUET MANIFEST"
    )
    with pytest.raises(ValueError, match="quote"):
        redshift_copy_sql("stg", "s3://b/x'; DROP TABLE t; --", ROLE)


def test_merge_updates_every_non_key_column_and_inserts_all_in_order() -> None:
    table = TABLES_BY_NAME["fact_reward"]
    sql = merge_sql(table, "stg_fact_reward", "public")
    assert sql.startswith(
        "MERGE INTO public.fact_reward USING stg_fact_reward AS s ON fact_reward.reward_key = s.reward_key"
    )
    sets = re.search(r"UPDATE SET (.*) WHEN NOT MATCHED", sql).group(1)
    assert [s.split(" = ")[0] for s in sets.split(", ")] == table.column_names[1:]
    inserted = re.search(r"INSERT \((.*?)\)", sql).group(1).split(", ")
    assert inserted == table.column_names
    assert "WHEN MATCHED THEN" in sql  # Redshift has no `WHEN MATCHED AND <condition>`; PostgreSQL's variant does
    assert "WHEN MATCHED AND (fact_reward.reward_id IS DISTINCT FROM s.reward_id OR" in merge_sql(
        table, "stg_fact_reward", "public", only_changed=True
    )


class RecordingCursor:
    def __init__(self, con: RecordingConnection) -> None:
        self.con, self._rows = con, []

    def execute(self, sql: str, params: Any = None) -> None:
        self.con.statements.append(sql)
        match = re.match(r"SELECT COUNT\(\*\) FROM stg_(\w+)$", sql)
        self._rows = [(self.con.staged.get(match.group(1), 0),)] if match else []

    def fetchall(self) -> list[tuple]:
        return self._rows

    def close(self) -> None:
        pass


class RecordingConnection:
    """Stands in for Redshift: records statements; COUNT(*) on staging answers what COPY would have loaded."""

    def __init__(self, staged: dict[str, int]) -> None:
        self.staged, self.statements, self.commits, self.rollbacks = staged, [], 0, 0
        self.autocommit = True

    def cursor(self) -> RecordingCursor:
        return RecordingCursor(self)

    def commit(self) -> None:
        self.commits += 1

    def rollback(self) -> None:
        self.rollbacks += 1

    def close(self) -> None:
        pass


def connection(**overrides: Any) -> WarehouseConnection:
    values = {"kind": "redshift", "host": "wg.example", "database": "cardlake", "user": "loader",
              "password": SecretStr("pw"), "copy_role_arn": ROLE} | overrides  # fmt: skip
    return WarehouseConnection(**values)


def test_a_redshift_load_writes_copy_manifests_and_merges_in_one_transaction(s3, tmp_path: Path) -> None:
    uri = upload_export(make_export(tmp_path / "exports", "run-1"), s3, "lake")
    rows = {name: len(r) for name, r in star().items()}
    con = RecordingConnection(staged=rows)
    wh = RedshiftWarehouse(connection(), connect=lambda _: con, s3_client=s3)

    assert wh.load_export(uri) == rows
    assert (con.commits, con.rollbacks, con.autocommit) == (1, 0, False)
    reward_statements = [s for s in con.statements if "fact_reward" in s]
    assert [s.split(" (")[0].split(" FROM")[0].split(" USING")[0] for s in reward_statements] == [
        "DROP TABLE IF EXISTS stg_fact_reward",
        "CREATE TEMP TABLE stg_fact_reward",
        "COPY stg_fact_reward",
        "SELECT COUNT(*)",
        "SELECT reward_key, COUNT(*)",
        "MERGE INTO public.fact_reward",
        "DROP TABLE IF EXISTS stg_fact_reward",
    ]
    assert "(LIKE public.fact_reward)" in reward_statements[1]
    assert f"FROM 's3://lake/exports/run-1/_redshift/fact_reward.manifest' IAM_ROLE '{ROLE}'" in reward_statements[2]
    copy_manifest = json.loads(
        s3.get_object(Bucket="lake", Key="exports/run-1/_redshift/fact_reward.manifest")["Body"].read()
    )
    (entry,) = copy_manifest["entries"]
    size = s3.head_object(Bucket="lake", Key="exports/run-1/fact_reward/part-00000.parquet")["ContentLength"]
    assert entry == {"url": "s3://lake/exports/run-1/fact_reward/part-00000.parquet", "mandatory": True,
                     "meta": {"content_length": size}}  # fmt: skip


def test_a_copy_that_loads_fewer_rows_rolls_everything_back(s3, tmp_path: Path) -> None:
    uri = upload_export(make_export(tmp_path / "exports", "run-1"), s3, "lake")
    con = RecordingConnection(staged={name: len(r) for name, r in star().items()} | {"fact_transaction": 3})
    wh = RedshiftWarehouse(connection(), connect=lambda _: con, s3_client=s3)
    with pytest.raises(ExportError, match="fact_transaction: staged 3 rows but the export manifest says 7"):
        wh.load_export(uri)
    assert (con.commits, con.rollbacks) == (0, 1)
    assert not any(s.startswith("MERGE INTO public.fact_transaction") for s in con.statements)


def test_redshift_refuses_local_exports_and_a_missing_copy_role(s3, tmp_path: Path) -> None:
    local = make_export(tmp_path / "exports", "run-1")
    con = RecordingConnection(staged={})
    with pytest.raises(ExportError, match="Redshift COPY reads only S3"):
        RedshiftWarehouse(connection(), connect=lambda _: con, s3_client=s3).load_export(local)
    uri = upload_export(local, s3, "lake")
    with pytest.raises(WarehouseError, match="copy_role_arn"):
        RedshiftWarehouse(connection(copy_role_arn=None), connect=lambda _: con, s3_client=s3).load_export(uri)
    assert con.commits == 0


def test_redshift_ensure_schema_creates_tables_views_and_a_view_only_role() -> None:
    con = RecordingConnection(staged={})
    RedshiftWarehouse(connection(), connect=lambda _: con).ensure_schema()
    text = "\n".join(con.statements)
    assert "CREATE ROLE cardlake_bi" in text
    assert "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ROLE cardlake_bi" in text
    assert "GRANT SELECT ON public.rpt_daily_spend TO ROLE cardlake_bi" in text
    assert not re.search(r"GRANT SELECT ON public\.(dim|fact|fraud)_", text)
    assert text.count("CREATE TABLE IF NOT EXISTS") == len(STAR_TABLES)


def test_connection_arguments_from_the_warehouse_block() -> None:
    host = "cardlake.123.eu-west-2.redshift-serverless.amazonaws.com"
    serverless = WarehouseConnection(
        kind="redshift", database="cardlake", iam=True, workgroup="cardlake", region="eu-west-2", host=host
    )
    kwargs = redshift_connect_kwargs(serverless)
    assert kwargs["iam"] is True and kwargs["is_serverless"] is True and kwargs["serverless_work_group"] == "cardlake"
    assert kwargs["region"] == "eu-west-2" and kwargs["port"] == 5439 and "password" not in kwargs
    cluster = redshift_connect_kwargs(connection(iam=True, cluster_identifier="c1", password=None))
    assert (cluster["cluster_identifier"], cluster["db_user"]) == ("c1", "loader")
    password = redshift_connect_kwargs(connection(ssl=False))
    assert (password["user"], password["password"], password["ssl"]) == ("loader", "pw", False)
    with pytest.raises(WarehouseError, match="needs host, user and password"):
        redshift_connect_kwargs(connection(password=None))
