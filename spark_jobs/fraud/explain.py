"""Why an alert fired, as readable text: "amount_to_card_mean=8.4x; night; txn_count_24h=6".

A feature's weight for one transaction = the model's global importance of that feature x how unusual the
transaction's value is against legitimate training rows:
- numbers: |value - median| / spread (inter-quartile range, else standard deviation, else 1), capped at 20;
- flags (night, first purchase at the merchant): 1 when set and rare among legitimate rows (< 50%), else 0;
- category: the category's fraud rate over the overall rate (its lift) when above 1, capped at 20.
Missing values weigh nothing. The three heaviest non-zero features are listed, heaviest first. This is a
heuristic for a person triaging an alert, not an exact attribution of the trees' output.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import Column, DataFrame, Row
from pyspark.sql import functions as F

from spark_jobs.fraud.model import BOOLEAN_FEATURES, LABEL, NUMERIC_FEATURES

MAX_DEVIATION = 20.0
TOP_N = 3
_FLAG_TEXT = {
    "is_night": "night",
    "is_first_at_merchant": "first_at_merchant",
    "no_prior_purchase": "first_purchase_seen_on_card",
    "no_prior_night_purchase": "first_night_purchase_seen",
    "is_age_unknown": "age_unknown",
    "is_distance_unknown": "distance_unknown",
}
_RATIO = {
    "amount_to_card_mean",
    "amount_to_category_mean",
    "amount_to_card_category_mean",
    "amount_to_category_hour_mean",
}
_DECIMALS = {
    "amount_gbp": 2,
    "amount_zscore": 1,
    "home_merchant_distance_km": 0,
    "night_amount_48h_gbp": 2,
    "max_night_amount_48h_gbp": 2,
    "card_night_share_before": 2,
    "amount_24h_to_card_mean": 1,
    "cardholder_age_years": 0,
}


def _aggregate_row(df: DataFrame) -> Row:
    """The single row of a global aggregation (Spark always returns one, even for no input rows)."""
    row = df.first()
    if row is None:
        raise RuntimeError("a global aggregation returned no row")
    return row


def explanation_reference(training: DataFrame) -> dict[str, Any]:
    """Medians, spreads and rates from the labelled training rows (stored in the model's metrics.json)."""
    legit = training.where(F.col(LABEL) == 0)
    numeric: dict[str, dict[str, float]] = {}
    names = list(NUMERIC_FEATURES)
    quantiles = legit.select(*[F.col(c).cast("double").alias(c) for c in names]).approxQuantile(
        names, [0.25, 0.5, 0.75], 0.01
    )
    stds = _aggregate_row(legit.select(*[F.stddev(F.col(c).cast("double")).alias(c) for c in names]))
    for name, quartiles in zip(names, quantiles, strict=True) if quantiles else []:
        if not quartiles:  # no legitimate row has a value (e.g. a history-based feature on a young lake)
            continue
        q1, median, q3 = quartiles
        std = stds[name] or 0.0
        spread = (q3 - q1) if q3 - q1 > 0 else (std if std > 0 else 1.0)
        numeric[name] = {"median": float(median), "spread": float(spread)}
    flag_rates = _aggregate_row(legit.select(*[F.avg(F.col(c).cast("double")).alias(c) for c in BOOLEAN_FEATURES]))
    overall = _aggregate_row(training.select(F.avg(LABEL)))[0] or 0.0
    by_category = training.groupBy("category").agg(F.avg(LABEL).alias("rate")).collect()
    lift = {r["category"]: (r["rate"] / overall if overall else 0.0) for r in by_category if r["category"]}
    return {
        "numeric": numeric,
        "flag_rates": {c: float(flag_rates[c] or 0.0) for c in BOOLEAN_FEATURES},
        "category_lift": lift,
    }


def _numeric_text(name: str) -> Column:
    value = F.col(name).cast("double")
    if name in _RATIO:
        return F.concat(F.lit(f"{name}="), F.format_number(value, 1), F.lit("x"))
    if name in _DECIMALS:
        return F.concat(F.lit(f"{name}="), F.format_number(value, _DECIMALS[name]))
    return F.concat(F.lit(f"{name}="), F.col(name).cast("long").cast("string"))


def _entry(weight: Column, text: Column) -> Column:
    return F.struct(F.coalesce(weight, F.lit(0.0)).alias("weight"), text.alias("text"))


def top_features_column(reference: dict[str, Any], importances: dict[str, float]) -> Column:
    entries = []
    for name, stats in reference.get("numeric", {}).items():
        deviation = F.abs(F.col(name).cast("double") - F.lit(stats["median"])) / F.lit(stats["spread"])
        weight = F.lit(importances.get(name, 0.0)) * F.least(deviation, F.lit(MAX_DEVIATION))
        entries.append(_entry(weight, _numeric_text(name)))
    for name, rate in reference.get("flag_rates", {}).items():
        rare = 1.0 if rate < 0.5 else 0.0
        weight = F.when(F.col(name), F.lit(importances.get(name, 0.0) * rare))
        entries.append(_entry(weight, F.lit(_FLAG_TEXT.get(name, name))))
    lifts = {k: min(v, MAX_DEVIATION) for k, v in reference.get("category_lift", {}).items() if v > 1.0}
    if lifts:
        lift = F.element_at(F.create_map(*[F.lit(x) for kv in lifts.items() for x in kv]), F.col("category"))
        weight = F.lit(importances.get("category", 0.0)) * lift
        entries.append(_entry(weight, F.concat(F.lit("category="), F.col("category"))))
    ranked = F.sort_array(F.array(*entries), asc=False)
    kept = F.filter(ranked, lambda e: (e["weight"] > 0) & e["text"].isNotNull())
    return F.array_join(F.transform(F.slice(kept, 1, TOP_N), lambda e: e["text"]), "; ")
