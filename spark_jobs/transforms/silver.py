"""Raw API pages -> validated, normalised silver rows, and quarantine rows for everything that fails.

Every record read ends in exactly one of two places: accepted (a silver row) or quarantined (with a reason),
so `records_read = accepted + quarantined` holds by construction and is checked by the job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from contracts.records import (
    CATEGORY_OF_MCC,
    CURRENCIES,
    FIAT_OPTIONAL_REWARD_KINDS,
    GBP,
    MINOR_UNITS_PER_MAJOR,
    REWARD_KIND_DEFAULT,
    REWARD_KIND_RULES,
    REWARD_STATUSES,
    REWARD_TICKER,
    REWARD_TICKER_ALIASES,
    STATEMENT_KIND_RULES,
)
from spark_jobs import schemas
from spark_jobs.pan import card_last4, card_token, mask_card_numbers, mask_pans

MAX_AMOUNT_MINOR = 5_000_000  # £50,000: above it a card transaction is a data error, not spend
MIN_YEAR, MAX_YEAR = 1990, 2100
# The transaction fields that people or merchants type, where a card number can turn up in passing.
FREE_TEXT_COLUMNS = (
    "description",
    "clean_description",
    "merchant_name",
    "first_name",
    "last_name",
    "job",
    "street",
    "city",
    "state",
)


# ---- pages -> records --------------------------------------------------------------------------------------


def records_from_pages(pages: DataFrame) -> DataFrame:
    """(value: page body, source_file) -> one row per record: (source_file, raw_record, page_error).

    A page that is not a JSON envelope `{"data": [...]}` becomes a single row with `page_error` set, so it is
    quarantined whole instead of being lost.
    """
    # One projection parses each page once. Splitting good and bad pages into a filtered union parsed every
    # page three times and read it twice: a third of silver's time at full scale.
    envelope = pages.select("source_file", "value", F.from_json("value", "data array<string>").alias("env"))

    def record(raw: Column, page_error: Column) -> Column:
        return F.struct(raw.alias("raw_record"), page_error.alias("page_error"))

    page_records = F.when(
        F.col("env.data").isNotNull(), F.transform("env.data", lambda raw: record(raw, F.lit(None).cast("string")))
    ).otherwise(F.array(record(F.substring("value", 1, 20_000), F.lit("unparseable_page"))))
    return envelope.select("source_file", F.inline(page_records))


def parsed_with(schema: StructType) -> Callable[[DataFrame], DataFrame]:
    """Adds `rec`, the record parsed with the entity's explicit schema (null when it is not a JSON object)."""

    def parse(records: DataFrame) -> DataFrame:
        is_object = F.trim("raw_record").startswith("{")
        return records.withColumn(
            "rec", F.when(is_object & F.col("page_error").isNull(), F.from_json("raw_record", schema))
        )

    return parse


# ---- validation --------------------------------------------------------------------------------------------


def _ts(column: str) -> Column:
    value = F.col(column).cast("timestamp")
    return F.when(F.year(value).between(MIN_YEAR, MAX_YEAR), value)


def _is_integer(column: str) -> Column:
    return F.col(column).rlike(r"^-?[0-9]{1,18}$")


