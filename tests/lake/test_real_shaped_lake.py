"""Issue 16's acceptance through the lake: landing records of every real-shaped case -> silver, gold, star.

Every case the real Plutus data shows (approved with a reason, pending, rejected, a bonus without a fiat
value, a perk, a partial and a partial of a partial, card rows, fiat purchases, top-ups, fees, an EUR account)
goes through the silver, gold and star jobs on Delta tables: none is quarantined, statuses and signed totals
are those of the input, every partial reaches its transaction through its parent, and only the two real
defects land in quarantine, each with its reason.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable

from spark_jobs.main import run_jobs
from tests.lake.landing_fixtures import land

pytestmark = [pytest.mark.spark, pytest.mark.slow]
D0 = datetime(2025, 6, 1, tzinfo=UTC)
WHEN = "2025-06-01T10:00:00Z"


def statement_row(tid: str, tx_type: str, amount: int, is_debit: bool, *, currency: str = "GBP",
                  mcc: str | None = None, description: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A statement row as the adapters land it: no card, cardholder or merchant object (a personal account)."""
    return {
        "id": tid, "date": WHEN, "type": tx_type, "amount": amount, "currency": currency, "isDebit": is_debit,
        "description": description, "cleanDescription": description, "mcc": mcc, "category": None,
        "card": None, "cardholder": None, "merchant": None, "isFraud": None, "originalTransactionId": None,
        "createdAt": WHEN, "updatedAt": WHEN,
    }  # fmt: skip


def landing_reward(rid: str, *, status: str, plu: str, fiat: int | None, rate: float | None,
                   reward_type: str = "DAILY_REBATE_DISTRIBUTION", reference_type: str | None = None,
                   reference_id: str | None = None, transaction: str | None = None, parent: str | None = None,
                   currency: str = "GBP", merchant: str | None = None,
                   mcc: str | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "id": rid, "ticker": "PLU", "amount": plu, "fiatAmountRewarded": fiat, "fiatCurrency": currency,
        "status": status, "type": reward_type, "rewardRate": rate, "transactionOriginalId": transaction,
        "referenceType": reference_type, "referenceId": reference_id, "parentRewardId": parent,
        "merchantName": merchant, "mcc": mcc, "createdAt": "2025-06-01T11:00:00Z",
        "updatedAt": "2025-06-01T11:00:00Z",
    }  # fmt: skip


TRANSACTIONS = [
    statement_row("s01", "CARD_SETTLEMENT", 4997, True),  # a card row; merchant and MCC only on its reward
    statement_row("s02", "CARD_SETTLEMENT", 1250, True, mcc="5812", description="Pizza Place"),  # fiat purchase
    statement_row("s03", "CARD_REFUND", 1250, False, description="Pizza Place"),
    statement_row("s04", "DEPOSIT_FUNDS_RECEIVED", 10000, False),  # a top-up
    statement_row("s05", "PLUTUS_MONTHLY_FEE", 499, True),  # a fee
    statement_row("s06", "CARD_SETTLEMENT", 800, True, currency="EUR", mcc="7832"),  # the EUR account
    statement_row("s07", "LOAD_PLUTUS_CARD_FROM_WALLET", 5000, True),
    statement_row("s08", "PENDING", 300, True),
]
REWARDS = [
    landing_reward("r01", status="approved", plu="0.25", fiat=4997, rate=3.0, reference_type="contis_transactions",
                   reference_id="s01", transaction="s01", merchant="Tesco Express", mcc="5411"),
    landing_reward("r02", status="pending", plu="0.0625", fiat=1250, rate=3.0, reference_type="fiat_transactions",
                   reference_id="s02", transaction="s02"),
    landing_reward("r03", status="rejected", plu="0.0625", fiat=1250, rate=3.0, reference_type="fiat_transactions",
                   reference_id="s02", transaction="s02"),
    landing_reward("r04", status="approved", plu="1.5", fiat=None, rate=None, reward_type="REBATE_BONUS"),
    landing_reward("r05", status="approved", plu="0.5", fiat=300, rate=0.0, reference_type="perk_2_reward",
                   reference_id="2"),
    landing_reward("r06", status="approved", plu="0.1", fiat=4997, rate=1.0, reference_type="fiat_partial",
                   reference_id="r01", parent="r01"),
    landing_reward("r07", status="pending", plu="0.05", fiat=4997, rate=0.5, reference_type="contis_partial",
                   reference_id="r06", parent="r06"),
    landing_reward("r08", status="approved", plu="0.04", fiat=800, rate=3.0, reference_type="fiat_transactions",
                   reference_id="s06", transaction="s06", currency="EUR"),
]  # fmt: skip
DEFECTS = {
    "transactions": [{**statement_row("bad-tx", "CARD_SETTLEMENT", 100, True), "amount": "abc"}],
    "rewards": [{**landing_reward("bad-rw", status="lost", plu="1", fiat=100, rate=1.0, transaction="s01")}],
}
EXPECTED_QUARANTINE = {("transactions", "wrong_type:amount"), ("rewards", "unknown_status")}


