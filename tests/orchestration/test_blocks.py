"""Block classes: validation, secrets that never print, registration of the contract's documents."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from prefect import get_client
from prefect.blocks.system import Secret
from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate
from prefect.filesystems import LocalFileSystem
from pydantic import SecretStr, ValidationError
from typer.testing import CliRunner

from blocks.credentials import CardApiCredentials
from blocks.emr import EmrServerlessApplication
from blocks.warehouse import WarehouseConnection
from cardlake.blocks_setup import BLOCK_TYPES, block_exists, register_blocks
from cardlake.cli.blocks import app
from cardlake.config import resolve_pan_key
from cardlake.lake_writer import read_limit
from cardlake.settings import LOCAL_DEMO_PAN_KEY, Settings
from contracts import names

CONTRACT_DOCUMENTS = {  # docs/contracts.md section 5, the local defaults
    names.WAREHOUSE_BLOCK: WarehouseConnection,
    names.LANDING_BLOCK: LocalFileSystem,
    names.RESULTS_BLOCK: LocalFileSystem,
    names.CARD_API_CREDENTIALS_BLOCK: CardApiCredentials,
}


def pan_key(settings: Settings) -> tuple[str, bool]:
    """resolve_pan_key as (key, is_local_default)."""
    key = resolve_pan_key(settings)
    return key.value.get_secret_value(), key.is_local_default


def test_secrets_never_show_in_repr_str_json_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    credentials = CardApiCredentials(
        base_url="https://api.example", email="a@b.c", password=SecretStr("hunter2-pw"),
        totp_secret=SecretStr("JBSWY3DPEHPK3PXQ"), client_id="web", refresh_token=SecretStr("rt-secret-xyz"),
    )  # fmt: skip
    warehouse = WarehouseConnection(kind="postgres", host="db", database="cardlake", user="u",
                                    password=SecretStr("pg-secret-pw"))  # fmt: skip
    with caplog.at_level(logging.INFO):
        logging.getLogger("cardlake.test").info("blocks: %s %r %s", credentials, warehouse, credentials.__dict__)
    shown = " ".join([repr(credentials), str(warehouse), credentials.model_dump_json(), caplog.text])
    for secret in ("hunter2-pw", "JBSWY3DPEHPK3PXQ", "rt-secret-xyz", "pg-secret-pw"):
        assert secret not in shown
    assert credentials.password.get_secret_value() == "hunter2-pw"


def test_credentials_need_a_way_to_log_in() -> None:
    with pytest.raises(ValidationError, match="refresh_token, or email, password and totp_secret"):
        CardApiCredentials(base_url="https://api.example", client_id="web", email="a@b.c")
    assert CardApiCredentials(base_url="https://x", client_id="web", refresh_token=SecretStr("rt"))
    assert CardApiCredentials(base_url="https://x", aws_secret_id="cardlake/card-api")


def test_credentials_load_from_secrets_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        stored = {"email": "ops@bank.example", "password": "pw", "totp_secret": "JBSWY3DPEHPK3PXP",
                  "client_id": "web", "refresh_token": "rt-1"}  # fmt: skip
        client.create_secret(Name="cardlake/card-api", SecretString=json.dumps(stored))
        block = CardApiCredentials(base_url="https://api.example", aws_secret_id="cardlake/card-api")
        api = block.resolve(client)
    assert (api.email, api.client_id, api.base_url) == ("ops@bank.example", "web", "https://api.example")
    assert api.refresh_token is not None and api.refresh_token.get_secret_value() == "rt-1"
    assert api.can_login


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "duckdb"}, "duckdb_path"),
        ({"kind": "postgres", "database": "d"}, "host"),
        ({"kind": "redshift", "iam": True, "database": "cardlake"}, "workgroup"),
    ],
)
def test_warehouse_connection_says_what_is_missing(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        WarehouseConnection(**fields)


def test_redshift_serverless_with_iam_needs_no_password() -> None:
    from cardlake.warehouse.redshift import redshift_connect_kwargs

    block = WarehouseConnection(kind="redshift", iam=True, workgroup="cardlake", database="cardlake")
    assert block.password is None and "password" not in redshift_connect_kwargs(block)
    with_host = block.model_copy(update={"host": "cardlake.example"})
    assert redshift_connect_kwargs(with_host)["port"] == 5439  # Redshift's default port


def test_emr_block_rejects_non_s3_locations_and_prices_by_architecture() -> None:
    fields = {"application_id": "00f", "execution_role_arn": "arn:aws:iam::1:role/r", "logs_uri": "s3://b/logs"}
    with pytest.raises(ValidationError, match="s3://"):
        EmrServerlessApplication(code_uri="/tmp/code", **fields)
    arm = EmrServerlessApplication(code_uri="s3://b/code", **fields)
    x86 = EmrServerlessApplication(code_uri="s3://b/code", architecture="X86_64", **fields)
    assert arm.code_uri == "s3://b/code/" and arm.release_label == "emr-7.9.0"
    assert arm.estimate_cost_usd(1.0, 4.0, 0.0) < x86.estimate_cost_usd(1.0, 4.0, 0.0)
    assert x86.estimate_cost_usd(1.0, 4.0, 0.0) == pytest.approx(0.052624 + 4 * 0.0057785)
    with pytest.raises(ValidationError, match="whitespace"):
        EmrServerlessApplication(
            code_uri="s3://b/code", spark_conf={"spark.driver.extraJavaOptions": "-Da -Db"}, **fields
        )


@pytest.mark.prefect
def test_register_creates_the_contract_documents_idempotently(prefect_harness: None, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    pan_key_existed = pan_key(Settings(pan_token_key=None))[0] != LOCAL_DEMO_PAN_KEY
    existing = {name for name, cls in CONTRACT_DOCUMENTS.items() if _exists(cls, name)}
    limit_existed = read_limit(names.LAKE_WRITER_LIMIT) is not None

    actions = register_blocks(settings=settings)
    try:
        for block_type in BLOCK_TYPES:
            assert actions[block_type.get_block_type_slug()] == "type registered"
        if not limit_existed:
            assert actions[names.LAKE_WRITER_LIMIT] == "created (limit 1)"
            limit = read_limit(names.LAKE_WRITER_LIMIT)
            assert limit is not None and (limit.limit, limit.active) == (1, True)
        for name in set(CONTRACT_DOCUMENTS) - existing:
            assert actions[name] == "created"
        if not existing:
            assert WarehouseConnection.load(names.WAREHOUSE_BLOCK).duckdb_path == str(settings.duckdb_file)
            assert LocalFileSystem.load(names.LANDING_BLOCK).basepath == settings.landing_root
            assert LocalFileSystem.load(names.RESULTS_BLOCK).basepath == str(tmp_path / "home/prefect-results")
            credentials = CardApiCredentials.load(names.CARD_API_CREDENTIALS_BLOCK)
            assert credentials.email == "demo@cardlake.local"
            assert credentials.totp_secret.get_secret_value() == "JBSWY3DPEHPK3PXP"
        if not pan_key_existed:
            saved_key = Secret.load(names.PAN_TOKEN_KEY_BLOCK).get()
            assert saved_key != LOCAL_DEMO_PAN_KEY and len(saved_key) >= 32  # never the published demo key
            assert pan_key(Settings(pan_token_key=None)) == (saved_key, False)

        again = register_blocks(settings=settings)
        assert {again[name] for name in [*CONTRACT_DOCUMENTS, names.PAN_TOKEN_KEY_BLOCK]} == {"kept"}
        replaced = register_blocks(settings=settings, overwrite=True)
        assert {replaced[name] for name in CONTRACT_DOCUMENTS} == {"replaced"}
        assert replaced[names.PAN_TOKEN_KEY_BLOCK] == "kept"  # a new key would re-token every card: never overwritten
        assert again[names.LAKE_WRITER_LIMIT] == "kept (limit 1)"
        with get_client(sync_client=True) as client:
            client.update_global_concurrency_limit(names.LAKE_WRITER_LIMIT, GlobalConcurrencyLimitUpdate(limit=3))
        assert register_blocks(settings=settings)[names.LAKE_WRITER_LIMIT] == "kept (limit 3)"
        assert register_blocks(settings=settings, overwrite=True)[names.LAKE_WRITER_LIMIT] == "replaced (limit 1)"
    finally:
        if not limit_existed:
            with get_client(sync_client=True) as client:
                client.delete_global_concurrency_limit_by_name(names.LAKE_WRITER_LIMIT)
        for name in set(CONTRACT_DOCUMENTS) - existing:  # leave the shared harness as we found it
            CONTRACT_DOCUMENTS[name].delete(name)


def _exists(block_class: type, name: str) -> bool:
    return block_exists(block_class, name)


@pytest.mark.prefect
def test_pan_key_comes_from_settings_then_the_secret_block_then_the_flagged_default(
    prefect_harness: None,
) -> None:
    block_name = f"test-pan-key-{uuid.uuid4().hex[:8]}"
    settings = Settings(pan_token_key=None, pan_token_secret_block=block_name)
    assert pan_key(settings) == (LOCAL_DEMO_PAN_KEY, True)
    Secret(value="key-from-the-block").save(block_name)
    try:
        assert pan_key(settings) == ("key-from-the-block", False)
        explicit = Settings(pan_token_key=SecretStr("key-from-env"), pan_token_secret_block=block_name)
        assert pan_key(explicit) == ("key-from-env", False)
    finally:
        Secret.delete(block_name)


@pytest.mark.prefect
def test_cli_registers_block_types(prefect_harness: None) -> None:
    result = CliRunner().invoke(app, ["register", "--types-only"])
    assert result.exit_code == 0, result.output
    assert "cardlake-emr-serverless-application" in result.output and "type registered" in result.output


@pytest.mark.prefect
def test_get_runner_loads_the_emr_block(prefect_harness: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from cardlake.config import resolve_config
    from cardlake.spark_runner import get_runner
    from cardlake.spark_runner.emr import EmrServerlessRunner

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    name = f"test-emr-{uuid.uuid4().hex[:8]}"
    EmrServerlessApplication(
        application_id="00fabc", execution_role_arn="arn:aws:iam::123456789012:role/cardlake-emr-job-execution",
        code_uri="s3://b/code/", logs_uri="s3://b/logs/", region="eu-west-1",
    ).save(name)  # fmt: skip
    try:
        runner = get_runner(resolve_config(Settings(spark_runner="emr-serverless", emr_block=name)))
        assert isinstance(runner, EmrServerlessRunner)
        assert runner.block.application_id == "00fabc" and runner.emr.meta.region_name == "eu-west-1"
    finally:
        EmrServerlessApplication.delete(name)
