"""Warehouse connection block: DuckDB file (embedded default), PostgreSQL or Amazon Redshift."""

from __future__ import annotations

from typing import Literal

from prefect.blocks.core import Block
from pydantic import Field, SecretStr, model_validator


class WarehouseConnection(Block):
    """Where the star schema lives. Redshift can use IAM (no password) with a cluster or serverless workgroup."""

    _block_type_name = "Warehouse Connection"
    _block_type_slug = "cardlake-warehouse-connection"
    _description = "Warehouse for the star schema: duckdb (a file), postgres or redshift."

    kind: Literal["duckdb", "postgres", "redshift"] = "duckdb"
    duckdb_path: str | None = Field(None, description="DuckDB file (kind=duckdb).")
    dsn: SecretStr | None = Field(None, description="postgres: a libpq connection string, instead of host/user/...")
    host: str | None = None
    port: int | None = Field(None, description="Default 5432 (postgres) / 5439 (redshift).")
    database: str | None = None
    user: str | None = None
    password: SecretStr | None = None
    db_schema: str = Field("public", description="Schema the star schema tables go into.")
    iam: bool = Field(False, description="Redshift: authenticate with IAM instead of a password.")
    cluster_identifier: str | None = Field(None, description="Redshift provisioned cluster (IAM auth).")
    workgroup: str | None = Field(None, description="Redshift Serverless workgroup (Terraform `redshift_workgroup`).")
    region: str | None = None
    copy_role_arn: str | None = Field(None, description="IAM role Redshift COPY assumes to read S3 exports.")
    ssl: bool = True

    @model_validator(mode="after")
    def _complete_for_kind(self) -> WarehouseConnection:
        if self.kind == "duckdb":
            if not self.duckdb_path:
                raise ValueError("kind=duckdb needs duckdb_path")
            return self
        if self.kind == "postgres" and self.dsn is not None:
            return self
        if not self.database:
            raise ValueError(f"kind={self.kind} needs database")
        if self.kind == "redshift" and self.iam:
            if not (self.host or self.workgroup or self.cluster_identifier):
                raise ValueError("redshift with iam needs host, workgroup or cluster_identifier")
            return self
        missing = [name for name in ("host", "user") if not getattr(self, name)]
        if missing:
            raise ValueError(f"kind={self.kind} needs {missing}")
        return self
