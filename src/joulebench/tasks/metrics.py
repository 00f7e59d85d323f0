"""Accuracy and binary F1 with standard errors, in plain numpy.

Neither scikit-learn (not a dependency) nor the ``evaluate`` library is used: ``evaluate``
downloads its metric scripts from the Hugging Face Hub, so it fails on offline machines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: Bootstrap settings for f1_stderr; fixed so that reruns report identical numbers.
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0


def binary_scores(
    predictions: Sequence[int], labels: Sequence[int], with_f1: bool
) -> dict[str, float]:
    """Score binary predictions.

    Args:
        predictions: predicted class per example, 0 or 1.
        labels: gold class per example, 0 or 1, in the same order.
        with_f1: also report F1 of the positive class (label 1).

    Returns:
        ``accuracy``, ``accuracy_stderr`` (binomial, sqrt(p(1-p)/n)), ``n_examples`` and, with
        ``with_f1``, ``f1`` and ``f1_stderr`` (bootstrap over examples, 1000 resamples, fixed
        seed).

    Raises:
        ValueError: empty input, different lengths, or a value other than 0/1. These are
            programming errors (predictions come from our own models), hence not UserError.
    """
    pred = _as_binary(predictions, "predictions")
    gold = _as_binary(labels, "labels")
    if pred.shape != gold.shape:
        raise ValueError(f"{pred.size} predictions for {gold.size} labels")
    if gold.size == 0:
        raise ValueError("cannot score zero examples")
    n = int(gold.size)
    accuracy = float(np.mean(pred == gold))
    scores: dict[str, float] = {
        "accuracy": accuracy,
        "accuracy_stderr": math.sqrt(accuracy * (1.0 - accuracy) / n),
        "n_examples": n,
    }
    if with_f1:
        tp = int(np.sum((pred == 1) & (gold == 1)))
        fp = int(np.sum((pred == 1) & (gold == 0)))
        fn = int(np.sum((pred == 0) & (gold == 1)))
        scores["f1"] = float(_f1(np.array(tp), np.array(fp), np.array(fn)))
        scores["f1_stderr"] = _f1_bootstrap_stderr(tp, fp, fn, n)
    return scores


def _as_binary(values: Sequence[int], what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{what} must be a flat sequence, got shape {array.shape}")
    bad = array[(array != 0) & (array != 1)]
    if bad.size:
        raise ValueError(f"{what} must be 0 or 1, found {bad[0]!r}")
    return array.astype(np.int64)


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """F1 = 2TP / (2TP + FP + FN), elementwise; 0 where there is no positive at all."""
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)


def _f1_bootstrap_stderr(tp: int, fp: int, fn: int, n: int) -> float:
    """Bootstrap standard error of F1.

    Resampling n examples with replacement only matters through how many land in each
    confusion cell (TP, FP, FN, TN), and those counts are exactly multinomial(n, cell shares).
    Drawing the counts directly is the same bootstrap in O(resamples) memory and time instead
    of O(resamples * n), which matters for QQP's 40k validation pairs.
    """
    shares = np.array([tp, fp, fn, n - tp - fp - fn], dtype=np.float64) / n
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    counts = rng.multinomial(n, shares, size=BOOTSTRAP_RESAMPLES)
    f1s = _f1(counts[:, 0], counts[:, 1], counts[:, 2])
    return float(np.std(f1s, ddof=1))
