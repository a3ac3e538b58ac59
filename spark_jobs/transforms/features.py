"""Fraud features per transaction, computed from the card's own earlier history only (no leakage).

Order and "before": a card's transactions are ordered by (transaction_ts, transaction_id). A transaction's
history is every *purchase* on the same card that comes strictly before it in that order: an earlier second,
or the same second with a smaller transaction_id (a deterministic tiebreak; ids have no meaning beyond that).

Refunds (is_refund) get a feature row of their own but never count in any history: a refund moves money back
to the card, so counting it would make a purchase-then-refund pair look like a burst of spending.

Windows (velocity counts): "last 1 h" means prior purchases with `ts >= current_ts - 3600 s`, i.e. a purchase
exactly one hour earlier is counted and one 3601 s earlier is not; likewise 24 h (86,400 s) and 7 d
(604,800 s). Timestamps have second precision (the contract), so epoch seconds are exact. The 24 h window also
gives the number of those purchases made at night, their total and largest amount, and the total against the
card's running mean amount. A fraud burst runs at night over up to 48 h, so the night purchases of the last 48 h
(172,800 s, same rules) are counted, summed and maxed too, beside the time since the previous night purchase and
the card's share of night purchases so far.

Running amount statistics: mean and sample standard deviation of all prior purchases on the card, from exact
decimal sums (count, sum, sum of squares). `amount_to_card_mean` needs MIN_CARD_HISTORY prior purchases,
`amount_zscore` also a non-zero deviation; otherwise they are null (the model fills them from its training
reference, spark_jobs.fraud.reference). The amount against the card's own mean in the same category needs
MIN_CARD_HISTORY prior purchases in that category.

Card history (what makes a day appended cheap): every running feature is a count, an exact decimal sum, a latest
timestamp or a "bought here before" flag, so a card's rows before a boundary can be summarised once
(`card_history`) instead of windowed row by row. `transaction_features(rows, ..., history=card_history(earlier))`
then gives, for every row at least WEEK_S after the boundary (the longest window), exactly what the full history
gives: integer and decimal sums are associative, and the doubles are derived from them the same way on both paths.

Category reference: the mean purchase amount of the category over all cards on UTC days strictly before the
transaction's day, from exact decimal sums. Day granularity keeps it incremental-safe: a late transaction on
day d only changes rows of that category dated after d, which the features job finds by comparing stored values.

Dimensions: age from silver cardholders (date_of_birth via cardholder_id), home location from silver addresses
(via the transaction's address_id), merchant location from the transaction itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window, WindowSpec
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BooleanType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

HOUR_S = 3_600
DAY_S = 86_400
TWO_DAYS_S = 2 * DAY_S
WEEK_S = 7 * DAY_S
MIN_CARD_HISTORY = 3  # prior purchases needed before a ratio/z-score against the card's own mean means anything
MIN_CATEGORY_HISTORY = 30  # prior purchases in the category before its mean is used
EARTH_RADIUS_KM = 6371.0088
NIGHT_START_HOUR = 22  # night = 22:00-03:59 UTC, as dim_time.is_night
NIGHT_END_HOUR = 4

CATEGORY_REFERENCE_COLUMNS = ("category_amount_mean_before", "category_txn_count_before", "amount_to_category_mean")

GOLD_TRANSACTION_FEATURES = StructType(
    [
        StructField("transaction_id", StringType(), False),
        StructField("card_token", StringType(), True),
        StructField("transaction_ts", TimestampType(), True),
        StructField("transaction_date", DateType(), True),
        StructField("transaction_month", StringType(), True),
        StructField("category", StringType(), True),
        StructField("is_refund", BooleanType(), True),
        StructField("amount_gbp", DoubleType(), True),
        StructField("txn_count_1h", LongType(), True),
        StructField("txn_count_24h", LongType(), True),
        StructField("txn_count_7d", LongType(), True),
        StructField("night_txn_count_24h", LongType(), True),
        StructField("amount_24h_gbp", DoubleType(), True),
        StructField("max_amount_24h_gbp", DoubleType(), True),
        StructField("amount_24h_to_card_mean", DoubleType(), True),
        StructField("night_txn_count_48h", LongType(), True),
        StructField("night_amount_48h_gbp", DoubleType(), True),
        StructField("max_night_amount_48h_gbp", DoubleType(), True),
        StructField("seconds_since_prev_night_txn", LongType(), True),
        StructField("card_night_share_before", DoubleType(), True),
        StructField("card_category_txn_count_before", LongType(), True),
        StructField("amount_to_card_category_mean", DoubleType(), True),
        StructField("seconds_since_prev_txn", LongType(), True),
        StructField("card_txn_count_before", LongType(), True),
        StructField("card_amount_mean_before", DoubleType(), True),
        StructField("card_amount_std_before", DoubleType(), True),
        StructField("amount_to_card_mean", DoubleType(), True),
        StructField("amount_zscore", DoubleType(), True),
        StructField("category_amount_mean_before", DoubleType(), True),
        StructField("category_txn_count_before", LongType(), True),
        StructField("amount_to_category_mean", DoubleType(), True),
        StructField("hour_of_day", IntegerType(), True),
        StructField("is_night", BooleanType(), True),
        StructField("day_of_week", IntegerType(), True),
        StructField("cardholder_age_years", IntegerType(), True),
        StructField("is_first_at_merchant", BooleanType(), True),
        StructField("home_merchant_distance_km", DoubleType(), True),
        StructField("row_hash", StringType(), True),
        StructField("run_id", StringType(), True),
    ]
)
FEATURE_TABLE_COLUMNS = [f.name for f in GOLD_TRANSACTION_FEATURES.fields]
_HASHED_COLUMNS = [c for c in FEATURE_TABLE_COLUMNS if c not in ("row_hash", "run_id")]


# ---- windows ---------------------------------------------------------------------------------------------
def _card_order() -> WindowSpec:
    return Window.partitionBy("card_token").orderBy("_epoch", "transaction_id")


def _card_prior_rows() -> WindowSpec:
    return _card_order().rowsBetween(Window.unboundedPreceding, -1)


def _card_prior_seconds(seconds: int) -> WindowSpec:
    """Earlier seconds within `seconds` of the current one (both ends inclusive); the current second excluded."""
    return Window.partitionBy("card_token").orderBy("_epoch").rangeBetween(-seconds, -1)


def _same_second_before() -> WindowSpec:
    return (
        Window.partitionBy("card_token", "_epoch").orderBy("transaction_id").rowsBetween(Window.unboundedPreceding, -1)
    )


def _purchase_count(window: WindowSpec) -> Column:
    return F.coalesce(F.sum(F.col("_purchase")).over(window), F.lit(0)).cast("long")


def _prior_sum(value: Column, seconds: int) -> Column:
    """Sum of `value` over the card's earlier purchases within `seconds` (earlier seconds + same second before)."""
    earlier = F.coalesce(F.sum(value).over(_card_prior_seconds(seconds)), F.lit(0))
    same_second = F.coalesce(F.sum(value).over(_same_second_before()), F.lit(0))
    return earlier + same_second


