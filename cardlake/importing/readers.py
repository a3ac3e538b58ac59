"""Export files as people have them -> rows (line number, field -> value), or a one-line error.

- CSV written by pandas from API responses: nested objects and lists are Python literals
  (`{'mcc': '5411', ...}`), a null is an empty cell or `NaN`/`None`, flags are `True`/`False`, and the
  index column pandas adds (`Unnamed: 0`, or an unnamed first column) is dropped;
- JSON: an array of records or an API envelope `{"data": [...]}`;
- JSON lines (`.jsonl`, `.ndjson`, or a `.json` file holding one object per line).
Every other cell value stays text: the adapters of `contracts.plutus_legacy` read each field by its meaning.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CSV_SUFFIXES = (".csv",)
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
JSON_SUFFIXES = (".json",)
SUFFIXES = (*CSV_SUFFIXES, *JSON_LINES_SUFFIXES, *JSON_SUFFIXES)
NULL_CELLS = ("", "nan", "none", "null", "nat")
_INDEX_COLUMN = re.compile(r"^Unnamed: \d+$")
# `nan` inside a Python literal (pandas writes a dict holding a float NaN as `{'mcc': nan}`).
_BARE_NAN = re.compile(r"(?<=[:\[(,])(\s*)nan(?=\s*[,\]})])")


class ImportFileError(ValueError):
    """A file that cannot be imported; the message is one line: `file:line: field: what is wrong`."""

    def __init__(self, file: str, line: int | None, problem: str, records: int | None = None) -> None:
        self.file, self.line, self.problem = file, line, problem
        self.records = records  # how many records the file holds, where that could still be told
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Row:
    line: int  # where the record starts in its file, 1-based
    fields: dict[str, Any]


def read_rows(path: Path) -> list[Row]:
    """Every record of an export file, by its suffix; ImportFileError for anything unreadable."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ImportFileError(
            path.name, None, f"unknown file type {suffix or '(none)'!r}; expected {', '.join(SUFFIXES)}"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(path.name, None, f"cannot be read: {exc}") from None
    if suffix in CSV_SUFFIXES:
        return _csv_rows(path.name, text)
    if suffix in JSON_LINES_SUFFIXES:
        return _json_lines(path.name, text)
    return _json_rows(path.name, text)


def _nulls(value: Any) -> Any:
    """JSON's NaN (Python's json accepts it) is a null, inside nested objects too."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nulls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nulls(v) for v in value]
    return value


def _record(name: str, line: int, value: Any) -> Row:
    if not isinstance(value, dict):
        raise ImportFileError(name, line, f"record: a {type(value).__name__}, not an object")
    return Row(line, _nulls(value))


def _json_lines(name: str, text: str) -> list[Row]:
    rows = []
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            held = sum(1 for other in lines if other.strip())
            raise ImportFileError(name, number, f"record: not JSON ({exc.msg} at column {exc.colno})", held) from None
        rows.append(_record(name, number, value))
    return rows


def _json_rows(name: str, text: str) -> list[Row]:
    stripped = text.strip()
    if not stripped:
        return []
    try:
        whole = json.loads(stripped)
    except json.JSONDecodeError as exc:
        if stripped.startswith("{") and exc.msg == "Extra data":
            return _json_lines(name, text)  # pandas `to_json(orient="records", lines=True)` into a .json file
        raise ImportFileError(name, exc.lineno, f"record: not JSON ({exc.msg} at column {exc.colno})") from None
    if isinstance(whole, dict):
        if "data" not in whole:
            if any(isinstance(v, list) for v in whole.values()):
                raise ImportFileError(name, 1, 'data: missing (expected an array or an envelope {"data": [...]})')
            return [_record(name, 1, whole)]
        records, start = whole["data"], _envelope_array_start(text)
        if not isinstance(records, list):
            raise ImportFileError(name, 1, f"data: a {type(records).__name__}, not an array")
    elif isinstance(whole, list):
        records, start = whole, text.find("[")
    else:
        raise ImportFileError(name, 1, f"record: a {type(whole).__name__}, not an array or an object")
    lines = _element_lines(text, start, len(records))
    return [_record(name, line, value) for line, value in zip(lines, records, strict=True)]


def _envelope_array_start(text: str) -> int:
    match = re.search(r'"data"\s*:\s*\[', text)
    return match.end() - 1 if match else -1


def _element_lines(text: str, start: int, count: int) -> list[int]:
    """The line on which each element of the JSON array at `start` begins (1 for all when it cannot be told)."""
    if start < 0:
        return [1] * count
    decoder, pos = json.JSONDecoder(), start + 1
    lines: list[int] = []
    try:
        while len(lines) < count:
            while text[pos] in " \t\r\n,":
                pos += 1
            lines.append(text.count("\n", 0, pos) + 1)
            _, pos = decoder.raw_decode(text, pos)
    except (IndexError, json.JSONDecodeError):
        return [1] * count
    return lines


def _csv_rows(name: str, text: str) -> list[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return []
    keep = [i for i, column in enumerate(header) if not (_INDEX_COLUMN.match(column) or (i == 0 and column == ""))]
    missing = [i for i in keep if not header[i].strip()]
    if missing:
        raise ImportFileError(name, 1, f"header: column {missing[0] + 1} has no name")
    rows: list[Row] = []
    start = 2
    for cells in reader:
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            held = len(rows) + 1 + sum(1 for rest in reader if any(cell.strip() for cell in rest))
            raise ImportFileError(name, line, f"record: {len(cells)} fields, the header has {len(header)}", held)
        rows.append(Row(line, {header[i]: _cell(cells[i]) for i in keep}))
    return rows


def _cell(cell: str) -> Any:
    text = cell.strip()
    if text.casefold() in NULL_CELLS:
        return None
    if text in ("True", "False"):
        return text == "True"
    if text[0] in "{[":
        for candidate in (text, _BARE_NAN.sub(r"\1None", text)):
            try:
                return _nulls(ast.literal_eval(candidate))
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                continue
    # Text that only looks like a literal ("[PENDING] TESCO") stays text: a field that must be an object
    # is refused by the adapter, naming it.
    return text
