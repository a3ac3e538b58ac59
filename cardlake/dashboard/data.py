"""Reading the reporting views for the dashboard, as Looker Studio does: read-only, views only.

A DuckDB file takes one writing process or several readers, never both: while the pipeline loads, a reader
cannot open it. The reader therefore opens the file read-only for each query, closes it at once (so a load is
never kept waiting for long), and when the file is busy hands back the last rows it read for the same query,
marked stale, instead of an error. PostgreSQL and Redshift serve readers during a load; their connection is
kept open and reopened after a failure, and a transient failure is handled the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from blocks.warehouse import WarehouseConnection
from cardlake.warehouse import Warehouse, WarehouseBusy, WarehouseError, get_warehouse, is_transient_error
from cardlake.warehouse.duckdb import DuckDBWarehouse

log = logging.getLogger(__name__)

# How long the dashboard waits for a busy DuckDB file before showing its last good rows instead, and how long it
# then answers from those rows without trying again (a page runs several queries; each must not wait).
BUSY_WAIT_S = 0.5
BUSY_BACKOFF_S = 2.0
# A query's rows are reused for this long, so several open pages do not each open the file for the same rows.
CACHE_TTL_S = 5.0


@dataclass(frozen=True)
class Frame:
    """Rows of one query: `stale` when the warehouse was busy and these are the last good rows, read at `as_of`."""

    data: pd.DataFrame
    as_of: datetime | None
    stale: bool = False
    problem: str | None = None  # why there are no fresh rows: "loading", or a one-line error

    @property
    def empty(self) -> bool:
        return self.data.empty


class WarehouseReader:
    """Runs the dashboard's read queries; one instance is shared by every browser session of the app."""

    def __init__(
        self, connection: WarehouseConnection, ttl_s: float = CACHE_TTL_S, busy_wait_s: float = BUSY_WAIT_S
    ) -> None:
        self.connection = connection
        self.ttl_s = ttl_s
        self.busy_wait_s = busy_wait_s
        self._last_good: dict[tuple[str, tuple[Any, ...]], tuple[float, Frame]] = {}
        self._lock = threading.Lock()
        self._held: Warehouse | None = None  # PostgreSQL / Redshift: one open connection
        self._busy_until = 0.0

    @property
    def placeholder(self) -> str:
        """The engine's parameter marker (`?` for DuckDB, `%s` for psycopg and redshift_connector)."""
        return "?" if self.connection.kind == "duckdb" else "%s"

    def read(self, sql: str, params: Sequence[Any] = (), ttl_s: float | None = None) -> Frame:
        """The rows of `sql`; a result younger than `ttl_s` is reused, a busy warehouse returns the last good one."""
        key = (sql, tuple(params))
        ttl = self.ttl_s if ttl_s is None else ttl_s
        with self._lock:
            cached = self._last_good.get(key)
            if cached is not None and time.monotonic() - cached[0] < ttl:
                return cached[1]
            if time.monotonic() < self._busy_until:
                return self._fallback(cached, "loading")
            try:
                columns, rows = self._query(sql, list(params))
            except WarehouseBusy:
                self._busy_until = time.monotonic() + BUSY_BACKOFF_S
                return self._fallback(cached, "loading")
            except Exception as exc:  # a reader must never surface a traceback: one line instead
                if is_transient_error(exc):
                    self._drop_held()
                    return self._fallback(cached, f"the warehouse did not answer ({type(exc).__name__})")
                if not isinstance(exc, WarehouseError):
                    log.exception("dashboard query failed: %s", sql)
                return Frame(pd.DataFrame(), None, problem=_one_line(exc))
            frame = Frame(pd.DataFrame.from_records(rows, columns=columns), datetime.now(UTC))
            self._last_good[key] = (time.monotonic(), frame)
            return frame

    def _fallback(self, cached: tuple[float, Frame] | None, problem: str) -> Frame:
        if cached is None:
            return Frame(pd.DataFrame(), None, stale=True, problem=problem)
        return Frame(cached[1].data, cached[1].as_of, stale=True, problem=problem)

    def _query(self, sql: str, params: list[Any]) -> tuple[list[str], list[tuple]]:
        if self.connection.kind == "duckdb":
            if not self.connection.duckdb_path:
                raise WarehouseError("a duckdb warehouse connection needs duckdb_path")
            with DuckDBWarehouse(self.connection.duckdb_path, read_only=True, lock_wait_s=self.busy_wait_s) as wh:
                return wh.query_with_columns(sql, params or None)
        if self._held is None:
            self._held = get_warehouse(self.connection, read_only=True)
        return self._held.query_with_columns(sql, params or None)

    def close(self) -> None:
        """Close the held connection (PostgreSQL / Redshift); the next read opens a new one."""
        with self._lock:
            self._drop_held()

    def _drop_held(self) -> None:
        if self._held is not None:
            try:
                self._held.close()
            except Exception:  # the connection is already broken; dropping it is all that is left to do
                log.debug("closing a broken warehouse connection failed", exc_info=True)
            self._held = None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def in_list(column: str, values: Sequence[Any], placeholder: str) -> tuple[str, list[Any]]:
    """`column IN (?, ?, ...)` and its parameters; an empty selection filters nothing."""
    if not values:
        return "", []
    return f"{column} IN ({', '.join(placeholder for _ in values)})", list(values)


def where(*conditions: tuple[str, list[Any]]) -> tuple[str, list[Any]]:
    """A WHERE clause from (condition, params) pairs, skipping empty conditions."""
    kept = [(c, p) for c, p in conditions if c]
    if not kept:
        return "", []
    return " WHERE " + " AND ".join(c for c, _ in kept), [v for _, p in kept for v in p]
