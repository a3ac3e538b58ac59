"""Through Prefect's test harness with real Spark: a real-shaped export imports with nothing quarantined,
an unchanged re-import is served from the cache (and the summary says so), and a changed one runs again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from deltalake import DeltaTable

from cardlake.settings import Settings
from cardlake.summary import markdown
from tests.importing.helpers import REWARD, TXN, copy_export

pytestmark = [pytest.mark.slow, pytest.mark.prefect, pytest.mark.spark]

CACHED_NOTE = "nothing new was landed"


@dataclass
class Step:
    run: object  # flows.importing.ImportRun
    silver_result_mtime: int
    rewards: dict[str, dict]
    transactions: dict[str, dict]
    quarantine: int
    gold: dict[str, dict]  # gold/reward_transactions by reward id


def table(lake: Path, path: str) -> list[dict]:
    return DeltaTable(str(lake / path)).to_pyarrow_table().to_pylist()


@pytest.fixture(scope="module")
def steps(prefect_harness, spark, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Step]]:
    """Import the export; import it again unchanged; import a re-export holding a new state of an old reward."""
    from flows.importing import import_export

    home = tmp_path_factory.mktemp("cardlake-home")
    folder = tmp_path_factory.mktemp("export")
    files = copy_export(folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARDLAKE_HOME", str(home))
        mp.setenv("CARDLAKE_SPARK_RUNNER", "local-session")
        mp.setenv("CARDLAKE_PAN_TOKEN_KEY", "import-test-key")
        lake = Path(Settings().lake_root)
        out: list[Step] = []
        for step in range(3):
            if step == 2:  # the partial reward was approved later: the re-export holds its new state
                later = json.loads((folder / "rewards_later.json").read_text())
                approved = {
                    **later[0], "id": REWARD(6), "reference_type": "fiat_partial", "reference_id": REWARD(2),
                    "fiat_amount_rewarded": 600, "amount": "0.10000000", "fiat_transaction": None,
                    "createdAt": "2023-03-06T08:00:00.000Z", "updatedAt": "2023-04-18T08:00:00.000Z",
                }  # fmt: skip
                (folder / "rewards_later.json").write_text(json.dumps([*later, approved], indent=2))
            run = import_export([str(f) for f in files])
            result = lake / "_runs" / run.summary.run_id / "silver.json"
            out.append(Step(
                run,
                result.stat().st_mtime_ns,
                {r["reward_id"]: r for r in table(lake, "silver/rewards")},
                {t["transaction_id"]: t for t in table(lake, "silver/transactions")},
                len(table(lake, "silver/quarantine")),
                {r["reward_id"]: r for r in table(lake, "gold/reward_transactions")},
            ))  # fmt: skip
        yield out


def test_every_real_case_is_accepted_with_its_status_and_signed_amount(steps: list[Step]) -> None:
    first = steps[0]
    assert first.quarantine == 0
    status = {rid[-2:]: r["status"] for rid, r in first.rewards.items()}
    assert status == {"01": "approved", "02": "approved", "03": "rejected", "04": "approved", "05": "approved",
                      "06": "pending", "07": "approved"}  # fmt: skip
    bonus, perk, eur = first.rewards[REWARD(4)], first.rewards[REWARD(5)], first.rewards[REWARD(7)]
    assert bonus["fiat_amount_minor"] is None and bonus["reward_type"] == "REBATE_BONUS"
    assert perk["reward_rate_pct"] is None and perk["fiat_amount_minor"] == 1099
    assert (eur["fiat_currency"], eur["fiat_amount_minor"], eur["ticker"]) == ("EUR", 800, "PLU")
    signed: dict[str, int] = {}
    for t in first.transactions.values():
        signed[t["currency"]] = signed.get(t["currency"], 0) + (-1 if t["is_debit"] else 1) * t["amount_minor"]
    # the input's own signs: card rows by is_debit, fiat rows by their amount's sign
    assert signed == {"GBP": 4997 * -1 - 1250 + 1250 + 10000 - 2599 - 5000 - 499 - 2000 + 1500, "EUR": -800 + 5000}
    kinds = {tid[-2:]: t["statement_kind"] for tid, t in first.transactions.items()}
    assert kinds == {"01": "card_purchase", "02": "card_purchase", "03": "card_refund", "04": "top_up",
                     "05": "card_purchase", "06": "card_purchase", "07": "card_load", "08": "fee",
                     "09": "withdrawal", "10": "top_up", "11": "top_up"}  # fmt: skip
    assert first.rewards[REWARD(1)]["transaction_id"] == TXN(1)


def test_the_partial_reward_is_matched_through_its_parent_and_the_join_loses_nothing(steps: list[Step]) -> None:
    gold = steps[2].gold  # the re-export holds the partial REWARD(6) of REWARD(2)
    partial = gold[REWARD(6)]
    assert (partial["transaction_link"], partial["transaction_id"]) == ("via_parent", gold[REWARD(2)]["transaction_id"])
    assert gold[REWARD(2)]["transaction_id"] is not None
    # at least as complete as a plain left join on the referenced id, plus the partial hop
    plain = {rid for rid, r in steps[2].rewards.items() if r["transaction_id"] in steps[2].transactions}
    joined = {rid for rid, r in gold.items() if r["transaction_link"] in ("direct", "via_parent")}
    assert plain | {REWARD(6)} <= joined
    assert set(gold) == set(steps[2].rewards)  # every silver reward has its gold row


def test_counts_reconcile_per_file_and_per_stage(steps: list[Step]) -> None:
    run = steps[0].run
    files = {f.file: f for f in run.imported.files}
    assert all(f.reconciles and f.refused == 0 for f in files.values())
    silver = run.summary.transform.job("silver")
    rewards, transactions = silver.table("silver/rewards"), silver.table("silver/transactions")
    landed_rewards = files["rewards.csv"].landed + files["rewards_later.json"].landed
    landed_transactions = files["statement.json"].landed + files["statement_more.jsonl"].landed
    assert (rewards.read, rewards.accepted, rewards.rejected) == (landed_rewards, landed_rewards, 0)
    assert (transactions.read, transactions.accepted, transactions.rejected) == (landed_transactions,) * 2 + (0,)
    assert rewards.duplicates == 1  # the pending reward and its approval: two states of one reward
    assert run.summary.warehouse.fact_transaction_rows == 11


def test_an_unchanged_reimport_is_served_from_the_cache_and_says_so(steps: list[Step]) -> None:
    first, again = steps[0], steps[1]
    assert again.run.imported.windows_written == ()
    assert again.run.summary.transform.cached
    assert again.silver_result_mtime == first.silver_result_mtime  # no Spark job ran
    text = markdown(again.run.summary)
    assert CACHED_NOTE in text and "unchanged: all 16 day window(s)" in text


def test_a_changed_reimport_of_old_days_is_transformed_again_and_the_summary_tells_the_truth(
    steps: list[Step],
) -> None:
    again, changed = steps[1], steps[2]
    assert changed.run.imported.windows_written == ("rewards/20230418T000000Z_20230419T000000Z",)
    assert changed.run.summary.window == again.run.summary.window  # the same old window as before
    assert not changed.run.summary.transform.cached
    assert changed.silver_result_mtime > again.silver_result_mtime
    assert changed.rewards[REWARD(6)]["status"] == "approved"
    text = markdown(changed.run.summary)
    assert CACHED_NOTE not in text and "1 day window(s) landed with new content" in text
