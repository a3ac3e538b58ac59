"""The Streamlit dashboard over the warehouse's reporting views (`cardlake dashboard`, docs/dashboard.md).

Pages: spending and rewards (`spending.py`), fraud with a live alerts feed (`fraud.py`), pipeline health
(`health.py`). Every query reads views only, read-only (`data.py`), and a DuckDB warehouse that is being loaded
shows the last good data with a notice instead of an error. `app.py` is the script Streamlit runs.
"""

from __future__ import annotations

from pathlib import Path

APP = Path(__file__).with_name("app.py")
PAGES = {"spending": "Spending and rewards", "fraud": "Fraud", "pipeline": "Pipeline health"}