# ---- card history before a boundary ----------------------------------------------------------------------
# Per card: purchases, purchase amounts (count, exact sum, exact sum of squares), night purchases, latest purchase
# and latest night purchase (epoch seconds). Typed explicitly: both paths must do the same decimal arithmetic.
_CARD_HISTORY_TYPES = {
    "_h_purchases": "long",
    "_h_amounts": "long",
    "_h_amount_sum": "decimal(38,2)",
    "_h_amount_sq_sum": "decimal(38,4)",
    "_h_night_purchases": "long",
    "_h_last_epoch": "long",
    "_h_last_night_epoch": "long",
}
_CATEGORY_HISTORY_TYPES = {"_h_category_amounts": "long", "_h_category_amount_sum": "decimal(38,2)"}
_MERCHANT_HISTORY_TYPES = {"_h_bought_at_merchant": "boolean"}


@dataclass(frozen=True)
class CardHistory:
    """A summary of cards' purchases before a boundary: per card, per (card, category), per (card, merchant)."""

    cards: DataFrame
    categories: DataFrame
    merchants: DataFrame


def _amount_decimal() -> Column:
    return F.col("amount_gbp").cast("decimal(18,2)")


def card_history(earlier: DataFrame) -> CardHistory:
    """What the running features need of `earlier` (silver rows, all before the rows they will be joined to)."""
    rows = earlier.transform(with_event_time).transform(with_calendar_features)
    purchase = F.col("_purchase") == 1
    amount = F.when(purchase, _amount_decimal())
    night_purchase = purchase & F.col("is_night")
    cards = rows.groupBy("card_token").agg(
        F.sum("_purchase").alias("_h_purchases"),
        F.count(amount).alias("_h_amounts"),
        F.sum(amount).alias("_h_amount_sum"),
        F.sum(amount * amount).alias("_h_amount_sq_sum"),
        F.sum(F.when(night_purchase, 1).otherwise(0)).alias("_h_night_purchases"),
        F.max(F.when(purchase, F.col("_epoch"))).alias("_h_last_epoch"),
        F.max(F.when(night_purchase, F.col("_epoch"))).alias("_h_last_night_epoch"),
    )
    bought = rows.where(purchase & F.col("amount_gbp").isNotNull())
    categories = bought.groupBy("card_token", "category").agg(
        F.count(amount).alias("_h_category_amounts"), F.sum(amount).alias("_h_category_amount_sum")
    )
    merchants = (
        rows.where(purchase).groupBy("card_token", "merchant_id").agg(F.lit(True).alias("_h_bought_at_merchant"))
    )
    return CardHistory(
        cards=_typed(cards, ("card_token",), _CARD_HISTORY_TYPES),
        categories=_typed(categories, ("card_token", "category"), _CATEGORY_HISTORY_TYPES),
        merchants=_typed(merchants, ("card_token", "merchant_id"), _MERCHANT_HISTORY_TYPES),
    )


