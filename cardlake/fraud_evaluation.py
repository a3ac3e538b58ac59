"""How good the fraud scores are on the lake's own labels: `cardlake fraud evaluate` and its flow.

Driver-sized on purpose: gold/transaction_scores joined with silver/transactions' `is_fraud` over a window of
transaction time, read with delta-rs into pandas (no Spark). The metrics are those of training
(`spark_jobs.fraud.evaluation`: step-wise average precision, Mann-Whitney ROC-AUC), so a number here means the
same as the one in a model's metrics.json. Intervals come from a card-clustered bootstrap: the cards are
resampled, not the rows, because one card's frauds come in bursts and are not independent draws.

Drift compares each month of the window with the training reference of the model that made the scores
(quantile bins of its validation scores and of the main features as the gold table stores them, saved in the
version's reference.json, `spark_jobs.fraud.drift`). A model version without those bins (or a registry that
cannot be read) falls back to comparing each month with the window's first month, and the report says which.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from contracts import lake
from contracts.landing import Window
from spark_jobs.fraud.drift import psi_against
from spark_jobs.fraud.evaluation import (
    at_threshold,
    precision_recall_curve,
    recall_at_precision,
)

PSI_FLAG = 0.2  # the usual reading: < 0.1 stable, 0.1-0.2 some movement, > 0.2 the population has moved
PSI_BINS = 10
PSI_FLOOR = 1e-4  # an empty bin's share, so the index stays finite
MIN_DRIFT_ROWS = 50  # below this in either month the index is noise: reported, never flagged
MIN_PRECISION = 0.9
REPORT_JSON = "report.json"
PR_CURVE_PNG = "pr_curve.png"
HISTOGRAM_PNG = "score_histogram.png"
_LABEL_COLUMNS = ("transaction_id", "transaction_ts", "card_token", "amount_gbp", "is_fraud", "is_refund")
_SCORE_COLUMNS = ("transaction_id", "fraud_score", "threshold", "model_version")


class EvaluationError(ValueError):
    """The evaluation cannot run on this lake and window (the message says why, in one line)."""


@dataclass(frozen=True)
class Interval:
    low: float | None
    high: float | None


@dataclass(frozen=True)
class DriftRow:
    month: str
    column: str
    rows: int
    null_share: float
    median: float | None
    psi: float | None  # None for the reference month itself
    flagged: bool


@dataclass(frozen=True)
class Evaluation:
    window: tuple[str, str]
    rows: int
    positives: int
    unlabelled: int
    unscored: int
    model_versions: list[str]
    threshold: float
    threshold_source: str
    pr_auc: float | None
    roc_auc: float | None
    precision: float | None
    recall: float | None
    flagged: int
    recall_at_precision_0_9: float | None
    alerts_per_day: dict[str, int]
    intervals: dict[str, Interval]
    bootstrap: dict[str, Any]
    drift_reference: str
    drift: list[DriftRow] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return _json_safe(asdict(self))


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _finite(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


# ---- reading the lake --------------------------------------------------------------------------------------


def _table(lake_uri: str, table: lake.LakeTable, storage_options: dict[str, str] | None) -> Any:
    from deltalake import DeltaTable

    uri = table.uri(lake_uri)
    if not DeltaTable.is_deltatable(uri, storage_options=storage_options):
        return None
    return DeltaTable(uri, storage_options=storage_options)


def _months(window: Window) -> list[str]:
    months = pd.period_range(window.start.replace(tzinfo=None), window.end.replace(tzinfo=None), freq="M")
    return [str(m) for m in months]


def _read(table: Any, columns: tuple[str, ...], window: Window | None) -> pd.DataFrame:
    names = set(table.schema().to_arrow().names)
    present = [c for c in columns if c in names]
    partitions = None
    if window is not None and "transaction_month" in table.metadata().partition_columns:
        partitions = [("transaction_month", "in", _months(window))]
    frame: pd.DataFrame = table.to_pyarrow_table(columns=present, partitions=partitions).to_pandas()
    if window is not None:
        ts = pd.to_datetime(frame["transaction_ts"], utc=True)
        frame = frame.assign(transaction_ts=ts)
        frame = frame[(ts >= pd.Timestamp(window.start)) & (ts < pd.Timestamp(window.end))]
    return frame


def load_labelled_scores(
    lake_uri: str, window: Window, storage_options: dict[str, str] | None = None
) -> tuple[pd.DataFrame, int, int]:
    """Scored, labelled purchases in the window (one row per transaction), the count of scored purchases
    without a label, and the count of labelled purchases without a score."""
    if "://" not in lake_uri and not os.path.isdir(lake_uri):
        raise EvaluationError(f"no lake at {lake_uri} (run `cardlake run` first, or pass --lake)")
    silver = _table(lake_uri, lake.SILVER_TRANSACTIONS, storage_options)
    if silver is None:
        raise EvaluationError(f"no {lake.SILVER_TRANSACTIONS.path} table under {lake_uri}: nothing to evaluate")
    scores_table = _table(lake_uri, lake.GOLD_TRANSACTION_SCORES, storage_options)
    if scores_table is None:
        raise EvaluationError(
            f"no {lake.GOLD_TRANSACTION_SCORES.path} table under {lake_uri}: "
            "score the window first (cardlake fraud score)"
        )
    txns = _read(silver, _LABEL_COLUMNS, window)
    txns = txns[~txns["is_refund"].fillna(False).astype(bool)] if "is_refund" in txns else txns
    if txns.empty:
        raise EvaluationError(f"no transactions in {window.label} in {lake.SILVER_TRANSACTIONS.path}")
    scores = _read(scores_table, _SCORE_COLUMNS, None)
    joined = txns.merge(scores, on="transaction_id", how="left")
    scored = joined[joined["fraud_score"].notna()]
    if scored.empty:
        raise EvaluationError(
            f"no scores for the {len(txns)} purchases in {window.label}: run `cardlake fraud score` on that window"
        )
    labelled = scored[scored["is_fraud"].notna()]
    if labelled.empty:
        raise EvaluationError(
            f"no fraud labels (is_fraud) on the {len(scored)} scored purchases in {window.label}: "
            "evaluation needs labelled data"
        )
    unscored = int((joined["fraud_score"].isna() & joined["is_fraud"].notna()).sum())
    frame = labelled.assign(is_fraud=labelled["is_fraud"].astype(bool).astype(int)).reset_index(drop=True)
    return frame, len(scored) - len(labelled), unscored


def load_features(
    lake_uri: str, window: Window, columns: tuple[str, ...], storage_options: dict[str, str] | None = None
) -> pd.DataFrame | None:
    """The model's features of the window's purchases (None when the lake has no feature table)."""
    table = _table(lake_uri, lake.GOLD_TRANSACTION_FEATURES, storage_options)
    if table is None:
        return None
    return _read(table, ("transaction_id", "transaction_ts", *columns), window)


# ---- metrics -------------------------------------------------------------------------------------------------


def card_bootstrap(
    scores: np.ndarray, labels: np.ndarray, cards: np.ndarray, threshold: float, resamples: int, seed: int
) -> dict[str, Interval]:
    """95% percentile intervals of PR-AUC, ROC-AUC, precision and recall, resampling whole cards with
    replacement (a card drawn twice contributes its rows twice)."""
    codes, _ = pd.factorize(pd.Series(cards).fillna("<no card>"), sort=True)
    n_cards = int(codes.max()) + 1
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {"pr_auc": [], "roc_auc": [], "precision": [], "recall": []}
    rows = np.arange(len(scores))
    for _ in range(resamples):
        times = np.bincount(rng.integers(0, n_cards, n_cards), minlength=n_cards)
        index = np.repeat(rows, times[codes])
        s, y = scores[index], labels[index]
        point = at_threshold(s, y, threshold)
        draws["pr_auc"].append(point.pr_auc)
        draws["roc_auc"].append(point.roc_auc)
        if y.any():  # precision and recall of a resample without frauds are undefined, not 0
            draws["precision"].append(point.precision if point.flagged else float("nan"))
            draws["recall"].append(point.recall)
    intervals: dict[str, Interval] = {}
    for name, values in draws.items():
        finite = np.asarray(values, dtype=float)
        finite = finite[~np.isnan(finite)]
        if finite.size == 0:
            intervals[name] = Interval(None, None)
        else:
            low, high = np.percentile(finite, [2.5, 97.5])
            intervals[name] = Interval(float(low), float(high))
    return intervals


def psi(reference: pd.Series, current: pd.Series, bins: int = PSI_BINS) -> float:
    """Population stability index over the reference's quantile bins, with nulls as a bin of their own."""
    ref = pd.to_numeric(reference, errors="coerce").astype(float)
    cur = pd.to_numeric(current, errors="coerce").astype(float)
    known = ref.dropna().to_numpy()
    edges = np.unique(np.quantile(known, np.linspace(0, 1, bins + 1))) if known.size else np.array([])

    def shares(values: pd.Series) -> np.ndarray:
        v = values.to_numpy()
        known_values, nulls = v[~np.isnan(v)], int(np.isnan(v).sum())
        if edges.size > 1:
            inside = np.bincount(np.searchsorted(edges[1:-1], known_values, side="right"), minlength=edges.size - 1)
        else:  # a constant (or all-null) reference: a value equals it, or it does not
            same = int((known_values == edges[0]).sum()) if edges.size else 0
            inside = np.array([same, known_values.size - same])
        counts = np.r_[inside, nulls].astype(float)
        return np.maximum(counts / counts.sum() if counts.sum() else counts, PSI_FLOOR)

    p, q = shares(ref), shares(cur)
    return float(np.sum((q - p) * np.log(q / p)))


