"""Where things live under the lake root (docs/contracts.md section 3): Delta tables, exports, job results.

Every URI here is built from a lake root that may be a local folder or `s3://bucket/prefix`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class LakeTable:
    layer: str
    name: str

    @property
    def path(self) -> str:
        """Relative to the lake root, e.g. `silver/transactions`: also the table's name in run reports."""
        return f"{self.layer}/{self.name}"

    def uri(self, lake_uri: str) -> str:
        return f"{lake_uri.rstrip('/')}/{self.path}"


SILVER, GOLD = "silver", "gold"

SILVER_TRANSACTIONS = LakeTable(SILVER, "transactions")
SILVER_REWARDS = LakeTable(SILVER, "rewards")
SILVER_CARDHOLDERS = LakeTable(SILVER, "cardholders")
SILVER_ADDRESSES = LakeTable(SILVER, "addresses")
SILVER_MERCHANTS = LakeTable(SILVER, "merchants")
SILVER_CARDS = LakeTable(SILVER, "cards")
SILVER_PLU_RATES = LakeTable(SILVER, "plu_rates")
SILVER_QUARANTINE = LakeTable(SILVER, "quarantine")
SILVER_RUN_METRICS = LakeTable(SILVER, "run_metrics")

GOLD_REWARD_TRANSACTIONS = LakeTable(GOLD, "reward_transactions")
GOLD_TRANSACTION_FEATURES = LakeTable(GOLD, "transaction_features")
GOLD_TRANSACTION_SCORES = LakeTable(GOLD, "transaction_scores")
GOLD_FRAUD_ALERTS = LakeTable(GOLD, "fraud_alerts")

# Every table above; with the gold copies of the star tables (`gold_star_table`) that is the whole lake.
NAMED_TABLES: tuple[LakeTable, ...] = (
    SILVER_TRANSACTIONS,
    SILVER_REWARDS,
    SILVER_CARDHOLDERS,
    SILVER_ADDRESSES,
    SILVER_MERCHANTS,
    SILVER_CARDS,
    SILVER_PLU_RATES,
    SILVER_QUARANTINE,
    SILVER_RUN_METRICS,
    GOLD_REWARD_TRANSACTIONS,
    GOLD_TRANSACTION_FEATURES,
    GOLD_TRANSACTION_SCORES,
    GOLD_FRAUD_ALERTS,
)


def gold_star_table(name: str) -> LakeTable:
    """The gold copy of a star-schema table of `contracts.tables` (e.g. `gold/fact_transaction`)."""
    return LakeTable(GOLD, name)


EXPORTS = "exports"
EXPORT_MANIFEST = "_export.json"
RUNS = "_runs"
MODELS = "models"
CHECKPOINTS = "_checkpoints"
STREAM = "stream"


def absolute(uri: str) -> str:
    """Local paths become absolute, so URIs written into manifests work from any working directory."""
    return uri if "://" in uri or uri.startswith("file:") else os.path.abspath(uri)


def exports_root(lake_uri: str) -> str:
    return f"{absolute(lake_uri).rstrip('/')}/{EXPORTS}"


def export_uri(exports_root_uri: str, run_id: str) -> str:
    """The folder of one run's export: `<exports root>/<run_id>`, one sub-folder per star table."""
    return f"{absolute(exports_root_uri).rstrip('/')}/{run_id}"


def export_manifest_uri(export_folder_uri: str) -> str:
    return f"{export_folder_uri.rstrip('/')}/{EXPORT_MANIFEST}"


def job_result_uri(lake_uri: str, run_id: str, job: str) -> str:
    """Each Spark job writes its `JobResult` here; the runner reads it back (no parsing of driver logs)."""
    return f"{lake_uri.rstrip('/')}/{RUNS}/{run_id}/{job}.json"


def stream_checkpoint_uri(lake_uri: str) -> str:
    """The alerts stream's Structured Streaming checkpoint (which manifests each micro-batch took), under the lake
    so that a restarted stream, local or on EMR, resumes where the last committed micro-batch ended."""
    return f"{lake_uri.rstrip('/')}/{CHECKPOINTS}/{STREAM}"


def stream_exports_root(lake_uri: str) -> str:
    """Where each micro-batch of the stream exports the alerts it changed, one `export_uri(root, run_id)` folder
    per micro-batch, in the batch export's layout (a `_export.json` naming `fraud_alerts` only)."""
    return f"{exports_root(lake_uri)}/{STREAM}"


def default_models_root(lake_uri: str) -> str:
    """The model registry beside the lake, where EMR jobs reach it too."""
    return f"{lake_uri.rstrip('/')}/{MODELS}"
