"""Configuration resolved once, where a flow or a command starts: settings plus the blocks they name.

`resolve_config()` reads the `CARDLAKE_*` settings and loads every block they point at (card API credentials,
the PAN token key, the warehouse connection, the EMR application, the landing bucket) into one immutable
`PipelineConfig`, which the flow passes down to its subflows and tasks. Nothing below a flow's entry reads
the environment or loads a block again.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from blocks.credentials import CardApiCredentials
from blocks.emr import EmrServerlessApplication
from blocks.warehouse import WarehouseConnection
from cardlake.settings import LOCAL_DEMO_PAN_KEY, Settings
from contracts import names

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A setting or block that cannot work; the message says which and how to fix it."""


class PanKey(BaseModel):
    """The key of the card tokens (HMAC-SHA256); `is_local_default` flags the public demo key."""

    model_config = ConfigDict(frozen=True)

    value: SecretStr
    is_local_default: bool


class PipelineConfig(BaseModel):
    """Everything a run reads, resolved once. Secret fields stay SecretStr, so a printed config shows none."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    settings: Settings
    api: CardApiCredentials
    warehouse: WarehouseConnection
    pan_key: PanKey | None = None  # None on EMR Serverless: its jobs read the key from Secrets Manager
    emr: EmrServerlessApplication | None = None
    landing_bucket: Any | None = None  # prefect_aws.S3Bucket when settings.landing == "s3"

    @property
    def warnings(self) -> list[str]:
        if self.pan_key is not None and self.pan_key.is_local_default:
            return ["PAN tokens use the published local demo key: set the `pan-token-key` Secret block in production."]
        return []


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment; a bad value raises ConfigError naming the variable and what it accepts."""
    try:
        settings = Settings(**overrides)
    except ValidationError as invalid:
        problems = []
        for error in invalid.errors():
            field = ".".join(str(part) for part in error["loc"])
            problems.append(f"CARDLAKE_{field.upper()}={error.get('input')!r}: {error['msg']}")
        raise ConfigError("invalid setting(s): " + "; ".join(problems)) from None
    check_lake_engine(settings)
    return settings


def resolve_config(settings: Settings | None = None, *, with_pan_key: bool = True) -> PipelineConfig:
    """Settings and the blocks they name, loaded now, checked together.

    Commands that never write the lake (extraction only) pass `with_pan_key=False`: the key is not looked up.
    """
    settings = settings or load_settings()
    check_lake_engine(settings)
    needs_key = with_pan_key and settings.spark_runner != "emr-serverless"
    pan_key = resolve_pan_key(settings) if needs_key else None
    if settings.source == "card-api" and pan_key is not None and pan_key.is_local_default:
        raise ConfigError(
            "the source is the real card API but no PAN token key is configured: card tokens made with the "
            "public demo key can be reversed. Save a `pan-token-key` Secret block or set CARDLAKE_PAN_TOKEN_KEY."
        )
    return PipelineConfig(
        settings=settings,
        api=api_credentials(settings),
        warehouse=warehouse_connection(settings),
        pan_key=pan_key,
        emr=_load(EmrServerlessApplication, settings.emr_block) if settings.spark_runner == "emr-serverless" else None,
        landing_bucket=_landing_bucket(settings) if settings.landing == "s3" else None,
    )


def check_lake_engine(settings: Settings) -> None:
    """An S3 lake has one kind of writer, delta-spark with S3DynamoDBLogStore (docs/adr/0015). EMR always runs
    delta-spark; a local runner would write with the configured engine, which must then be delta-spark."""
    lake_on_s3 = settings.lake_root.startswith(("s3://", "s3a://"))
    if lake_on_s3 and settings.delta_engine == "delta-rs" and settings.spark_runner != "emr-serverless":
        raise ConfigError(
            f"CARDLAKE_DELTA_ENGINE=delta-rs cannot write the S3 lake {settings.lake_root}: its commits would not "
            "go through the DynamoDB log store the EMR jobs use (docs/adr/0015); set CARDLAKE_DELTA_ENGINE="
            "delta-spark or CARDLAKE_SPARK_RUNNER=emr-serverless"
        )


def _load(block_class: Any, name: str) -> Any:
    try:
        return block_class.load(name, _sync=True)
    except ValueError as missing:  # Prefect's "Unable to find block document named ..."
        raise ConfigError(
            f"no {block_class.__name__} block named {name!r} is saved: create it (docs/deploy.md) or change the "
            "setting that names it"
        ) from missing


def _landing_bucket(settings: Settings) -> Any:
    from prefect_aws import S3Bucket

    return _load(S3Bucket, settings.landing_s3_bucket_block)


def api_credentials(settings: Settings) -> CardApiCredentials:
    """The simulator's account from settings, or, for the real API, the saved credentials block."""
    if settings.source == "card-api":
        block: CardApiCredentials = _load(CardApiCredentials, names.CARD_API_CREDENTIALS_BLOCK)
        return block.resolve()
    return CardApiCredentials(
        base_url=settings.api_base_url,
        client_id=settings.api_client_id,
        email=settings.api_email or None,
        password=settings.api_password,
        totp_secret=settings.api_totp_secret,
        refresh_token=settings.api_refresh_token,
    )


def warehouse_connection(settings: Settings) -> WarehouseConnection:
    """DuckDB from settings, PostgreSQL from a DSN setting, otherwise the saved warehouse block."""
    if settings.warehouse == "duckdb":
        return WarehouseConnection(kind="duckdb", duckdb_path=str(settings.duckdb_file))
    if settings.warehouse == "postgres" and settings.postgres_dsn is not None:
        return WarehouseConnection(kind="postgres", dsn=settings.postgres_dsn)
    block: WarehouseConnection = _load(WarehouseConnection, settings.warehouse_block)
    if block.kind != settings.warehouse:
        raise ConfigError(
            f"CARDLAKE_WAREHOUSE is {settings.warehouse!r} but the block {settings.warehouse_block!r} is a "
            f"{block.kind!r} connection"
        )
    return block


def load_secret_block(name: str) -> str | None:
    """The value of the Prefect `Secret` block `name`, or None when no such block exists."""
    from prefect.blocks.system import Secret

    try:
        block = cast("Secret[Any]", Secret.load(name, _sync=True))  # type: ignore[call-arg]
    except ValueError:  # Prefect raises ValueError when the document does not exist
        return None
    return str(block.get())


def resolve_pan_key(settings: Settings) -> PanKey:
    """Settings, then the Prefect Secret block, then the flagged local demo key."""
    if settings.pan_token_key is not None and settings.pan_token_key.get_secret_value():
        key = settings.pan_token_key.get_secret_value()
    else:
        key = load_secret_block(settings.pan_token_secret_block) or ""
    if not key:
        log.warning(
            "No PAN token key configured (setting CARDLAKE_PAN_TOKEN_KEY or Secret block %r): using the local "
            "demo key, which is public and only fit for the simulator.",
            settings.pan_token_secret_block,
        )
        key = LOCAL_DEMO_PAN_KEY
    return PanKey(value=SecretStr(key), is_local_default=key == LOCAL_DEMO_PAN_KEY)
