"""Ranking metrics and the time-ordered split, on numbers small enough to check by hand."""

from __future__ import annotations

import math

import pytest

from spark_jobs.fraud.evaluation import (
    at_threshold,
    average_precision,
    max_f1_threshold,
    precision_recall_curve,
    recall_at_precision,
    roc_auc,
)
from spark_jobs.fraud.training import NotEnoughData, time_split


def test_average_precision_by_hand():
    # ranked: 0.9(+) 0.8(-) 0.7(+) 0.1(-): precision at each positive 1/1 and 2/3 -> AP = (1 + 2/3) / 2
    assert average_precision([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0]) == pytest.approx((1 + 2 / 3) / 2)


def test_average_precision_treats_tied_scores_as_one_operating_point():
    # all tied: one point with precision 1/2 at recall 1
    assert average_precision([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0]) == pytest.approx(0.5)


def test_roc_auc_by_hand_with_ties():
    assert roc_auc([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0]) == pytest.approx(0.75)
    assert roc_auc([0.5, 0.5], [1, 0]) == pytest.approx(0.5)


def test_metrics_without_positives_are_undefined_not_zero():
    result = at_threshold([0.2, 0.4], [0, 0], 0.3).as_dict()
    assert result["pr_auc"] is None and result["roc_auc"] is None and result["flagged"] == 1
    assert math.isnan(average_precision([0.1], [0]))


def test_max_f1_threshold_and_metrics_at_it():
    scores, labels = [0.95, 0.9, 0.6, 0.4, 0.3, 0.2], [1, 1, 0, 1, 0, 0]
    threshold = max_f1_threshold(scores, labels)
    assert threshold == 0.4  # flag 4: tp 3 -> F1 6/7, better than flagging 2 (F1 0.8)
    result = at_threshold(scores, labels, threshold)
    assert (result.precision, result.recall, result.flagged) == (0.75, 1.0, 4)


def test_time_split_keeps_months_in_order():
    split = time_split(["2024-03", "2024-01", "2024-05", "2024-02", "2024-04"], holdout_months=2, validation_months=1)
    assert split.train_months == ["2024-01", "2024-02"]
    assert split.validation_months == ["2024-03"]
    assert split.holdout_months == ["2024-04", "2024-05"]


def test_time_split_explains_too_little_data():
    with pytest.raises(NotEnoughData, match="needs at least 4"):
        time_split(["2024-01", "2024-02", "2024-03"], holdout_months=2, validation_months=1)


def test_recall_at_precision_and_the_pr_curve_by_hand():
    # highest first: 0.9 F (P 1, R 1/2), 0.8 L (P 1/2), 0.7 F (P 2/3, R 1), 0.1 L (P 1/2)
    scores, labels = [0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0]
    precision, recall, thresholds = precision_recall_curve(scores, labels)
    assert list(thresholds) == [0.9, 0.8, 0.7, 0.1]
    assert list(precision) == pytest.approx([1, 1 / 2, 2 / 3, 1 / 2])
    assert list(recall) == pytest.approx([1 / 2, 1 / 2, 1, 1])
    assert recall_at_precision(scores, labels, 0.9) == 0.5
    assert recall_at_precision(scores, labels, 0.6) == 1.0
    assert recall_at_precision([0.9, 0.1], [0, 1], 0.9) == 0.0  # no threshold is that precise
    assert math.isnan(recall_at_precision([0.9, 0.1], [0, 0]))
