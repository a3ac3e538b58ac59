"""Pipeline settings block: the non-secret parts of cardlake.settings.Settings, editable in the Prefect UI."""

from __future__ import annotations

from typing import Any, Literal

from prefect.blocks.core import Block
from pydantic import Field

from cardlake.settings import Settings

# Settings fields that hold secrets stay out of this block: they live in their own Secret/credential blocks.
SECRET_SETTINGS = frozenset({"api_password", "api_totp_secret", "api_refresh_token", "postgres_dsn", "pan_token_key"})


class PipelineSettings(Block):
    _block_type_name = "Cardlake Pipeline Settings"
    _block_type_slug = "cardlake-pipeline-settings"
    _description = "Which source, landing zone, Spark runner, Delta engine and warehouse the pipeline uses."

    home: str = ".cardlake"
    source: Literal["simulator", "card-api"] = "simulator"
    source_name: str = "cardapi"
    api_base_url: str = "http://127.0.0.1:8765"
    api_email: str = "demo@cardlake.local"
    api_client_id: str = "cardlake-local"
    api_page_size: int = Field(1000, ge=1, le=5000)
    extract_overlap_hours: int = Field(24 * 46, ge=0)
    landing: Literal["local", "s3"] = "local"
    landing_s3_bucket_block: str = "cardlake-landing"
    spark_runner: Literal["local-submit", "local-session", "emr-serverless"] = "local-submit"
    delta_engine: Literal["delta-rs", "delta-spark"] = "delta-rs"
    emr_block: str = "cardlake-emr"
    lake_uri: str | None = None
    landing_uri: str | None = None
    warehouse: Literal["duckdb", "postgres", "redshift"] = "duckdb"
    warehouse_block: str = "cardlake-warehouse"
    duckdb_path: str | None = None
    pan_token_secret_block: str = "pan-token-key"
    fraud_threshold: float = Field(0.5, ge=0.0, le=1.0)
    model_dir: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PipelineSettings:
        values = {name: getattr(settings, name) for name in cls.model_fields}
        return cls(**{name: str(value) if hasattr(value, "__fspath__") else value for name, value in values.items()})

    def settings_overrides(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in type(self).model_fields}

    def to_settings(self, **secrets: Any) -> Settings:
        """A Settings object from this block; pass secret fields (e.g. pan_token_key=...) separately."""
        return Settings(**self.settings_overrides(), **secrets)
