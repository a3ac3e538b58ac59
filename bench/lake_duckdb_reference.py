"""The single-machine reference for the lake benchmark: silver + gold of spark_jobs/ in DuckDB SQL.

    CARDLAKE_PAN_TOKEN_KEY=... .venv/bin/python bench/lake_duckdb_reference.py --landing-uri DIR --out DIR \
        --window-start 2024-01-01T00:00:00Z --window-end 2025-12-31T00:00:00Z

Same input (the gz pages named by the manifests inside the window), same work as the Spark silver and gold
jobs into an empty lake: parse the page envelope, explode records, parse each record once with the raw schema,
apply the rules of spark_jobs/transforms/silver.py in the same order with the same reason codes, HMAC-SHA256
card tokens, card numbers masked in free text, content hashes (a dimension's once per distinct version), latest
row per key, the split into transactions/cards/cardholders/addresses/merchants, rewards, plu_rates and
quarantine (raw text with PANs masked, one row per distinct record), then gold `reward_transactions`.
Memory is capped like the Spark driver's (CARDLAKE_DUCKDB_MEMORY, default 6GB), spilling to disk beyond it;
only rejected records keep their raw text once checked (nothing else reads it).

Differences, on purpose and documented: the output is plain Parquet (no Delta log, which is a few small JSON
files); the HMAC is computed in SQL the way spark_jobs/pan.py does it (sha256 over the key's ipad/opad blocks),
per row, so both sides do equal work; a page must be one line of JSON (the API's bodies are). Prints a JSON
object of counts, which bench/bench_lake.py compares with the Spark run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from contracts.records import (
    CATEGORY_OF_MCC,
    CURRENCIES,
    FIAT_OPTIONAL_REWARD_KINDS,
    MAX_PARTIAL_HOPS,
    RATE_VALUED_REWARD_KINDS,
    REWARD_KIND_DEFAULT,
    REWARD_KIND_RULES,
    REWARD_TICKER_ALIASES,
    STATEMENT_KIND_RULES,
    TRANSACTION_REWARD_KINDS,
)

MAX_AMOUNT_MINOR = 5_000_000
MIN_YEAR, MAX_YEAR = 1990, 2100

# Raw schemas of spark_jobs/schemas.py as DuckDB JSON structures: strings stay the raw token text.
ADDRESS = {
    "street": "VARCHAR",
    "city": "VARCHAR",
    "state": "VARCHAR",
    "zip": "VARCHAR",
    "lat": "DOUBLE",
    "long": "DOUBLE",
    "cityPopulation": "BIGINT",
}
RAW = {
    "transactions": {
        "id": "VARCHAR",
        "date": "VARCHAR",
        "type": "VARCHAR",
        "amount": "VARCHAR",
        "currency": "VARCHAR",
        "isDebit": "VARCHAR",  # typed below from its JSON type, as Spark's BooleanType does
        "description": "VARCHAR",
        "cleanDescription": "VARCHAR",
        "mcc": "VARCHAR",
        "category": "VARCHAR",
        "card": {"number": "VARCHAR", "cardholderId": "VARCHAR"},
        "cardholder": {
            "id": "VARCHAR",
            "firstName": "VARCHAR",
            "lastName": "VARCHAR",
            "gender": "VARCHAR",
            "dateOfBirth": "VARCHAR",
            "job": "VARCHAR",
            "address": ADDRESS,
        },
        "merchant": {
            "id": "VARCHAR",
            "name": "VARCHAR",
            "category": "VARCHAR",
            "mcc": "VARCHAR",
            "lat": "DOUBLE",
            "long": "DOUBLE",
        },
        "isFraud": "BOOLEAN",
        "originalTransactionId": "VARCHAR",
        "createdAt": "VARCHAR",
        "updatedAt": "VARCHAR",
    },
    "rewards": {
        k: "VARCHAR"
        for k in (
            "id",
            "ticker",
            "amount",
            "fiatAmountRewarded",
            "fiatCurrency",
            "status",
            "type",
            "rewardRate",
            "transactionOriginalId",
            "referenceType",
            "referenceId",
            "parentRewardId",
            "merchantName",
            "mcc",
            "createdAt",
            "updatedAt",
        )
    },
    "plu_rates": {k: "VARCHAR" for k in ("timestamp", "ticker", "currency", "price")},
}

INTEGER = r"'^-?[0-9]{1,18}$'"
NUMBER = r"'^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$'"


def _ts(expr: str) -> str:
    """A timestamp (UTC) or null, like Spark's cast plus the year range check of the silver rules."""
    value = f"TRY_CAST({expr} AS TIMESTAMPTZ)"
    return f"CASE WHEN year({value}) BETWEEN {MIN_YEAR} AND {MAX_YEAR} THEN {value}::TIMESTAMP END"


