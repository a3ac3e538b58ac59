"""A versioned model registry on any filesystem pyarrow knows (local folders here, S3 in production).

Layout: `<models_root>/fraud/<version>/model/` (the MLlib PipelineModel), `<version>/metrics.json`
(quality, threshold, features, windows, row counts, explanation reference), `<version>/reference.json` (the
training reference statistics the fallbacks and the drift check use, `spark_jobs.fraud.reference`) and
`<models_root>/fraud/LATEST`
(the newest version's name, written last so a reader never sees a half-saved model).
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyarrow import fs as pafs
from pyspark.ml import PipelineModel

from spark_jobs.fraud.reference import REFERENCE_FILE, TrainingReference

MODEL_FAMILY = "fraud"
LATEST = "LATEST"
METRICS = "metrics.json"


class ModelNotFound(LookupError):
    """No trained model where one was asked for."""


@dataclass(frozen=True)
class LoadedModel:
    version: str
    uri: str
    pipeline: PipelineModel
    metrics: dict[str, Any]
    reference: TrainingReference

    @property
    def threshold(self) -> float:
        return float(self.metrics["threshold"])


def _uri(path: str | Path) -> str:
    text = str(path)
    return text if "://" in text else str(Path(text).resolve())


def _filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    return pafs.FileSystem.from_uri(uri)


def _read_text(uri: str) -> str | None:
    filesystem, path = _filesystem(uri)
    if filesystem.get_file_info(path).type != pafs.FileType.File:
        return None
    with filesystem.open_input_stream(path) as stream:
        return stream.read().decode()


def _write_text(uri: str, text: str) -> None:
    filesystem, path = _filesystem(uri)
    filesystem.create_dir(posixpath.dirname(path), recursive=True)
    with filesystem.open_output_stream(path) as stream:
        stream.write(text.encode())


def family_uri(models_root: str | Path) -> str:
    return f"{_uri(models_root).rstrip('/')}/{MODEL_FAMILY}"


def new_version(models_root: str | Path, now: datetime | None = None) -> str:
    """`v<UTC timestamp>`, with a suffix should that version already exist."""
    base = "v" + (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    version, n = base, 1
    filesystem, path = _filesystem(family_uri(models_root))
    while filesystem.get_file_info(posixpath.join(path, version)).type != pafs.FileType.NotFound:
        n += 1
        version = f"{base}-{n}"
    return version


def save_model(
    models_root: str | Path, pipeline: PipelineModel, metrics: dict[str, Any], reference: TrainingReference
) -> str:
    version = new_version(models_root)
    uri = f"{family_uri(models_root)}/{version}"
    pipeline.write().overwrite().save(f"{uri}/model")
    _write_text(f"{uri}/{REFERENCE_FILE}", reference.to_json())
    _write_text(f"{uri}/{METRICS}", json.dumps({**metrics, "version": version}, indent=2, sort_keys=True) + "\n")
    _write_text(f"{family_uri(models_root)}/{LATEST}", version + "\n")
    return version


def latest_version(models_root: str | Path) -> str | None:
    text = _read_text(f"{family_uri(models_root)}/{LATEST}")
    return text.strip() if text else None


def resolve_model_uri(model_uri: str | None, models_root: str | Path | None) -> str:
    """An explicit version folder, else the LATEST under models_root; ModelNotFound when there is none."""
    if model_uri:
        uri = _uri(model_uri)
        if _read_text(f"{uri.rstrip('/')}/{METRICS}") is None:
            raise ModelNotFound(f"no model at {uri} (expected {METRICS} and model/ there)")
        return uri.rstrip("/")
    if models_root is None:
        raise ModelNotFound("neither a model_uri nor a models_root was given")
    version = latest_version(models_root)
    if version is None:
        raise ModelNotFound(f"no trained fraud model under {family_uri(models_root)} (no {LATEST} file)")
    return f"{family_uri(models_root)}/{version}"


def read_metrics(model_uri: str) -> dict[str, Any]:
    """The metrics.json of a model version (empty when it has none)."""
    return json.loads(_read_text(f"{model_uri.rstrip('/')}/{METRICS}") or "{}")


def read_reference(model_uri: str) -> TrainingReference | None:
    """The training reference of a model version (None for a version saved before models carried one)."""
    text = _read_text(f"{model_uri.rstrip('/')}/{REFERENCE_FILE}")
    return TrainingReference.from_json(text) if text else None


def load_model(model_uri: str | None = None, models_root: str | Path | None = None) -> LoadedModel:
    uri = resolve_model_uri(model_uri, models_root)
    metrics = read_metrics(uri)
    reference = read_reference(uri)
    if reference is None:
        raise ModelNotFound(
            f"model {uri} has no {REFERENCE_FILE} (trained before models carried their reference statistics): "
            "train a new version with `cardlake fraud train`"
        )
    pipeline = PipelineModel.load(f"{uri}/model")
    return LoadedModel(
        version=metrics.get("version", posixpath.basename(uri)),
        uri=uri,
        pipeline=pipeline,
        metrics=metrics,
        reference=reference,
    )


def version_uri(models_root: str | Path, version: str) -> str:
    return f"{family_uri(models_root)}/{version}"
