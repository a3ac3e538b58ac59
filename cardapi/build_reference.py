"""Build `cardapi/data/reference.json` from a Kaggle-format CSV (the Sparkov fraud data set).

The simulator draws names, jobs, streets, cities (with lat/long and population), merchant names and the
per-category amount quantiles of legitimate transactions from real rows, so a model trained on simulated data
sees the marginals of the real set. Run: `python -m cardapi.build_reference fraudTrain_head.csv`.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "data" / "reference.json"
QUANTILES = [i / 40 for i in range(41)]


def build(csv_path: Path) -> dict:
    first: dict[str, set[str]] = {"F": set(), "M": set()}
    last: set[str] = set()
    jobs: set[str] = set()
    streets: set[str] = set()
    cities: dict[tuple, None] = {}
    merchants: dict[str, str] = {}
    amounts: dict[str, list[float]] = defaultdict(list)
    with csv_path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            first[row["gender"]].add(row["first"])
            last.add(row["last"])
            jobs.add(row["job"])
            # keep the street name, not the house number: the generator draws its own numbers
            streets.add(row["street"].split(" ", 1)[1])
            key = (row["city"], row["state"], row["zip"], float(row["lat"]), float(row["long"]))
            cities[(*key, int(row["city_pop"]))] = None
            merchants[row["merchant"]] = row["category"]
            if row["is_fraud"] == "0":
                amounts[row["category"]].append(float(row["amt"]))
    return {
        "source": csv_path.name,
        "first_names": {g: sorted(v) for g, v in first.items()},
        "last_names": sorted(last),
        "jobs": sorted(jobs),
        "streets": sorted(streets),
        "cities": [list(c) for c in sorted(cities)],
        "merchants": sorted([name, cat] for name, cat in merchants.items()),
        "amount_quantiles": {
            cat: [round(float(q), 2) for q in np.quantile(np.array(v), QUANTILES)] for cat, v in sorted(amounts.items())
        },
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(build(Path(sys.argv[1])), separators=(",", ":")))
    print(f"wrote {OUT}")
