"""The reference statistics a model version is trained with, and the fallbacks they give a young lake.

A feature that needs history (the card's own mean, the category's mean over earlier days) is null in the gold
table until the lake holds that history. Filling such a null with a sentinel (-1 for a ratio) makes a tree read
"no history" as "a very small amount", so a burst in a new lake scores lowest. Instead, the model carries what
its training rows looked like (`TrainingReference`, saved as `reference.json` beside the model) and
`with_reference_features` replaces each missing value with the honest estimate those statistics give:

Each feature, from the lake when it has the history, else from the model's reference:
- `amount_to_category_mean`: lake when the category has MIN_CATEGORY_HISTORY purchases on earlier days; else
  amount / the category's training mean (all purchases, as the lake counts them), else / the overall mean.
- `amount_to_card_mean`, `amount_zscore`: the card's when it has MIN_CARD_HISTORY prior purchases (z-score: and
  a non-zero deviation); else against the legitimate training purchases of the category in this hour band
  (when it has MIN_REFERENCE_ROWS of them), else of the category, else overall.
- `amount_to_card_category_mean`: the card's in this category (MIN_CARD_HISTORY there); else amount / the
  category reference `amount_to_category_mean` used.
- `amount_24h_to_card_mean`: as `amount_to_card_mean`; else the last 24 h spend / the overall legitimate mean.
- `card_night_share_before`: the card's; else the share of legitimate training purchases made at night.
- `cardholder_age_years`, `home_merchant_distance_km`: when known; else the legitimate training median, with
  `is_age_unknown` / `is_distance_unknown` set.

Where no honest estimate exists the value says what it is plus an indicator: "no earlier purchase" is
`no_prior_purchase` (and the gap is GAP_CAP_S, "longer than anything looked at"; real gaps are capped there
too), "no earlier night purchase" is `no_prior_night_purchase`. Empty windows are honest zeros (no spend).
`amount_to_category_hour_mean` (new; always from the reference) compares the amount with legitimate purchases of
the same category and hour band. `category_reference_source` and `card_reference_source` say per row which
source was used (`lake` / `card`, `model_category_hour`, `model_category`, `model_overall`).

The transform is pure and applied identically in training (`spark_jobs.fraud.training`) and scoring
(`spark_jobs.fraud.scoring.score_features`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark_jobs.transforms.features import MIN_CARD_HISTORY, NIGHT_END_HOUR, NIGHT_START_HOUR

REFERENCE_FILE = "reference.json"
GAP_CAP_S = 30 * 86_400  # "no earlier purchase within 30 days" and "no earlier purchase at all" read alike
MIN_REFERENCE_ROWS = 30  # a category x hour band needs this many legitimate training purchases to be used
# hour bands (UTC): night as is_night, then morning, afternoon, evening
HOUR_BANDS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("night", (*range(NIGHT_START_HOUR, 24), *range(0, NIGHT_END_HOUR))),
    ("morning", tuple(range(NIGHT_END_HOUR, 12))),
    ("afternoon", tuple(range(12, 18))),
    ("evening", tuple(range(18, NIGHT_START_HOUR))),
)
REFERENCE_COLUMNS = (
    "amount_to_category_hour_mean",
    "no_prior_purchase",
    "no_prior_night_purchase",
    "is_age_unknown",
    "is_distance_unknown",
)  # columns the transform adds beside the gold feature columns it fills
SOURCE_COLUMNS = ("category_reference_source", "card_reference_source")
SOURCE_LAKE = "lake"
SOURCE_CARD = "card"
SOURCE_CATEGORY_HOUR = "model_category_hour"
SOURCE_CATEGORY = "model_category"
SOURCE_OVERALL = "model_overall"


@dataclass(frozen=True)
class AmountStats:
    count: int
    mean: float
    std: float


@dataclass(frozen=True)
class TrainingReference:
    """Purchase-amount statistics of the training rows (see module docstring)."""

    overall: AmountStats  # all purchases (as the lake's category mean counts them)
    overall_legit: AmountStats
    by_category: dict[str, AmountStats]  # all purchases
    by_category_legit: dict[str, AmountStats]
    by_category_band: dict[str, dict[str, AmountStats]]  # category -> hour band -> legitimate purchases
    night_share: float
    median_age_years: float
    median_distance_km: float
    drift: dict[str, Any] = field(default_factory=dict)  # quantile bins for the evaluation's drift check

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @staticmethod
    def from_json(text: str) -> TrainingReference:
        raw = json.loads(text)

        def stats(d: dict[str, Any]) -> AmountStats:
            return AmountStats(int(d["count"]), float(d["mean"]), float(d["std"]))

        return TrainingReference(
            overall=stats(raw["overall"]),
            overall_legit=stats(raw["overall_legit"]),
            by_category={k: stats(v) for k, v in raw["by_category"].items()},
            by_category_legit={k: stats(v) for k, v in raw["by_category_legit"].items()},
            by_category_band={c: {b: stats(s) for b, s in v.items()} for c, v in raw["by_category_band"].items()},
            night_share=float(raw["night_share"]),
            median_age_years=float(raw["median_age_years"]),
            median_distance_km=float(raw["median_distance_km"]),
            drift=raw.get("drift", {}),
        )


def hour_band(hour: Column) -> Column:
    """The band name of an hour of day (null for a null hour)."""
    expr = None
    for name, hours in HOUR_BANDS:
        expr = F.when(hour.isin(*hours), F.lit(name)) if expr is None else expr.when(hour.isin(*hours), F.lit(name))
    assert expr is not None
    return expr


# ---- computing the reference ----------------------------------------------------------------------------------


def _stats_rows(df: DataFrame, keys: list[str]) -> list[Any]:
    amount = F.col("amount_gbp").cast("double")
    return (
        df.groupBy(*keys)
        .agg(
            F.count(amount).alias("n"),
            F.avg(amount).alias("mean"),
            F.coalesce(F.stddev_samp(amount), F.lit(0.0)).alias("std"),
        )
        .collect()
    )


def _stats(row: Any) -> AmountStats:
    return AmountStats(int(row["n"]), float(row["mean"] or 0.0), float(row["std"] or 0.0))


def training_reference(purchases: DataFrame, label: str = "label") -> TrainingReference:
    """From labelled training purchases (gold feature rows with `label` 0/1): amount statistics overall, per
    category (all purchases, as the lake counts them) and per category x hour band (legitimate purchases: what a
    normal purchase of that kind costs), the legitimate night share and medians of age and distance."""
    with_band = purchases.withColumn("_band", hour_band(F.col("hour_of_day")))
    legit = with_band.where(F.col(label) == 0)
    overall = _stats_rows(with_band, [])
    overall_legit = _stats_rows(legit, [])
    by_category = {r["category"]: _stats(r) for r in _stats_rows(with_band, ["category"]) if r["category"]}
    by_category_legit = {r["category"]: _stats(r) for r in _stats_rows(legit, ["category"]) if r["category"]}
    bands: dict[str, dict[str, AmountStats]] = {}
    for r in _stats_rows(legit, ["category", "_band"]):
        if r["category"] and r["_band"]:
            bands.setdefault(r["category"], {})[r["_band"]] = _stats(r)
    medians = legit.select(
        F.avg(F.col("is_night").cast("double")).alias("night"),
        F.percentile_approx(F.col("cardholder_age_years").cast("double"), 0.5).alias("age"),
        F.percentile_approx(F.col("home_merchant_distance_km").cast("double"), 0.5).alias("km"),
    ).first()
    assert medians is not None
    return TrainingReference(
        overall=_stats(overall[0]),
        overall_legit=_stats(overall_legit[0]),
        by_category=by_category,
        by_category_legit=by_category_legit,
        by_category_band=bands,
        night_share=float(medians["night"] or 0.0),
        median_age_years=float(medians["age"] if medians["age"] is not None else 0.0),
        median_distance_km=float(medians["km"] if medians["km"] is not None else 0.0),
    )


# ---- applying it --------------------------------------------------------------------------------------------


def _lookup(values: dict[str, float], key: Column) -> Column:
    if not values:
        return F.lit(None).cast("double")
    pairs = [F.lit(x) for k, v in sorted(values.items()) for x in (k, float(v))]
    return F.element_at(F.create_map(*pairs), key)


def _positive(value: float) -> Column:
    return F.lit(value if value > 0 else None).cast("double")


def with_reference_features(df: DataFrame, reference: TrainingReference) -> DataFrame:
    """Gold feature rows -> the same rows with every history-dependent feature filled from the lake when it has
    enough history, else from `reference`; indicator flags and source columns added (see module docstring)."""
    amount = F.col("amount_gbp").cast("double")
    category = F.coalesce(F.col("category"), F.lit(""))
    band_key = F.concat(category, F.lit("|"), hour_band(F.col("hour_of_day")))
    band_ok = {f"{c}|{b}": s for c, bands in reference.by_category_band.items() for b, s in bands.items()}
    band_ok = {k: s for k, s in band_ok.items() if s.count >= MIN_REFERENCE_ROWS and s.mean > 0}
    legit_ok = {k: s for k, s in reference.by_category_legit.items() if s.count >= MIN_REFERENCE_ROWS and s.mean > 0}
    category_ok = {k: s for k, s in reference.by_category.items() if s.count > 0 and s.mean > 0}

    # the category reference: the lake's mean on earlier days, else the model's category, else overall
    lake_mean = F.col("category_amount_mean_before")
    model_category_mean = _lookup({k: s.mean for k, s in category_ok.items()}, category)
    category_source = (
        F.when(lake_mean > 0, F.lit(SOURCE_LAKE))
        .when(model_category_mean.isNotNull(), F.lit(SOURCE_CATEGORY))
        .otherwise(F.lit(SOURCE_OVERALL))
    )
    category_mean = F.coalesce(F.when(lake_mean > 0, lake_mean), model_category_mean, _positive(reference.overall.mean))

    # what a normal purchase of this kind costs: category x hour band, else category, else overall (legitimate)
    band_mean = _lookup({k: s.mean for k, s in band_ok.items()}, band_key)
    band_std = _lookup({k: s.std for k, s in band_ok.items()}, band_key)
    legit_mean = _lookup({k: s.mean for k, s in legit_ok.items()}, category)
    legit_std = _lookup({k: s.std for k, s in legit_ok.items()}, category)
    kind_source = (
        F.when(band_mean.isNotNull(), F.lit(SOURCE_CATEGORY_HOUR))
        .when(legit_mean.isNotNull(), F.lit(SOURCE_CATEGORY))
        .otherwise(F.lit(SOURCE_OVERALL))
    )
    kind_mean = F.coalesce(band_mean, legit_mean, _positive(reference.overall_legit.mean))
    kind_std = F.coalesce(band_std, legit_std, F.lit(reference.overall_legit.std))

    card_known = F.coalesce(F.col("card_txn_count_before"), F.lit(0)) >= MIN_CARD_HISTORY
    card_mean = F.col("card_amount_mean_before")
    card_std = F.col("card_amount_std_before")
    kind_z = F.when(kind_std > 0, (amount - kind_mean) / kind_std).otherwise(F.lit(0.0))
    gap = F.col("seconds_since_prev_txn")
    night_gap = F.col("seconds_since_prev_night_txn")
    return (
        df.withColumn("category_reference_source", category_source)
        .withColumn(
            "card_reference_source", F.when(card_known & (card_mean > 0), F.lit(SOURCE_CARD)).otherwise(kind_source)
        )
        .withColumn(
            "amount_to_category_mean",
            F.when(lake_mean > 0, F.col("amount_to_category_mean")).otherwise(amount / category_mean),
        )
        .withColumn("amount_to_category_hour_mean", amount / kind_mean)
        .withColumn(
            "amount_to_card_mean",
            F.when(card_known & (card_mean > 0), F.col("amount_to_card_mean")).otherwise(amount / kind_mean),
        )
        .withColumn(
            "amount_zscore",
            F.when(card_known & (card_std > 0), F.col("amount_zscore")).otherwise(kind_z),
        )
        .withColumn(
            "amount_to_card_category_mean",
            F.coalesce(F.col("amount_to_card_category_mean"), amount / category_mean),
        )
        .withColumn(
            "amount_24h_to_card_mean",
            F.when(card_known & (card_mean > 0), F.col("amount_24h_to_card_mean")).otherwise(
                F.coalesce(F.col("amount_24h_gbp").cast("double"), F.lit(0.0)) / _positive(reference.overall_legit.mean)
            ),
        )
        .withColumn(
            "card_night_share_before",
            F.coalesce(F.col("card_night_share_before"), F.lit(reference.night_share)),
        )
        .withColumn("no_prior_purchase", gap.isNull())
        .withColumn("seconds_since_prev_txn", F.least(F.coalesce(gap, F.lit(GAP_CAP_S)), F.lit(GAP_CAP_S)))
        .withColumn("no_prior_night_purchase", night_gap.isNull())
        .withColumn("seconds_since_prev_night_txn", F.least(F.coalesce(night_gap, F.lit(GAP_CAP_S)), F.lit(GAP_CAP_S)))
        .withColumn("max_amount_24h_gbp", F.coalesce(F.col("max_amount_24h_gbp"), F.lit(0.0)))
        .withColumn("max_night_amount_48h_gbp", F.coalesce(F.col("max_night_amount_48h_gbp"), F.lit(0.0)))
        .withColumn("is_age_unknown", F.col("cardholder_age_years").isNull())
        .withColumn(
            "cardholder_age_years",
            F.coalesce(F.col("cardholder_age_years").cast("double"), F.lit(reference.median_age_years)),
        )
        .withColumn("is_distance_unknown", F.col("home_merchant_distance_km").isNull())
        .withColumn(
            "home_merchant_distance_km",
            F.coalesce(F.col("home_merchant_distance_km"), F.lit(reference.median_distance_km)),
        )
    )
