"""Names that deployments share (docs/contracts.md section 5): Prefect block documents, work pools, artifacts,
and the kinds a setting may name. `infra/`, `prefect.yaml`, the block registration and the code read them here.
"""

from __future__ import annotations

from typing import Literal, get_args

# Prefect block documents.
CARD_API_CREDENTIALS_BLOCK = "cardapi-credentials"
EMR_BLOCK = "cardlake-emr"
WAREHOUSE_BLOCK = "cardlake-warehouse"
LANDING_BLOCK = "cardlake-landing"
RESULTS_BLOCK = "cardlake-results"
PAN_TOKEN_KEY_BLOCK = "pan-token-key"
NOTIFICATION_BLOCK = "cardlake-notifications"

# Prefect automations that `cardlake blocks register` creates (cardlake/notifications.py), and the daily
# deployments (prefect.yaml) whose missing run the second one reports.
FAILED_RUN_AUTOMATION = "cardlake-flow-run-failed"
MISSED_DAILY_RUN_AUTOMATION = "cardlake-daily-run-missing"
DAILY_DEPLOYMENTS: tuple[str, ...] = ("pipeline-local", "pipeline-warm", "pipeline-ecs")

# Prefect flows that a person or a schedule starts (the others run as their subflows); a failure of one of these
# is notified once, not once more per failed subflow.
PIPELINE_FLOW = "pipeline"
ALERTS_FLOW = "alerts"
BACKFILL_FLOW = "backfill"
TRAIN_FLOW = "train-fraud-model"
MAINTENANCE_FLOW = "maintenance"
IMPORT_FLOW = "import"
# The long-running poller of the alerts stream (flows/stream.py); a deployment keeps it running.
STREAM_FLOW = "stream"
# The short flow that upserts the EMR stream's micro-batch alert exports into the warehouse, every minute.
STREAM_LOAD_FLOW = "stream-load-alerts"
ENTRY_FLOWS: tuple[str, ...] = (PIPELINE_FLOW, ALERTS_FLOW, BACKFILL_FLOW, TRAIN_FLOW, MAINTENANCE_FLOW, IMPORT_FLOW)

# Prefect global concurrency limit (limit 1) that every run writing the Delta lake holds while it writes.
LAKE_WRITER_LIMIT = "cardlake-lake-writer"

# DynamoDB table of delta-spark's S3DynamoDBLogStore (infra/delta_log.tf): every commit to the S3 lake goes
# through it (docs/adr/0015).
DELTA_LOG_TABLE = "cardlake-delta-log"

# Prefect work pools (one per place flows run).
LOCAL_WORK_POOL = "cardlake-local"
ECS_WORK_POOL = "cardlake-ecs"
# The pool of `cardlake worker`, which runs each flow run in its own long-lived process (a warm SparkSession).
WARM_WORK_POOL = "cardlake-warm"

# Prefect artifacts every pipeline run publishes (keys must match ^[a-z0-9-]*$).
RUN_SUMMARY_ARTIFACT = "cardlake-run-summary"
ROWS_PER_STAGE_ARTIFACT = "cardlake-rows-per-stage"

# What each setting may name; each kind is one implementation of one interface.
SourceKind = Literal["simulator", "card-api"]
LandingKind = Literal["local", "s3"]
SparkRunnerKind = Literal["local-submit", "local-session", "emr-serverless"]
WarehouseKind = Literal["duckdb", "postgres", "redshift"]
SOURCE_KINDS: tuple[SourceKind, ...] = get_args(SourceKind)
LANDING_KINDS: tuple[LandingKind, ...] = get_args(LandingKind)
SPARK_RUNNERS: tuple[SparkRunnerKind, ...] = get_args(SparkRunnerKind)
WAREHOUSE_KINDS: tuple[WarehouseKind, ...] = get_args(WarehouseKind)

# The read-only role BI tools (Looker Studio, the dashboard) connect as.
BI_ROLE = "cardlake_bi"
