"""`cardlake import` lands exports as pages with manifests, content-addressed, validated whole first."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from cardlake.cli import app
from cardlake.config import resolve_config
from cardlake.importing import ImportRefused, land_import, plan_import
from cardlake.landing import LocalLandingZone
from cardlake.settings import Settings
from contracts.landing import IMPORT_SOURCE, Window, manifest_glob, manifest_key
from flows.transform import landed_fingerprint
from tests.importing.helpers import REWARD, TXN, change_statement_row, copy_export

MARCH_APRIL = Window(datetime(2023, 3, 1, tzinfo=UTC), datetime(2023, 5, 1, tzinfo=UTC))


def landed(zone: LocalLandingZone, entity: str) -> dict[str, dict]:
    """Every record state landed for the entity, by (id, updatedAt), read as silver reads it: via manifests."""
    out = {}
    for path in sorted(zone.root.glob(manifest_glob(IMPORT_SOURCE, entity))):
        manifest = json.loads(path.read_text())
        for page in manifest["pages"]:
            for record in json.loads(gzip.decompress(zone.read_bytes(page["key"])))["data"]:
                out[(record["id"], record["updatedAt"])] = record
    return out


def test_every_record_lands_in_the_day_of_its_update_with_counts_per_file(tmp_path: Path) -> None:
    zone = LocalLandingZone.at(tmp_path / "landing")
    result = land_import(zone, IMPORT_SOURCE, plan_import(copy_export(tmp_path / "export")))
    assert {f.file: (f.records, f.landed, f.refused, f.new) for f in result.files} == {
        "rewards.csv": (7, 7, 0, 7), "rewards_later.json": (1, 1, 0, 1),
        "statement.json": (6, 6, 0, 6), "statement_more.jsonl": (5, 5, 0, 5),
    }  # fmt: skip
    assert all(f.reconciles for f in result.files)
    stage = {(t.note, t.table): (t.read, t.accepted, t.rejected, t.written) for t in result.stage().tables}
    assert stage[("rewards.csv", "raw/rewards")] == (7, 7, 0, 7)
    assert stage[("statement_more.jsonl", "raw/transactions")] == (5, 5, 0, 5)
    assert result.span == Window(datetime(2023, 3, 1, tzinfo=UTC), datetime(2023, 4, 21, tzinfo=UTC))
    rewards, transactions = landed(zone, "rewards"), landed(zone, "transactions")
    assert len(rewards) == 8 and len(transactions) == 11  # the pending state and its approval are two states
    pending = rewards[(REWARD(2), "2023-03-05T20:00:00Z")]
    approved = rewards[(REWARD(2), "2023-04-19T20:00:00Z")]
    assert (pending["status"], approved["status"]) == ("pending", "approved")
    manifest = json.loads(zone.read_bytes(manifest_key(IMPORT_SOURCE, "rewards", Window.day_of(
        datetime(2023, 4, 19, tzinfo=UTC)))))  # fmt: skip
    assert manifest["window_start"] == "2023-04-19T00:00:00Z" and manifest["record_count"] == 1
    assert manifest["pages"][0]["key"] == (
        "raw/import/rewards/ingest_date=2023-04-19/20230419T000000Z_20230420T000000Z-00001.json.gz"
    )
    assert not any(zone.root.glob("raw/import/plu_rates/**/*"))  # an export has no rate feed


def test_an_unchanged_export_is_a_no_op_and_a_changed_day_alone_is_rewritten(tmp_path: Path) -> None:
    zone = LocalLandingZone.at(tmp_path / "landing")
    files = copy_export(tmp_path / "export")
    land_import(zone, IMPORT_SOURCE, plan_import(files))
    stamps = {p: p.stat().st_mtime_ns for p in zone.root.rglob("*") if p.is_file()}
    again = land_import(zone, IMPORT_SOURCE, plan_import(files))
    assert again.windows_written == () and len(again.windows_unchanged) == 16
    assert {f.file: f.new for f in again.files} == dict.fromkeys([f.file for f in again.files], 0)
    assert {t.written for t in again.stage().tables} == {0}
    assert {p: p.stat().st_mtime_ns for p in zone.root.rglob("*") if p.is_file()} == stamps  # nothing written

    change_statement_row(tmp_path / "export", 5, amount=-2699)  # a corrected amount on an old day
    changed = land_import(zone, IMPORT_SOURCE, plan_import(files))
    assert changed.windows_written == ("transactions/20230305T000000Z_20230306T000000Z",)
    assert {f.file: f.new for f in changed.files}["statement.json"] == 1
    assert landed(zone, "transactions")[(TXN(5), "2023-03-05T19:30:00Z")]["amount"] == 2699


def test_a_second_export_for_the_same_days_adds_to_them(tmp_path: Path) -> None:
    zone = LocalLandingZone.at(tmp_path / "landing")
    files = copy_export(tmp_path / "export")
    land_import(zone, IMPORT_SOURCE, plan_import(files[2:3]))
    other = tmp_path / "eur-account.jsonl"
    other.write_text(json.dumps({"id": "eur-1", "model": "fiat", "currency": "EUR", "amount": -1200,
                                 "date": "2023-03-05T10:00:00+00:00", "type": "CARD_SETTLEMENT", "is_debit": None,
                                 "description": "FNAC"}) + "\n")  # fmt: skip
    land_import(zone, IMPORT_SOURCE, plan_import([other]))
    day = {key[0] for key in landed(zone, "transactions") if key[1].startswith("2023-03-05")}
    assert day == {TXN(5), "eur-1"}


def test_records_already_in_the_landing_shape_pass_through_and_need_an_update_time(tmp_path: Path) -> None:
    zone = LocalLandingZone.at(tmp_path / "landing")
    path = tmp_path / "v3.jsonl"
    reward = {
        "id": "rw_1",
        "ticker": "PLU",
        "amount": 1.5,
        "fiatAmountRewarded": 4997,
        "fiatCurrency": "GBP",
        "status": "approved",
        "type": "DAILY_REBATE_DISTRIBUTION",
        "rewardRate": 3.0,
        "transactionOriginalId": "t1",
        "createdAt": "2025-06-01T10:00:00Z",
        "updatedAt": "2025-06-02T10:00:00Z",
    }
    statement = {"id": "t1", "date": "2025-06-01T09:00:00Z", "type": "CARD_SETTLEMENT", "amount": 4997,
                 "currency": "GBP", "isDebit": True, "createdAt": "2025-06-01T09:00:00Z",
                 "updatedAt": "2025-06-01T09:00:00Z"}  # fmt: skip
    path.write_text(json.dumps(reward) + "\n" + json.dumps(statement) + "\n")
    land_import(zone, IMPORT_SOURCE, plan_import([path]))
    assert list(landed(zone, "rewards").values()) == [reward]
    assert list(landed(zone, "transactions").values()) == [statement]
    path.write_text(json.dumps(statement) + "\n" + json.dumps({**reward, "updatedAt": None}) + "\n")
    with pytest.raises(ImportRefused, match=r"^v3.jsonl:2: updatedAt: missing"):
        plan_import([path])


def test_the_fingerprint_follows_every_manifest_a_run_reads(tmp_path: Path) -> None:
    """The stale-cache bug: a run over March-April read the import's day manifests, but its cache key hashed
    only the manifest named like the run's own window, which an import never writes."""
    config = resolve_config(Settings(home=tmp_path, source_name=IMPORT_SOURCE, pan_token_key=SecretStr("k")))
    zone = LocalLandingZone.at(config.settings.landing_root)
    files = copy_export(tmp_path / "export")
    empty = landed_fingerprint.fn(config, MARCH_APRIL)
    land_import(zone, IMPORT_SOURCE, plan_import(files))
    first = landed_fingerprint.fn(config, MARCH_APRIL)
    land_import(zone, IMPORT_SOURCE, plan_import(files))
    assert first != empty and landed_fingerprint.fn(config, MARCH_APRIL) == first
    change_statement_row(tmp_path / "export", 5, amount=-2699)
    land_import(zone, IMPORT_SOURCE, plan_import(files))
    assert landed_fingerprint.fn(config, MARCH_APRIL) != first
    # a window the changed day is not inside does not move
    april = Window(datetime(2023, 4, 1, tzinfo=UTC), datetime(2023, 5, 1, tzinfo=UTC))
    before = landed_fingerprint.fn(config, april)
    change_statement_row(tmp_path / "export", 6, amount="-900.00000")
    land_import(zone, IMPORT_SOURCE, plan_import(files))
    assert landed_fingerprint.fn(config, april) == before


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        (
            ("rewards.csv", "fiat_amount_rewarded", "fiat_amount_rewardd"),
            "rewards.csv:2: fiat_amount_rewardd: unknown field (did you mean fiat_amount_rewarded?)",
        ),
        (
            ("statement_more.jsonl", '"amount": -499', '"amount": "lots"'),
            "statement_more.jsonl:2: amount: 'lots' is not a number",
        ),
        (("statement_more.jsonl", '"type": "PAYOUT"', '"type": null'), "statement_more.jsonl:3: type: missing"),
        (
            ("rewards.csv", "2023-03-06T08:00:00.000Z", "06/03/2023"),
            "rewards.csv:7: createdAt: '06/03/2023' is not an ISO-8601 time",
        ),
        (
            ("statement.json", '"is_debit": 0', '"is_debit": "maybe"'),
            "statement.json:43: is_debit: 'maybe' is not 1, 0, true, false or null",
        ),
        (
            ("statement_more.jsonl", '{"id": "f0b9a3e2-1111-4c2d-9a10-000000000010"', '{"id": oops'),
            "statement_more.jsonl:4: record: not JSON",
        ),
    ],
)
def test_a_bad_file_is_refused_in_one_line_and_nothing_is_landed(
    tmp_path: Path, edit: tuple[str, str, str], error: str
) -> None:
    files = copy_export(tmp_path / "export")
    name, old, new = edit
    path = tmp_path / "export" / name
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    with pytest.raises(ImportRefused) as refused:
        plan_import(files)
    assert len(refused.value.errors) == 1 and str(refused.value.errors[0]).startswith(error)
    counts = {f.file: (f.records, f.landed, f.refused) for f in refused.value.files}
    assert all(records == refused_ for records, landed_, refused_ in counts.values() if landed_ == 0)
    assert counts["rewards.csv"] == (7, 0, 7)

    result = CliRunner().invoke(app, ["import", *map(str, files)], env={"CARDLAKE_HOME": str(tmp_path / "home")})
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("cardlake import:")]
    assert len(lines) == 1 and lines[0].startswith(f"cardlake import: {error}")
    assert "nothing was landed" in result.stderr
    assert not (tmp_path / "home" / "landing").exists()


