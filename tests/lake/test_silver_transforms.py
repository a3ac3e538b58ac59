"""chispa tests of the silver transforms on small hand-made pages."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from cardapi.replay_plutus import load_export
from contracts.records import category_of_mcc, reward_kind, statement_kind
from spark_jobs import schemas
from spark_jobs.jobs.silver import QUARANTINE_SPEC
from spark_jobs.pan import card_token, mask_card_numbers, mask_pans
from spark_jobs.transforms import silver as T
from tests.lake.landing_fixtures import PAN, PAN2, reward, transaction

pytestmark = pytest.mark.spark
KEY = "test-key"
PLUTUS_EXPORT = Path(__file__).resolve().parents[1] / "cardapi" / "data" / "plutus_export"


def pages(spark, *records_per_page, raw: list[str] | None = None):
    rows = [(f"raw/p{i}.json.gz", json.dumps({"data": recs})) for i, recs in enumerate(records_per_page)]
    rows += [(f"raw/bad{i}.json.gz", body) for i, body in enumerate(raw or [])]
    return spark.createDataFrame(rows, "source_file string, value string")


def checked_transactions(spark, *records_per_page, raw=None):
    return (
        pages(spark, *records_per_page, raw=raw)
        .transform(T.records_from_pages)
        .transform(T.parsed_with(schemas.RAW_TRANSACTION))
        .transform(T.with_transaction_rejection)
    )


def reasons(df) -> dict[str, str | None]:
    return {r["rid"]: r["reason"] for r in df.select(F.col("rec.id").alias("rid"), "reason").collect()}


def test_every_kind_of_malformed_transaction_is_quarantined_with_its_reason(spark):
    good = transaction("ok", "2025-06-01T10:00:00Z")
    bad = [
        transaction("no-amount", "2025-06-01T10:00:00Z", amount=None),
        transaction("text-amount", "2025-06-01T10:00:00Z", amount="abc"),
        transaction("negative", "2025-06-01T10:00:00Z", amount=-500),
        transaction("absurd", "2025-06-01T10:00:00Z", amount=9_999_999_999),
        transaction("usd", "2025-06-01T10:00:00Z", currency="XYZ"),
        transaction("bad-date", "2025-13-45T99:00:00Z"),
        transaction("short-pan", "2025-06-01T10:00:00Z", pan="1234"),
        transaction("no-type", "2025-06-01T10:00:00Z", tx_type=None),
    ]
    checked = checked_transactions(spark, [good, *bad])
    assert reasons(checked) == {
        "ok": None,
        "no-amount": "missing_field:amount",
        "text-amount": "wrong_type:amount",
        "negative": "negative_amount",
        "absurd": "absurd_amount",
        "usd": "unknown_currency",
        "bad-date": "bad_date:date",
        "short-pan": "bad_card_number",
        "no-type": "missing_field:type",
    }


def test_unparseable_page_and_non_object_records_are_quarantined_not_lost(spark):
    checked = checked_transactions(spark, [transaction("ok", "2025-06-01T10:00:00Z"), 42], raw=['{"data": [{"id"'])
    got = sorted((r["reason"] or "") for r in checked.collect())
    assert got == ["", "not_a_json_object", "unparseable_page"]


def test_quarantine_keeps_the_raw_record_with_card_numbers_masked(spark):
    checked = checked_transactions(spark, [transaction("neg", "2025-06-01T10:00:00Z", amount=-1)])
    row = checked.transform(T.quarantine_rows("transactions", "run-1")).collect()[0]
    assert row["reason"] == "negative_amount"
    assert PAN not in row["raw_record"]
    assert "************" + PAN[-4:] in row["raw_record"]
    assert row["source_file"] == "raw/p0.json.gz" and row["run_id"] == "run-1"


def test_a_bad_record_landed_on_two_pages_is_one_quarantine_row_with_its_latest_page(spark):
    bad = transaction("neg", "2025-06-01T10:00:00Z", amount=-1)
    other = transaction("text", "2025-06-01T10:00:00Z", amount="abc")
    checked = checked_transactions(spark, [bad], [bad, other])
    quarantine = checked.transform(T.quarantine_rows("transactions", "run-1"))
    kept = QUARANTINE_SPEC.latest_per_key(quarantine).collect()
    assert sorted((r["reason"], r["source_file"]) for r in kept) == [
        ("negative_amount", "raw/p1.json.gz"),
        ("wrong_type:amount", "raw/p1.json.gz"),
    ]


def test_card_token_is_the_hmac_sha256_of_the_pan_and_last_four_kept(spark):
    wide = (
        checked_transactions(spark, [transaction("t1", "2025-06-01T10:00:00Z")])
        .transform(T.accepted)
        .transform(T.normalised_transactions(KEY, "run-1"))
    )
    row = wide.transform(T.silver_transactions).collect()[0]
    assert row["card_token"] == hmac.new(KEY.encode(), PAN.encode(), hashlib.sha256).hexdigest()
    assert row["card_last4"] == PAN[-4:]
    assert PAN not in json.dumps(row.asDict(), default=str)


def test_silver_transaction_amounts_are_explicit_in_minor_units_and_gbp(spark):
    refund = transaction("r1", "2025-06-02T09:30:00Z", amount=1999, tx_type="CARD_REFUND", originalTransactionId="t1")
    wide = (
        checked_transactions(spark, [transaction("t1", "2025-06-01T10:00:00Z", amount=1999), refund])
        .transform(T.accepted)
        .transform(T.normalised_transactions(KEY, "run-1"))
    )
    got = wide.transform(T.silver_transactions).select(
        "transaction_id", "amount_minor", F.col("amount_gbp").cast("string").alias("gbp"), "is_refund",
        "is_debit", "original_transaction_id", "transaction_month",
    )  # fmt: skip
    expected = spark.createDataFrame(
        [("t1", 1999, "19.99", False, True, None, "2025-06"), ("r1", 1999, "19.99", True, False, "t1", "2025-06")],
        got.schema,
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_the_same_record_on_two_pages_hashes_the_same(spark):
    tx = transaction("t1", "2025-06-01T10:00:00Z")
    wide = (
        checked_transactions(spark, [tx], [tx]).transform(T.accepted).transform(T.normalised_transactions(KEY, "run-1"))
    )
    rows = wide.transform(T.silver_transactions).select("record_hash", "source_file").collect()
    assert len(rows) == 2 and rows[0]["record_hash"] == rows[1]["record_hash"]
    assert rows[0]["source_file"] != rows[1]["source_file"]


def test_rewards_validation_and_normalisation(spark):
    records = [
        reward("r1", "t1", "2025-06-01T12:00:00Z", plu=0.0625),
        reward("perk", None, "2025-06-01T12:00:00Z", rate=None, reward_type="PERK_REWARD", fiat=500),
        reward("bad-status", "t1", "2025-06-01T12:00:00Z", status="lost"),
        reward("neg", "t1", "2025-06-01T12:00:00Z", plu=-1),
        reward("rate", "t1", "2025-06-01T12:00:00Z", rate=250),
    ]
    checked = (
        pages(spark, records)
        .transform(T.records_from_pages)
        .transform(T.parsed_with(schemas.RAW_REWARD))
        .transform(T.with_reward_rejection)
    )
    assert reasons(checked) == {
        "r1": None,
        "perk": None,
        "bad-status": "unknown_status",
        "neg": "negative_amount",
        "rate": "absurd_rate",
    }
    silver = checked.transform(T.accepted).transform(T.silver_rewards("run-1"))
    got = silver.select("reward_id", "transaction_id", F.col("plu_amount").cast("string").alias("plu"),
                        "reward_rate_pct", "status", "created_month")  # fmt: skip
    expected = spark.createDataFrame(
        [
            ("r1", "t1", "0.06250000", 3.0, "pending", "2025-06"),
            ("perk", None, "0.06250000", None, "pending", "2025-06"),
        ],
        got.schema,
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_mask_pans_masks_11_to_19_digit_numbers_but_not_short_numbers_or_hex_ids(spark):
    text = 'card 4539578763621486 at 1325376018 for 42, "60416207185", id 0b24212345678901234f3065'
    df = spark.createDataFrame([(text,)], "t string")
    assert df.select(mask_pans(F.col("t"))).first()[0] == (
        'card ************1486 at 1325376018 for 42, "************7185", id 0b24212345678901234f3065'
    )


def _grouped(pan: str, separator: str) -> str:
    return separator.join(pan[i : i + 4] for i in range(0, len(pan), 4))


NOT_LUHN = PAN[:-1] + str((int(PAN[-1]) + 1) % 10)  # one digit off a card number: an order number, say


def test_card_numbers_in_free_text_are_masked_before_silver_and_other_numbers_kept(spark):
    tx = transaction("t1", "2025-06-01T10:00:00Z", description=f"order {NOT_LUHN}")
    tx["cardholder"]["firstName"] = _grouped(PAN, " ")
    tx["merchant"]["name"] = f"Shop {_grouped(PAN2, '-')} Ltd"
    wide = checked_transactions(spark, [tx]).transform(T.accepted).transform(T.normalised_transactions(KEY, "run-1"))
    got = (
        wide.transform(T.silver_transactions).select("transaction_id", "description", "card_last4")
        .join(wide.transform(T.silver_cardholders).select("first_name"), how="cross")
        .join(wide.transform(T.silver_merchants).select("merchant_name"), how="cross")
    )  # fmt: skip
    expected = spark.createDataFrame(
        [("t1", f"order {NOT_LUHN}", PAN[-4:], "**** **** **** 1486", "Shop ****-****-****-9424 Ltd")], got.schema
    )
    assert_df_equality(got, expected, ignore_nullable=True)


def test_quarantined_text_is_masked_for_separated_card_numbers_too(spark):
    bad = transaction("neg", "2025-06-01T10:00:00Z", amount=-1)
    bad["cardholder"]["lastName"] = _grouped(PAN2, " ")
    row = checked_transactions(spark, [bad]).transform(T.quarantine_rows("transactions", "run-1")).first()
    assert _grouped(PAN2, " ") not in row["raw_record"] and "**** **** **** 9424" in row["raw_record"]


def test_mask_card_numbers_masks_luhn_valid_runs_of_13_to_19_digits_only(spark):
    cases = {
        f"paid {PAN} and {_grouped(PAN2, ' ')}": "paid ************1486 and **** **** **** 9424",
        "amex 3782-822463-10005": "amex ****-******-*0005",
        f"order {NOT_LUHN}, tel 0800 123 4567": f"order {NOT_LUHN}, tel 0800 123 4567",
        "ref 45395787636214860000": "ref 45395787636214860000",  # 20 digits: longer than a card number
        f"id 0b{PAN}f3": f"id 0b{PAN}f3",
    }
    df = spark.createDataFrame([(text,) for text in cases], "t string")
    got = {r["t"]: r["masked"] for r in df.select("t", mask_card_numbers(F.col("t")).alias("masked")).collect()}
    assert got == cases


def test_card_token_refuses_an_empty_key(spark):
    with pytest.raises(ValueError, match="PAN token key is empty"):
        card_token(F.lit(PAN), "")


def test_a_personal_statement_row_without_card_or_merchant_is_accepted_without_a_token(spark):
    statement = transaction("s1", "2025-06-01T10:00:00Z")
    statement.update(card=None, cardholder=None, merchant=None)
    checked = checked_transactions(spark, [statement])
    assert reasons(checked) == {"s1": None}
    wide = checked.transform(T.accepted).transform(T.normalised_transactions(KEY, "run-1"))
    row = wide.transform(T.silver_transactions).first()
    assert (row["card_token"], row["address_id"], row["merchant_id"]) == (None, None, None)
    assert wide.transform(T.silver_cards).count() == 0
    assert wide.transform(T.silver_addresses).count() == 0
    assert wide.transform(T.silver_merchants).count() == 0


def test_a_card_programme_transaction_without_a_card_is_quarantined_but_a_statement_row_is_accepted(spark):
    card_gone = transaction("card-gone", "2025-06-01T10:00:00Z")
    del card_gone["card"]  # the simulator's missing-card fault drops the key
    card_null = transaction("card-null", "2025-06-01T10:00:00Z", card=None)
    number_null = transaction("number-null", "2025-06-01T10:00:00Z", card={"number": None, "cardholderId": "ch_1"})
    merchant_only = transaction("merchant-only", "2025-06-01T10:00:00Z")
    merchant_only.update(card=None, cardholder=None)
    statement = transaction("statement", "2025-06-01T10:00:00Z")
    statement.update(card=None, cardholder=None, merchant=None)
    checked = checked_transactions(spark, [card_gone, card_null, number_null, merchant_only, statement])
    assert reasons(checked) == {
        "card-gone": "missing_card",
        "card-null": "missing_card",
        "number-null": "missing_card",
        "merchant-only": "missing_card",
        "statement": None,
    }


def test_a_dimension_seen_on_many_transactions_keeps_each_distinct_version_once_with_its_newest_time(spark):
    wide = spark.createDataFrame(
        [
            ("m1", "Shop", "grocery_pos", "5411", 51.5, -0.1, "2025-06-01 10:00:00"),
            ("m1", "Shop", "grocery_pos", "5411", 51.5, -0.1, "2025-06-03 10:00:00"),
            ("m1", "Shop", "grocery_pos", "5411", 51.5, -0.1, "2025-06-02 10:00:00"),
            ("m1", "Shop Ltd", "grocery_pos", "5411", 51.5, -0.1, "2025-06-02 10:00:00"),
            ("m2", "Cafe", "food_dining", "5812", 52.0, -1.0, "2025-06-01 10:00:00"),
            (None, None, None, None, None, None, "2025-06-01 10:00:00"),
        ],
        "merchant_id string, merchant_name string, category string, mcc string, merchant_lat double, "
        "merchant_long double, updated_at string",
    ).select("*", F.col("updated_at").cast("timestamp").alias("ts"), F.lit("run-1").alias("run_id"))
    wide = wide.drop("updated_at").withColumnRenamed("ts", "updated_at")
    got = wide.transform(T.silver_merchants).select("merchant_id", "merchant_name", "updated_at", "run_id")
    expected = spark.createDataFrame(
        [
            ("m1", "Shop", "2025-06-03 10:00:00", "run-1"),
            ("m1", "Shop Ltd", "2025-06-02 10:00:00", "run-1"),
            ("m2", "Cafe", "2025-06-01 10:00:00", "run-1"),
        ],
        "merchant_id string, merchant_name string, updated_at string, run_id string",
    ).withColumn("updated_at", F.col("updated_at").cast("timestamp"))
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_a_real_shaped_plutus_export_is_accepted_whole_with_kinds_directions_and_currencies(spark):
    rewards, transactions = load_export(PLUTUS_EXPORT)
    checked = checked_transactions(spark, transactions)
    assert set(reasons(checked).values()) == {None}  # top-ups, loads, fees, payouts and EUR are real data
    silver = (
        checked.transform(T.accepted)
        .transform(T.normalised_transactions(KEY, "run-1"))
        .transform(T.silver_transactions)
    )
    got = {
        r["transaction_id"][-2:]: (r["statement_kind"], r["amount_minor"], r["currency"], r["is_debit"],
                                   None if r["amount_gbp"] is None else str(r["amount_gbp"]))
        for r in silver.collect()
    }  # fmt: skip
    assert got == {
        "01": ("card_purchase", 4997, "GBP", True, "49.97"),
        "02": ("card_purchase", 1250, "GBP", True, "12.50"),
        "03": ("card_refund", 1250, "GBP", False, "12.50"),
        "04": ("top_up", 10000, "GBP", False, "100.00"),
        "05": ("card_purchase", 2599, "GBP", True, "25.99"),
        "06": ("card_purchase", 800, "EUR", True, None),  # no rate to GBP: no GBP value
        "07": ("card_load", 5000, "GBP", True, "50.00"),
        "08": ("fee", 499, "GBP", True, "4.99"),
        "09": ("withdrawal", 2000, "GBP", True, "20.00"),
        "10": ("top_up", 1500, "GBP", False, "15.00"),
    }
    checked_rewards = (
        pages(spark, rewards)
        .transform(T.records_from_pages)
        .transform(T.parsed_with(schemas.RAW_REWARD))
        .transform(T.with_reward_rejection)
    )
    assert set(reasons(checked_rewards).values()) == {None}
    silver_rewards = checked_rewards.transform(T.accepted).transform(T.silver_rewards("run-1")).collect()
    assert {r["reward_id"][-2:]: (r["status"], r["fiat_amount_minor"], r["fiat_currency"], r["ticker"])
            for r in silver_rewards} == {
        "01": ("approved", 4997, "GBP", "PLU"),
        "02": ("approved", 1250, "GBP", "PLU"),
        "03": ("rejected", 2599, "GBP", "PLU"),
        "04": ("approved", None, "GBP", "PLU"),  # a bonus: no fiat value
        "05": ("approved", 800, "EUR", "PLU"),
    }  # fmt: skip


def test_statement_kind_in_spark_follows_the_contract_rules(spark):
    names = ["CARD_SETTLEMENT", "card_refund", "PENDING", "PAYIN", "PAYOUT", "LOAD_PLUTUS_CARD_FROM_X",
             "ATM_FEE", "WITHDRAW_FUNDS", "INTERNAL_TRANSFER", "CARD_DEPOSIT", "NEW_THING"]  # fmt: skip
    df = spark.createDataFrame([(n,) for n in names], "type string")
    got = {r["type"]: r["kind"] for r in df.select("type", T.statement_kind(F.col("type")).alias("kind")).collect()}
    assert got == {n: statement_kind(n) for n in names}


def test_reward_defects_stay_quarantined_with_their_field(spark):
    records = [
        reward("bonus", None, "2025-06-01T12:00:00Z", fiat=None, rate=None, reward_type="REBATE_BONUS"),
        reward("rebate-no-fiat", "t1", "2025-06-01T12:00:00Z", fiat=None),
        reward("plus", "t1", "2025-06-01T12:00:00Z", ticker="PLUS"),
        reward("btc", "t1", "2025-06-01T12:00:00Z", ticker="BTC"),
        reward("eur", "t1", "2025-06-01T12:00:00Z", fiatCurrency="EUR"),
        reward("usd", "t1", "2025-06-01T12:00:00Z", fiatCurrency="USD"),
    ]
    checked = (
        pages(spark, records)
        .transform(T.records_from_pages)
        .transform(T.parsed_with(schemas.RAW_REWARD))
        .transform(T.with_reward_rejection)
    )
    assert reasons(checked) == {
        "bonus": None,
        "rebate-no-fiat": "missing_field:fiatAmountRewarded",
        "plus": None,
        "btc": "unknown_ticker",
        "eur": None,
        "usd": "unknown_currency",
    }


def test_reward_kind_in_spark_follows_the_contract_rule(spark):
    cases = [("DAILY_REBATE_DISTRIBUTION", "contis_transactions"), ("DAILY_REBATE_DISTRIBUTION", None),
             ("REBATE_BONUS", None), (" rebate_bonus ", ""), ("DAILY_REBATE_DISTRIBUTION", "perk_12_reward"),
             ("REBATE_BONUS", "PERK_3_REWARD"), ("X", "perk_reward"), ("X", "perk_1_reward_x"),
             ("X", "fiat_partial"), ("X", " contis_partial "), ("REBATE_BONUS", "manual"), ("X", "referring"),
             (None, None)]  # fmt: skip
    df = spark.createDataFrame(cases, "type string, reference_type string")
    got = df.select("type", "reference_type", T.reward_kind(F.col("type"), F.col("reference_type")).alias("kind"))
    assert {(r["type"], r["reference_type"]): r["kind"] for r in got.collect()} == {
        case: reward_kind(*case) for case in cases
    }


def test_category_of_mcc_in_spark_follows_the_contract_table(spark):
    mccs = ["5411", " 7832 ", "0000", None]
    df = spark.createDataFrame([(m,) for m in mccs], "mcc string")
    got = {
        r["mcc"]: r["category"] for r in df.select("mcc", T.category_of_mcc(F.col("mcc")).alias("category")).collect()
    }
    assert got == {m: category_of_mcc(m) for m in mccs}


def silver_rewards_of(spark, records):
    checked = (
        pages(spark, records)
        .transform(T.records_from_pages)
        .transform(T.parsed_with(schemas.RAW_REWARD))
        .transform(T.with_reward_rejection)
    )
    return reasons(checked), {
        r["reward_id"]: r for r in checked.transform(T.accepted).transform(T.silver_rewards("run")).collect()
    }


def test_silver_keeps_the_reference_parent_and_nested_merchant_of_a_reward(spark):
    when = "2025-06-01T12:00:00Z"
    records = [
        reward("rebate", "t1", when, referenceType="contis_transactions", referenceId="t1", merchantName="Tesco",
               mcc="5411"),
        reward("partial", None, when, referenceType="fiat_partial", referenceId="rebate", parentRewardId="rebate"),
        reward("perk", None, when, rate=0.0, fiat=None, referenceType="perk_7_reward", referenceId="7"),
        reward("manual", None, when, rate=None, fiat=None, reward_type="REBATE_BONUS", referenceType="manual"),
        reward("old-page", "t1", when),  # landed before the fields existed: they read as null
        reward("card-in-name", "t1", when, merchantName=f"paid with {PAN}"),
    ]  # fmt: skip
    got_reasons, rows = silver_rewards_of(spark, records)
    assert set(got_reasons.values()) == {None}
    fields = ("reward_kind", "reference_type", "reference_id", "parent_reward_id", "merchant_name", "mcc",
              "transaction_id")  # fmt: skip
    assert {rid: tuple(row[f] for f in fields) for rid, row in rows.items()} == {
        "rebate": ("rebate", "contis_transactions", "t1", None, "Tesco", "5411", "t1"),
        "partial": ("partial", "fiat_partial", "rebate", "rebate", None, None, None),
        "perk": ("perk", "perk_7_reward", "7", None, None, None, None),
        "manual": ("manual", "manual", None, None, None, None, None),
        "old-page": ("rebate", None, None, None, None, None, "t1"),
        "card-in-name": ("rebate", None, None, None, "paid with ************1486", None, "t1"),
    }


def test_a_rebate_or_partial_without_fiat_is_a_defect_but_other_kinds_need_none(spark):
    when = "2025-06-01T12:00:00Z"
    records = [
        reward("rebate", "t1", when, fiat=None),
        reward("partial", None, when, fiat=None, referenceType="fiat_partial", parentRewardId="p"),
        reward("perk", None, when, fiat=None, referenceType="perk_1_reward"),
        reward("referral", None, when, fiat=None, referenceType="referring"),
    ]
    got_reasons, _ = silver_rewards_of(spark, records)
    assert got_reasons == {"rebate": "missing_field:fiatAmountRewarded",
                           "partial": "missing_field:fiatAmountRewarded", "perk": None, "referral": None}  # fmt: skip


def test_a_statement_row_with_an_mcc_but_no_category_gets_the_category_of_its_mcc(spark):
    rows = []
    for tid, mcc in (("t1", "7832"), ("t2", "1234")):
        row = transaction(tid, "2025-06-01T12:00:00Z", 500)
        row.update(card=None, cardholder=None, merchant=None, category=None, mcc=mcc)
        rows.append(row)
    silver = (
        checked_transactions(spark, rows)
        .transform(T.accepted)
        .transform(T.normalised_transactions(KEY, "run"))
        .transform(T.silver_transactions)
    )
    assert {r["transaction_id"]: r["category"] for r in silver.collect()} == {"t1": "entertainment", "t2": None}