def _typed(df: DataFrame, keys: tuple[str, ...], types: dict[str, str]) -> DataFrame:
    return df.select(*keys, *[F.col(name).cast(kind).alias(name) for name, kind in types.items()])


def _joined_null_safe(df: DataFrame, summary: DataFrame, keys: tuple[str, ...]) -> DataFrame:
    """Left join on `keys`, a null key matching a null key (as a window's partition groups nulls together)."""
    values = [c for c in summary.columns if c not in keys]
    renamed = summary.select(*[F.col(k).alias(f"_hk_{k}") for k in keys], *values)
    condition = [F.col(k).eqNullSafe(F.col(f"_hk_{k}")) for k in keys]
    return df.join(renamed, condition, "left").drop(*[f"_hk_{k}" for k in keys])


def with_card_history(df: DataFrame, history: CardHistory | None = None) -> DataFrame:
    """The `_h_*` summary columns of each row's card before the frame's rows; null (nothing earlier) without one."""
    if history is None:
        types = {**_CARD_HISTORY_TYPES, **_CATEGORY_HISTORY_TYPES, **_MERCHANT_HISTORY_TYPES}
        return df.withColumns({name: F.lit(None).cast(kind) for name, kind in types.items()})
    return (
        df.transform(_joined_null_safe, history.cards, ("card_token",))
        .transform(_joined_null_safe, history.categories, ("card_token", "category"))
        .transform(_joined_null_safe, history.merchants, ("card_token", "merchant_id"))
    )


def _with_history(history_column: str, in_frame: Column) -> Column:
    """A running count or sum: the card's history before the frame plus the frame's earlier rows."""
    return F.coalesce(F.col(history_column), F.lit(0)) + F.coalesce(in_frame, F.lit(0))


# ---- transforms ------------------------------------------------------------------------------------------
def with_event_time(df: DataFrame) -> DataFrame:
    """Epoch seconds (the window order key) and a purchase flag (refunds never count in a history)."""
    return df.withColumns(
        {
            "_epoch": F.unix_timestamp("transaction_ts").cast("long"),
            "_purchase": F.when(F.coalesce(F.col("is_refund"), F.lit(False)), 0).otherwise(1),
        }
    )


def _prior_max(value: Column, seconds: int) -> Column:
    """Largest `value` among the card's earlier purchases within `seconds` (null when there are none)."""
    return F.greatest(F.max(value).over(_card_prior_seconds(seconds)), F.max(value).over(_same_second_before()))


