"""EMR Serverless application block: where Spark runs in production and what it costs."""

from __future__ import annotations

from typing import Literal

from prefect.blocks.core import Block
from pydantic import Field, field_validator

from contracts import names

# On-demand EMR Serverless prices for us-east-1 (aws.amazon.com/emr/pricing, checked 2025): per vCPU-hour,
# per GB-hour of memory, per GB-hour of ephemeral storage beyond the 20 GB each worker gets free.
PRICE_VCPU_HOUR_ARM64 = 0.042094
PRICE_MEMORY_GB_HOUR_ARM64 = 0.004628
PRICE_VCPU_HOUR_X86_64 = 0.052624
PRICE_MEMORY_GB_HOUR_X86_64 = 0.0057785
PRICE_STORAGE_GB_HOUR = 0.000111


class EmrServerlessApplication(Block):
    """An EMR Serverless application (Terraform output `emr_application_id`) and how cardlake submits to it."""

    _block_type_name = "EMR Serverless Application"
    _block_type_slug = "cardlake-emr-serverless-application"
    _description = "EMR Serverless application, S3 locations for code and logs, polling and price settings."

    application_id: str = Field(..., description="EMR Serverless application id (Terraform `emr_application_id`).")
    execution_role_arn: str = Field(..., description="Job execution role (Terraform `emr_execution_role_arn`).")
    release_label: str = Field("emr-7.9.0", description="Must match the application's release.")
    region: str = Field("us-east-1")
    architecture: Literal["ARM64", "X86_64"] = Field("ARM64", description="Picks the price per hour.")
    code_uri: str = Field(..., description="s3:// prefix for job code, e.g. s3://<bucket>/code/")
    logs_uri: str = Field(..., description="s3:// prefix for Spark driver/executor logs, e.g. s3://<bucket>/logs/")
    venv_archive_uri: str | None = Field(
        None, description="s3:// URI of a venv-pack archive shipped with spark.archives (None: the image's Python)."
    )
    python_path: str | None = Field(
        None,
        description="Interpreter of a custom image (infra/emr-image: /usr/bin/python3.11); unused with a venv archive.",
    )
    pan_key_secret_arn: str | None = Field(
        None, description="Secrets Manager secret with the PAN token key (Terraform `pan_token_key_secret_arn`)."
    )
    delta_log_table: str = Field(
        names.DELTA_LOG_TABLE,
        description="DynamoDB table of the S3DynamoDBLogStore (Terraform `delta_log_table`), in `region`.",
    )
    execution_timeout_minutes: int = Field(120, ge=5, description="EMR cancels the job run after this.")
    spark_conf: dict[str, str] = Field(default_factory=dict, description="Extra --conf key=value pairs.")
    tags: dict[str, str] = Field(default_factory=lambda: {"project": "cardlake"})

    poll_interval_s: float = Field(10.0, gt=0, description="First wait between get_job_run calls.")
    poll_max_interval_s: float = Field(60.0, gt=0, description="Cap of the exponential backoff.")
    poll_backoff: float = Field(1.5, ge=1.0)
    poll_timeout_s: float | None = Field(
        None, description="Give up (and cancel the job run) after this; default: execution timeout + 10 min."
    )
    cancel_wait_s: float = Field(300.0, ge=0, description="How long to watch a cancelled job run end.")
    stream_max_failed_attempts_per_hour: int = Field(
        5, ge=1, description="STREAMING job run: EMR restarts a failed stream up to this often per hour, then fails it."
    )
    stream_start_timeout_s: float = Field(
        900.0, gt=0, description="How long `cardlake stream start` waits for the stream's job run to be RUNNING."
    )

    price_vcpu_hour_arm64: float = PRICE_VCPU_HOUR_ARM64
    price_memory_gb_hour_arm64: float = PRICE_MEMORY_GB_HOUR_ARM64
    price_vcpu_hour_x86_64: float = PRICE_VCPU_HOUR_X86_64
    price_memory_gb_hour_x86_64: float = PRICE_MEMORY_GB_HOUR_X86_64
    price_storage_gb_hour: float = PRICE_STORAGE_GB_HOUR

    @field_validator("code_uri", "logs_uri")
    @classmethod
    def _s3_prefix(cls, value: str) -> str:
        if not value.startswith("s3://"):
            raise ValueError(f"must be an s3:// prefix, got {value!r}")
        return value.rstrip("/") + "/"

    @field_validator("venv_archive_uri")
    @classmethod
    def _s3_uri(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("s3://"):
            raise ValueError(f"must be an s3:// URI, got {value!r}")
        return value

    @field_validator("spark_conf")
    @classmethod
    def _no_whitespace(cls, value: dict[str, str]) -> dict[str, str]:
        # sparkSubmitParameters is one space-separated string: a space inside a value would split it.
        bad = [key for key, item in value.items() if not key or any(c.isspace() for c in key + item)]
        if bad:
            raise ValueError(f"spark_conf keys and values must not contain whitespace: {bad}")
        return value

    @property
    def effective_poll_timeout_s(self) -> float:
        return self.poll_timeout_s or self.execution_timeout_minutes * 60 + 600

    def estimate_cost_usd(self, vcpu_hours: float, memory_gb_hours: float, storage_gb_hours: float) -> float:
        if self.architecture == "ARM64":
            vcpu_price, memory_price = self.price_vcpu_hour_arm64, self.price_memory_gb_hour_arm64
        else:
            vcpu_price, memory_price = self.price_vcpu_hour_x86_64, self.price_memory_gb_hour_x86_64
        cost = vcpu_hours * vcpu_price + memory_gb_hours * memory_price
        return round(cost + storage_gb_hours * self.price_storage_gb_hour, 6)