def drift_by_month(frame: pd.DataFrame, columns: list[str]) -> list[DriftRow]:
    """Each column's stability index for each month against the first month of `frame`; flagged above
    `PSI_FLAG` when both months hold at least `MIN_DRIFT_ROWS` rows."""
    month = frame["transaction_ts"].dt.strftime("%Y-%m")
    months = sorted(month.unique())
    rows: list[DriftRow] = []
    if not months:
        return rows
    reference = frame[month == months[0]]
    for name in columns:
        for m in months:
            values = pd.to_numeric(frame.loc[month == m, name], errors="coerce").astype(float)
            index = None if m == months[0] else psi(reference[name], values)
            enough = min(len(values), len(reference)) >= MIN_DRIFT_ROWS
            rows.append(_drift_row(m, name, values, index, index is not None and index > PSI_FLAG and enough))
    return rows


def _drift_row(month: str, column: str, values: pd.Series, index: float | None, flagged: bool) -> DriftRow:
    """One month of one column: its size, null share, median and PSI against the reference."""
    return DriftRow(
        month=month,
        column=column,
        rows=len(values),
        null_share=float(values.isna().mean()) if len(values) else 0.0,
        median=_finite(float(values.median())) if values.notna().any() else None,
        psi=index,
        flagged=flagged,
    )


