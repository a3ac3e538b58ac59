"""The run summary explains a demo model's lower PR-AUC instead of leaving the reader to think it broken."""

from __future__ import annotations

from cardlake.summary import ModelSummary, model_explanation
from flows.pipeline import _months


def test_a_short_history_model_below_the_benchmark_is_explained_with_its_months_and_frauds() -> None:
    demo = ModelSummary(version="v1", holdout_pr_auc=0.832, training_months=2, holdout_frauds=151)
    text = model_explanation(demo)
    assert text is not None
    assert "2 month(s) of history and 151 frauds" in text and "(0.83)" in text and "0.90+" in text


def test_no_explanation_when_nothing_would_surprise() -> None:
    assert model_explanation(ModelSummary(version="v1", holdout_pr_auc=0.93, training_months=2)) is None
    assert model_explanation(ModelSummary(version="v1", holdout_pr_auc=0.80, training_months=12)) is None
    assert model_explanation(ModelSummary(version=None)) is None


def test_training_months_count_both_ends() -> None:
    assert _months({"from_month": "2025-02", "to_month": "2025-03"}) == 2
    assert _months({"from_month": "2024-11", "to_month": "2025-02"}) == 4
    assert _months({}) is None
