"""Whole-chain runs and their comparison with a clean run: every Delta table and every warehouse table.

`cardlake run` is started as a child process in its own session (so a test can SIGKILL its whole process group),
against a real Prefect server (tests/deploy/processes.py) and the card API simulator over HTTP, with the default
`local-submit` Spark runner, delta-rs and DuckDB. `snapshot(home)` digests every table the run left;
`differences(actual, expected)` lists what differs, table by table: row counts, key sets and content sums (one sum
per column, independent of row order). `leftover_processes(home)` lists any process still working on a home.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from deltalake import DeltaTable

from cardapi.config import SimulatorConfig
from contracts import lake
from contracts.names import LAKE_WRITER_LIMIT
from contracts.tables import STAR_TABLES
from tests.deploy.processes import PrefectServer, counting_simulator, prefect_server

CARDLAKE = str(Path(sys.executable).parent / "cardlake")

# The natural or merge key of every Delta table the jobs write (their MergeSpecs); a table missing here fails the
# snapshot, so a new table cannot slip past the comparison.
LAKE_KEYS: dict[str, tuple[str, ...]] = {
    lake.SILVER_TRANSACTIONS.path: ("transaction_id",),
    lake.SILVER_REWARDS.path: ("reward_id",),
    lake.SILVER_CARDHOLDERS.path: ("cardholder_id",),
    lake.SILVER_ADDRESSES.path: ("address_id",),
    lake.SILVER_MERCHANTS.path: ("merchant_id",),
    lake.SILVER_CARDS.path: ("card_token",),
    lake.SILVER_PLU_RATES.path: ("rate_ts", "ticker", "currency"),
    lake.SILVER_QUARANTINE.path: ("quarantine_id",),
    lake.SILVER_RUN_METRICS.path: ("run_id", "job", "entity"),
    lake.GOLD_REWARD_TRANSACTIONS.path: ("reward_id",),
    lake.GOLD_TRANSACTION_FEATURES.path: ("transaction_id",),
    lake.GOLD_TRANSACTION_SCORES.path: ("transaction_id",),
    lake.GOLD_FRAUD_ALERTS.path: ("transaction_id",),
    **{lake.gold_star_table(t.name).path: tuple(t.primary_key) for t in STAR_TABLES},
}
WAREHOUSE_KEYS: dict[str, tuple[str, ...]] = {t.name: tuple(t.primary_key) for t in STAR_TABLES}

# Columns that record when (or by which attempt) a row was written, not what it holds: they differ between two
# correct runs, so they are left out of the content sums (the key sets and the other columns still cover the row).
VOLATILE_COLUMNS = frozenset(
    {
        "ingested_at",
        "processed_at",
        "recorded_at",
        "scored_at",
        "loaded_at",
        "updated_in_lake_at",
        "source_file",
        "first_seen_at",  # an alert's: the clock of the run that raised it
    }
)


# Per-attempt figures: what the latest attempt of a run changed. A re-run of a finished window rightly writes 0 rows.
ATTEMPT_COLUMNS: dict[str, frozenset[str]] = {lake.SILVER_RUN_METRICS.path: frozenset({"rows_written"})}


@dataclass(frozen=True)
class TableDigest:
    rows: int
    keys: frozenset[tuple[Any, ...]]
    sums: Mapping[str, Any]  # column -> an order-independent sum of its values


@dataclass(frozen=True)
class Snapshot:
    lake: Mapping[str, TableDigest]
    warehouse: Mapping[str, TableDigest]
    extra: Mapping[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {f"lake:{k}": v.rows for k, v in self.lake.items()} | {
            f"warehouse:{k}": v.rows for k, v in self.warehouse.items()
        }


def _value_sum(values: Iterable[Any]) -> Any:
    """Numbers: their exact sum (math.fsum, so row order cannot change it), rounded; anything else: a hash sum."""
    items = list(values)
    present = [v for v in items if v is not None]
    nulls = len(items) - len(present)
    if present and all(isinstance(v, bool) for v in present):
        return ("bool", sum(present), nulls)
    if present and all(isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in present):
        total = math.fsum(float(v) for v in present)
        return ("num", round(total, 6), nulls)
    digest = 0
    for v in present:
        text = v.isoformat() if isinstance(v, datetime | date) else repr(v)
        digest = (digest + int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")) % 2**64
    return ("hash", digest, nulls)


def digest_rows(
    columns: Mapping[str, list[Any]], keys: tuple[str, ...], skip: frozenset[str] = frozenset()
) -> TableDigest:
    missing = [k for k in keys if k not in columns]
    if missing:
        raise AssertionError(f"key column(s) {missing} not in the table's columns {sorted(columns)}")
    rows = len(next(iter(columns.values()))) if columns else 0
    key_set = frozenset(zip(*(columns[k] for k in keys), strict=True)) if rows else frozenset()
    sums = {name: _value_sum(v) for name, v in columns.items() if name not in VOLATILE_COLUMNS | skip}
    return TableDigest(rows=rows, keys=key_set, sums=sums)


def delta_tables(lake_root: Path) -> list[str]:
    """Every Delta table under the lake root (a folder holding `_delta_log`), as `layer/name`."""
    return sorted(str(p.parent.relative_to(lake_root)) for p in lake_root.glob("*/*/_delta_log"))


def lake_snapshot(lake_root: Path) -> dict[str, TableDigest]:
    """Reads every Delta table (a table that does not read fails here) and digests it."""
    digests = {}
    for table in delta_tables(lake_root):
        if table not in LAKE_KEYS:
            raise AssertionError(f"Delta table {table} has no key in tests/chain.py LAKE_KEYS: add it")
        data = DeltaTable(str(lake_root / table)).to_pyarrow_table().to_pydict()
        digests[table] = digest_rows(data, LAKE_KEYS[table], ATTEMPT_COLUMNS.get(table, frozenset()))
    return digests


def warehouse_snapshot(duckdb_file: Path) -> dict[str, TableDigest]:
    digests = {}
    with duckdb.connect(str(duckdb_file), read_only=True) as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY 1"
            ).fetchall()
        ]
        for table in tables:
            if table not in WAREHOUSE_KEYS:
                raise AssertionError(f"warehouse table {table} has no key in tests/chain.py WAREHOUSE_KEYS")
            result = db.sql(f'SELECT * FROM "{table}"')
            rows = result.fetchall()
            data = {column: [row[i] for row in rows] for i, column in enumerate(result.columns)}
            digests[table] = digest_rows(data, WAREHOUSE_KEYS[table])
    return digests


def snapshot(home: Path) -> Snapshot:
    return Snapshot(lake=lake_snapshot(home / "lake"), warehouse=warehouse_snapshot(home / "warehouse.duckdb"))


def _table_differences(
    where: str,
    actual: Mapping[str, TableDigest],
    expected: Mapping[str, TableDigest],
    columns: frozenset[str],
    tables: frozenset[str],
) -> list[str]:
    found = []
    for table in sorted((set(actual) | set(expected)) - tables):
        if table not in actual or table not in expected:
            found.append(f"{where} {table}: only in the {'expected' if table in expected else 'actual'} run")
            continue
        a, e = actual[table], expected[table]
        if a.rows != e.rows:
            found.append(f"{where} {table}: {a.rows} rows, the clean run has {e.rows}")
        if a.keys != e.keys:
            extra, lost = a.keys - e.keys, e.keys - a.keys
            found.append(
                f"{where} {table}: keys differ ({len(extra)} extra, e.g. {sorted(map(str, extra))[:2]};"
                f" {len(lost)} missing, e.g. {sorted(map(str, lost))[:2]})"
            )
        for column in sorted((set(a.sums) | set(e.sums)) - columns):
            if a.sums.get(column) != e.sums.get(column):
                found.append(f"{where} {table}.{column}: sum {a.sums.get(column)} != clean {e.sums.get(column)}")
    return found


def differences(
    actual: Snapshot,
    expected: Snapshot,
    ignore_columns: Iterable[str] = (),
    ignore_tables: Iterable[str] = (),
) -> list[str]:
    """Everything that differs, one line each; empty when the two runs left the same tables.

    `ignore_columns` / `ignore_tables` (as `layer/name` or a warehouse table) leave out what a case changes on
    purpose, e.g. the `run_id` stamps when other runs wrote the rows last.
    """
    columns, tables = frozenset(ignore_columns), frozenset(ignore_tables)
    return _table_differences("lake", actual.lake, expected.lake, columns, tables) + _table_differences(
        "warehouse", actual.warehouse, expected.warehouse, columns, tables
    )


# --- processes --------------------------------------------------------------------------------------------------


def run_env(base: Mapping[str, str], home: Path, api_url: str, spark_conf: Path, **extra: str) -> dict[str, str]:
    return {
        **base,
        "CARDLAKE_HOME": str(home),
        "CARDLAKE_API_BASE_URL": api_url,
        "CARDLAKE_PAN_TOKEN_KEY": "chain-test-key",
        "SPARK_CONF_DIR": str(spark_conf),
        "PYSPARK_PYTHON": sys.executable,
        **extra,
    }


def spark_conf_dir(folder: Path) -> Path:
    """A few shuffle partitions and a small driver suit a few cards (Spark's 200 default makes empty tasks)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spark-defaults.conf").write_text("spark.sql.shuffle.partitions 2\nspark.ui.enabled false\n")
    return folder


def start_run(env: Mapping[str, str], start: str, end: str, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """`cardlake run` as the leader of its own process group (its Spark, its Prefect subprocesses follow it)."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [CARDLAKE, "run", "--start", start, "--end", end, "--no-summary", *args],
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_ok(proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 600) -> None:
    try:
        code = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        raise AssertionError(f"cardlake run did not finish in {timeout_s} s:\n{log.read_text()[-4000:]}") from None
    if code != 0:
        raise AssertionError(f"cardlake run exited with {code}:\n{log.read_text()[-4000:]}")


def leftover_processes(home: Path, grace_s: float = 15) -> list[str]:
    """Command lines of processes that still name `home` (a Spark JVM, a run) after up to `grace_s` seconds."""
    needle = str(home.resolve()).encode()
    deadline = time.monotonic() + grace_s
    while True:
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            try:
                cmdline = (proc / "cmdline").read_bytes()
                environ = (proc / "environ").read_bytes()
                state = (proc / "stat").read_text().split(") ")[-1][:1]
            except OSError:
                continue
            if state != "Z" and (needle in cmdline or needle in environ):
                command = cmdline.replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{proc.name}: {command[:200]}")
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


# --- the shared chain: one Prefect server, one simulator, one clean run per test session ------------------------

CHAIN_SIMULATOR = SimulatorConfig(seed=19, n_cards=12, start=date(2025, 5, 1), end=date(2025, 7, 1))
WINDOW = ("2025-06-10", "2025-06-12")


@dataclass
class Chain:
    """A Prefect server holding the lake-writer limit, the simulator over HTTP and a Spark configuration."""

    server: PrefectServer
    api_url: str
    root: Path
    spark_conf: Path

    def home(self, name: str) -> Path:
        return self.root / name

    def env(self, home: Path, api_url: str | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return run_env(self.server.env, home, api_url or self.api_url, self.spark_conf, **(extra or {}))

    def start(
        self,
        home: Path,
        window: tuple[str, str] = WINDOW,
        api_url: str | None = None,
        log: str = "run",
        extra: Mapping[str, str] | None = None,
    ) -> tuple[subprocess.Popen[bytes], Path]:
        """`cardlake run` started in the background; the process and its log file."""
        log_file = home.parent / f"{home.name}-{log}.log"
        return start_run(self.env(home, api_url, extra), *window, log_file), log_file

    def run(
        self,
        home: Path,
        window: tuple[str, str] = WINDOW,
        api_url: str | None = None,
        log: str = "run",
        extra: Mapping[str, str] | None = None,
    ) -> str:
        """One `cardlake run` to the end; its output."""
        proc, log_file = self.start(home, window, api_url, log, extra)
        wait_ok(proc, log_file)
        return log_file.read_text()


@pytest.fixture(scope="session")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    root = tmp_path_factory.mktemp("chain")
    with prefect_server(root / "prefect-home") as server, counting_simulator(CHAIN_SIMULATOR) as (api_url, _):
        server.cli("global-concurrency-limit", "create", LAKE_WRITER_LIMIT, "--limit", "1")
        yield Chain(server, api_url, root, spark_conf_dir(root / "spark-conf"))


@pytest.fixture(scope="session")
def clean_run(chain: Chain) -> Snapshot:
    """The reference: one uninterrupted run of WINDOW, fault-free, alone."""
    home = chain.home("clean")
    chain.run(home)
    assert leftover_processes(home) == []
    return snapshot(home)


@contextlib.contextmanager
def simulator(config: SimulatorConfig) -> Iterator[str]:
    with counting_simulator(config) as (api_url, _):
        yield api_url
