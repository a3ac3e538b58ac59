"""Replay: a Kaggle CSV and a Plutus export are served through the same contract."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cardapi import expected
from cardapi.config import SimulatorConfig
from cardapi.replay_kaggle import ReplayError, index_csv
from cardapi.replay_plutus import PlutusReplayError, load_export
from cardapi.server import serve_in_thread
from contracts.plutus_v3 import major_to_minor, reward_to_landing, statement_to_landing
from tests.cardapi.helpers import DATA, KAGGLE_HEAD, ApiClient

needs_kaggle = pytest.mark.skipif(not KAGGLE_HEAD.exists(), reason=f"{KAGGLE_HEAD} not present")


@needs_kaggle
@pytest.mark.slow
def test_kaggle_head_is_served_row_for_row_with_rewards() -> None:
    config = SimulatorConfig(replay_kaggle=KAGGLE_HEAD)
    with KAGGLE_HEAD.open(newline="") as fh:
        rows = {r["trans_num"]: r for r in csv.DictReader(fh)}
    assert len(rows) == 5039
    with serve_in_thread(config) as url:
        api = ApiClient(url, config)
        served = api.extract("transactions", "2019-01-01T00:00:00Z", "2019-02-01T00:00:00Z", limit=1000)
        rewards = api.extract("rewards", "2019-01-01T00:00:00Z", "2019-03-01T00:00:00Z", limit=5000)
    assert len(served) == 5039 and {t["id"] for t in served} == set(rows)
    for t in served:
        row = rows[t["id"]]
        assert t["date"] == row["trans_date_trans_time"].replace(" ", "T") + "Z"
        assert major_to_minor(t["amount"]) == round(float(row["amt"]) * 100)  # v3: major units as text
        assert t["card"]["number"] == row["cc_num"]
        assert t["merchant"]["name"] == t["transactionDescription"] == row["merchant"]
        assert t["category"] == row["category"] and t["isFraud"] == (row["is_fraud"] == "1")
        address = t["cardholder"]["address"]
        assert (address["street"], address["city"], address["state"], address["zip"]) == (
            row["street"], row["city"], row["state"], row["zip"])  # fmt: skip
        assert (address["lat"], address["long"], address["cityPopulation"]) == (
            float(row["lat"]), float(row["long"]), int(row["city_pop"]))  # fmt: skip
        assert (t["merchant"]["lat"], t["merchant"]["long"]) == (float(row["merch_lat"]), float(row["merch_long"]))
        holder = t["cardholder"]
        assert (holder["firstName"], holder["lastName"], holder["gender"], holder["dateOfBirth"], holder["job"]) == (
            row["first"], row["last"], row["gender"], row["dob"], row["job"])  # fmt: skip
    # the same card always maps to the same cardholder id
    holder_of = {}
    for t in served:
        assert holder_of.setdefault(t["card"]["number"], t["cardholder"]["id"]) == t["cardholder"]["id"]
    assert sum(t["isFraud"] for t in served) == 22
    # one rebate per row, pending then approved: the March window end is after every approval
    rebates = [r for r in rewards if r["referenceType"] == "contis_transactions"]
    assert {r["transactionOriginalId"] for r in rebates} == set(rows) and len(rebates) == len(rows)
    partials = [r for r in rewards if r["referenceType"] == "fiat_partial"]
    assert partials and {r["referenceId"] for r in partials} <= {r["id"] for r in rebates}
    for r in rebates:
        row = rows[r["transactionOriginalId"]]
        assert r["fiatAmountRewarded"] == round(float(row["amt"]) * 100)
        assert r["status"] == ("rejected" if row["is_fraud"] == "1" else r["status"])
        assert r["status"] in ("approved", "rejected") and r["rewardRate"] in (1.0, 2.0, 3.0)


KAGGLE_CSV_HEADER = (
    ",trans_date_trans_time,cc_num,merchant,category,amt,first,last,gender,street,city,state,zip,lat,long,"
    "city_pop,job,dob,trans_num,unix_time,merch_lat,merch_long,is_fraud\n"
)
KAGGLE_CSV_ROW = (
    '0,2019-01-01 00:00:18,2703186189652095,"fraud_Rippin, Kub and Mann",misc_net,4.97,Jennifer,Banks,F,'
    '561 Perry Cove,Moravian Falls,NC,28654,36.0788,-81.1781,3495,"Psychologist, counselling",1988-03-09,'
    "0b242abb623afc578575680df30655b9,1325376018,36.011293,-82.048315,0\n"
)


def test_kaggle_replay_rejects_bad_files_with_line_numbers(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(ReplayError, match="not a Kaggle fraud CSV"):
        index_csv(wrong)
    good = KAGGLE_CSV_ROW
    bad = tmp_path / "bad.csv"
    bad.write_text(KAGGLE_CSV_HEADER + good + good.replace(",4.97,", ",abc,").replace("0,2019", "1,2019", 1))
    with pytest.raises(ReplayError, match="line 3"):
        index_csv(bad)
    ok = tmp_path / "ok.csv"
    ok.write_text(KAGGLE_CSV_HEADER + good)
    assert sum(len(v) for v in index_csv(ok).values()) == 1


@pytest.mark.parametrize(
    "variant",
    ["pandas index named 'Unnamed: 0'", "no index column", "index column last, columns reordered"],
)
def test_kaggle_replay_reads_the_common_header_variants_alike(tmp_path: Path, variant: str) -> None:
    import csv
    import io

    header = next(csv.reader([KAGGLE_CSV_HEADER]))
    row = next(csv.reader([KAGGLE_CSV_ROW]))
    if variant.startswith("pandas"):
        header[0] = "Unnamed: 0"
    elif variant == "no index column":
        header, row = header[1:], row[1:]
    else:
        order = [*range(len(header) - 1, 0, -1), 0]
        header, row = [header[i] for i in order], [row[i] for i in order]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([header, row])
    csv_file = tmp_path / "variant.csv"
    csv_file.write_text(text.getvalue())
    reference = tmp_path / "reference.csv"
    reference.write_text(KAGGLE_CSV_HEADER + KAGGLE_CSV_ROW)
    window = ("2019-01-01", "2019-01-02")
    assert list(expected.records(SimulatorConfig(replay_kaggle=csv_file), "transactions", *window)) == list(
        expected.records(SimulatorConfig(replay_kaggle=reference), "transactions", *window)
    )


def test_kaggle_replay_names_the_missing_columns(tmp_path: Path) -> None:
    csv_file = tmp_path / "no_fraud_label.csv"
    csv_file.write_text(KAGGLE_CSV_HEADER.replace(",is_fraud", "") + KAGGLE_CSV_ROW.rsplit(",", 1)[0] + "\n")
    with pytest.raises(ReplayError, match=r"missing column\(s\) is_fraud"):
        index_csv(csv_file)


def test_kaggle_replay_serves_a_quoted_newline_inside_a_field(tmp_path: Path) -> None:
    spanning = KAGGLE_CSV_ROW.replace("Kub and Mann", "Kub\nand Mann").replace("Psychologist, ", "Psychologist,\n")
    second = KAGGLE_CSV_ROW.replace("0b242abb623afc578575680df30655b9", "1f76529f8574734946361c461b024d99")
    csv_file = tmp_path / "multiline.csv"
    csv_file.write_text(KAGGLE_CSV_HEADER + spanning + second.replace("0,2019", "1,2019", 1))
    served = list(expected.records(SimulatorConfig(replay_kaggle=csv_file), "transactions", "2019-01-01", "2019-01-02"))
    assert [(t["merchant"]["name"], t["cardholder"]["job"]) for t in served] == [
        ("fraud_Rippin, Kub\nand Mann", "Psychologist,\ncounselling"),
        ("fraud_Rippin, Kub and Mann", "Psychologist, counselling"),
    ]
    # A row after the one spanning lines 2-4 is named by the line it starts on.
    csv_file.write_text(KAGGLE_CSV_HEADER + spanning + second.replace(",Jennifer,", ",Jennifer,extra,"))
    with pytest.raises(ReplayError, match=r"line 5: expected 23 fields, got 24"):
        index_csv(csv_file)


def test_plutus_export_is_served_in_the_v3_shape() -> None:
    config = SimulatorConfig(replay_plutus=DATA / "plutus_export")
    with serve_in_thread(config) as url:
        api = ApiClient(url, config)
        served_rewards = api.extract("rewards", "2023-01-01T00:00:00Z", "2023-06-01T00:00:00Z")
        served_transactions = api.extract("transactions", "2023-01-01T00:00:00Z", "2023-06-01T00:00:00Z")
        rates = api.page("plu_rates", "2023-03-01T00:00:00Z", "2023-03-02T00:00:00Z")
    # served in the real v3 shapes (amounts as text, major units on the statement) ...
    assert {r["amount"] for r in served_rewards} >= {"0.84912345"}
    assert all(isinstance(t["amount"], str) and "transactionDescription" in t for t in served_transactions)
    # ... which the client's adapter turns back into the landing records of the export
    rewards = [reward_to_landing(r) for r in served_rewards]
    transactions = [statement_to_landing(t) for t in served_transactions]
    by_id = {r["id"][-2:]: r for r in rewards}
    assert len(rewards) == 5  # the later state of the duplicated reward wins
    first = {
        "id": "5c3e1c9a-0d1e-4f4e-9d43-6a1f3b2e7c01", "ticker": "PLU", "amount": 0.84912345,
        "fiatAmountRewarded": 4997, "fiatCurrency": "GBP", "status": "approved",
        "type": "DAILY_REBATE_DISTRIBUTION", "rewardRate": 3.0,
        "transactionOriginalId": "f0b9a3e2-1111-4c2d-9a10-000000000001",
        "referenceType": "contis_transactions", "referenceId": "f0b9a3e2-1111-4c2d-9a10-000000000001",
        "parentRewardId": None, "merchantName": "TESCO STORES 2345", "mcc": "5411",
        "createdAt": "2023-03-02T10:15:00Z", "updatedAt": "2023-04-16T10:15:00Z",
    }  # fmt: skip
    assert {key: by_id["01"][key] for key in first} == first
    # approvals carry reasons; only "Rejected by admin" rejects; a bonus has no fiat value
    assert by_id["02"]["status"] == "approved" and by_id["02"]["updatedAt"] == "2023-04-19T08:00:00Z"
    assert by_id["03"]["status"] == "rejected" and by_id["03"]["transactionOriginalId"].endswith("05")
    assert by_id["04"]["type"] == "REBATE_BONUS" and by_id["04"]["status"] == "approved"
    assert by_id["04"]["fiatAmountRewarded"] is None and by_id["04"]["rewardRate"] is None
    assert by_id["04"]["referenceType"] == "manual" and by_id["04"]["transactionOriginalId"] is None
    assert by_id["05"]["status"] == "approved" and by_id["05"]["ticker"] == "PLU"  # "Accepted by admin", PLUS
    assert by_id["05"]["fiatAmountRewarded"] == 800 and by_id["05"]["fiatCurrency"] == "EUR"
    txn = {t["id"][-2:]: t for t in transactions}
    assert len(txn) == 10
    assert txn["01"]["type"] == "CARD_SETTLEMENT" and txn["01"]["amount"] == 4997 and txn["01"]["isDebit"] is True
    assert txn["01"]["category"] == "grocery_pos" and txn["01"]["cleanDescription"] == "Tesco"
    assert txn["02"]["type"] == "CARD_SETTLEMENT" and txn["02"]["date"] == "2023-03-04T12:01:00Z"
    assert txn["03"]["type"] == "CARD_REFUND" and txn["03"]["originalTransactionId"].endswith("0002")
    assert txn["03"]["isDebit"] is False
    # fiat rows: signed amounts, is_debit null; purchases, loads, fees and payouts are debits
    directions = {k: (t["type"], t["amount"], t["currency"], t["isDebit"]) for k, t in txn.items() if k >= "04"}
    assert directions == {
        "04": ("DEPOSIT_FUNDS_RECEIVED", 10000, "GBP", False),
        "05": ("CARD_SETTLEMENT", 2599, "GBP", True),
        "06": ("CARD_SETTLEMENT", 800, "EUR", True),
        "07": ("LOAD_PLUTUS_CARD_FROM_CJ_WALLET", 5000, "GBP", True),
        "08": ("SUBSCRIPTION_FEE", 499, "GBP", True),
        "09": ("PAYOUT", 2000, "GBP", True),
        "10": ("PAYIN", 1500, "GBP", False),
    }
    assert txn["04"]["mcc"] is None
    assert rates == []  # an export has no rate feed: no PLU price is invented
    assert list(expected.records(config, "rewards", "2023-01-01T00:00:00Z", "2023-06-01T00:00:00Z")) == served_rewards


def _pluton(**fields: object) -> str:
    record = {"id": "x", "amount": "1.0", "fiat_amount_rewarded": 100, "type": "DAILY_REBATE_DISTRIBUTION",
              "createdAt": "2023-01-01T00:00:00Z", "available": False, "reason": None}  # fmt: skip
    record.update(fields)
    return json.dumps(record) + "\n"


def test_plutus_export_errors_name_file_line_and_field(tmp_path: Path) -> None:
    (tmp_path / "rewards.jsonl").write_text('{"id": "x", "fiat_amount_rewarded": 1, "createdAt": "2023-01-01"}\n'
                                            '{"unexpected": true}\n')  # fmt: skip
    with pytest.raises(PlutusReplayError, match=r"rewards.jsonl:1: ValueError: amount: missing"):
        load_export(tmp_path)
    (tmp_path / "rewards.jsonl").write_text('{"hello": 1}\n')
    with pytest.raises(PlutusReplayError, match=r"rewards.jsonl:1: .*neither"):
        load_export(tmp_path)
    with pytest.raises(PlutusReplayError, match=r"no \*\.jsonl"):
        load_export(tmp_path / "empty")
    # a rebate without a fiat value is a defect (a bonus without one is not), named by its field
    (tmp_path / "rewards.jsonl").write_text(_pluton() + _pluton(id="y", fiat_amount_rewarded=None))
    with pytest.raises(PlutusReplayError, match=r"rewards.jsonl:2: ValueError: fiat_amount_rewarded: missing"):
        load_export(tmp_path)
    (tmp_path / "rewards.jsonl").write_text(_pluton(fiat_amount_rewarded="12.5"))
    with pytest.raises(PlutusReplayError, match=r"rewards.jsonl:1: .*fiat_amount_rewarded: '12.5' is not a whole"):
        load_export(tmp_path)
    (tmp_path / "rewards.jsonl").write_text(_pluton(type="REBATE_BONUS", fiat_amount_rewarded=None, ticker="PLUS"))
    assert load_export(tmp_path)[0][0]["fiatAmountRewarded"] is None
    (tmp_path / "rewards.jsonl").write_text(_pluton(amount="lots"))
    with pytest.raises(PlutusReplayError, match=r"rewards.jsonl:1: ValueError: amount: 'lots' is not a number"):
        load_export(tmp_path)
    (tmp_path / "rewards.jsonl").write_text(
        json.dumps({"id": "t", "date": "2023-01-01T00:00:00Z", "type": "31", "amount": -5, "is_debit": 0}) + "\n"
    )
    with pytest.raises(PlutusReplayError, match=r"rewards.jsonl:1: ValueError: amount: -5 is negative on a credit"):
        load_export(tmp_path)
