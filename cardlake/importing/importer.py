"""`cardlake import`: export files -> landing records, validated whole, then landed as pages with manifests.

1. `plan_import(paths)` reads every file and adapts every record, shape by shape: legacy pluton rewards and
   `transactions_view` statement rows (`contracts.plutus_legacy`), v3 API records of `/v3/rewards/list` and
   `/v3/statement/list` (`contracts.plutus_v3`), and records already in the landing shape.
   Any defect refuses the whole import before anything is written: one line per bad file naming the file,
   the line and the field (`ImportRefused`).
2. `land_import(zone, source, plan)` lands each entity's records in one window per UTC day of their
   `updatedAt` (the API's windowing), through the extraction's page and manifest writers, under the source
   name of imports (`contracts.landing.IMPORT_SOURCE`). A day's pages hold the records landed for it before
   plus this import's, one per record state (`id`, `updatedAt`; a state imported again replaces the old one).
   The pages are content-addressed: sorted records, gzip without a time stamp, so the same content always
   gives the same bytes and checksums. A day whose content is unchanged is not written at all; a changed day
   gets new checksums in its manifest, which is what the transform flow's fingerprint follows.
"""

from __future__ import annotations

import difflib
import gzip
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import InvalidOperation
from pathlib import Path
from typing import Any

from cardlake.importing.readers import ImportFileError, Row, read_rows
from cardlake.landing import LandingZone
from cardlake.source.extraction import (
    advance_watermark,
    read_landed_records,
    remove_stale_pages,
    store_page,
    window_manifest,
    write_manifest,
)
from contracts import plutus_legacy as legacy
from contracts import plutus_v3 as v3
from contracts.landing import (
    Entity,
    Window,
    iso,
    landed_table,
    manifest_key,
    page_key,
    parse_iso,
)
from contracts.results import StageResult, TableCounts

PAGE_SIZE = 1000  # records per landed page, as the extraction's default page size
_ENTITY_OF_SHAPE: dict[str, Entity] = {
    "pluton": "rewards",
    "landing_reward": "rewards",
    "transactions_view": "transactions",
    "landing_transaction": "transactions",
    "v3_reward": "rewards",
    "v3_statement": "transactions",
}
_MARKS = (legacy.PLUTON_MARK, legacy.VIEW_MARK, legacy.LANDING_REWARD_MARK, legacy.LANDING_TRANSACTION_MARK)
_SHAPES_HELP = (
    "not a known record: expected a pluton reward (fiat_amount_rewarded), a transactions_view row (is_debit), "
    "a v3 API record (transactionDescription) or a landing record (fiatAmountRewarded / isDebit)"
)


class ImportRefused(ValueError):
    """Some files cannot be imported; nothing was landed. One line per bad file (`errors`)."""

    def __init__(self, errors: Sequence[ImportFileError], files: Sequence[FileCounts]) -> None:
        self.errors, self.files = tuple(errors), tuple(files)
        super().__init__("; ".join(str(e) for e in errors) + " (nothing was landed)")


@dataclass(frozen=True)
class FileCounts:
    """One file of an import: records in = landed + refused, per entity."""

    file: str
    records: int
    landed: int
    refused: int
    by_entity: tuple[tuple[Entity, int], ...] = ()
    new: int = 0  # record states the landing zone did not hold (or held with other content) before
    new_by_entity: tuple[tuple[Entity, int], ...] = ()

    @property
    def reconciles(self) -> bool:
        return self.records == self.landed + self.refused


@dataclass(frozen=True)
class _Adapted:
    file: str
    line: int
    entity: Entity
    record: dict[str, Any]

    @property
    def state(self) -> tuple[str, str]:
        return str(self.record["id"]), str(self.record["updatedAt"])


@dataclass(frozen=True)
class ImportPlan:
    """Every record of the files, adapted and valid, with its landing entity and day."""

    files: tuple[str, ...]
    records: tuple[_Adapted, ...]
    rows_per_file: dict[str, int] = field(default_factory=dict)

    def days(self) -> dict[tuple[Entity, Window], list[_Adapted]]:
        out: dict[tuple[Entity, Window], list[_Adapted]] = defaultdict(list)
        for item in self.records:
            out[(item.entity, Window.day_of(parse_iso(item.record["updatedAt"])))].append(item)
        return dict(sorted(out.items(), key=lambda kv: (kv[0][0], kv[0][1].start)))


