"""Amazon Redshift through redshift-connector: COPY a manifest of the export's Parquet files into a staging table
created LIKE the target, then MERGE on the primary key, all in one transaction.

COPY maps Parquet columns by position, so staging (LIKE the target) and the export both keep tables.py order,
and the export is checked for that order before anything runs. COPY reads only S3; the COPY manifest lists
exactly the export's files (never a folder that could hold stale ones), with the sizes COPY needs for Parquet.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from blocks.warehouse import WarehouseConnection
from cardlake.warehouse.base import Cursor, Warehouse, secret
from cardlake.warehouse.ddl import merge_sql, qualified, redshift_copy_sql, staging_name
from cardlake.warehouse.export import Export, ExportError, ExportTable, WarehouseError, is_s3, split_s3
from contracts.names import BI_ROLE
from contracts.tables import Table


def redshift_connect_kwargs(conn: WarehouseConnection) -> dict[str, Any]:
    """Arguments for `redshift_connector.connect` from a WarehouseConnection block .

    IAM: temporary credentials from the default AWS credential chain, for a Serverless workgroup or a provisioned
    cluster (which needs the database user). Otherwise user and password.
    """
    kwargs: dict[str, Any] = {"database": conn.database, "ssl": conn.ssl, "timeout": 60}
    if conn.host:
        kwargs.update(host=conn.host, port=conn.port or 5439)
    if conn.iam:
        kwargs.update(iam=True, region=conn.region)
        if conn.workgroup:
            kwargs.update(is_serverless=True, serverless_work_group=conn.workgroup)
        elif conn.cluster_identifier:
            kwargs.update(cluster_identifier=conn.cluster_identifier)
        if conn.user:
            kwargs["db_user"] = conn.user
        return kwargs
    password = secret(conn.password)
    if not (conn.host and conn.user and password):
        raise WarehouseError("redshift with password auth needs host, user and password in the warehouse block")
    kwargs.update(user=conn.user, password=password)
    return kwargs


def _connect(conn: WarehouseConnection) -> Any:
    import redshift_connector

    return redshift_connector.connect(**redshift_connect_kwargs(conn))


class RedshiftWarehouse(Warehouse):
    dialect = "redshift"

    def __init__(
        self,
        conn: WarehouseConnection,
        connect: Callable[[Any], Any] = _connect,
        s3_client: Any = None,
    ) -> None:
        super().__init__(conn.db_schema or "public")
        self.copy_role_arn: str | None = conn.copy_role_arn
        self._s3 = s3_client
        self._con = connect(conn)
        self._con.autocommit = False

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        cur = self._con.cursor()
        try:
            yield cur
        except BaseException:
            self._con.rollback()
            raise
        finally:
            cur.close()
        self._con.commit()

    def ensure_schema(self) -> None:
        with self.transaction() as cur:
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
        super().ensure_schema()

    def _stage(self, cur: Cursor, entry: ExportTable, export: Export) -> str:
        if not all(is_s3(f) for f in entry.files):
            raise ExportError(f"{entry.table.name}: Redshift COPY reads only S3; export files must be s3:// URIs")
        if not self.copy_role_arn:
            raise WarehouseError("redshift needs copy_role_arn (the IAM role COPY assumes) in the warehouse block")
        staging = staging_name(entry.table)
        manifest_uri = self.write_copy_manifest(entry, export)
        cur.execute(f"DROP TABLE IF EXISTS {staging}")
        cur.execute(f"CREATE TEMP TABLE {staging} (LIKE {qualified(entry.table, self.schema)})")
        self._copy(cur, staging, manifest_uri)
        return staging

    def _copy(self, cur: Cursor, staging: str, manifest_uri: str) -> None:
        """COPY the manifest's Parquet files into staging (by position) with the COPY role."""
        cur.execute(redshift_copy_sql(staging, manifest_uri, str(self.copy_role_arn)))

    def write_copy_manifest(self, entry: ExportTable, export: Export) -> str:
        """`<export folder>/_redshift/<table>.manifest`: the files with their sizes (COPY needs them for Parquet)."""
        s3 = self._s3_client()
        entries = []
        for uri in entry.files:
            bucket, key = split_s3(uri)
            size = int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
            entries.append({"url": uri, "mandatory": True, "meta": {"content_length": size}})
        folder = export.uri.rsplit("/", 1)[0] if is_s3(export.uri) else entry.files[0].rsplit("/", 2)[0]
        manifest_uri = f"{folder}/_redshift/{entry.table.name}.manifest"
        bucket, key = split_s3(manifest_uri)
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({"entries": entries}).encode("utf-8"))
        return manifest_uri

    def _s3_client(self) -> Any:
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3")
        return self._s3

    def _upsert(self, cur: Cursor, table: Table, staging: str) -> None:
        cur.execute(merge_sql(table, staging, self.schema))

    def _grant_bi_role(self, cur: Cursor) -> None:
        # Regular (schema-bound) views run with the owner's rights: SELECT on the view is all a reader needs.
        self._grant_views_only(
            cur, "SELECT 1 FROM svv_roles WHERE role_name = %s", f"CREATE ROLE {BI_ROLE}", f"ROLE {BI_ROLE}"
        )

    def close(self) -> None:
        self._con.close()