def _in(values: tuple[str, ...] | list[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _statement_kind(type_expr: str) -> str:
    """contracts.records.STATEMENT_KIND_RULES as SQL (the Spark expression of silver.statement_kind)."""
    name = f"upper(trim({type_expr}))"
    tests = {"exact": "{n} = '{p}'", "prefix": "starts_with({n}, '{p}')", "contains": "contains({n}, '{p}')"}
    whens = " ".join(f"WHEN {tests[m].format(n=name, p=p)} THEN '{k}'" for m, p, k in STATEMENT_KIND_RULES)
    return f"CASE {whens} ELSE 'other' END"


def _reward_kind(type_expr: str, reference_expr: str) -> str:
    """contracts.records.REWARD_KIND_RULES as SQL (the Spark expression of silver.reward_kind)."""
    subject = {
        "reference_type": f"lower(trim(coalesce({reference_expr}, '')))",
        "type": f"upper(trim(coalesce({type_expr}, '')))",
    }
    whens = " ".join(
        f"WHEN {subject[f]} = '{p}' THEN '{k}'"
        if m == "exact"
        else f"WHEN regexp_matches({subject[f]}, '{p}') THEN '{k}'"
        for f, m, p, k in REWARD_KIND_RULES
    )
    return f"CASE {whens} ELSE '{REWARD_KIND_DEFAULT}' END"


def _category_of_mcc(mcc_expr: str) -> str:
    whens = " ".join(f"WHEN '{mcc}' THEN '{category}'" for mcc, category in sorted(CATEGORY_OF_MCC.items()))
    return f"CASE trim({mcc_expr}) {whens} END"


def _first_reason(checks: list[tuple[str, str]]) -> str:
    whens = "\n".join(f"    WHEN coalesce({cond}, false) THEN '{reason}'" for cond, reason in checks)
    return f"CASE\n{whens}\n  END"


STRUCTURAL = [("page_error IS NOT NULL", "unparseable_page"), ("rec IS NULL", "not_a_json_object")]

RULES = {
    "transactions": [
        *STRUCTURAL,
        ("rec.id IS NULL OR trim(rec.id) = ''", "missing_field:id"),
        ("rec.date IS NULL", "missing_field:date"),
        (f"({_ts('rec.date')}) IS NULL", "bad_date:date"),
        ("rec.updatedAt IS NULL", "missing_field:updatedAt"),
        (f"({_ts('rec.updatedAt')}) IS NULL", "bad_date:updatedAt"),
        ("rec.amount IS NULL", "missing_field:amount"),
        (f"NOT regexp_matches(rec.amount, {INTEGER})", "wrong_type:amount"),
        ("TRY_CAST(rec.amount AS BIGINT) <= 0", "negative_amount"),
        (f"TRY_CAST(rec.amount AS BIGINT) > {MAX_AMOUNT_MINOR}", "absurd_amount"),
        ("rec.currency IS NULL", "missing_field:currency"),
        (f"upper(rec.currency) NOT IN {_in(CURRENCIES)}", "unknown_currency"),
        ("rec.type IS NULL OR trim(rec.type) = ''", "missing_field:type"),
        ("is_debit IS NULL", "missing_field:isDebit"),
        # A card-programme transaction (card, cardholder or merchant present) needs a card number; a personal
        # statement row has none of the three. A card number present must look like one.
        (
            "(rec.card IS NOT NULL OR rec.cardholder IS NOT NULL OR rec.merchant IS NOT NULL)"
            " AND rec.card.number IS NULL",
            "missing_card",
        ),
        (
            r"regexp_replace(rec.card.number, '[\s-]', '', 'g') IS NOT NULL"
            r" AND NOT regexp_matches(regexp_replace(rec.card.number, '[\s-]', '', 'g'), '^[0-9]{11,19}$')",
            "bad_card_number",
        ),
    ],
    "rewards": [
        *STRUCTURAL,
        ("rec.id IS NULL OR trim(rec.id) = ''", "missing_field:id"),
        ("rec.createdAt IS NULL", "missing_field:createdAt"),
        (f"({_ts('rec.createdAt')}) IS NULL", "bad_date:createdAt"),
        ("rec.updatedAt IS NULL", "missing_field:updatedAt"),
        (f"({_ts('rec.updatedAt')}) IS NULL", "bad_date:updatedAt"),
        ("rec.amount IS NULL", "missing_field:amount"),
        (f"NOT regexp_matches(rec.amount, {NUMBER})", "wrong_type:amount"),
        ("TRY_CAST(rec.amount AS DOUBLE) < 0", "negative_amount"),
        ("TRY_CAST(rec.amount AS DOUBLE) > 1e7", "absurd_amount"),
        (
            "rec.fiatAmountRewarded IS NULL AND "
            f"{_reward_kind('rec.type', 'rec.referenceType')} NOT IN {_in(FIAT_OPTIONAL_REWARD_KINDS)}",
            "missing_field:fiatAmountRewarded",
        ),
        (f"NOT regexp_matches(rec.fiatAmountRewarded, {INTEGER})", "wrong_type:fiatAmountRewarded"),
        ("TRY_CAST(rec.fiatAmountRewarded AS BIGINT) < 0", "negative_amount"),
        (f"TRY_CAST(rec.fiatAmountRewarded AS BIGINT) > {MAX_AMOUNT_MINOR}", "absurd_amount"),
        (f"upper(coalesce(rec.fiatCurrency, 'GBP')) NOT IN {_in(CURRENCIES)}", "unknown_currency"),
        (f"upper(coalesce(rec.ticker, 'PLU')) NOT IN {_in(REWARD_TICKER_ALIASES)}", "unknown_ticker"),
        ("NOT coalesce(lower(rec.status) IN ('pending', 'approved', 'rejected'), false)", "unknown_status"),
        ("rec.type IS NULL", "missing_field:type"),
        (f"rec.rewardRate IS NOT NULL AND NOT regexp_matches(rec.rewardRate, {NUMBER})", "wrong_type:rewardRate"),
        ("NOT (TRY_CAST(rec.rewardRate AS DOUBLE) BETWEEN 0 AND 100)", "absurd_rate"),
    ],
    "plu_rates": [
        *STRUCTURAL,
        ("rec.timestamp IS NULL", "missing_field:timestamp"),
        (f"({_ts('rec.timestamp')}) IS NULL", "bad_date:timestamp"),
        ("rec.price IS NULL", "missing_field:price"),
        (f"NOT regexp_matches(rec.price, {NUMBER})", "wrong_type:price"),
        ("TRY_CAST(rec.price AS DOUBLE) <= 0", "negative_amount"),
        ("coalesce(rec.currency, 'GBP') NOT IN ('GBP')", "unknown_currency"),
    ],
}

KEYS = {
    "transactions": "transaction_id",
    "rewards": "reward_id",
    "plu_rates": "rate_ts, ticker, currency",
    "cards": "card_token",
    "cardholders": "cardholder_id",
    "addresses": "address_id",
    "merchants": "merchant_id",
}
PARTITIONS = {"transactions": "transaction_month", "rewards": "created_month"}


# ---- inputs ------------------------------------------------------------------------------------------------


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def page_files(landing: Path, entity: str, start: datetime, end: datetime, source: str = "cardapi") -> list[str]:
    """Pages named by the manifests whose window lies inside [start, end), as spark_jobs/landing_reader.py."""
    keys: set[str] = set()
    for manifest in (landing / "raw" / source / entity / "_manifests").glob("*.json"):
        body = json.loads(manifest.read_text())
        if _time(body["window_start"]) >= start and _time(body["window_end"]) <= end:
            keys.update(page["key"] for page in body.get("pages", []))
    return [str(landing / key) for key in sorted(keys)]


def _hmac_blocks(key: str) -> tuple[str, str]:
    raw = key.encode()
    if len(raw) > 64:
        raw = hashlib.sha256(raw).digest()
    block = raw.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block).hex(), bytes(b ^ 0x5C for b in block).hex()


def _setup(con: duckdb.DuckDBPyConnection, pan_key: str, run_id: str) -> None:
    ipad, opad = _hmac_blocks(pan_key)
    con.execute("SET TimeZone = 'UTC'")
    # HMAC-SHA256(key, pan) = sha256(opad || sha256(ipad || pan)), the construction of spark_jobs/pan.py.
    con.execute(
        f"""CREATE OR REPLACE MACRO card_token(pan) AS CASE WHEN pan IS NOT NULL THEN sha256(unhex('{opad}') ||
        unhex(sha256(unhex('{ipad}') || encode(regexp_replace(pan, '[\\s-]', '', 'g'))))) END"""
    )
    con.execute(
        """CREATE OR REPLACE MACRO card_last4(pan) AS CASE WHEN length(regexp_replace(pan, '[^0-9]', '', 'g')) >= 4
        THEN right(regexp_replace(pan, '[^0-9]', '', 'g'), 4) END"""
    )
    # RE2 has no look-behind: match the non-digit on either side and keep it (applied twice so adjacent
    # numbers sharing one separator are both masked).
    mask = r"regexp_replace(t, '(^|[^0-9A-Za-z])[0-9]{7,15}([0-9]{4})([^0-9A-Za-z]|$)', '\1************\2\3', 'g')"
    con.execute(f"CREATE OR REPLACE MACRO mask_once(t) AS {mask}")
    con.execute("CREATE OR REPLACE MACRO mask_pans(t) AS mask_once(mask_once(t))")
    _card_number_macros(con)
    con.execute(f"CREATE OR REPLACE MACRO bench_run_id() AS '{run_id}'")


def _card_number_macros(con: duckdb.DuckDBPyConnection) -> None:
    """mask_card_numbers(t) of spark_jobs/pan.py: Luhn-valid 13-19 digit runs in free text, all but the last four
    digits starred. RE2 has no look-around: whole runs of digits and single separators are extracted with any
    letter touching them, and the candidates that are not a bare 13-19 digit run are dropped."""
    con.execute(
        r"""CREATE OR REPLACE MACRO luhn_valid(d) AS list_sum(list_transform(range(length(d)), lambda i:
        CASE WHEN i % 2 = 1 THEN substr('0246813579', substr(reverse(d), i + 1, 1)::INT + 1, 1)::INT
             ELSE substr(reverse(d), i + 1, 1)::INT END)) % 10 = 0"""
    )
    con.execute(
        r"""CREATE OR REPLACE MACRO is_card_number(m) AS regexp_full_match(m, '[0-9](?:[ -]?[0-9]){12,18}')
        AND luhn_valid(regexp_replace(m, '[ -]', '', 'g'))"""
    )
    con.execute(
        r"""CREATE OR REPLACE MACRO last_four_digits(m) AS
        right(m, length(regexp_extract(reverse(m), '^(?:[0-9][ -]?){3}[0-9]')))"""
    )
    con.execute(
        r"""CREATE OR REPLACE MACRO star_but_last_four(m) AS
        regexp_replace(left(m, length(m) - length(last_four_digits(m))), '[0-9]', '*', 'g') || last_four_digits(m)"""
    )
    con.execute(
        r"""CREATE OR REPLACE MACRO mask_card_numbers(t) AS CASE WHEN regexp_matches(t, '[0-9](?:[ -]?[0-9]){12}')
        THEN list_reduce(regexp_extract_all(t, '[A-Za-z]?[0-9](?:[ -]?[0-9])*[A-Za-z]?'), lambda masked, m:
          CASE WHEN is_card_number(m) THEN replace(masked, m, star_but_last_four(m)) ELSE masked END, t)
        ELSE t END"""
    )


def _load_pages(con: duckdb.DuckDBPyConnection, entity: str, files: list[str]) -> None:
    """pages -> records(source_file, raw_record, page_error), unparseable pages kept whole as one record."""
    if not files:
        con.execute(
            f"CREATE OR REPLACE TABLE {entity}_records (source_file VARCHAR, raw_record VARCHAR, page_error VARCHAR)"
        )
        return
    file_list = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
    con.execute(
        f"""CREATE OR REPLACE VIEW {entity}_records AS
        WITH pages AS (
          SELECT regexp_extract(filename, '(raw/.*)$', 1) AS source_file, value,
                 coalesce(json_valid(value) AND json_type(value, '$.data') = 'ARRAY', false) AS ok
          FROM read_csv({file_list}, columns = {{'value': 'VARCHAR'}}, header = false, delim = '\\x1f', quote = '',
                        escape = '', compression = 'gzip', max_line_size = 33554432, buffer_size = 67108864,
                        filename = true, auto_detect = false, new_line = '\\n')
        )
        -- One scan of the pages (a CTE read twice would be materialised whole).
        SELECT source_file, CASE WHEN NOT ok THEN 'unparseable_page' END AS page_error,
               unnest(CASE WHEN ok THEN json_extract_string(value, '$.data[*]') ELSE [substr(value, 1, 20000)] END)
                 AS raw_record
        FROM pages""",
    )


def _check(con: duckdb.DuckDBPyConnection, entity: str) -> None:
    structure = json.dumps(RAW[entity]).replace("'", "''")
    extra = ""
    if entity == "transactions":
        # Spark's BooleanType field: only a JSON boolean is a boolean.
        extra = ", CASE WHEN json_type(raw_record, '$.isDebit') = 'BOOLEAN' THEN rec.isDebit::BOOLEAN END AS is_debit"
    con.execute(
        f"""CREATE OR REPLACE VIEW {entity}_parsed AS
        SELECT *{extra} FROM (
          SELECT source_file, raw_record, page_error,
                 CASE WHEN page_error IS NULL AND starts_with(ltrim(raw_record), '{{')
                      THEN from_json(raw_record, '{structure}') END AS rec
          FROM {entity}_records)"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE {entity}_checked AS
        SELECT * REPLACE (CASE WHEN reason IS NOT NULL THEN raw_record END AS raw_record) FROM (
          SELECT *, {_first_reason(RULES[entity])} AS reason FROM {entity}_parsed)"""
    )


def _quarantine_sql(entity: str) -> str:
    return f"""
      SELECT sha256(concat_ws('\u241f', '{entity}', raw_record)) AS quarantine_id, * FROM (
        SELECT '{entity}' AS entity, source_file, mask_pans(mask_card_numbers(raw_record)) AS raw_record, reason,
               bench_run_id() AS run_id, current_timestamp::TIMESTAMP AS quarantined_at
        FROM {entity}_checked WHERE reason IS NOT NULL)"""


def _hash(columns: list[str]) -> str:
    return "sha256(to_json(struct_pack(" + ", ".join(f"{c} := {c}" for c in columns) + ")))"


TX_COLUMNS = [
    "transaction_id", "transaction_ts", "transaction_date", "transaction_month", "transaction_type", "statement_kind",
    "amount_minor", "amount_gbp", "currency", "is_debit", "is_refund", "description", "clean_description",
    "category", "mcc", "card_token", "card_last4", "cardholder_id", "address_id", "merchant_id", "merchant_lat",
    "merchant_long", "is_fraud", "original_transaction_id", "created_at", "updated_at",
]  # fmt: skip
SPLITS = {
    "cards": ["card_token", "card_last4", "cardholder_id"],
    "cardholders": ["cardholder_id", "first_name", "last_name", "gender", "date_of_birth", "job", "address_id"],
    "addresses": ["address_id", "street", "city", "state", "zip", "lat", "long", "city_population"],
    "merchants": ["merchant_id", "merchant_name", "category", "mcc", "merchant_lat", "merchant_long"],
}
NOT_NULL = {
    "cardholders": "cardholder_id IS NOT NULL",
    "merchants": "merchant_id IS NOT NULL",
    "cards": "card_token IS NOT NULL",
    "addresses": "coalesce(street, city, state, zip) IS NOT NULL",
}
REWARD_COLUMNS = [
    "reward_id", "transaction_id", "ticker", "plu_amount", "fiat_amount_minor", "fiat_currency", "reward_rate_pct",
    "reward_type", "reward_kind", "reference_type", "reference_id", "parent_reward_id", "merchant_name", "mcc",
    "status", "created_at", "updated_at", "created_month",
]  # fmt: skip


def _wide_transactions(con: duckdb.DuckDBPyConnection) -> None:
    ts = "TRY_CAST(rec.date AS TIMESTAMPTZ)::TIMESTAMP"
    a = "rec.cardholder.address."
    # Free text is masked first and the address id hashes the masked text, as silver's normalisation does.
    free_text = {
        "description": "rec.description", "clean_description": "rec.cleanDescription",
        "merchant_name": "rec.merchant.name", "first_name": "rec.cardholder.firstName",
        "last_name": "rec.cardholder.lastName", "job": "rec.cardholder.job", "street": f"{a}street",
        "city": f"{a}city", "state": f"{a}state",
    }  # fmt: skip
    masked = ", ".join(f"mask_card_numbers({field}) AS {name}" for name, field in free_text.items())
    address_parts = ", ".join(f"lower(trim(coalesce({c}, '')))" for c in ("street", "city", "state", "zip"))
    con.execute(
        f"""CREATE OR REPLACE TABLE tx_wide AS
        SELECT *, CASE WHEN coalesce(street, city, state, zip) IS NOT NULL
            THEN substr(sha256(concat_ws('|', {address_parts})), 1, 32) END AS address_id
        FROM (
        SELECT trim(rec.id) AS transaction_id, {ts} AS transaction_ts, ({ts})::DATE AS transaction_date,
          strftime({ts}, '%Y-%m') AS transaction_month, upper(trim(rec.type)) AS transaction_type,
          {_statement_kind("rec.type")} AS statement_kind, TRY_CAST(rec.amount AS BIGINT) AS amount_minor,
          CASE WHEN upper(rec.currency) = 'GBP'
            THEN (TRY_CAST(rec.amount AS BIGINT)::DECIMAL(18, 0) / 100)::DECIMAL(18, 2) END AS amount_gbp,
          upper(rec.currency) AS currency, is_debit,
          {_statement_kind("rec.type")} = 'card_refund' AS is_refund, {masked},
          coalesce(rec.category, rec.merchant.category,
                   {_category_of_mcc("coalesce(rec.mcc, rec.merchant.mcc)")}) AS category,
          coalesce(rec.mcc, rec.merchant.mcc) AS mcc,
          card_token(rec.card.number) AS card_token, card_last4(rec.card.number) AS card_last4,
          coalesce(rec.cardholder.id, rec.card.cardholderId) AS cardholder_id,
          rec.merchant.id AS merchant_id, coalesce(rec.isFraud, false) AS is_fraud,
          rec.originalTransactionId AS original_transaction_id,
          coalesce(TRY_CAST(rec.createdAt AS TIMESTAMPTZ)::TIMESTAMP, {ts}) AS created_at,
          TRY_CAST(rec.updatedAt AS TIMESTAMPTZ)::TIMESTAMP AS updated_at,
          upper(rec.cardholder.gender) AS gender, TRY_CAST(rec.cardholder.dateOfBirth AS DATE) AS date_of_birth,
          {a}zip AS zip, {a}lat AS lat, {a}long AS long, {a}cityPopulation AS city_population,
          rec.merchant.lat AS merchant_lat, rec.merchant.long AS merchant_long,
          source_file, bench_run_id() AS run_id
        FROM transactions_checked WHERE reason IS NULL)"""
    )


def _latest(select_sql: str, key: str, version: str = "updated_at", tiebreak: str = "record_hash") -> str:
    """One row per key, newest version then largest tiebreak: MergeSpec.latest_per_key."""
    return f"""SELECT * FROM ({select_sql})
      QUALIFY row_number() OVER (
        PARTITION BY {key} ORDER BY {version} DESC NULLS LAST, {tiebreak} DESC NULLS LAST) = 1"""


def _write(con: duckdb.DuckDBPyConnection, sql: str, out: Path, partition: str | None = None) -> int:
    options = "FORMAT parquet, COMPRESSION snappy"
    if partition:
        options += f", PARTITION_BY ({partition}), OVERWRITE_OR_IGNORE true"
        target = out
    else:
        out.mkdir(parents=True, exist_ok=True)
        target = out / "part-0.parquet"
    con.execute(f"CREATE OR REPLACE TABLE _out AS {sql}")
    con.execute(f"COPY _out TO '{target}' ({options})")
    return int(con.execute("SELECT count(*) FROM _out").fetchone()[0])


def run(landing: Path, out: Path, start: datetime, end: datetime, pan_key: str, run_id: str) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    # A database file, not :memory:, so intermediate tables can leave memory under the cap.
    database = out / "_work.duckdb"
    database.unlink(missing_ok=True)
    con = duckdb.connect(str(database))
    threads = os.environ.get("CARDLAKE_DUCKDB_THREADS")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    # The same budget as the Spark driver, spilling beyond it like Spark's MEMORY_AND_DISK cache.
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"SET memory_limit = '{os.environ.get('CARDLAKE_DUCKDB_MEMORY', '6GB')}'")
    spill = out / "_spill"
    spill.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory = '{spill}'")
    _setup(con, pan_key, run_id)
    metrics: dict[str, Any] = {}
    timings: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        timings[name] = round(now - clock, 2)
        clock = now

    quarantine = []
    for entity in ("transactions", "rewards", "plu_rates"):
        files = page_files(landing, entity, start, end)
        _load_pages(con, entity, files)
        _check(con, entity)
        read, accepted = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE reason IS NULL) FROM {entity}_checked"
        ).fetchone()
        reasons = dict(
            con.execute(f"SELECT reason, count(*) FROM {entity}_checked WHERE reason IS NOT NULL GROUP BY 1").fetchall()
        )
        metrics[entity] = {"pages": len(files), "records_read": read, "accepted": accepted, "reasons": reasons}
        metrics[entity]["quarantined"] = sum(reasons.values())
        quarantine.append(_quarantine_sql(entity))
        lap(f"{entity}_parse_check")

    metrics["quarantine_rows"] = _write(
        con, _latest(" UNION ALL ".join(quarantine), "quarantine_id", "source_file", "reason"),
        out / "silver" / "quarantine",
    )  # fmt: skip
    lap("quarantine")

    _wide_transactions(con)
    lap("transactions_normalise")
    tx = f"SELECT {', '.join(TX_COLUMNS)}, {_hash(TX_COLUMNS)} AS record_hash, source_file, run_id FROM tx_wide"
    con.execute(f"CREATE OR REPLACE TABLE silver_tx AS {_latest(tx, KEYS['transactions'])}")
    metrics["transactions"]["rows"] = _write(
        con, "SELECT * FROM silver_tx", out / "silver" / "transactions", PARTITIONS["transactions"]
    )
    lap("transactions_write")
    for name, columns in SPLITS.items():
        where = f" WHERE {NOT_NULL[name]}" if name in NOT_NULL else ""
        # As silver's _dimension: identical versions collapse to their newest time before they are hashed.
        cols = ", ".join(columns)
        versions = f"SELECT {cols}, run_id, max(updated_at) AS updated_at FROM tx_wide{where} GROUP BY {cols}, run_id"
        sql = f"SELECT {cols}, updated_at, {_hash(columns)} AS record_hash, run_id FROM ({versions})"
        metrics[name] = {"rows": _write(con, _latest(sql, KEYS[name]), out / "silver" / name)}
    lap("dimensions_write")

    rewards = f"""SELECT *, {_hash(REWARD_COLUMNS)} AS record_hash, source_file, bench_run_id() AS run_id FROM (
        SELECT trim(rec.id) AS reward_id, rec.transactionOriginalId AS transaction_id,
          'PLU' AS ticker, TRY_CAST(rec.amount AS DECIMAL(28, 8)) AS plu_amount,
          TRY_CAST(rec.fiatAmountRewarded AS BIGINT) AS fiat_amount_minor,
          upper(coalesce(rec.fiatCurrency, 'GBP')) AS fiat_currency,
          TRY_CAST(rec.rewardRate AS DOUBLE) AS reward_rate_pct, rec.type AS reward_type,
          {_reward_kind("rec.type", "rec.referenceType")} AS reward_kind, rec.referenceType AS reference_type,
          rec.referenceId AS reference_id, trim(rec.parentRewardId) AS parent_reward_id,
          mask_card_numbers(rec.merchantName) AS merchant_name, trim(rec.mcc) AS mcc,
          lower(rec.status) AS status, TRY_CAST(rec.createdAt AS TIMESTAMPTZ)::TIMESTAMP AS created_at,
          TRY_CAST(rec.updatedAt AS TIMESTAMPTZ)::TIMESTAMP AS updated_at,
          strftime(TRY_CAST(rec.createdAt AS TIMESTAMPTZ)::TIMESTAMP, '%Y-%m') AS created_month, source_file
        FROM rewards_checked WHERE reason IS NULL)"""
    con.execute(f"CREATE OR REPLACE TABLE silver_rewards AS {_latest(rewards, KEYS['rewards'])}")
    metrics["rewards"]["rows"] = _write(
        con, "SELECT * FROM silver_rewards", out / "silver" / "rewards", PARTITIONS["rewards"]
    )
    rates = f"""SELECT *, {_hash(["rate_ts", "ticker", "currency", "price_gbp"])} AS record_hash FROM (
        SELECT TRY_CAST(rec.timestamp AS TIMESTAMPTZ)::TIMESTAMP AS rate_ts, coalesce(rec.ticker, 'PLU') AS ticker,
          coalesce(rec.currency, 'GBP') AS currency, TRY_CAST(rec.price AS DOUBLE) AS price_gbp,
          TRY_CAST(rec.timestamp AS TIMESTAMPTZ)::TIMESTAMP AS updated_at, bench_run_id() AS run_id
        FROM plu_rates_checked WHERE reason IS NULL)"""
    con.execute(f"CREATE OR REPLACE TABLE silver_rates AS {_latest(rates, KEYS['plu_rates'])}")
    metrics["plu_rates"]["rows"] = _write(con, "SELECT * FROM silver_rates", out / "silver" / "plu_rates")
    lap("rewards_rates_write")

    metrics["reward_transactions"] = _gold(con, out)
    lap("gold_reward_transactions")
    metrics["timings_s"] = timings
    metrics["duckdb"] = duckdb.__version__
    return metrics


