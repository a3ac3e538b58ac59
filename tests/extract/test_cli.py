"""`cardlake extract backfill` lands chunked windows with their manifests and reports what it did."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cardlake.cli.extract import app

pytestmark = pytest.mark.slow


@pytest.fixture()
def cli_env(cardlake_home: Path, clean_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CARDLAKE_API_BASE_URL", clean_url)
    # resolve_config() otherwise looks the key up in a Prefect Secret block, which needs a Prefect API.
    monkeypatch.setenv("CARDLAKE_PAN_TOKEN_KEY", "test-pan-key")
    return cardlake_home / "landing"


def test_backfill_lands_one_manifest_per_chunk_and_advances_the_watermark(cli_env: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["backfill", "--start", "2025-06-01", "--end", "2025-06-03", "--chunk-days", "1", "--entity", "plu_rates"],
    )
    assert result.exit_code == 0, result.output
    assert "landed 48 records" in result.output  # hourly rates over two days
    manifests = sorted(p.name for p in (cli_env / "raw/cardapi/plu_rates/_manifests").iterdir())
    assert manifests == ["20250601T000000Z_20250602T000000Z.json", "20250602T000000Z_20250603T000000Z.json"]

    status = CliRunner().invoke(app, ["status"])
    assert "plu_rates     2025-06-03T00:00:00Z" in status.output
    assert "transactions  no watermark yet" in status.output


def test_api_errors_are_reported_without_a_stack_trace(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARDLAKE_API_PASSWORD", "wrong-password-123")
    result = CliRunner().invoke(app, ["backfill", "--start", "2025-06-01", "--end", "2025-06-02"])
    assert result.exit_code == 1
    assert "extraction failed: POST /auth/login answered HTTP 401" in result.output
    assert "Traceback" not in result.output and "wrong-password-123" not in result.output


def test_unknown_entity_is_a_usage_error(cli_env: Path) -> None:
    result = CliRunner().invoke(app, ["backfill", "--start", "2025-06-01", "--end", "2025-06-02", "--entity", "x"])
    assert result.exit_code == 2 and "unknown entity 'x'" in result.output