def _is_number(column: str) -> Column:
    return F.col(column).rlike(r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$")


def _first_reason(*checks: tuple[Column, str]) -> Column:
    return F.coalesce(*[F.when(condition, F.lit(reason)) for condition, reason in checks])


def _structural_checks() -> list[tuple[Column, str]]:
    return [
        (F.col("page_error").isNotNull(), "unparseable_page"),
        (F.col("rec").isNull(), "not_a_json_object"),
    ]


def with_transaction_rejection(records: DataFrame) -> DataFrame:
    """Adds `reason`: null for a valid transaction record, else the first rule it breaks."""
    number = F.regexp_replace("rec.card.number", r"[\s-]", "")
    # A card, cardholder or merchant object marks a card-programme (issuer) transaction, which needs a card
    # number; a personal statement row (the Plutus app's) has none of the three and is card-less by nature.
    card_programme = (
        F.col("rec.card").isNotNull() | F.col("rec.cardholder").isNotNull() | F.col("rec.merchant").isNotNull()
    )
    checks = [
        *_structural_checks(),
        (F.col("rec.id").isNull() | (F.trim("rec.id") == ""), "missing_field:id"),
        (F.col("rec.date").isNull(), "missing_field:date"),
        (_ts("rec.date").isNull(), "bad_date:date"),
        (F.col("rec.updatedAt").isNull(), "missing_field:updatedAt"),
        (_ts("rec.updatedAt").isNull(), "bad_date:updatedAt"),
        (F.col("rec.amount").isNull(), "missing_field:amount"),
        (~_is_integer("rec.amount"), "wrong_type:amount"),
        (F.col("rec.amount").cast("long") <= 0, "negative_amount"),
        (F.col("rec.amount").cast("long") > MAX_AMOUNT_MINOR, "absurd_amount"),
        (F.col("rec.currency").isNull(), "missing_field:currency"),
        (~F.upper("rec.currency").isin(*CURRENCIES), "unknown_currency"),
        (F.col("rec.type").isNull() | (F.trim("rec.type") == ""), "missing_field:type"),
        (F.col("rec.isDebit").isNull(), "missing_field:isDebit"),
        (card_programme & number.isNull(), "missing_card"),
        (number.isNotNull() & ~number.rlike(r"^[0-9]{11,19}$"), "bad_card_number"),
    ]
    return records.withColumn("reason", _first_reason(*checks))


def with_reward_rejection(records: DataFrame) -> DataFrame:
    checks = [
        *_structural_checks(),
        (F.col("rec.id").isNull() | (F.trim("rec.id") == ""), "missing_field:id"),
        (F.col("rec.createdAt").isNull(), "missing_field:createdAt"),
        (_ts("rec.createdAt").isNull(), "bad_date:createdAt"),
        (F.col("rec.updatedAt").isNull(), "missing_field:updatedAt"),
        (_ts("rec.updatedAt").isNull(), "bad_date:updatedAt"),
        (F.col("rec.amount").isNull(), "missing_field:amount"),
        (~_is_number("rec.amount"), "wrong_type:amount"),
        (F.col("rec.amount").cast("double") < 0, "negative_amount"),
        (F.col("rec.amount").cast("double") > 1e7, "absurd_amount"),
        (
            F.col("rec.fiatAmountRewarded").isNull()
            & ~reward_kind(F.col("rec.type"), F.col("rec.referenceType")).isin(*FIAT_OPTIONAL_REWARD_KINDS),
            "missing_field:fiatAmountRewarded",
        ),
        (~_is_integer("rec.fiatAmountRewarded"), "wrong_type:fiatAmountRewarded"),
        (F.col("rec.fiatAmountRewarded").cast("long") < 0, "negative_amount"),
        (F.col("rec.fiatAmountRewarded").cast("long") > MAX_AMOUNT_MINOR, "absurd_amount"),
        (~F.upper(F.coalesce(F.col("rec.fiatCurrency"), F.lit(GBP))).isin(*CURRENCIES), "unknown_currency"),
        (
            ~F.upper(F.coalesce(F.col("rec.ticker"), F.lit(REWARD_TICKER))).isin(*REWARD_TICKER_ALIASES),
            "unknown_ticker",
        ),
        (~F.coalesce(F.lower("rec.status").isin(*REWARD_STATUSES), F.lit(False)), "unknown_status"),
        (F.col("rec.type").isNull(), "missing_field:type"),
        (F.col("rec.rewardRate").isNotNull() & ~_is_number("rec.rewardRate"), "wrong_type:rewardRate"),
        (F.col("rec.rewardRate").cast("double").between(0, 100) == F.lit(False), "absurd_rate"),
    ]
    return records.withColumn("reason", _first_reason(*checks))


def with_plu_rate_rejection(records: DataFrame) -> DataFrame:
    checks = [
        *_structural_checks(),
        (F.col("rec.timestamp").isNull(), "missing_field:timestamp"),
        (_ts("rec.timestamp").isNull(), "bad_date:timestamp"),
        (F.col("rec.price").isNull(), "missing_field:price"),
        (~_is_number("rec.price"), "wrong_type:price"),
        (F.col("rec.price").cast("double") <= 0, "negative_amount"),
        (F.coalesce(F.col("rec.currency"), F.lit(GBP)) != F.lit(GBP), "unknown_currency"),  # prices are GBP
    ]
    return records.withColumn("reason", _first_reason(*checks))


def quarantine_id(entity: str, masked_raw: Column) -> Column:
    """The same bad record gets the same id whichever page, window or run landed it: it is quarantined once.

    The masked text is hashed, not the raw one: an unkeyed hash of a text holding a PAN could be brute-forced
    back to the digits that the mask hides.
    """
    return F.sha2(F.concat_ws("\u241f", F.lit(entity), masked_raw), 256)


def quarantine_rows(entity: str, run_id: str) -> Callable[[DataFrame], DataFrame]:
    """Rejected records with their reason; the raw text is kept with card numbers masked."""

    def build(checked: DataFrame) -> DataFrame:
        raw = mask_pans(mask_card_numbers(F.col("raw_record")))
        return checked.where(F.col("reason").isNotNull()).select(
            quarantine_id(entity, raw).alias("quarantine_id"),
            F.lit(entity).alias("entity"),
            "source_file",
            raw.alias("raw_record"),
            "reason",
            F.lit(run_id).alias("run_id"),
            F.current_timestamp().alias("quarantined_at"),
        )

    return build


def accepted(checked: DataFrame) -> DataFrame:
    return checked.where(F.col("reason").isNull())


# ---- normalisation -----------------------------------------------------------------------------------------


def _content_hash(*columns: str) -> Column:
    """A hash of the normalised content: equal records hash equal whatever page or run they came from."""
    return F.sha2(F.to_json(F.struct(*[F.col(c) for c in columns])), 256)


def _address_id(street: Column, city: Column, state: Column, zip_code: Column) -> Column:
    parts = [F.lower(F.trim(F.coalesce(c, F.lit("")))) for c in (street, city, state, zip_code)]
    present = F.coalesce(street, city, state, zip_code).isNotNull()
    return F.when(present, F.substring(F.sha2(F.concat_ws("|", *parts), 256), 1, 32))


def with_card_numbers_masked(columns: Sequence[str]) -> Callable[[DataFrame], DataFrame]:
    """Masks card numbers in the given text columns (pan.mask_card_numbers): no PAN reaches silver in passing."""

    def mask(df: DataFrame) -> DataFrame:
        return df.withColumns({name: mask_card_numbers(F.col(name)) for name in columns})

    return mask


def statement_kind(type_name: Column) -> Column:
    """The row kind of a contract `type` by `contracts.records.STATEMENT_KIND_RULES` (`statement_kind` in Python)."""
    name = F.upper(F.trim(type_name))
    kind: Column | None = None
    for match, pattern, value in STATEMENT_KIND_RULES:
        if match == "exact":
            condition = name == F.lit(pattern)
        elif match == "prefix":
            condition = name.startswith(pattern)
        else:
            condition = name.contains(pattern)
        kind = F.when(condition, F.lit(value)) if kind is None else kind.when(condition, F.lit(value))
    return F.lit("other") if kind is None else kind.otherwise(F.lit("other"))


def reward_kind(type_name: Column, reference_type: Column) -> Column:
    """A reward's kind by `contracts.records.REWARD_KIND_RULES` (`reward_kind` in Python)."""
    values = {
        "reference_type": F.lower(F.trim(F.coalesce(reference_type, F.lit("")))),
        "type": F.upper(F.trim(F.coalesce(type_name, F.lit("")))),
    }
    kind: Column | None = None
    for field, match, pattern, value in REWARD_KIND_RULES:
        subject = values[field]
        condition = subject == F.lit(pattern) if match == "exact" else subject.rlike(pattern)
        kind = F.when(condition, F.lit(value)) if kind is None else kind.when(condition, F.lit(value))
    default = F.lit(REWARD_KIND_DEFAULT)
    return default if kind is None else kind.otherwise(default)


def category_of_mcc(mcc: Column) -> Column:
    """The spending category of an MCC by `contracts.records.CATEGORY_OF_MCC`; null for an unlisted MCC."""
    table = F.create_map(*[F.lit(x) for pair in sorted(CATEGORY_OF_MCC.items()) for x in pair])
    return F.element_at(table, F.trim(mcc))


def amount_gbp(amount_minor: Column, currency: Column) -> Column:
    """Major units of GBP, only where the amount is in GBP: no rate to GBP exists for other currencies."""
    major = (amount_minor.cast("decimal(20,0)") / MINOR_UNITS_PER_MAJOR).cast(schemas.MONEY)
    return F.when(currency == F.lit(GBP), major)


def normalised_transactions(pan_key: str, run_id: str) -> Callable[[DataFrame], DataFrame]:
    """Accepted transaction records -> one wide row each (transaction, card, cardholder, address, merchant)."""

    def build(valid: DataFrame) -> DataFrame:
        r = "rec."
        ts = F.col(r + "date").cast("timestamp")
        amount_minor = F.col(r + "amount").cast("long")
        currency = F.upper(F.col(r + "currency"))
        kind = statement_kind(F.col(r + "type"))
        address = r + "cardholder.address."
        wide = valid.select(
            F.trim(F.col(r + "id")).alias("transaction_id"),
            ts.alias("transaction_ts"),
            F.to_date(ts).alias("transaction_date"),
            F.date_format(ts, "yyyy-MM").alias("transaction_month"),
            F.upper(F.trim(F.col(r + "type"))).alias("transaction_type"),
            kind.alias("statement_kind"),
            amount_minor.alias("amount_minor"),
            amount_gbp(amount_minor, currency).alias("amount_gbp"),
            currency.alias("currency"),
            F.col(r + "isDebit").alias("is_debit"),
            (kind == F.lit("card_refund")).alias("is_refund"),
            F.col(r + "description").alias("description"),
            F.col(r + "cleanDescription").alias("clean_description"),
            # A statement row with an MCC but no category (the real API's) gets its MCC's category.
            F.coalesce(
                F.col(r + "category"),
                F.col(r + "merchant.category"),
                category_of_mcc(F.coalesce(F.col(r + "mcc"), F.col(r + "merchant.mcc"))),
            ).alias("category"),
            F.coalesce(F.col(r + "mcc"), F.col(r + "merchant.mcc")).alias("mcc"),
            card_token(F.col(r + "card.number"), pan_key).alias("card_token"),
            card_last4(F.col(r + "card.number")).alias("card_last4"),
            F.coalesce(F.col(r + "cardholder.id"), F.col(r + "card.cardholderId")).alias("cardholder_id"),
            F.col(r + "merchant.id").alias("merchant_id"),
            F.coalesce(F.col(r + "isFraud"), F.lit(False)).alias("is_fraud"),
            F.col(r + "originalTransactionId").alias("original_transaction_id"),
            F.coalesce(F.col(r + "createdAt").cast("timestamp"), ts).alias("created_at"),
            F.col(r + "updatedAt").cast("timestamp").alias("updated_at"),
            # cardholder, address and merchant attributes, split into their own tables below
            F.col(r + "cardholder.firstName").alias("first_name"),
            F.col(r + "cardholder.lastName").alias("last_name"),
            F.upper(F.col(r + "cardholder.gender")).alias("gender"),
            F.col(r + "cardholder.dateOfBirth").cast("date").alias("date_of_birth"),
            F.col(r + "cardholder.job").alias("job"),
            F.col(address + "street").alias("street"),
            F.col(address + "city").alias("city"),
            F.col(address + "state").alias("state"),
            F.col(address + "zip").alias("zip"),
            F.col(address + "lat").alias("lat"),
            F.col(address + "long").alias("long"),
            F.col(address + "cityPopulation").alias("city_population"),
            F.col(r + "merchant.name").alias("merchant_name"),
            F.col(r + "merchant.lat").alias("merchant_lat"),
            F.col(r + "merchant.long").alias("merchant_long"),
            "source_file",
        )
        # The address id hashes the masked text: an unkeyed hash of a street holding a PAN could be reversed.
        address_id = _address_id(F.col("street"), F.col("city"), F.col("state"), F.col("zip"))
        return (
            wide.transform(with_card_numbers_masked(FREE_TEXT_COLUMNS))
            .withColumn("address_id", address_id)
            .withColumn("run_id", F.lit(run_id))
        )

    return build


def _select(schema: StructType, hash_columns: list[str] | None = None) -> Callable[[DataFrame], DataFrame]:
    def build(wide: DataFrame) -> DataFrame:
        names = [f.name for f in schema.fields]
        if hash_columns is not None:
            wide = wide.withColumn("record_hash", _content_hash(*hash_columns))
        return wide.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields if f.name in names])

    return build