def test_v3_api_records_are_adapted_as_the_client_adapts_them_and_a_bad_one_refuses_the_file(tmp_path: Path) -> None:
    from contracts.plutus_v3 import reward_from_landing, statement_from_landing

    zone = LocalLandingZone.at(tmp_path / "landing")
    reward = {"id": "rw_1", "ticker": "PLU", "amount": 1.5, "fiatAmountRewarded": 4997, "fiatCurrency": "GBP",
              "status": "approved", "type": "DAILY_REBATE_DISTRIBUTION", "rewardRate": 3.0,
              "transactionOriginalId": "t1", "referenceType": "contis_transactions", "referenceId": "t1",
              "parentRewardId": None, "merchantName": "TESCO STORES 2345", "mcc": "5411",
              "createdAt": "2025-06-01T10:00:00Z", "updatedAt": "2025-06-02T10:00:00Z"}  # fmt: skip
    statement = {"id": "t1", "date": "2025-06-01T09:00:00Z", "type": "CARD_SETTLEMENT", "amount": 4997,
                 "currency": "GBP", "isDebit": True, "description": "TESCO STORES 2345",
                 "cleanDescription": "Tesco", "mcc": "5411", "createdAt": "2025-06-01T09:00:00Z",
                 "updatedAt": "2025-06-01T09:00:00Z"}  # fmt: skip
    served = {"data": [reward_from_landing(reward), statement_from_landing(statement)]}  # a saved API response
    assert served["data"][1]["amount"] == "49.97" and "transactionDescription" in served["data"][0]
    path = tmp_path / "v3_response.json"
    path.write_text(json.dumps(served))
    land_import(zone, IMPORT_SOURCE, plan_import([path]))
    (landed_reward,) = landed(zone, "rewards").values()
    (landed_statement,) = landed(zone, "transactions").values()
    assert {k: landed_reward[k] for k in reward} == reward
    assert {k: landed_statement[k] for k in ("id", "amount", "isDebit", "type", "currency", "mcc")} == {
        "id": "t1", "amount": 4997, "isDebit": True, "type": "CARD_SETTLEMENT", "currency": "GBP", "mcc": "5411"
    }  # fmt: skip

    served["data"][1]["amount"] = "49.9x"
    path.write_text(json.dumps(served))
    with pytest.raises(ImportRefused, match=r"^v3_response.json:\d+: amount"):
        plan_import([path])
