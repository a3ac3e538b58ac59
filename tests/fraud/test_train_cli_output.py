"""`cardlake fraud train` ends with a table a person reads, not a JSON dump (JSON with --json)."""

from __future__ import annotations

import pytest

from cardlake.cli.fraud import _print_training, _summary

METRICS = {
    "version": "v20250601T000000Z",
    "model_uri": "/lake/models/fraud/v20250601T000000Z",
    "threshold": 0.8123,
    "train_window": {"from_month": "2025-03", "to_month": "2025-04"},
    "validation_window": {"from_month": "2025-05", "to_month": "2025-05"},
    "holdout_window": {"from_month": "2025-06", "to_month": "2025-06"},
    "rows": {"train": 5400, "train_fraud": 31, "validation": 2700, "validation_fraud": 12, "holdout": 2650},
    "holdout": {"pr_auc": 0.8766, "roc_auc": 0.9912, "precision": 0.9, "recall": 0.75},
    "feature_importances": {"amount_gbp": 0.2},
}


def test_the_training_summary_names_the_version_split_and_holdout_figures(capsys: pytest.CaptureFixture[str]) -> None:
    _print_training(_summary(METRICS))
    out = capsys.readouterr().out
    assert "v20250601T000000Z" in out
    assert "2025-03 to 2025-04" in out and "5400" in out and "31" in out
    assert "PR-AUC 0.877" in out and "recall 0.750" in out and "0.812" in out
    assert "{" not in out  # no JSON


def test_a_holdout_without_frauds_says_so_instead_of_printing_nan(capsys: pytest.CaptureFixture[str]) -> None:
    _print_training(_summary({**METRICS, "holdout": {"pr_auc": None}}))
    out = capsys.readouterr().out
    assert "no labelled frauds in the held-out months" in out and "nan" not in out
