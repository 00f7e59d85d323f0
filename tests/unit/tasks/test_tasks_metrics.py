"""Task.score: accuracy, binary F1 and their standard errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from joulebench.tasks import get_task

# Hand-computed: correct at positions 0, 2, 4 -> accuracy 3/5; TP=2 (0, 4), FP=1 (1),
# FN=1 (3) -> F1 = 2*2 / (2*2 + 1 + 1) = 2/3.
PREDICTIONS = [1, 1, 0, 0, 1]
LABELS = [1, 0, 0, 1, 1]


def test_pair_task_scores_hand_computed_case() -> None:
    scores = get_task("mrpc").score(PREDICTIONS, LABELS)
    assert scores["accuracy"] == pytest.approx(0.6)
    assert scores["accuracy_stderr"] == pytest.approx(math.sqrt(0.6 * 0.4 / 5))
    assert scores["f1"] == pytest.approx(2 / 3)
    assert scores["n_examples"] == 5
    assert 0.0 < scores["f1_stderr"] < 1.0
    assert set(scores) == {"accuracy", "accuracy_stderr", "f1", "f1_stderr", "n_examples"}


def test_sst2_reports_no_f1() -> None:
    scores = get_task("sst2").score(PREDICTIONS, LABELS)
    assert set(scores) == {"accuracy", "accuracy_stderr", "n_examples"}
    assert scores["accuracy"] == pytest.approx(0.6)


def test_accepts_numpy_arrays() -> None:
    scores = get_task("qqp").score(np.array(PREDICTIONS), np.array(LABELS))
    assert scores["f1"] == pytest.approx(2 / 3)


def test_f1_stderr_is_reproducible_and_matches_a_plain_bootstrap() -> None:
    rng = np.random.default_rng(123)
    labels = rng.integers(0, 2, 300)
    predictions = np.where(rng.random(300) < 0.8, labels, 1 - labels)
    task = get_task("qqp")
    first = task.score(predictions, labels)["f1_stderr"]
    assert first == task.score(predictions, labels)["f1_stderr"]
    # Reference: resample example indices explicitly.
    f1s = []
    for _ in range(2000):
        idx = rng.integers(0, 300, 300)
        p, g = predictions[idx], labels[idx]
        tp = np.sum((p == 1) & (g == 1))
        f1s.append(2 * tp / (2 * tp + np.sum(p != g)))
    assert first == pytest.approx(float(np.std(f1s, ddof=1)), rel=0.15)


def test_perfect_predictions_have_zero_error() -> None:
    # 40 examples: a resample without any positive (F1 undefined, counted 0) is ~1e-12 likely.
    labels = [0, 1] * 20
    scores = get_task("mrpc").score(labels, labels)
    assert scores["accuracy"] == 1.0
    assert scores["accuracy_stderr"] == 0.0
    assert scores["f1"] == 1.0
    assert scores["f1_stderr"] == 0.0


def test_no_positive_anywhere_gives_f1_zero() -> None:
    scores = get_task("qqp").score([0, 0, 0], [0, 0, 0])
    assert scores["f1"] == 0.0
    assert scores["accuracy"] == 1.0


@pytest.mark.parametrize(
    ("predictions", "labels", "match"),
    [
        ([1, 0], [1], "2 predictions for 1 labels"),
        ([], [], "zero examples"),
        ([2, 0], [1, 0], "predictions must be 0 or 1"),
        ([1, 0], [1, -1], "labels must be 0 or 1"),
    ],
)
def test_bad_score_input_raises(predictions: list[int], labels: list[int], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        get_task("mrpc").score(predictions, labels)
