"""`--job export`: the star rows this run changed, as clean Parquet for the warehouse loaders.

Layout (docs/contracts.md section 3, `contracts.lake`): `<lake>/exports/<run_id>/<table>/part-*.parquet`, one
folder per table of `contracts.tables.STAR_TABLES`, columns in that table's order and types, then
`<lake>/exports/<run_id>/_export.json` `{"run_id", "tables": {"<table>": {"files": [uri, ...], "rows": n}}}`,
written last: a loader that finds the manifest finds every file it names. Never the Delta folders themselves:
Redshift COPY would also load files the Delta log has removed.

Re-running the export of a run first removes its manifest, then rewrites every table folder and the manifest,
so the result is the same however often it runs.
"""

from __future__ import annotations

import json
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from contracts import lake
from contracts.jobs import ExportOptions
from contracts.results import JobOutcome, TableCounts
from contracts.tables import STAR_TABLES, Table
from spark_jobs.jobs.context import JobContext
from spark_jobs.transforms.star import rows_for_export, star_struct

# One file per table up to this many rows; Redshift COPY loads several files of a table in parallel.
MAX_ROWS_PER_FILE = 2_000_000


def export_uri(ctx: JobContext, options: ExportOptions) -> str:
    """`<lake>/exports/<run_id>`, or `<exports_uri>/<run_id>` when the caller keeps exports elsewhere."""
    return lake.export_uri(options.exports_uri or lake.exports_root(ctx.lake_uri), ctx.run_id)


def run(ctx: JobContext, options: ExportOptions) -> JobOutcome:
    return write_export(ctx, export_uri(ctx, options), STAR_TABLES)


def write_export(ctx: JobContext, root: str, tables: tuple[Table, ...]) -> JobOutcome:
    """The rows `ctx.run_id` changed in `tables`, exported to the folder `root` (the stream exports only
    `fraud_alerts` per micro-batch, in the same layout, so the same loaders take it)."""
    fs = _FileSystem(ctx.spark)
    manifest_uri = lake.export_manifest_uri(root)
    fs.delete(manifest_uri)  # until the new manifest lands, readers see no export rather than a half-rewritten one
    # Spark's default is INT96 for timestamps; the warehouse contract (and Redshift COPY) wants TIMESTAMP_MICROS.
    ctx.spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    exported = {table.name: _export_table(ctx, fs, table, f"{root}/{table.name}") for table in tables}
    manifest = {"run_id": ctx.run_id, "tables": exported}
    fs.write_text(manifest_uri, json.dumps(manifest, indent=2) + "\n")
    counts = tuple(
        TableCounts(name, t["rows"], t["rows"], 0, t["rows"], note=f"{len(t['files'])} file(s)")
        for name, t in exported.items()
    )
    return JobOutcome(counts, export_manifest_uri=manifest_uri)


def _changed_rows(ctx: JobContext, table: Table) -> DataFrame:
    uri = ctx.table(lake.gold_star_table(table.name))
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


class _FileSystem:
    """The Hadoop FileSystem Spark itself writes through (local, s3:// on EMR, s3a://), for listing, deleting
    and writing the manifest, so the export needs no second storage client."""

    def __init__(self, spark: SparkSession) -> None:
        jvm = spark.sparkContext._jvm
        if jvm is None:
            raise RuntimeError("the SparkContext has no JVM gateway (was it stopped?)")
        self._jvm = jvm
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

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
