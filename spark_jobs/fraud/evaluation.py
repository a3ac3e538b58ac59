"""Ranking metrics on (score, label) pairs, computed exactly on the driver (holdouts are small enough).

PR-AUC is average precision (step-wise, as scikit-learn computes it): it never interpolates optimistically
between operating points, unlike the trapezoid of Spark's BinaryClassificationEvaluator.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Scores:
    pr_auc: float
    roc_auc: float
    precision: float
    recall: float
    f1: float
    threshold: float
    rows: int
    positives: int
    flagged: int

    def as_dict(self) -> dict[str, float | int | None]:
        """JSON-safe: an undefined metric (no positive label) is None, not NaN."""
        return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in asdict(self).items()}


def _as_arrays(scores: np.ndarray | list[float], labels: np.ndarray | list[int]) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=int)
    if s.shape != y.shape:
        raise ValueError(f"{s.shape[0]} scores but {y.shape[0]} labels")
    return s, y


def _operating_points(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One point per distinct score, highest first: (threshold, true positives, rows flagged at >= threshold)."""
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # the last index of each run of equal scores
    return s[last], np.cumsum(y)[last], last + 1


def average_precision(scores: np.ndarray | list[float], labels: np.ndarray | list[int]) -> float:
    s, y = _as_arrays(scores, labels)
    positives = int(y.sum())
    if positives == 0:
        return float("nan")
    _, tp, flagged = _operating_points(s, y)
    precision = tp / flagged
    recall = tp / positives
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def roc_auc(scores: np.ndarray | list[float], labels: np.ndarray | list[int]) -> float:
    """Mann-Whitney U with mid-ranks for ties."""
    s, y = _as_arrays(scores, labels)
    positives, negatives = int(y.sum()), int((1 - y).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    bounds = np.r_[0, np.nonzero(np.diff(s[order]))[0] + 1, len(s)]  # runs of equal scores: [start, end)
    starts, ends = bounds[:-1], bounds[1:]
    ranks = np.empty(len(s), dtype=float)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)  # mean of 1-based ranks start+1..end
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def at_threshold(scores: np.ndarray | list[float], labels: np.ndarray | list[int], threshold: float) -> Scores:
    s, y = _as_arrays(scores, labels)
    flagged = s >= threshold
    tp = int((flagged & (y == 1)).sum())
    precision = tp / int(flagged.sum()) if flagged.any() else 0.0
    recall = tp / int(y.sum()) if y.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(
        pr_auc=average_precision(s, y),
        roc_auc=roc_auc(s, y),
        precision=precision,
        recall=recall,
        f1=f1,
        threshold=float(threshold),
        rows=len(s),
        positives=int(y.sum()),
        flagged=int(flagged.sum()),
    )


def max_f1_threshold(scores: np.ndarray | list[float], labels: np.ndarray | list[int]) -> float:
    """The score threshold with the best F1 (ties: the higher threshold, i.e. fewer alerts)."""
    s, y = _as_arrays(scores, labels)
    positives = int(y.sum())
    if positives == 0:
        raise ValueError("cannot choose a threshold without any positive label")
    thresholds, tp, flagged = _operating_points(s, y)
    f1 = 2 * tp / (flagged + positives)
    return float(thresholds[int(np.argmax(f1))])


def precision_recall_curve(
    scores: np.ndarray | list[float], labels: np.ndarray | list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, threshold) at every distinct score, highest threshold first: the points whose
    step-wise area is `average_precision`."""
    s, y = _as_arrays(scores, labels)
    positives = int(y.sum())
    if positives == 0:
        raise ValueError("no PR curve without any positive label")
    thresholds, tp, flagged = _operating_points(s, y)
    return tp / flagged, tp / positives, thresholds


def recall_at_precision(
    scores: np.ndarray | list[float], labels: np.ndarray | list[int], min_precision: float = 0.9
) -> float:
    """The highest recall of any threshold whose precision is at least `min_precision` (0.0 when none is)."""
    s, y = _as_arrays(scores, labels)
    if int(y.sum()) == 0:
        return float("nan")
    precision, recall, _ = precision_recall_curve(s, y)
    reached = precision >= min_precision
    return float(recall[reached].max()) if reached.any() else 0.0