@dataclass(frozen=True)
class ImportResult:
    """What an import landed: per file, per day window, and the span a run should cover."""

    source: str
    files: tuple[FileCounts, ...]
    windows_written: tuple[str, ...]  # `<entity>/<window label>` of the days whose landing changed
    windows_unchanged: tuple[str, ...]
    first_day: datetime | None
    end_day: datetime | None

    @property
    def span(self) -> Window | None:
        """The days the import covers, [first, end): the window a run over the import reads."""
        return Window(self.first_day, self.end_day) if self.first_day and self.end_day else None

    @property
    def changed(self) -> bool:
        return bool(self.windows_written)

    def stage(self) -> StageResult:
        """The import as the run summary shows it, in the place of the extract stage."""
        tables = []
        for f in self.files:
            new = dict(f.new_by_entity)
            for entity, count in f.by_entity:
                # written: the record states this import added or changed in the landing zone
                tables.append(TableCounts(landed_table(entity), count, count, 0, new.get(entity, 0), note=f.file))
        written = len(self.windows_written)
        note = (
            f"{written} day window(s) landed with new content, {len(self.windows_unchanged)} unchanged"
            if written
            else f"unchanged: all {len(self.windows_unchanged)} day window(s) already landed with this content"
        )
        return StageResult("import", tuple(tables), notes=(note,))


def _shape(fields: dict[str, Any]) -> str | None:
    if any(mark in fields for mark in v3.V3_MARKS):
        return "v3_reward" if legacy.LANDING_REWARD_MARK in fields else "v3_statement"
    return legacy.record_shape(fields)