def rows(lake: Path, table: str) -> dict[str, dict[str, Any]]:
    records = DeltaTable(str(lake / table)).to_pyarrow_table().to_pylist()
    key = next(k for k in ("reward_id", "transaction_id", "quarantine_id") if records and k in records[0])
    return {r[key]: r for r in records}


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("real-shaped")
    end = D0 + timedelta(days=1)
    land(root / "landing", "transactions", D0, end, [TRANSACTIONS + DEFECTS["transactions"]])
    land(root / "landing", "rewards", D0, end, [REWARDS + DEFECTS["rewards"]])
    land(root / "landing", "plu_rates", D0, end, [[]])  # a real export has no rate feed
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CARDLAKE_PAN_TOKEN_KEY", "real-shaped-key")
        result = run_jobs([
            "--job", "silver,gold,star", "--landing-uri", str(root / "landing"), "--lake-uri", str(root / "lake"),
            "--window-start", D0.isoformat(), "--window-end", end.isoformat(), "--run-id", "real",
        ])  # fmt: skip
    return root / "lake", result


def test_only_the_real_defects_are_quarantined_each_with_its_reason_and_counts_reconcile(lake):
    path, result = lake
    quarantine = rows(path, "silver/quarantine")
    assert {(q["entity"], q["reason"]) for q in quarantine.values()} == EXPECTED_QUARANTINE
    for table, landed in (("silver/transactions", TRANSACTIONS), ("silver/rewards", REWARDS)):
        counts = result["silver"].table(table)
        assert (counts.read, counts.accepted, counts.rejected) == (len(landed) + 1, len(landed), 1)
        assert counts.reconciles
    gold = result["gold"].table("gold/reward_transactions")
    assert gold.read == len(REWARDS) and "2 partial(s) linked through their parent" in gold.note


def test_statuses_kinds_and_signed_totals_are_those_of_the_input(lake):
    path, _ = lake
    transactions = rows(path, "silver/transactions")
    assert {t: r["statement_kind"] for t, r in transactions.items()} == {
        "s01": "card_purchase", "s02": "card_purchase", "s03": "card_refund", "s04": "top_up", "s05": "fee",
        "s06": "card_purchase", "s07": "card_load", "s08": "card_authorisation",
    }  # fmt: skip
    facts = {
        r["transaction_id"]: r for r in DeltaTable(str(path / "gold/fact_transaction")).to_pyarrow_table().to_pylist()
    }
    for currency in ("GBP", "EUR"):
        landed = sum((t["amount"] if t["isDebit"] else -t["amount"]) for t in TRANSACTIONS if t["currency"] == currency)
        signed = sum(f["signed_amount_minor"] for f in facts.values() if f["currency"] == currency)
        assert signed == landed
    assert facts["s06"]["amount_gbp"] is None and facts["s06"]["amount_minor"] == 800  # EUR: no GBP value
    rewards = rows(path, "silver/rewards")
    assert {r: (row["status"], row["reward_kind"]) for r, row in rewards.items()} == {
        "r01": ("approved", "rebate"), "r02": ("pending", "rebate"), "r03": ("rejected", "rebate"),
        "r04": ("approved", "bonus"), "r05": ("approved", "perk"), "r06": ("approved", "partial"),
        "r07": ("pending", "partial"), "r08": ("approved", "rebate"),
    }  # fmt: skip