def with_card_velocity(df: DataFrame) -> DataFrame:
    """Prior purchases on the card in the last 1 h / 24 h / 7 d (boundary inclusive), same second included;
    in the last 24 h also how many were at night, how much they spent (exact decimal sum) and the largest one."""
    purchase = F.col("_purchase")
    night = F.when(F.col("is_night"), purchase).otherwise(0)
    spent = F.when(purchase == 1, F.col("amount_gbp").cast("decimal(18,2)"))
    return df.withColumns(
        {
            "txn_count_1h": _prior_sum(purchase, HOUR_S).cast("long"),
            "txn_count_24h": _prior_sum(purchase, DAY_S).cast("long"),
            "txn_count_7d": _prior_sum(purchase, WEEK_S).cast("long"),
            "night_txn_count_24h": _prior_sum(night, DAY_S).cast("long"),
            "amount_24h_gbp": _prior_sum(spent, DAY_S).cast("double"),
            "max_amount_24h_gbp": _prior_max(spent, DAY_S).cast("double"),
        }
    )


def with_burst_features(df: DataFrame) -> DataFrame:
    """A fraud burst's footprint before the current purchase (bursts run at night, over up to 48 h): the card's
    night purchases in the last 48 h (how many, their total, the largest one; boundary inclusive, same second
    included), seconds since its previous night purchase, and the share of all its earlier purchases made at
    night (null with fewer than MIN_CARD_HISTORY)."""
    purchase = F.col("_purchase")
    night_purchase = F.when(F.col("is_night"), purchase).otherwise(0)
    night_spent = F.when((purchase == 1) & F.col("is_night"), F.col("amount_gbp").cast("decimal(18,2)"))
    previous_night = F.coalesce(
        F.last(F.when(night_purchase == 1, F.col("_epoch")), ignorenulls=True).over(_card_prior_rows()),
        F.col("_h_last_night_epoch"),
    )
    prior_purchases = _with_history("_h_purchases", F.sum(purchase).over(_card_prior_rows()))
    prior_night = _with_history("_h_night_purchases", F.sum(night_purchase).over(_card_prior_rows()))
    return df.withColumns(
        {
            "night_txn_count_48h": _prior_sum(night_purchase, TWO_DAYS_S).cast("long"),
            "night_amount_48h_gbp": _prior_sum(night_spent, TWO_DAYS_S).cast("double"),
            "max_night_amount_48h_gbp": _prior_max(night_spent, TWO_DAYS_S).cast("double"),
            "seconds_since_prev_night_txn": (F.col("_epoch") - previous_night).cast("long"),
            "card_night_share_before": F.when(
                prior_purchases >= MIN_CARD_HISTORY, (prior_night / prior_purchases).cast("double")
            ),
        }
    )


def with_card_category_amount(df: DataFrame) -> DataFrame:
    """Amount against the card's own mean in this category (earlier purchases on the card in the category)."""
    window = (
        Window.partitionBy("card_token", "category")
        .orderBy("_epoch", "transaction_id")
        .rowsBetween(Window.unboundedPreceding, -1)
    )
    prior_amount = F.when(F.col("_purchase") == 1, _amount_decimal())
    count = _with_history("_h_category_amounts", F.count(prior_amount).over(window))
    total = _with_history("_h_category_amount_sum", F.sum(prior_amount).over(window))
    mean = total.cast("double") / count
    return df.withColumns(
        {
            "card_category_txn_count_before": count.cast("long"),
            "amount_to_card_category_mean": F.when(
                (count >= MIN_CARD_HISTORY) & (mean > 0), F.col("amount_gbp").cast("double") / mean
            ),
        }
    )


def with_seconds_since_previous(df: DataFrame) -> DataFrame:
    """Seconds since the card's previous purchase (0 within the same second); null for the first one."""
    previous = F.coalesce(
        F.last(F.when(F.col("_purchase") == 1, F.col("_epoch")), ignorenulls=True).over(_card_prior_rows()),
        F.col("_h_last_epoch"),
    )
    return df.withColumn("seconds_since_prev_txn", (F.col("_epoch") - previous).cast("long"))