def _adapt(row: Row, file: str) -> _Adapted:
    shape = _shape(row.fields)
    if shape is None:
        for name in sorted(row.fields):
            near = difflib.get_close_matches(name, _MARKS, n=1, cutoff=0.8)
            if near and name not in _MARKS:
                problem = f"{name}: unknown field (did you mean {near[0]}?); {_SHAPES_HELP}"
                raise ImportFileError(file, row.line, problem)
        raise ImportFileError(file, row.line, f"{_SHAPES_HELP}; fields: {', '.join(sorted(row.fields))[:120]}")
    try:
        if shape == "pluton":
            record = legacy.reward_from_pluton(row.fields)
        elif shape == "transactions_view":
            record = legacy.transaction_from_view(row.fields)
        elif shape in ("v3_reward", "v3_statement"):
            record = (v3.reward_to_landing if shape == "v3_reward" else v3.statement_to_landing)(row.fields)
            # The client lands such a record for silver to quarantine; an import refuses the file instead.
            if record.get(v3.ADAPTER_ERROR):
                raise ValueError(str(record[v3.ADAPTER_ERROR]))
        else:
            record = _landing_record(row.fields)
    except (ValueError, TypeError, InvalidOperation) as exc:
        raise ImportFileError(file, row.line, str(exc)) from None
    try:
        # What lands is JSON: a value JSON cannot hold is this record's defect, found before anything is written.
        record = json.loads(json.dumps(record, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ImportFileError(file, row.line, f"record: {exc}") from None
    return _Adapted(file, row.line, _ENTITY_OF_SHAPE[shape], record)


def _landing_record(fields: dict[str, Any]) -> dict[str, Any]:
    """A record already in the landing shape: silver judges it; here only what landing needs is checked."""
    if not isinstance(fields.get("id"), str | int) or str(fields["id"]).strip() == "":
        raise ValueError("id: missing")
    for name in ("updatedAt",):
        value = fields.get(name)
        if value in (None, ""):
            raise ValueError(f"{name}: missing")
        try:
            parse_iso(str(value))
        except ValueError:
            raise ValueError(f"{name}: {value!r} is not an ISO-8601 time") from None
    return {**fields, "id": str(fields["id"]).strip(), "updatedAt": iso(parse_iso(str(fields["updatedAt"])))}


def plan_import(paths: Iterable[Path]) -> ImportPlan:
    """Read and adapt every record of every file; ImportRefused (one line per bad file) if any is bad."""
    files: list[str] = []
    records: list[_Adapted] = []
    errors: list[ImportFileError] = []
    rows_per_file: dict[str, int] = {}
    chosen = list(paths)
    names = [p.name for p in chosen]
    for path in chosen:
        # Two files of the same name from different folders are told apart by their path.
        name = str(path) if names.count(path.name) > 1 else path.name
        files.append(name)
        try:
            if not path.is_file():
                raise ImportFileError(name, None, "no such file")
            rows = read_rows(path)
            rows_per_file[name] = len(rows)
            if not rows:
                raise ImportFileError(name, None, "no records")
            records.extend(_adapt(row, name) for row in rows)
        except ImportFileError as exc:
            if exc.file != name:
                exc = ImportFileError(name, exc.line, exc.problem, exc.records)
            if exc.records is not None:
                rows_per_file.setdefault(name, exc.records)
            errors.append(exc)
    if errors:
        counts = [FileCounts(f, rows_per_file.get(f, 0), 0, rows_per_file.get(f, 0)) for f in files]
        raise ImportRefused(errors, counts)
    return ImportPlan(tuple(files), tuple(records), rows_per_file)


def _page_bodies(records: list[dict[str, Any]]) -> list[tuple[bytes, int]]:
    ordered = sorted(records, key=lambda r: (r["updatedAt"], r["id"], json.dumps(r, sort_keys=True)))
    bodies = []
    for number, start in enumerate(range(0, len(ordered), PAGE_SIZE), start=1):
        chunk = ordered[start : start + PAGE_SIZE]
        body = json.dumps({"data": chunk, "page": number, "limit": PAGE_SIZE}, separators=(",", ":"))
        bodies.append((body.encode(), len(chunk)))
    return bodies


def _checksums(bodies: list[tuple[bytes, int]]) -> list[str]:
    """The checksums `store_page` will record for these bodies (same compression, no time stamp)."""
    return [hashlib.sha256(gzip.compress(body, compresslevel=3, mtime=0)).hexdigest() for body, _ in bodies]


def land_import(zone: LandingZone, source: str, plan: ImportPlan) -> ImportResult:
    """Land the plan day by day (see the module's docstring); a day with unchanged content is left alone."""
    new_per_file: dict[tuple[str, Entity], int] = defaultdict(int)
    written, unchanged = [], []
    for (entity, window), items in plan.days().items():
        mkey = manifest_key(source, entity, window)
        before: dict[tuple[str, str], dict[str, Any]] = {}
        old_manifest = json.loads(zone.read_bytes(mkey)) if zone.exists(mkey) else None
        if old_manifest is not None:
            for record in read_landed_records(zone, old_manifest):
                before[(str(record["id"]), str(record["updatedAt"]))] = record
        states = dict(before)
        for item in items:  # files in the order given, lines in file order: a later copy of a state wins
            if before.get(item.state) != item.record:
                new_per_file[(item.file, item.entity)] += 1
            states[item.state] = item.record
        bodies = _page_bodies(list(states.values()))
        sums = _checksums(bodies)
        label = f"{entity}/{window.label}"
        if old_manifest is not None and [p["sha256"] for p in old_manifest.get("pages", [])] == sums:
            unchanged.append(label)
            continue
        content = hashlib.sha256("".join(sums).encode()).hexdigest()
        # As a re-run of an extraction: the old manifest goes first, so no reader follows it to a mix of pages.
        zone.delete(mkey)
        pages = [
            store_page(zone, page_key(source, entity, window, number), body, count)
            for number, (body, count) in enumerate(bodies, start=1)
        ]
        remove_stale_pages(zone, source, entity, window, {p["key"] for p in pages})
        distinct = len({state[0] for state in states})
        write_manifest(zone, mkey, window_manifest(source, entity, window, pages, distinct, f"import-{content[:16]}"))
        advance_watermark(zone, source, entity, window)
        written.append(label)
    days = [window for (_, window) in plan.days()]
    files = []
    for name in plan.files:
        mine = [item for item in plan.records if item.file == name]
        per_entity: dict[Entity, int] = defaultdict(int)
        for item in mine:
            per_entity[item.entity] += 1
        new = tuple((entity, new_per_file.get((name, entity), 0)) for entity in sorted(per_entity))
        files.append(
            FileCounts(name, plan.rows_per_file.get(name, 0), len(mine), 0, tuple(sorted(per_entity.items())),
                       sum(n for _, n in new), new)
        )  # fmt: skip
    return ImportResult(
        source=source,
        files=tuple(files),
        windows_written=tuple(written),
        windows_unchanged=tuple(unchanged),
        first_day=min((w.start for w in days), default=None),
        end_day=max((w.end for w in days), default=None),
    )
