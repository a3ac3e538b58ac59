"""The Delta I/O interface: one merge specification, the same semantics on every engine."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from chispa import assert_df_equality
from deltalake import DeltaTable

from spark_jobs.delta_io import DuplicateKeysError, MergeSpec, get_delta_io
from spark_jobs.delta_io.delta_spark import delta_spark_available

pytestmark = pytest.mark.spark
T1, T2, T3 = (datetime(2025, 6, d, tzinfo=UTC) for d in (1, 2, 3))
SCHEMA = "id string, month string, value string, updated_at timestamp, record_hash string"
SPEC = MergeSpec(keys=("id",), partition_by=("month",))


@pytest.fixture(params=["delta-rs", "delta-spark"])
def delta(request, spark):
    if request.param == "delta-spark" and not delta_spark_available(spark):
        pytest.skip(
            "delta-spark engine: the Delta jars are not on this Spark's classpath (no Maven here); "
            "it runs where they are, e.g. on EMR"
        )
    return get_delta_io(request.param, spark)


def rows(spark, *data):
    return spark.createDataFrame(list(data), SCHEMA)


def content(spark, delta, uri):
    return sorted(tuple(r) for r in delta.read(spark, uri).select("id", "value").collect())


def test_newer_versions_win_and_older_ones_are_ignored_whatever_the_order(spark, delta, tmp_path):
    uri = str(tmp_path / "t")
    delta.merge(rows(spark, ("a", "2025-06", "v2", T2, "x")), uri, SPEC)
    delta.merge(rows(spark, ("a", "2025-06", "v1", T1, "y")), uri, SPEC)  # older: ignored
    delta.merge(rows(spark, ("a", "2025-06", "v3", T3, "a"), ("b", "2025-06", "b1", T1, "z")), uri, SPEC)
    assert content(spark, delta, uri) == [("a", "v3"), ("b", "b1")]


def test_equal_versions_resolve_by_the_tiebreak_in_any_order(spark, delta, tmp_path):
    first, second = ("k", "2025-06", "low", T1, "1111"), ("k", "2025-06", "high", T1, "9999")
    delta.merge(rows(spark, first), str(tmp_path / "a"), SPEC)
    delta.merge(rows(spark, second), str(tmp_path / "a"), SPEC)
    delta.merge(rows(spark, second), str(tmp_path / "b"), SPEC)
    delta.merge(rows(spark, first), str(tmp_path / "b"), SPEC)
    assert content(spark, delta, str(tmp_path / "a")) == content(spark, delta, str(tmp_path / "b")) == [("k", "high")]


def test_the_source_is_deduplicated_per_key_before_merging(spark, delta, tmp_path):
    uri = str(tmp_path / "t")
    result = delta.merge(rows(spark, ("a", "2025-06", "old", T1, "1"), ("a", "2025-06", "new", T2, "2")), uri, SPEC)
    assert result.inserted == 1
    assert content(spark, delta, uri) == [("a", "new")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]  # the staged batch is cleaned up


def test_latest_per_key_ranks_newest_then_tiebreak_then_content_and_null_versions_last(spark):
    batch = [
        ("a", "2025-06", "old", T1, "9"),
        ("a", "2025-06", "new", T2, "1"),
        ("a", "2025-06", "undated", None, "z"),
        ("b", "2025-06", "low", T1, "1"),
        ("b", "2025-06", "high", T1, "2"),
        ("c", "2025-06", "x", T1, "5"),
        ("c", "2025-06", "y", T1, "5"),  # the same version and tiebreak: the content decides
        ("d", "2025-06", "only", None, "0"),
    ]
    expected = rows(spark, batch[1], batch[4], batch[6], batch[7])
    for order in (batch, batch[::-1], batch[3:] + batch[:3]):
        picked = SPEC.latest_per_key(rows(spark, *order))
        assert_df_equality(picked, expected, ignore_row_order=True)


def test_merging_the_same_batch_twice_adds_no_table_version(spark, delta, tmp_path):
    uri = str(tmp_path / "t")
    batch = rows(spark, ("a", "2025-06", "v", T1, "1"), ("b", "2025-07", "w", T1, "2"))
    delta.merge(batch, uri, SPEC)
    version = delta.version(uri)
    again = delta.merge(batch, uri, SPEC)
    assert (again.inserted, again.updated) == (0, 0)
    assert delta.version(uri) == version  # no commit, so no new data file


def test_read_recovers_partition_columns_and_reads_an_absent_table_as_empty(spark, tmp_path):
    delta = get_delta_io("delta-rs", spark)
    uri = str(tmp_path / "t")
    assert delta.read(spark, uri, spark.createDataFrame([], SCHEMA).schema).count() == 0
    delta.merge(rows(spark, ("a", "2025-06", "v", T1, "1"), ("b", "2025-07", "w", T1, "2")), uri, SPEC)
    df = delta.read(spark, uri)
    assert sorted(r["month"] for r in df.collect()) == ["2025-06", "2025-07"]
    assert DeltaTable(uri).metadata().partition_columns == ["month"]


def test_the_merge_condition_prunes_with_literal_partition_values():
    condition = SPEC.merge_condition({"month": ["2025-07", "2025-06", None]})
    assert condition == "t.`month` IN ('2025-06', '2025-07') AND t.`id` = s.`id`"
    assert SPEC.update_condition() == (
        "(s.`updated_at` > t.`updated_at` OR t.`updated_at` IS NULL OR "
        "(s.`updated_at` = t.`updated_at` AND s.`record_hash` > t.`record_hash`))"
    )


def test_an_unknown_engine_is_a_clear_error(spark):
    with pytest.raises(ValueError, match="unknown Delta engine 'delta-foo'"):
        get_delta_io("delta-foo", spark)


# A new partitioned table is staged and written by delta-rs; a new unpartitioned one is Spark's Parquet in place.
PARTITIONINGS = pytest.mark.parametrize("partition_by", [("month",), ()], ids=["partitioned", "unpartitioned"])


@PARTITIONINGS
def test_a_batch_declared_unique_skips_dedup_but_duplicate_keys_are_refused(spark, delta, tmp_path, partition_by):
    unique = MergeSpec(keys=("id",), partition_by=partition_by, source_unique=True)
    uri = str(tmp_path / "t")
    result = delta.merge(rows(spark, ("a", "2025-06", "v1", T1, "1"), ("b", "2025-06", "b1", T1, "2")), uri, unique)
    assert result.inserted == 2
    duplicated = rows(spark, ("c", "2025-06", "old", T1, "1"), ("c", "2025-06", "new", T2, "2"))
    for target in (uri, str(tmp_path / "new")):  # a MERGE into a table, and the first write that creates one
        with pytest.raises(DuplicateKeysError, match=r"declared unique on \['id'\] but has 2 rows for 1 keys"):
            delta.merge(duplicated, target, unique)
    assert content(spark, delta, uri) == [("a", "v1"), ("b", "b1")]
    assert not (tmp_path / "new").exists()  # the refused first write left no files behind


@PARTITIONINGS
def test_a_first_write_is_a_delta_table_with_every_row_and_an_empty_batch_creates_none(spark, tmp_path, partition_by):
    delta = get_delta_io("delta-rs", spark)
    spec = MergeSpec(keys=("id",), partition_by=partition_by)
    uri = str(tmp_path / "t")
    batch = rows(spark, ("a", "2025-06", "v", T1, "1"), ("b", None, "w", T1, "2"), ("c", "2025-07", "x", T2, "3"))
    assert delta.merge(batch, uri, spec).inserted == 3
    table = DeltaTable(uri)
    assert (table.version(), table.metadata().partition_columns) == (0, list(partition_by))
    assert [f.name for f in table.schema().fields] == [f.name for f in batch.schema.fields]
    assert sorted((r["id"], r["month"]) for r in delta.read(spark, uri).collect()) == [
        ("a", "2025-06"), ("b", None), ("c", "2025-07")
    ]  # fmt: skip
    assert delta.merge(rows(spark, ("a", "2025-06", "v", T1, "1")), uri, spec).changed == 0
    assert delta.merge(rows(spark, ("a", "2025-06", "v2", T2, "1")), uri, spec).updated == 1

    empty = str(tmp_path / "empty")
    assert delta.merge(spark.createDataFrame([], SCHEMA), empty, spec).source_rows == 0
    assert not delta.exists(empty) and not (tmp_path / "empty").exists()


def test_compaction_keeps_every_row_in_fewer_files_and_vacuum_deletes_the_replaced_ones(spark, delta, tmp_path):
    uri = str(tmp_path / "t")
    for day, value in enumerate(("a", "b", "c", "d"), start=1):  # four daily merges: four small files
        delta.merge(rows(spark, (value, "2025-06", value, datetime(2025, 6, day, tzinfo=UTC), "h")), uri, SPEC)
    delta.merge(rows(spark, ("e", "2025-07", "e", T1, "h")), uri, SPEC)
    before, content_before = delta.data_files(uri), content(spark, delta, uri)
    assert before.count == 5

    compaction = delta.compact(uri)
    assert (compaction.files_removed, compaction.files_added) == (4, 1)  # July's single file is left alone
    assert delta.data_files(uri).count == 2
    assert content(spark, delta, uri) == content_before
    assert delta.vacuum(uri, retention_hours=0) == 4
    assert len([p for p in (tmp_path / "t").rglob("*.parquet") if "_delta_log" not in p.parts]) == 2
    assert delta.compact(uri).files_removed == 0  # nothing small is left
