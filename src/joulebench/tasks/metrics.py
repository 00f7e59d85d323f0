"""Task metrics with standard errors: the built-in tasks' accuracy and binary F1 in plain numpy, the declared
tasks' metrics from scikit-learn and scipy with bootstrap intervals.

The ``evaluate`` library is not used: it downloads its metric scripts from the Hugging Face Hub,
so it fails on offline machines.
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


# --- Metrics of declared tasks: point estimates from scikit-learn/scipy, intervals by bootstrap ---------------------

#: Metrics a declared classification task may name (``f1`` is binary: the positive class is label 1).
CLASSIFICATION_METRICS = ("accuracy", "f1", "macro_f1", "mcc")
#: Metrics a declared regression task may name.
REGRESSION_METRICS = ("pearson", "spearman")


def point_metric(name: str, predictions: Sequence[float], labels: Sequence[float], num_labels: int) -> float:
    """``name`` of ``predictions`` against ``labels``, from the maintained implementation."""
    from sklearn import metrics as sk

    if name == "accuracy":
        return float(sk.accuracy_score(labels, predictions))
    if name == "f1":
        return float(sk.f1_score(labels, predictions, pos_label=1, average="binary", zero_division=0))
    if name == "macro_f1":
        return float(sk.f1_score(labels, predictions, labels=list(range(num_labels)), average="macro",
                                 zero_division=0))
    if name == "mcc":
        return float(sk.matthews_corrcoef(labels, predictions))
    from scipy import stats

    if len(set(predictions)) < 2 or len(set(labels)) < 2:
        return 0.0  # a constant has no correlation; scipy would return nan
    if name == "pearson":
        return float(stats.pearsonr(predictions, labels)[0])
    if name == "spearman":
        return float(stats.spearmanr(predictions, labels)[0])
    raise ValueError(f"unknown metric {name!r}")


def resampled_metric(name: str, pred: np.ndarray, gold: np.ndarray, num_labels: int) -> np.ndarray:
    """``name`` on each row of ``pred``/``gold`` (resamples x examples), vectorised: the bootstrap's
    statistic. Row by row it equals :func:`point_metric` (tests check this)."""
    if name == "accuracy":
        return (pred == gold).mean(-1)
    if name == "f1":
        tp = ((pred == 1) & (gold == 1)).sum(-1)
        fp = ((pred == 1) & (gold != 1)).sum(-1)
        fn = ((pred != 1) & (gold == 1)).sum(-1)
        return _f1(tp, fp, fn)
    if name in ("macro_f1", "mcc"):
        rows, n = pred.shape
        cells = (gold.astype(np.int64) * num_labels + pred.astype(np.int64)) + \
            (np.arange(rows)[:, None] * num_labels * num_labels)
        confusion = np.bincount(cells.ravel(), minlength=rows * num_labels ** 2).reshape(rows, num_labels, num_labels)
        tp = np.diagonal(confusion, axis1=1, axis2=2)
        true, predicted = confusion.sum(2), confusion.sum(1)
        if name == "macro_f1":
            return _f1(tp, predicted - tp, true - tp).mean(-1)
        correct, total = tp.sum(-1).astype(float), float(n)
        numerator = correct * total - (true * predicted).sum(-1)
        denominator = np.sqrt((total ** 2 - (predicted ** 2).sum(-1)) * (total ** 2 - (true ** 2).sum(-1)))
        return np.where(denominator > 0, numerator / np.maximum(denominator, 1e-300), 0.0)
    if name in ("pearson", "spearman"):
        x, y = pred.astype(float), gold.astype(float)
        if name == "spearman":
            from scipy.stats import rankdata

            x, y = rankdata(x, axis=-1), rankdata(y, axis=-1)
        x = x - x.mean(-1, keepdims=True)
        y = y - y.mean(-1, keepdims=True)
        denominator = np.sqrt((x * x).sum(-1) * (y * y).sum(-1))
        return np.where(denominator > 0, (x * y).sum(-1) / np.maximum(denominator, 1e-300), 0.0)
    raise ValueError(f"unknown metric {name!r}")


def declared_scores(metric_names: Sequence[str], predictions: Sequence[float], labels: Sequence[float],
                    num_labels: int) -> dict[str, float]:
    """Each metric with ``<name>_stderr`` (binomial for accuracy, else a bootstrap over examples: 1000
    resamples, fixed seed) and ``n_examples``."""
    pred, gold = np.asarray(predictions), np.asarray(labels)
    if pred.shape != gold.shape or gold.ndim != 1:
        raise ValueError(f"{pred.size} predictions for {gold.size} labels")
    if gold.size == 0:
        raise ValueError("cannot score zero examples")
    n = int(gold.size)
    scores: dict[str, float] = {"n_examples": n}
    rows = np.random.default_rng(BOOTSTRAP_SEED).integers(0, n, size=(BOOTSTRAP_RESAMPLES, n))
    for name in metric_names:
        value = point_metric(name, pred.tolist(), gold.tolist(), num_labels)
        scores[name] = value
        if name == "accuracy":
            scores["accuracy_stderr"] = math.sqrt(value * (1.0 - value) / n)
        else:
            samples = np.concatenate([resampled_metric(name, pred[chunk], gold[chunk], num_labels)
                                      for chunk in np.array_split(rows, max(1, n * BOOTSTRAP_RESAMPLES // 2_000_000))])
            scores[f"{name}_stderr"] = float(np.std(samples, ddof=1))
    return scores
