"""Distributions a model version was trained on, as quantile bins a population stability index can use.

Stored in the model's reference.json (`TrainingReference.drift`): for the score (on the validation months, the
scores the model gives rows it has not seen) and for the main features as the gold table stores them (training
months; nulls are a bin of their own, so a young lake's missing history shows up as drift), ten quantile bins:
their inner edges, each bin's share and the null share. `cardlake.fraud_evaluation` compares each month with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

PSI_BINS = 10
PSI_FLOOR = 1e-4  # an empty bin's share, so the index stays finite
SCORE_COLUMN = "fraud_score"
DRIFT_FEATURES: tuple[str, ...] = (
    "amount_gbp",
    "txn_count_24h",
    "night_amount_48h_gbp",
    "seconds_since_prev_txn",
    "card_txn_count_before",
    "amount_to_card_mean",
    "amount_to_category_mean",
    "hour_of_day",
)


def bins_of(values: np.ndarray, bins: int = PSI_BINS) -> dict[str, Any]:
    """Quantile bins of `values` (NaN = null): inner edges, shares of each bin and of nulls, and the row count."""
    v = np.asarray(values, dtype=float)
    known = v[~np.isnan(v)]
    edges = np.unique(np.quantile(known, np.linspace(0, 1, bins + 1)))[1:-1] if known.size else np.array([])
    return {"edges": [float(e) for e in edges], **_shares(v, edges), "rows": int(v.size)}


def _shares(v: np.ndarray, inner_edges: np.ndarray) -> dict[str, Any]:
    known = v[~np.isnan(v)]
    counts = np.bincount(np.searchsorted(inner_edges, known, side="right"), minlength=inner_edges.size + 1)
    total = float(v.size) or 1.0
    return {"shares": [float(c) / total for c in counts], "null_share": float(np.isnan(v).sum()) / total}


def psi_against(reference: dict[str, Any], values: np.ndarray) -> float:
    """Population stability index of `values` over the reference's bins (nulls a bin of their own)."""
    v = np.asarray(values, dtype=float)
    edges = np.asarray(reference["edges"], dtype=float)
    current = _shares(v, edges)
    p = np.maximum(np.r_[reference["shares"], reference["null_share"]], PSI_FLOOR)
    q = np.maximum(np.r_[current["shares"], current["null_share"]], PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def drift_reference(train_features: DataFrame, validation_scores: np.ndarray) -> dict[str, Any]:
    """Bins of the validation scores and of DRIFT_FEATURES over the training rows (gold values, nulls kept)."""
    present = [c for c in DRIFT_FEATURES if c in train_features.columns]
    rows = train_features.select(*[F.col(c).cast("double").alias(c) for c in present]).collect()
    values = np.array([[np.nan if v is None else v for v in r] for r in rows], dtype=float).reshape(-1, len(present))
    out = {name: bins_of(values[:, i]) for i, name in enumerate(present)}
    out[SCORE_COLUMN] = bins_of(np.asarray(validation_scores, dtype=float))
    return out
