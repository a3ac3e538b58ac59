"""The fixture export (tests/importing/data) and ways to change it, as a person re-exporting would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

DATA = Path(__file__).parent / "data"
FILES = ("rewards.csv", "rewards_later.json", "statement.json", "statement_more.jsonl")
REWARD = "5c3e1c9a-0d1e-4f4e-9d43-6a1f3b2e7c{:02d}".format
TXN = "f0b9a3e2-1111-4c2d-9a10-0000000000{:02d}".format


def copy_export(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copy(DATA / name, folder / name)
    return [folder / name for name in FILES]


def change_statement_row(folder: Path, number: int, **fields: object) -> None:
    """Edit one row of the envelope file in place (a corrected re-export of an old day)."""
    path = folder / "statement.json"
    body = json.loads(path.read_text())
    for row in body["data"]:
        if row["id"] == TXN(number):
            row.update(fields)
    path.write_text(json.dumps(body, indent=2) + "\n")
