"""What every page shares: the one reader of the app, and the notice a page shows when its data is not fresh."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

from cardlake.config import warehouse_connection
from cardlake.dashboard.data import Frame, WarehouseReader
from cardlake.dashboard.lake import LakeRecords
from cardlake.settings import Settings


@dataclass(frozen=True)
class Sources:
    reader: WarehouseReader
    lake: LakeRecords
    warehouse_kind: str


@st.cache_resource(show_spinner=False)
def sources() -> Sources:
    """Settings resolved once per app process (CARDLAKE_* as for every command); one reader for all sessions."""
    from cardlake.config import load_settings

    settings: Settings = load_settings()
    connection = warehouse_connection(settings)
    return Sources(WarehouseReader(connection), LakeRecords(settings.lake_root), connection.kind)


@dataclass
class PageData:
    """Reads a page's frames and remembers whether any of them is stale or missing, for the page's notice."""

    reader: WarehouseReader
    frames: list[Frame] = field(default_factory=list)

    def frame(self, sql: str, params: Sequence[Any] = (), ttl_s: float | None = None) -> pd.DataFrame:
        frame = self.reader.read(sql, params, ttl_s=ttl_s)
        self.frames.append(frame)
        return frame.data

    def notice(self, where: Any) -> None:
        """A one-line notice in `where` (a placeholder at the top of the page) when the data is not fresh."""
        notice = page_notice(self.frames)
        if notice is None:
            return
        kind, text = notice
        if kind == "warning":
            where.warning(text, icon=":material/hourglass_top:")
        else:
            where.error(text, icon=":material/error:")


def page_notice(frames: Sequence[Frame]) -> tuple[str, str] | None:
    """("warning" | "error", text) for frames that are not fresh, or None when every frame is."""
    stale = [f for f in frames if f.stale]
    if stale:
        loading = all(f.problem == "loading" for f in stale)
        shown = [f.as_of for f in stale if f.as_of is not None]
        what = "warehouse is loading" if loading else (stale[0].problem or "warehouse is unavailable")
        if shown:
            return "warning", f"The {what}, showing data as of {min(shown):%H:%M} UTC."
        return "warning", f"The {what}; the figures appear when it finishes."
    failed = [f.problem for f in frames if f.problem]
    if failed:
        return "error", f"Could not read the warehouse: {failed[0]}"
    return None


def number(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "0"
    return f"{float(value):,.{digits}f}"


def first_row(frame: pd.DataFrame) -> dict[str, Any]:
    return {} if frame.empty else {k: (None if pd.isna(v) else v) for k, v in frame.iloc[0].items()}


def as_float(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Decimal columns (the warehouse's money) as floats, which the charts need."""
    out = frame.copy()
    for column in columns:
        if column in out:
            out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    return out
