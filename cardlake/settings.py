"""One settings object that picks every implementation; the defaults are the embedded ones.

Environment variables override any field with the prefix `CARDLAKE_` (e.g. `CARDLAKE_WAREHOUSE=postgres`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Only for the local simulator and `make run`: the summary flags when it is in use.
LOCAL_DEMO_PAN_KEY = "cardlake-local-demo-pan-key-not-for-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARDLAKE_", extra="ignore")

    home: Path = Field(Path(".cardlake"), description="Local state: landing, lake, warehouse, model registry.")

    # source
    source: Literal["simulator", "card-api"] = "simulator"
    source_name: str = "cardapi"
    api_base_url: str = "http://127.0.0.1:8765"
    api_email: str = "demo@cardlake.local"
    api_password: SecretStr = SecretStr("cardlake-demo")
    api_totp_secret: SecretStr = SecretStr("JBSWY3DPEHPK3PXP")
    api_client_id: str = "cardlake-local"
    api_refresh_token: SecretStr | None = None
    api_page_size: int = 1000
    extract_overlap_hours: int = 24 * 46  # rewards turn approved 45 days after creation

    # landing storage
    landing: Literal["local", "s3"] = "local"
    landing_s3_bucket_block: str = "cardlake-landing"

    # spark
    spark_runner: Literal["local-submit", "local-session", "emr-serverless"] = "local-submit"
    delta_engine: Literal["delta-rs", "delta-spark"] = "delta-rs"
    emr_block: str = "cardlake-emr"
    lake_uri: str | None = None  # defaults to <home>/lake
    landing_uri: str | None = None  # defaults to <home>/landing

    # warehouse
    warehouse: Literal["duckdb", "postgres", "redshift"] = "duckdb"
    warehouse_block: str = "cardlake-warehouse"
    duckdb_path: Path | None = None  # defaults to <home>/warehouse.duckdb
    postgres_dsn: SecretStr | None = None

    # security
    pan_token_key: SecretStr | None = None  # falls back to the Secret block, then the flagged local key
    pan_token_secret_block: str = "pan-token-key"

    # fraud
    fraud_threshold: float = 0.5
    model_dir: str | None = None  # defaults to <home>/models, or <lake>/models when the lake is on S3

    @property
    def landing_root(self) -> str:
        return self.landing_uri or str((self.home / "landing").resolve())

    @property
    def lake_root(self) -> str:
        return self.lake_uri or str((self.home / "lake").resolve())

    @property
    def duckdb_file(self) -> Path:
        return (self.duckdb_path or self.home / "warehouse.duckdb").resolve()

    @property
    def models_root(self) -> str:
        """Where fraud models are saved and read: beside the lake when it is remote, so EMR jobs reach them."""
        if self.model_dir:
            return self.model_dir
        if "://" in self.lake_root:
            return f"{self.lake_root.rstrip('/')}/models"
        return str((self.home / "models").resolve())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def utc(value: datetime) -> datetime:
    """A timezone-aware UTC datetime (naive values are taken as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime) -> str:
    return utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")
