"""Reading the landing zone from Spark: only pages named by a manifest, only manifests inside the window."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from contracts.landing import RAW, Window, manifest_glob, parse_iso

PAGES_SCHEMA = StructType([StructField("source_file", StringType()), StructField("value", StringType())])


@dataclass(frozen=True)
class Manifest:
    key: str
    window_start: datetime
    window_end: datetime
    page_keys: tuple[str, ...]
    record_count: int


def _glob_texts(spark: SparkSession, pattern: str) -> list[tuple[str, str]]:
    """(path, text) of every file matching `pattern`, through Hadoop's FileSystem (local or S3 alike)."""
    jvm = spark.sparkContext._jvm
    if jvm is None:
        raise RuntimeError("the SparkContext has no JVM gateway (was it stopped?)")
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    path = jvm.org.apache.hadoop.fs.Path(pattern)
    fs = path.getFileSystem(conf)
    statuses = fs.globStatus(path) or []
    out = []
    for status in statuses:
        stream = fs.open(status.getPath())
        try:
            data = jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
        finally:
            stream.close()
        out.append((status.getPath().toString(), data))
    return out


def manifests_in_window(
    spark: SparkSession, landing_uri: str, source: str, entity: str, window: Window
) -> list[Manifest]:
    """Manifests whose extraction window lies inside the window, oldest first."""
    root = landing_uri.rstrip("/")
    found = []
    for path, text in _glob_texts(spark, f"{root}/{manifest_glob(source, entity)}"):
        body = json.loads(text)
        m_start, m_end = parse_iso(body["window_start"]), parse_iso(body["window_end"])
        if window.covers(Window(m_start, m_end)):  # the rule the transform flow's fingerprint follows too
            pages = tuple(page["key"] for page in body.get("pages", []))
            found.append(Manifest(path, m_start, m_end, pages, int(body.get("record_count", 0))))
    return sorted(found, key=lambda m: (m.window_start, m.window_end, m.key))


def read_pages(spark: SparkSession, landing_uri: str, manifests: list[Manifest]) -> DataFrame:
    """One row per page: its body (gzip is decoded by Hadoop from the .gz suffix) and its landing key."""
    root = landing_uri.rstrip("/")
    keys = sorted({key for m in manifests for key in m.page_keys})
    if not keys:
        return spark.createDataFrame([], PAGES_SCHEMA)
    uris = [f"{root}/{key}" for key in keys]
    pages = spark.read.option("wholetext", "true").text(uris)
    # Keep the key relative to the landing root, so it reads the same locally and on S3.
    relative = F.regexp_extract(F.input_file_name(), rf"({RAW}/.*)$", 1)
    return pages.select(relative.alias("source_file"), "value")