_TX_CONTENT = [
    f.name for f in schemas.SILVER_TRANSACTIONS.fields if f.name not in ("record_hash", "source_file", "run_id")
]


def silver_transactions(wide: DataFrame) -> DataFrame:
    return wide.transform(_select(schemas.SILVER_TRANSACTIONS, _TX_CONTENT))


def _dimension(schema: StructType, content: list[str], present: Column) -> Callable[[DataFrame], DataFrame]:
    """One row per distinct version of a dimension that repeats on every transaction, before it is hashed.

    Identical rows collapse to one carrying their newest `updated_at`, which cannot change the merge's pick
    (the newest version, then the largest hash): thousands of rows are hashed and compared instead of millions.
    """

    def build(wide: DataFrame) -> DataFrame:
        versions = wide.where(present).groupBy(*content, "run_id").agg(F.max("updated_at").alias("updated_at"))
        return versions.transform(_select(schema, content))

    return build


def silver_cardholders(wide: DataFrame) -> DataFrame:
    cols = ["cardholder_id", "first_name", "last_name", "gender", "date_of_birth", "job", "address_id"]
    return wide.transform(_dimension(schemas.SILVER_CARDHOLDERS, cols, F.col("cardholder_id").isNotNull()))


def silver_addresses(wide: DataFrame) -> DataFrame:
    cols = ["address_id", "street", "city", "state", "zip", "lat", "long", "city_population"]
    has_address = F.coalesce(F.col("street"), F.col("city"), F.col("state"), F.col("zip")).isNotNull()
    return wide.transform(_dimension(schemas.SILVER_ADDRESSES, cols, has_address))