def drift_against_training(frame: pd.DataFrame, reference: dict[str, Any]) -> list[DriftRow]:
    """Each column with training bins, each month against them; flagged above `PSI_FLAG` when the month holds
    at least `MIN_DRIFT_ROWS` rows."""
    month = frame["transaction_ts"].dt.strftime("%Y-%m")
    rows: list[DriftRow] = []
    for name in [c for c in reference if c in frame.columns]:
        for m in sorted(month.unique()):
            values = pd.to_numeric(frame.loc[month == m, name], errors="coerce").astype(float)
            index = psi_against(reference[name], values.to_numpy())
            rows.append(_drift_row(m, name, values, index, index > PSI_FLAG and len(values) >= MIN_DRIFT_ROWS))
    return rows


def training_drift_reference(models_root: str, versions: list[str]) -> tuple[str, dict[str, Any]] | None:
    """(version, drift bins) of the newest of `versions` whose reference.json carries bins, else None."""
    from spark_jobs.fraud.registry import read_reference, version_uri

    for version in sorted(versions, reverse=True):
        try:
            reference = read_reference(version_uri(models_root, version))
        except (OSError, ValueError, KeyError):
            continue
        if reference is not None and reference.drift:
            return version, reference.drift
    return None


def _threshold(frame: pd.DataFrame, override: float | None) -> tuple[float, str]:
    if override is not None:
        return float(override), "--threshold"
    stored = frame["threshold"].dropna() if "threshold" in frame else pd.Series(dtype=float)
    if stored.empty:
        raise EvaluationError("the scores carry no threshold: pass --threshold")
    common = float(stored.mode().iloc[0])
    source = "the scores' threshold" if stored.nunique() == 1 else "the most common of the scores' thresholds"
    return common, source


