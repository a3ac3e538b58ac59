"""Reading a warehouse export (contracts.md section 3): `_export.json` plus Parquet files, local or on S3.

Every loader checks an export the same way before it touches the warehouse: known tables, the files'
columns in tables.py order with compatible types, and the files' row count equal to the manifest's.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.parquet as pq

from contracts.tables import STAR_TABLES, TABLES_BY_NAME, ColumnType, Table


class WarehouseError(Exception):
    """A warehouse operation failed for a reason a user can act on (bad export, missing setting, bad data)."""


class WarehouseBusy(WarehouseError):
    """Another process holds the warehouse (a DuckDB file being loaded); a reader may show its last good data."""


class ExportError(WarehouseError):
    """The export does not match the contract; nothing was loaded."""


@dataclass(frozen=True)
class ExportTable:
    table: Table
    files: tuple[str, ...]
    rows: int


@dataclass(frozen=True)
class Export:
    uri: str
    run_id: str
    tables: dict[str, ExportTable]  # only the tables the run changed, in STAR_TABLES order


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def split_s3(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    return parsed.netloc, parsed.path.lstrip("/")


def _local_path(uri: str) -> Path:
    return Path(urlparse(uri).path) if uri.startswith("file://") else Path(uri)


def _s3_client() -> Any:
    import boto3

    return boto3.client("s3")


_WHOLE_OBJECT_BYTES = 8 << 20


class S3RangeFile(io.RawIOBase):
    """A seekable read-only S3 object that fetches byte ranges: pyarrow reads only the Parquet footer it needs."""

    def __init__(self, uri: str, client: Any = None) -> None:
        self._client = client or _s3_client()
        self._bucket, self._key = split_s3(uri)
        self._size = int(self._client.head_object(Bucket=self._bucket, Key=self._key)["ContentLength"])
        self._pos = 0

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int = -1) -> bytes:
        if self._pos >= self._size or size == 0:
            return b""
        end = self._size if size is None or size < 0 else min(self._size, self._pos + size)
        body = self._client.get_object(Bucket=self._bucket, Key=self._key, Range=f"bytes={self._pos}-{end - 1}")
        data = body["Body"].read()
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def open_uri(uri: str) -> IO[bytes]:
    """A binary file for a local path, `file://` URI or `s3://` URI."""
    if is_s3(uri):
        remote = S3RangeFile(uri)
        if remote.size <= _WHOLE_OBJECT_BYTES:  # one GET beats many ranged ones for small files
            return io.BytesIO(remote.read())
        return io.BufferedReader(remote, buffer_size=1 << 20)
    return _local_path(uri).open("rb")


def _read_text(uri: str) -> str:
    try:
        with open_uri(uri) as handle:
            return handle.read().decode("utf-8")
    except FileNotFoundError as exc:
        raise ExportError(f"export manifest not found: {uri}") from exc
    except Exception as exc:
        if type(exc).__name__ == "ClientError":
            raise ExportError(f"export manifest not readable: {uri}: {exc}") from exc
        raise


def _resolve(file: str, manifest_uri: str) -> str:
    """Relative file names in a manifest are relative to the manifest's folder."""
    if is_s3(file) or file.startswith("file://") or Path(file).is_absolute():
        return file
    return manifest_uri.rsplit("/", 1)[0] + "/" + file


def read_export(manifest_uri: str) -> Export:
    """Parse and check `_export.json`; raises ExportError with the reason when it breaks the contract."""
    try:
        doc = json.loads(_read_text(manifest_uri))
    except json.JSONDecodeError as exc:
        raise ExportError(f"export manifest {manifest_uri} is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("run_id"), str) or not isinstance(doc.get("tables"), dict):
        raise ExportError(f"export manifest {manifest_uri} needs 'run_id' (string) and 'tables' (object)")
    unknown = sorted(set(doc["tables"]) - set(TABLES_BY_NAME))
    if unknown:
        raise ExportError(f"export {manifest_uri} names tables the warehouse does not define: {unknown}")
    tables: dict[str, ExportTable] = {}
    for table in STAR_TABLES:
        entry = doc["tables"].get(table.name)
        if entry is None:
            continue
        files, rows = (entry.get("files"), entry.get("rows")) if isinstance(entry, dict) else (None, None)
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files) or not isinstance(rows, int):
            raise ExportError(f"export {manifest_uri}: table {table.name} needs 'files' (list of URIs) and 'rows'")
        if rows and not files:
            raise ExportError(f"export {manifest_uri}: table {table.name} has {rows} rows but no files")
        tables[table.name] = ExportTable(table, tuple(_resolve(f, manifest_uri) for f in files), rows)
    return Export(manifest_uri, doc["run_id"], tables)


def _compatible(arrow: pa.DataType, expected: ColumnType) -> bool:
    if expected == "string":
        return pa.types.is_string(arrow) or pa.types.is_large_string(arrow)
    if expected.startswith("decimal"):
        return pa.types.is_decimal(arrow) and f"decimal({arrow.precision},{arrow.scale})" == expected
    if expected == "timestamp":
        return pa.types.is_timestamp(arrow)
    return arrow == _ARROW_TYPES[expected]


def check_export_table(entry: ExportTable) -> None:
    """Columns in tables.py order with compatible types, and the files' row count equal to the manifest's."""
    table, total = entry.table, 0
    for uri in entry.files:
        try:
            with open_uri(uri) as handle:
                meta = pq.ParquetFile(handle).metadata
                schema = meta.schema.to_arrow_schema()
        except FileNotFoundError as exc:
            raise ExportError(f"{table.name}: export file not found: {uri}") from exc
        except pa.ArrowInvalid as exc:
            raise ExportError(f"{table.name}: {uri} is not a readable Parquet file: {exc}") from exc
        if schema.names != table.column_names:
            raise ExportError(
                f"{table.name}: {uri} has columns {schema.names}, expected {table.column_names}"
                " (contracts/tables.py order)"
            )
        wrong = [
            f"{c.name} is {schema.field(c.name).type}, expected {c.type}"
            for c in table.columns
            if not _compatible(schema.field(c.name).type, c.type)
        ]
        if wrong:
            raise ExportError(f"{table.name}: {uri} has incompatible types: {'; '.join(wrong)}")
        total += meta.num_rows
    if total != entry.rows:
        raise ExportError(f"{table.name}: the manifest says {entry.rows} rows but the files hold {total}")


def iter_batches(entry: ExportTable, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
    for uri in entry.files:
        with open_uri(uri) as handle:
            yield from pq.ParquetFile(handle).iter_batches(batch_size=batch_size)


_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "smallint": pa.int16(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),  # what Spark writes for TimestampType
}


def arrow_type(type_: ColumnType) -> pa.DataType:
    if type_.startswith("decimal"):
        precision, scale = type_[len("decimal(") : -1].split(",")
        return pa.decimal128(int(precision), int(scale))
    return _ARROW_TYPES[type_]


def arrow_schema(table: Table) -> pa.Schema:
    """The Parquet schema of a table's export files, in tables.py column order."""
    return pa.schema([pa.field(c.name, arrow_type(c.type), nullable=c.nullable) for c in table.columns])
