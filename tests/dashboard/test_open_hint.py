"""`make run` ends by saying how to open the dashboard; the printed command points it at that run's files."""

from __future__ import annotations

import shlex
from pathlib import Path

from cardlake.summary import Locations, how_to_query


def test_the_summary_says_how_to_open_the_dashboard_on_the_runs_files(tmp_path: Path, monkeypatch) -> None:
    db, lake = tmp_path / "wh dir" / "warehouse.duckdb", tmp_path / "lake"
    lines = how_to_query(Locations(str(tmp_path / "landing"), str(lake), "duckdb", str(db)), Path("/opt/venv/bin"))
    assert "  make dashboard          # from the repository, or from anywhere:" in lines
    command = shlex.split(next(line for line in lines if line.strip().endswith("dashboard --port 8501")))
    *assignments, cli, subcommand, _, port = command
    assert (cli, subcommand, port) == ("/opt/venv/bin/cardlake", "dashboard", "8501")
    for name, value in (a.split("=", 1) for a in assignments):
        monkeypatch.setenv(name, value)
    from cardlake.config import load_settings

    settings = load_settings()
    assert (settings.duckdb_file, settings.lake_root) == (db.resolve(), str(lake))
    assert lines[-1] == "  then browse http://127.0.0.1:8501"