def evaluate(
    frame: pd.DataFrame,
    window: Window,
    *,
    threshold: float | None = None,
    resamples: int = 200,
    seed: int = 17,
    features: pd.DataFrame | None = None,
    feature_columns: tuple[str, ...] = (),
    unlabelled: int = 0,
    unscored: int = 0,
    training_drift: tuple[str, dict[str, Any]] | None = None,
) -> Evaluation:
    """Metrics, card-clustered intervals, alerts per day and monthly drift of labelled scores."""
    cut, source = _threshold(frame, threshold)
    s = frame["fraud_score"].to_numpy(dtype=float)
    y = frame["is_fraud"].to_numpy(dtype=int)
    point = at_threshold(s, y, cut)
    day = frame["transaction_ts"].dt.strftime("%Y-%m-%d")
    alerts = (s >= cut).astype(int)
    per_day = {d: int(n) for d, n in pd.Series(alerts).groupby(day.to_numpy()).sum().items()}
    intervals = card_bootstrap(s, y, frame["card_token"].to_numpy(dtype=object), cut, resamples, seed)
    drift_frame = frame[["transaction_id", "transaction_ts", "fraud_score", "amount_gbp"]]
    drift_columns = ["fraud_score", "amount_gbp"]
    if features is not None and not features.empty:
        extra = [c for c in feature_columns if c in features.columns and c not in drift_columns]
        drift_frame = drift_frame.merge(features[["transaction_id", *extra]], on="transaction_id", how="left")
        drift_columns += extra
    return Evaluation(
        window=(window.start.isoformat(), window.end.isoformat()),
        rows=point.rows,
        positives=point.positives,
        unlabelled=unlabelled,
        unscored=unscored,
        model_versions=sorted(str(v) for v in frame["model_version"].dropna().unique()),
        threshold=cut,
        threshold_source=source,
        pr_auc=_finite(point.pr_auc),
        roc_auc=_finite(point.roc_auc),
        precision=point.precision if point.positives else None,
        recall=point.recall if point.positives else None,
        flagged=point.flagged,
        recall_at_precision_0_9=_finite(recall_at_precision(s, y, MIN_PRECISION)),
        alerts_per_day=per_day,
        intervals=intervals,
        bootstrap={"resamples": resamples, "seed": seed, "unit": "card", "cards": int(frame["card_token"].nunique())},
        drift_reference=(
            f"the training reference of model {training_drift[0]}"
            if training_drift
            else "the first month of the window (the model's training reference has no drift bins)"
        ),
        drift=(
            drift_against_training(drift_frame, training_drift[1])
            if training_drift
            else drift_by_month(drift_frame, drift_columns)
        ),
    )


# ---- output --------------------------------------------------------------------------------------------------


