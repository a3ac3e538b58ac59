"""Export files as people have them: pandas CSV, JSON arrays and envelopes, JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cardlake.importing.readers import ImportFileError, read_rows

DATA = Path(__file__).parent / "data"


def test_a_pandas_csv_drops_its_index_columns_and_reads_literals_and_nulls() -> None:
    rows = read_rows(DATA / "rewards.csv")
    assert [r.line for r in rows] == [2, 3, 4, 5, 6, 7, 8]
    first = rows[0].fields
    assert "" not in first and "Unnamed: 0" not in first
    assert first["contis_transaction"] == {"description": "TESCO STORES 2345", "transaction_amount": 4997,
                                           "currency": "GBP", "mcc": "5411"}  # fmt: skip
    assert first["fiat_transaction"] is None and first["available"] is True
    assert first["fiat_amount_rewarded"] == "4997.0"  # an integer column holding a null: the adapter reads it
    bonus = rows[3].fields
    assert bonus["fiat_amount_rewarded"] is None and bonus["reference_id"] is None


def test_nan_none_and_empty_cells_are_null_and_a_nan_inside_a_literal_too(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(
        "Unnamed: 0,id,a,b,c,nested\n0,r1,NaN,None,,\"{'mcc': nan, 'name': 'Tesco'}\"\n1,r2,nan,null,NaT,\"[1, 2]\"\n"
    )
    rows = read_rows(path)
    assert rows[0].fields == {"id": "r1", "a": None, "b": None, "c": None, "nested": {"mcc": None, "name": "Tesco"}}
    assert rows[1].fields == {"id": "r2", "a": None, "b": None, "c": None, "nested": [1, 2]}


def test_text_that_only_looks_like_a_literal_stays_text(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("id,description\nt1,[PENDING] TESCO\n")
    assert read_rows(path)[0].fields["description"] == "[PENDING] TESCO"


def test_json_arrays_and_envelopes_give_each_record_its_line(tmp_path: Path) -> None:
    assert [r.line for r in read_rows(DATA / "statement.json")] == [3, 23, 43, 63, 83, 103]
    assert [r.line for r in read_rows(DATA / "rewards_later.json")] == [2]
    path = tmp_path / "compact.json"
    path.write_text(json.dumps([{"id": "a"}, {"id": "b", "x": NaN_TEXT}]).replace('"NaN!"', "NaN"))
    rows = read_rows(path)
    assert [r.fields for r in rows] == [{"id": "a"}, {"id": "b", "x": None}]  # JSON's NaN is a null


NaN_TEXT = "NaN!"


def test_json_lines_in_a_json_file_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "records.json"  # pandas to_json(orient="records", lines=True)
    path.write_text('{"id": "a"}\n\n{"id": "b"}\n')
    assert [(r.line, r.fields["id"]) for r in read_rows(path)] == [(1, "a"), (3, "b")]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "bad.jsonl",
            '{"id": "a"}\n{"id": oops}\n',
            r"^bad.jsonl:2: record: not JSON \(Expecting value at column 8\)$",
        ),
        ("bad.jsonl", '{"id": "a"}\n[1, 2]\n', r"^bad.jsonl:2: record: a list, not an object$"),
        ("bad.csv", "id,amount\nr1,1\nr2,2,3\n", r"^bad.csv:3: record: 3 fields, the header has 2$"),
        ("bad.json", '{"data": {"id": 1}}', r"^bad.json:1: data: a dict, not an array$"),
        ("bad.json", '[{"id": 1},', r"^bad.json:1: record: not JSON"),
        ("bad.txt", "hello", r"^bad.txt: unknown file type '.txt'"),
    ],
)
def test_an_unreadable_file_is_one_line_naming_file_line_and_field(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ImportFileError, match=message) as caught:
        read_rows(path)
    assert "\n" not in str(caught.value)
