"""One settings object that picks every implementation; the defaults are the embedded ones.

Environment variables override any field with the prefix `CARDLAKE_` (e.g. `CARDLAKE_WAREHOUSE=postgres`).
Deployments set them in `prefect.yaml` (job_variables.env). Settings are read once, where a flow or a command
starts, and resolved with the blocks they name into one `cardlake.config.PipelineConfig`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts import names
from contracts.jobs import DeltaEngine, LocalSpark
from contracts.lake import default_models_root
from contracts.landing import DEFAULT_SOURCE

# Only for the local simulator and `make run`: the summary flags when it is in use.
LOCAL_DEMO_PAN_KEY = "cardlake-local-demo-pan-key-not-for-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARDLAKE_", extra="ignore", frozen=True)

    home: Path = Field(Path(".cardlake"), description="Local state: landing, lake, warehouse, model registry.")
    debug: bool = Field(False, description="Show full tracebacks on the command line.")

    # source
    source: names.SourceKind = "simulator"
    source_name: str = DEFAULT_SOURCE
    api_base_url: str = "http://127.0.0.1:8765"
    api_email: str = "demo@cardlake.local"
    api_password: SecretStr = SecretStr("cardlake-demo")
    api_totp_secret: SecretStr = SecretStr("JBSWY3DPEHPK3PXP")
    api_client_id: str = "cardlake-local"
    api_refresh_token: SecretStr | None = None
    api_page_size: int = Field(1000, ge=1, le=5000)

    # landing storage
    landing: names.LandingKind = "local"
    landing_s3_bucket_block: str = names.LANDING_BLOCK

    # spark
    spark_runner: names.SparkRunnerKind = "local-submit"
    delta_engine: DeltaEngine = "delta-rs"
    emr_block: str = names.EMR_BLOCK
    lake_uri: str | None = None  # defaults to <home>/lake
    landing_uri: str | None = None  # defaults to <home>/landing
    spark_master: str = "local[2]"
    spark_shuffle_partitions: int = Field(4, ge=1)
    spark_driver_memory: str = "4g"
    spark_log_level: str = "ERROR"
    # How long a lake writer waits for the one-writer limit (contracts.names.LAKE_WRITER_LIMIT) before failing.
    lake_writer_timeout_s: float = Field(4 * 3600, gt=0)
    # The slot is a lease the writer renews; a writer killed hard holds it this long at most (Prefect's minimum: 60).
    lake_writer_lease_s: float = Field(300, ge=60, le=86400)

    # warehouse
    warehouse: names.WarehouseKind = "duckdb"
    warehouse_block: str = names.WAREHOUSE_BLOCK
    duckdb_path: Path | None = None  # defaults to <home>/warehouse.duckdb
    postgres_dsn: SecretStr | None = None

    # security
    pan_token_key: SecretStr | None = None  # falls back to the Secret block, then the flagged local key
    pan_token_secret_block: str = names.PAN_TOKEN_KEY_BLOCK

    # failure notifications: the block (`<block type slug>/<name>`) the automations send through
    notification_block: str = f"cardlake-log-file-notification/{names.NOTIFICATION_BLOCK}"

    # fraud
    fraud_threshold: float | None = Field(None, ge=0.0, le=1.0)  # None: the threshold the model was trained with
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
            return default_models_root(self.lake_root)
        return str((self.home / "models").resolve())

    @property
    def local_spark(self) -> LocalSpark:
        return LocalSpark(
            master=self.spark_master,
            shuffle_partitions=self.spark_shuffle_partitions,
            driver_memory=self.spark_driver_memory,
            log_level=self.spark_log_level,
            log_file=str(self.logs_dir / "spark" / "in-process.log"),
        )

    @property
    def logs_dir(self) -> Path:
        return (self.home / "logs").resolve()