def save_plots(frame: pd.DataFrame, evaluation: Evaluation, out: Path) -> dict[str, str]:
    """The PR curve (with the operating point) and the score histogram, fraud against legitimate."""
    from matplotlib.figure import Figure

    out.mkdir(parents=True, exist_ok=True)
    s = frame["fraud_score"].to_numpy(dtype=float)
    y = frame["is_fraud"].to_numpy(dtype=int)
    files: dict[str, str] = {}

    figure = Figure(figsize=(6, 4.5))
    axes = figure.subplots()
    if y.any():
        precision, recall, _ = precision_recall_curve(s, y)
        axes.step(np.r_[0.0, recall], np.r_[precision[0], precision], where="pre", label="PR curve")
        if evaluation.recall is not None and evaluation.precision is not None:
            axes.plot([evaluation.recall], [evaluation.precision], "o", label=f"threshold {evaluation.threshold:.3f}")
    axes.axhline(y.mean() if len(y) else 0.0, linestyle=":", color="grey", label="fraud rate (chance)")
    axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
    axes.set_title(f"PR-AUC {evaluation.pr_auc if evaluation.pr_auc is not None else float('nan'):.3f}")
    axes.legend(loc="lower left")
    files["pr_curve"] = str(out / PR_CURVE_PNG)
    figure.savefig(files["pr_curve"], dpi=100)

    figure = Figure(figsize=(6, 4.5))
    axes = figure.subplots()
    edges = [i / 40 for i in range(41)]
    axes.hist(s[y == 0], bins=edges, alpha=0.6, density=True, label=f"legitimate ({int((y == 0).sum())})")
    axes.hist(s[y == 1], bins=edges, alpha=0.6, density=True, label=f"fraud ({int(y.sum())})")
    axes.axvline(evaluation.threshold, color="black", linestyle="--", label="threshold")
    axes.set(xlabel="fraud score", ylabel="density")
    axes.legend(loc="best")
    files["score_histogram"] = str(out / HISTOGRAM_PNG)
    figure.savefig(files["score_histogram"], dpi=100)
    return files


def write_report(evaluation: Evaluation, out: Path) -> str:
    out.mkdir(parents=True, exist_ok=True)
    path = out / REPORT_JSON
    path.write_text(json.dumps(evaluation.as_dict(), indent=2) + "\n")
    return str(path)


def explanation(evaluation: Evaluation) -> str:
    """One sentence: what the numbers mean, and when they should not be trusted."""
    base = float(evaluation.positives) / evaluation.rows if evaluation.rows else 0.0
    sentence = (
        f"PR-AUC is the mean precision over all recall levels (chance would be the fraud rate, {base:.2%}); "
        f"at threshold {evaluation.threshold:.3f} the model flagged {evaluation.flagged} of {evaluation.rows} "
        f"purchases and the intervals resample cards"
    )
    if evaluation.positives < 30:
        return (
            sentence
            + f", so with only {evaluation.positives} frauds expect them to be wide and the point values noisy."
        )
    flagged = [d for d in evaluation.drift if d.flagged]
    if flagged:
        return (
            sentence + f"; {len(flagged)} month/column pairs drifted (PSI > {PSI_FLAG}), so compare months with care."
        )
    return sentence + "; a PR-AUC far below the model's holdout value means this data differs from what it learned."


def run_evaluation(
    lake_uri: str,
    window: Window,
    out: Path,
    *,
    threshold: float | None = None,
    resamples: int = 200,
    seed: int = 17,
    feature_columns: tuple[str, ...] = (),
    storage_options: dict[str, str] | None = None,
    models_root: str | None = None,
) -> Evaluation:
    """Read, evaluate, save the PNGs and report.json under `out`; the returned evaluation names the files.
    Drift is against the scoring model's training reference under `models_root` (default `<lake>/models`)."""
    frame, unlabelled, unscored = load_labelled_scores(lake_uri, window, storage_options)
    versions = sorted(str(v) for v in frame["model_version"].dropna().unique())
    training_drift = training_drift_reference(models_root or lake.default_models_root(lake_uri), versions)
    if training_drift:
        feature_columns = tuple(dict.fromkeys((*feature_columns, *training_drift[1])))
        feature_columns = tuple(c for c in feature_columns if c not in ("fraud_score", "amount_gbp"))
    features = load_features(lake_uri, window, feature_columns, storage_options) if feature_columns else None
    evaluation = evaluate(
        frame,
        window,
        threshold=threshold,
        resamples=resamples,
        seed=seed,
        features=features,
        feature_columns=feature_columns,
        unlabelled=unlabelled,
        unscored=unscored,
        training_drift=training_drift,
    )
    files = save_plots(frame, evaluation, out)
    evaluation = Evaluation(**{**evaluation.__dict__, "files": {**files, "report": str(out / REPORT_JSON)}})
    write_report(evaluation, out)
    return evaluation


def window_of(start: datetime, end: datetime) -> Window:
    """The evaluation window, or a one-line error when it is reversed or empty."""
    if end <= start:
        raise EvaluationError(f"--to ({end:%Y-%m-%d}) must be after --from ({start:%Y-%m-%d})")
    return Window(start, end)