def silver_merchants(wide: DataFrame) -> DataFrame:
    cols = ["merchant_id", "merchant_name", "category", "mcc", "merchant_lat", "merchant_long"]
    return wide.transform(_dimension(schemas.SILVER_MERCHANTS, cols, F.col("merchant_id").isNotNull()))


def silver_cards(wide: DataFrame) -> DataFrame:
    cols = ["card_token", "card_last4", "cardholder_id"]
    return wide.transform(_dimension(schemas.SILVER_CARDS, cols, F.col("card_token").isNotNull()))


def silver_rewards(run_id: str) -> Callable[[DataFrame], DataFrame]:
    def build(valid: DataFrame) -> DataFrame:
        r = "rec."
        created = F.col(r + "createdAt").cast("timestamp")
        normalised = valid.select(
            F.trim(F.col(r + "id")).alias("reward_id"),
            F.col(r + "transactionOriginalId").alias("transaction_id"),
            F.lit(REWARD_TICKER).alias("ticker"),  # every alias (PLU, PLUS) names the one token
            F.col(r + "amount").cast(schemas.PLU).alias("plu_amount"),
            F.col(r + "fiatAmountRewarded").cast("long").alias("fiat_amount_minor"),
            F.upper(F.coalesce(F.col(r + "fiatCurrency"), F.lit(GBP))).alias("fiat_currency"),
            F.col(r + "rewardRate").cast("double").alias("reward_rate_pct"),
            F.col(r + "type").alias("reward_type"),
            reward_kind(F.col(r + "type"), F.col(r + "referenceType")).alias("reward_kind"),
            F.col(r + "referenceType").alias("reference_type"),
            F.col(r + "referenceId").alias("reference_id"),
            F.trim(F.col(r + "parentRewardId")).alias("parent_reward_id"),
            F.col(r + "merchantName").alias("merchant_name"),
            F.trim(F.col(r + "mcc")).alias("mcc"),
            F.lower(F.col(r + "status")).alias("status"),
            created.alias("created_at"),
            F.col(r + "updatedAt").cast("timestamp").alias("updated_at"),
            F.date_format(created, "yyyy-MM").alias("created_month"),
            "source_file",
        ).withColumn("run_id", F.lit(run_id))
        normalised = normalised.transform(with_card_numbers_masked(["merchant_name"]))
        content = [
            f.name for f in schemas.SILVER_REWARDS.fields if f.name not in ("record_hash", "source_file", "run_id")
        ]
        return normalised.transform(_select(schemas.SILVER_REWARDS, content))

    return build


def silver_plu_rates(run_id: str) -> Callable[[DataFrame], DataFrame]:
    def build(valid: DataFrame) -> DataFrame:
        ts = F.col("rec.timestamp").cast("timestamp")
        normalised = valid.select(
            ts.alias("rate_ts"),
            F.coalesce(F.col("rec.ticker"), F.lit("PLU")).alias("ticker"),
            F.coalesce(F.col("rec.currency"), F.lit("GBP")).alias("currency"),
            F.col("rec.price").cast("double").alias("price_gbp"),
            ts.alias("updated_at"),
            F.lit(run_id).alias("run_id"),
        )
        return normalised.transform(_select(schemas.SILVER_PLU_RATES, ["rate_ts", "ticker", "currency", "price_gbp"]))

    return build
