"""The team's shared sample data (the `shared/` folder beside the repository), for tests and benchmarks."""

from __future__ import annotations

import os
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]  # tests/ sits at the top of the repository


def shared_file(relative: str) -> Path:
    """`relative` under $CARDLAKE_SHARED_DIR, else under `shared/` beside the repository (it may not exist)."""
    root = os.environ.get("CARDLAKE_SHARED_DIR") or REPOSITORY.parent / "shared"
    return Path(root) / relative


KAGGLE_HEAD = "data/kaggle/fraudTrain_head.csv"