def test_every_partial_reaches_its_transaction_through_its_parent(lake):
    path, _ = lake
    gold = rows(path, "gold/reward_transactions")
    assert set(gold) == {r["id"] for r in REWARDS}  # nothing lost
    got = {r: (g["transaction_id"], g["transaction_link"], g["transaction_found"], g["unresolved_reason"])
           for r, g in gold.items()}  # fmt: skip
    assert got == {
        "r01": ("s01", "direct", True, None), "r02": ("s02", "direct", True, None),
        "r03": ("s02", "direct", True, None), "r04": (None, "no_transaction", False, None),
        "r05": (None, "no_transaction", False, None), "r06": ("s01", "via_parent", True, None),
        "r07": ("s01", "via_parent", True, None), "r08": ("s06", "direct", True, None),
    }  # fmt: skip


def test_the_join_is_at_least_a_plain_left_join_on_the_reference_plus_the_partial_hop(lake):
    path, _ = lake
    gold = rows(path, "gold/reward_transactions")
    landed_ids = {t["id"] for t in TRANSACTIONS}
    by_id = {r["id"]: r for r in REWARDS}
    plain = {r["id"] for r in REWARDS if r["referenceId"] in landed_ids}
    one_hop = {r["id"] for r in REWARDS if r["parentRewardId"] in by_id and by_id[r["parentRewardId"]]["referenceId"]
               in landed_ids}  # fmt: skip
    matched = {r for r, g in gold.items() if g["transaction_found"]}
    assert matched >= plain | one_hop
    assert matched - (plain | one_hop) == {"r07"}  # the partial of a partial: two hops


def test_values_money_and_merchant_data_in_gold_and_the_star(lake):
    path, _ = lake
    gold = rows(path, "gold/reward_transactions")
    value = {r: (str(g["reward_amount_minor"]) if g["reward_amount_minor"] is not None else None,
                 g["reward_currency"], g["plu_price_source"]) for r, g in gold.items()}  # fmt: skip
    assert value["r01"] == ("149.9100", "GBP", "derived_from_reward")  # 49.97 x 3 %
    assert value["r04"] == (None, "GBP", None)  # a bonus without a fiat value has no value, no price
    assert value["r05"] == ("300.0000", "GBP", "derived_from_reward")  # the perk's own value
    assert value["r08"] == ("24.0000", "EUR", None) and gold["r08"]["reward_amount_gbp"] is None
    assert (gold["r01"]["merchant_name"], gold["r01"]["mcc"], gold["r01"]["category"]) == (
        "Tesco Express", "5411", "grocery_pos"
    )  # fmt: skip
    facts = {
        r["transaction_id"]: r for r in DeltaTable(str(path / "gold/fact_transaction")).to_pyarrow_table().to_pylist()
    }
    assert (facts["s01"]["category"], facts["s01"]["mcc"], facts["s01"]["merchant_name"]) == (
        "grocery_pos", "5411", "Tesco Express"
    )  # fmt: skip
    assert facts["s02"]["category"] == "food_dining" and facts["s06"]["category"] == "entertainment"
    kinds = DeltaTable(str(path / "gold/dim_statement_kind")).to_pyarrow_table().to_pylist()
    key_of = {k["statement_kind"]: k["statement_kind_key"] for k in kinds}
    assert all(f["statement_kind_key"] == key_of[f["statement_kind"]] for f in facts.values())
    fact_rewards = {
        r["reward_id"]: r for r in DeltaTable(str(path / "gold/fact_reward")).to_pyarrow_table().to_pylist()
    }
    assert fact_rewards["r07"]["transaction_key"] == facts["s01"]["transaction_key"]
    assert fact_rewards["r05"]["transaction_key"] is None and fact_rewards["r05"]["reward_kind"] == "perk"