def _gold(con: duckdb.DuckDBPyConnection, out: Path) -> dict[str, int]:
    """Every reward LEFT JOIN the transaction it belongs to (spark_jobs/transforms/gold.py): partials through
    their parent chain, value by kind, PLU price from the rate feed's hour or derived from the reward."""
    content = [
        "reward_id", "transaction_id", "reward_type", "reward_kind", "reference_type", "reference_id",
        "parent_reward_id", "transaction_link", "unresolved_reason", "reward_status", "is_available",
        "reward_created_at", "reward_updated_at", "plu_amount", "fiat_amount_minor", "reward_currency",
        "reward_rate_pct", "reward_amount_minor", "reward_amount_gbp", "plu_price_gbp", "plu_price_source",
        "transaction_found", "transaction_ts", "transaction_amount_minor", "transaction_currency",
        "transaction_amount_gbp", "transaction_type", "statement_kind", "category", "merchant_name", "mcc",
        "merchant_id", "card_token", "card_last4",
    ]  # fmt: skip
    sql = f"""
      WITH RECURSIVE hops(reward_id, next_id, hop) AS (
        SELECT reward_id, parent_reward_id, 0 FROM silver_rewards
        WHERE reward_kind = 'partial' AND parent_reward_id IS NOT NULL
        UNION ALL
        SELECT h.reward_id, p.parent_reward_id, h.hop + 1 FROM hops h JOIN silver_rewards p ON p.reward_id = h.next_id
        WHERE p.reward_kind = 'partial' AND p.parent_reward_id IS NOT NULL AND h.hop + 1 < {MAX_PARTIAL_HOPS}
      ),
      last_hop AS (SELECT reward_id, arg_max(next_id, hop) AS next_id FROM hops GROUP BY reward_id),
      links AS (
        SELECT l.reward_id, CASE WHEN p.reward_kind <> 'partial' THEN p.transaction_id END AS resolved,
          CASE WHEN p.reward_id IS NULL THEN 'parent_reward_not_found'
               WHEN p.reward_kind = 'partial' AND p.parent_reward_id IS NULL THEN 'partial_without_parent'
               WHEN p.reward_kind = 'partial' THEN 'partial_chain_too_long'
               WHEN p.transaction_id IS NULL THEN 'parent_reward_without_transaction' END AS link_reason
        FROM last_hop l LEFT JOIN silver_rewards p ON p.reward_id = l.next_id
      ),
      linked AS (
        SELECT r.* REPLACE (CASE WHEN r.reward_kind = 'partial' THEN k.resolved ELSE r.transaction_id END
                            AS transaction_id),
          CASE WHEN r.reward_kind = 'partial' THEN coalesce(k.link_reason, CASE WHEN r.parent_reward_id IS NULL
               THEN 'partial_without_parent' END) END AS link_reason
        FROM silver_rewards r LEFT JOIN links k ON k.reward_id = r.reward_id
      ),
      hourly AS (
        SELECT date_trunc('hour', rate_ts) AS hour, arg_max(price_gbp, rate_ts) AS feed_price FROM silver_rates
        WHERE ticker = 'PLU' AND currency = 'GBP' GROUP BY 1
      ),
      valued AS (
        SELECT v.*, CASE WHEN v.fiat_currency = 'GBP' THEN v.reward_amount_minor / 100 END::DECIMAL(18, 4)
            AS reward_amount_gbp FROM (
          SELECT l.*, CASE WHEN l.reward_kind IN {_in(RATE_VALUED_REWARD_KINDS)}
              THEN l.fiat_amount_minor::DECIMAL(20, 4) * l.reward_rate_pct::DECIMAL(9, 4) / 100
              ELSE l.fiat_amount_minor::DECIMAL(20, 4) END::DECIMAL(18, 4) AS reward_amount_minor
          FROM linked l) v
      ),
      priced AS (
        SELECT v.*, h.feed_price,
          round(CASE WHEN v.plu_amount > 0 THEN v.reward_amount_gbp::DOUBLE / v.plu_amount::DOUBLE END, 6) AS derived
        FROM valued v LEFT JOIN hourly h ON h.hour = date_trunc('hour', v.created_at)
      ),
      joined AS (
        SELECT v.reward_id, v.transaction_id, v.reward_type, v.reward_kind, v.reference_type, v.reference_id,
          v.parent_reward_id,
          CASE WHEN v.reward_kind = 'partial' AND v.transaction_id IS NOT NULL THEN 'via_parent'
               WHEN v.transaction_id IS NOT NULL THEN 'direct'
               WHEN v.reward_kind NOT IN {_in(TRANSACTION_REWARD_KINDS)} THEN 'no_transaction'
               ELSE 'unresolved' END AS transaction_link,
          coalesce(CASE WHEN v.reward_kind = 'partial' THEN v.link_reason
                        WHEN v.reward_kind IN {_in(TRANSACTION_REWARD_KINDS)} AND v.transaction_id IS NULL
                        THEN 'no_transaction_reference' END,
                   CASE WHEN v.transaction_id IS NOT NULL AND tx.transaction_id IS NULL
                        THEN 'transaction_not_found' END) AS unresolved_reason,
          v.status AS reward_status, v.status = 'approved' AS is_available, v.created_at AS reward_created_at,
          v.updated_at AS reward_updated_at, v.plu_amount, v.fiat_amount_minor, v.fiat_currency AS reward_currency,
          v.reward_rate_pct, v.reward_amount_minor, v.reward_amount_gbp, coalesce(v.feed_price, v.derived)
            AS plu_price_gbp,
          CASE WHEN v.feed_price IS NOT NULL THEN 'rate_feed' WHEN v.derived IS NOT NULL THEN 'derived_from_reward'
            END AS plu_price_source,
          tx.transaction_id IS NOT NULL AS transaction_found, tx.transaction_ts,
          tx.amount_minor AS transaction_amount_minor, tx.currency AS transaction_currency,
          tx.amount_gbp AS transaction_amount_gbp, tx.transaction_type, tx.statement_kind,
          coalesce(tx.category, {_category_of_mcc("coalesce(tx.mcc, v.mcc)")}) AS category,
          coalesce(tx.clean_description, v.merchant_name) AS merchant_name, coalesce(tx.mcc, v.mcc) AS mcc,
          tx.merchant_id, tx.card_token, tx.card_last4
        FROM priced v LEFT JOIN silver_tx tx ON tx.transaction_id = v.transaction_id)
      SELECT *, {_hash(content)} AS row_hash, bench_run_id() AS run_id FROM joined"""
    rows = _write(con, sql, out / "gold" / "reward_transactions")
    unmatched = con.execute("SELECT count(*) FROM _out WHERE NOT transaction_found").fetchone()[0]
    return {"rows": rows, "without_transaction": int(unmatched)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing-uri", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--window-start", required=True, type=_time)
    parser.add_argument("--window-end", required=True, type=_time)
    parser.add_argument("--run-id", default="duckdb-reference")
    args = parser.parse_args(argv)
    key = os.environ.get("CARDLAKE_PAN_TOKEN_KEY", "")
    if not key:
        sys.exit("no PAN token key: set CARDLAKE_PAN_TOKEN_KEY")
    started = time.monotonic()
    metrics = run(args.landing_uri, args.out, args.window_start, args.window_end, key, args.run_id)
    metrics["seconds"] = round(time.monotonic() - started, 2)
    shutil.rmtree(args.out / "_spill", ignore_errors=True)
    (args.out / "_work.duckdb").unlink(missing_ok=True)
    print(json.dumps(metrics, default=str))


if __name__ == "__main__":
    main()