def with_card_amount_stats(df: DataFrame) -> DataFrame:
    """Amount against the mean and sample deviation of every earlier purchase on the card.

    Both come from an exact count, sum and sum of squares: var = (n * sum(x^2) - sum(x)^2) / (n * (n - 1)), the
    numerator exact in decimal, so a card's history summarised before a boundary gives the very same doubles.
    """
    prior_amount = F.when(F.col("_purchase") == 1, _amount_decimal())
    window = _card_prior_rows()
    n = F.col("_n")
    amount = F.col("amount_gbp").cast("double")
    enough = F.col("card_txn_count_before") >= MIN_CARD_HISTORY
    mean, std = F.col("card_amount_mean_before"), F.col("card_amount_std_before")
    running = df.withColumns(
        {
            "_n": _with_history("_h_amounts", F.count(prior_amount).over(window)).cast("long"),
            "_sum": _with_history("_h_amount_sum", F.sum(prior_amount).over(window)),
            "_sq_sum": _with_history("_h_amount_sq_sum", F.sum(prior_amount * prior_amount).over(window)),
        }
    )
    spread = (n * F.col("_sq_sum") - F.col("_sum") * F.col("_sum")).cast("double") / (n * (n - 1)).cast("double")
    return (
        running.withColumns(
            {
                "card_txn_count_before": n,
                "card_amount_mean_before": F.when(n > 0, F.col("_sum").cast("double") / n),
                # a rounding-free numerator is never negative; greatest() only guards the double division's last bit
                "card_amount_std_before": F.when(n > 1, F.sqrt(F.greatest(spread, F.lit(0.0)))),
            }
        )
        .drop("_n", "_sum", "_sq_sum")
        .withColumns(  # ratios in a later projection: the windows are computed once
            {
                "amount_to_card_mean": F.when(enough & (mean > 0), amount / mean),
                "amount_24h_to_card_mean": F.when(enough & (mean > 0), F.col("amount_24h_gbp") / mean),
                "amount_zscore": F.when(enough & (std > 0), (amount - mean) / std),
            }
        )
    )


def with_first_at_merchant(df: DataFrame) -> DataFrame:
    """True when no earlier purchase on this card was at this merchant (in the frame or in its history)."""
    window = (
        Window.partitionBy("card_token", "merchant_id")
        .orderBy("_epoch", "transaction_id")
        .rowsBetween(Window.unboundedPreceding, -1)
    )
    bought_before = F.coalesce(F.col("_h_bought_at_merchant"), F.lit(False))
    return df.withColumn("is_first_at_merchant", (_purchase_count(window) == 0) & ~bought_before)


def with_calendar_features(df: DataFrame) -> DataFrame:
    """Hour (UTC), night flag (22:00-03:59) and ISO day of week (1 = Monday), from epoch seconds."""
    hour = F.floor(F.pmod(F.col("_epoch"), F.lit(DAY_S)) / HOUR_S).cast("int")
    day_of_week = (F.pmod(F.floor(F.col("_epoch") / DAY_S) + 3, F.lit(7)) + 1).cast("int")  # 1970-01-01: Thu
    return df.withColumns(
        {
            "hour_of_day": hour,
            "is_night": (hour >= NIGHT_START_HOUR) | (hour < NIGHT_END_HOUR),
            "day_of_week": day_of_week,
        }
    )


def category_amount_reference(transactions: DataFrame, min_history: int = MIN_CATEGORY_HISTORY) -> DataFrame:
    """Per (category, day): the category's purchase count and mean amount over all earlier days.

    Sums are exact decimals, so the same history always gives bit-identical means, whatever the batching.
    """
    is_purchase = ~F.coalesce(F.col("is_refund"), F.lit(False))
    daily = transactions.groupBy("category", "transaction_date").agg(
        F.sum(F.when(is_purchase, F.col("amount_gbp").cast("decimal(18,2)"))).alias("_day_sum"),
        F.sum(F.when(is_purchase, 1).otherwise(0)).cast("long").alias("_day_count"),
    )
    earlier = Window.partitionBy("category").orderBy("transaction_date").rowsBetween(Window.unboundedPreceding, -1)
    count_before = F.coalesce(F.sum("_day_count").over(earlier), F.lit(0)).cast("long")
    sum_before = F.sum("_day_sum").over(earlier)
    return daily.select(
        "category",
        "transaction_date",
        count_before.alias("category_txn_count_before"),
        F.when(count_before >= min_history, (sum_before / count_before).cast("double")).alias(
            "category_amount_mean_before"
        ),
    )


