"""`--job export`: the star rows this run changed, as clean Parquet for the warehouse loaders.

Layout (docs/contracts.md section 3): `<lake>/exports/<run_id>/<table>/part-*.parquet`, one folder per table of
`cardlake.warehouse.tables.STAR_TABLES`, columns in that table's order and types, then
`<lake>/exports/<run_id>/_export.json` `{"run_id", "tables": {"<table>": {"files": [uri, ...], "rows": n}}}`,
written last: a loader that finds the manifest finds every file it names. Never the Delta folders themselves:
Redshift COPY would also load files the Delta log has removed.

Re-running the export of a run first removes its manifest, then rewrites every table folder and the manifest,
so the result is the same however often it runs.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from cardlake.warehouse.tables import STAR_TABLES, Table
from spark_jobs.jobs.context import JobContext
from spark_jobs.transforms.star import rows_for_export, star_struct

MANIFEST = "_export.json"
# One file per table up to this many rows; Redshift COPY loads several files of a table in parallel.
MAX_ROWS_PER_FILE = 2_000_000
GOLD = "gold"


def export_uri(ctx: JobContext) -> str:
    """`<lake>/exports/<run_id>`, or `<options["exports_uri"]>/<run_id>` when the caller keeps exports elsewhere."""
    root = ctx.options.get("exports_uri") or f"{ctx.lake_uri.rstrip('/')}/exports"
    return f"{_absolute(str(root)).rstrip('/')}/{ctx.run_id}"


def run(ctx: JobContext) -> dict[str, Any]:
    root = export_uri(ctx)
    fs = _FileSystem(ctx.spark)
    manifest_uri = f"{root}/{MANIFEST}"
    fs.delete(manifest_uri)  # until the new manifest lands, readers see no export rather than a half-rewritten one
    # Spark's default is INT96 for timestamps; the warehouse contract (and Redshift COPY) wants TIMESTAMP_MICROS.
    ctx.spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    tables = {table.name: _export_table(ctx, fs, table, f"{root}/{table.name}") for table in STAR_TABLES}
    manifest = {"run_id": ctx.run_id, "tables": tables}
    fs.write_text(manifest_uri, json.dumps(manifest, indent=2) + "\n")
    return {
        "export_uri": root,
        "manifest": manifest_uri,
        "rows": {name: t["rows"] for name, t in tables.items()},
        "files": sum(len(t["files"]) for t in tables.values()),
    }


def _changed_rows(ctx: JobContext, table: Table) -> DataFrame:
    uri = ctx.table(GOLD, table.name)
    if not ctx.delta.exists(uri):  # e.g. fraud_alerts before the fraud job has run: nothing to export
        return ctx.spark.createDataFrame([], star_struct(table))
    return ctx.delta.read(ctx.spark, uri).transform(rows_for_export(table, ctx.run_id))


def _export_table(ctx: JobContext, fs: _FileSystem, table: Table, folder: str) -> dict[str, Any]:
    rows = _changed_rows(ctx, table)
    # coalesce (not repartition): no shuffle, one writer task, files capped by row count.
    rows.coalesce(1).write.mode("overwrite").option("maxRecordsPerFile", MAX_ROWS_PER_FILE).parquet(folder)
    written = sorted(name for name in fs.list_names(folder) if name.endswith(".parquet"))
    # Stable names (Spark's carry a random id), so a re-run rewrites the same files and the same manifest.
    files = []
    for i, name in enumerate(written):
        files.append(f"{folder}/part-{i:05d}.parquet")
        fs.rename(f"{folder}/{name}", files[-1])
    count = ctx.spark.read.schema(star_struct(table)).parquet(*files).count() if files else 0
    if count == 0:  # Spark writes a header-only file for an empty batch; the contract says no files then
        fs.delete(folder)
        return {"files": [], "rows": 0}
    return {"files": files, "rows": count}


def _absolute(uri: str) -> str:
    """Local paths become absolute so the manifest's file URIs work from any working directory."""
    return uri if "://" in uri or uri.startswith("file:") else os.path.abspath(uri)


class _FileSystem:
    """The Hadoop FileSystem Spark itself writes through (local, s3:// on EMR, s3a://), for listing, deleting
    and writing the manifest, so the export needs no second storage client."""

    def __init__(self, spark: SparkSession) -> None:
        self._jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[union-attr]

    def _resolve(self, uri: str) -> tuple[Any, Any]:
        path = self._jvm.org.apache.hadoop.fs.Path(uri)
        return path, path.getFileSystem(self._conf)

    def delete(self, uri: str) -> None:
        path, fs = self._resolve(uri)
        if fs.exists(path):
            fs.delete(path, True)

    def list_names(self, folder: str) -> list[str]:
        path, fs = self._resolve(folder)
        if not fs.exists(path):
            return []
        return [status.getPath().getName() for status in fs.listStatus(path) if status.isFile()]

    def rename(self, source: str, target: str) -> None:
        src, fs = self._resolve(source)
        if not fs.rename(src, self._jvm.org.apache.hadoop.fs.Path(target)):
            raise OSError(f"could not rename {source} to {target}")

    def write_text(self, uri: str, text: str) -> None:
        """Write to a temporary name, then rename: a reader never sees a half-written manifest."""
        path, fs = self._resolve(uri)
        tmp = self._jvm.org.apache.hadoop.fs.Path(uri + ".tmp")
        stream = fs.create(tmp, True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()
        if fs.exists(path):
            fs.delete(path, False)
        if not fs.rename(tmp, path):
            raise OSError(f"could not move the export manifest into place at {uri}")
