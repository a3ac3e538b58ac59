"""Importing exports as people have them (pandas CSV, API JSON, JSON lines) into the landing zone."""

from __future__ import annotations

from cardlake.importing.importer import (
    FileCounts,
    ImportPlan,
    ImportRefused,
    ImportResult,
    land_import,
    plan_import,
)
from cardlake.importing.readers import ImportFileError, read_rows

__all__ = [
    "FileCounts",
    "ImportFileError",
    "ImportPlan",
    "ImportRefused",
    "ImportResult",
    "land_import",
    "plan_import",
    "read_rows",
]