def with_category_amount(df: DataFrame, reference: DataFrame) -> DataFrame:
    """Amount against the category's mean on earlier days (see category_amount_reference)."""
    stripped = df.drop(*CATEGORY_REFERENCE_COLUMNS)
    joined = stripped.join(reference, ["category", "transaction_date"], "left")
    mean = F.col("category_amount_mean_before")
    return joined.withColumns(
        {
            "category_txn_count_before": F.coalesce(F.col("category_txn_count_before"), F.lit(0)).cast("long"),
            "amount_to_category_mean": F.when(mean > 0, F.col("amount_gbp").cast("double") / mean),
        }
    )


def with_cardholder_age(df: DataFrame, cardholders: DataFrame) -> DataFrame:
    """Whole years between date of birth and the transaction date."""
    dob = cardholders.select("cardholder_id", F.col("date_of_birth").alias("_dob"))
    age = F.floor(F.months_between(F.col("transaction_date"), F.col("_dob")) / 12).cast("int")
    return df.join(dob, "cardholder_id", "left").withColumn("cardholder_age_years", age).drop("_dob")


def haversine_km(lat1: Column, lon1: Column, lat2: Column, lon2: Column) -> Column:
    to_rad = math.pi / 180.0
    dlat = (lat2 - lat1) * to_rad
    dlon = (lon2 - lon1) * to_rad
    a = F.pow(F.sin(dlat / 2), 2) + F.cos(lat1 * to_rad) * F.cos(lat2 * to_rad) * F.pow(F.sin(dlon / 2), 2)
    clamped = F.when(a > 1.0, F.lit(1.0)).otherwise(a)  # rounding can push a past 1; least() would hide nulls
    return F.lit(2 * EARTH_RADIUS_KM) * F.asin(F.sqrt(clamped))


def with_home_merchant_distance(df: DataFrame, addresses: DataFrame) -> DataFrame:
    """Great-circle km between the cardholder's address and where this purchase happened (the transaction's own
    merchant location, so the value never depends on which other transactions have arrived)."""
    home = addresses.select("address_id", F.col("lat").alias("_home_lat"), F.col("long").alias("_home_long"))
    distance = haversine_km(F.col("_home_lat"), F.col("_home_long"), F.col("merchant_lat"), F.col("merchant_long"))
    return (
        df.join(home, "address_id", "left")
        .withColumn("home_merchant_distance_km", distance)
        .drop("_home_lat", "_home_long")
    )


def with_row_hash(df: DataFrame) -> DataFrame:
    """SHA-256 over every stored column except run_id, so an unchanged row is recognised and not rewritten."""
    parts = [F.coalesce(F.col(c).cast("string"), F.lit("\u2400")) for c in _HASHED_COLUMNS]
    return df.withColumn("row_hash", F.sha2(F.concat_ws("\u241f", *parts), 256))


def select_feature_columns(df: DataFrame) -> DataFrame:
    """The gold/transaction_features columns, typed as GOLD_TRANSACTION_FEATURES (run_id left null here)."""
    present = set(df.columns)
    return df.select(
        *[
            (F.col(f.name) if f.name in present else F.lit(None)).cast(f.dataType).alias(f.name)
            for f in GOLD_TRANSACTION_FEATURES.fields
        ]
    )


def transaction_features(
    transactions: DataFrame,
    cardholders: DataFrame,
    addresses: DataFrame,
    category_reference: DataFrame,
    history: CardHistory | None = None,
) -> DataFrame:
    """Every feature for each given transaction. `transactions` hold the cards' complete histories, or, with
    `history` summarising each card's rows before a boundary, the rows from it on: then only the rows at least
    WEEK_S after the boundary get the features the full history gives (the windows look back that far)."""
    return (
        transactions.transform(with_event_time)
        .transform(with_calendar_features)
        .transform(with_card_history, history)
        .transform(with_card_velocity)
        .transform(with_burst_features)
        .transform(with_seconds_since_previous)
        .transform(with_card_amount_stats)
        .transform(with_card_category_amount)
        .transform(with_first_at_merchant)
        .transform(with_category_amount, category_reference)
        .transform(with_cardholder_age, cardholders)
        .transform(with_home_merchant_distance, addresses)
        .transform(select_feature_columns)
        .transform(with_row_hash)
    )
