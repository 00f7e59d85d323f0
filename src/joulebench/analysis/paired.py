"""Paired comparisons with a baseline: quality on the same examples, cost from ABBA rounds.

Every configuration of a task is scored on the same evaluation examples, so the difference to the
baseline is judged per example (Dror et al. 2018): a paired bootstrap over examples gives the
interval of the accuracy (or F1) difference, McNemar's exact test its p-value. Records keep the
per-example predictions (``quality.predictions``, ``quality.labels``) for this; question-answering
records keep each question's exact match and F1 (``quality.question_exact``, ``question_f1``).

Cost ratios come from the records' own ABBA rounds (``cost.vs_baseline``), when the record was
paired with this baseline; otherwise from the two points' medians, without an interval.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from joulebench.analysis.aggregate import Point
from joulebench.measure.protocol import median_interval
from joulebench.tasks.kinds import kind_of_record
from joulebench.tasks.kinds.classification import outcome_values
from joulebench.tasks.metrics import resampled_metric
from joulebench.tasks.slices import unpack

#: Bootstrap resamples and seed of paired intervals (fixed: reruns report identical numbers).
PAIRED_BOOTSTRAP = 2000
PAIRED_SEED = 0


@dataclass(frozen=True)
class PairedDiff:
    """A quality difference (configuration - baseline) on the same examples.

    Attributes:
        metric: "accuracy", "f1" (classification), "exact_match" or "span_f1" (QA, as fractions).
        delta: the difference of the metric, in its own unit (0.01 = one accuracy point).
        low, high: 95% paired-bootstrap interval of ``delta``.
        n: examples compared.
        mcnemar_p: two-sided exact McNemar p-value (accuracy of single records), else None.
        discordant: (baseline right & configuration wrong, baseline wrong & configuration right).
    """

    metric: str
    delta: float
    low: float
    high: float
    n: int
    mcnemar_p: float | None = None
    discordant: tuple[int, int] | None = None

    def non_inferior(self, tolerance_abs: float) -> bool:
        """The interval excludes a loss of ``tolerance_abs`` or more."""
        return self.low > -tolerance_abs


def _outcomes(record: Mapping) -> tuple[np.ndarray, np.ndarray, str | None] | None:
    quality = record.get("quality") or {}
    preds, labels = quality.get("predictions"), quality.get("labels")
    if not isinstance(preds, (str, list)) or not isinstance(labels, (str, list)) or len(preds) != len(labels) \
            or not preds:
        return None
    return outcome_values(preds), outcome_values(labels), quality.get("examples_sha256")


class HasRecords(Protocol):
    """What paired differences read of a configuration: its records (a :class:`Point`, or a study's own group)."""

    @property
    def records(self) -> Sequence[Mapping]: ...


def outcomes(point: HasRecords) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """(predictions, labels) of each of the point's records, None if any record lacks them or the
    records were not scored on the same examples."""
    found = [_outcomes(r) for r in point.records]
    if not found or any(f is None for f in found):
        return None
    digests = {f[2] for f in found}  # type: ignore[index]
    if len(digests) > 1:
        return None
    return [(f[0], f[1]) for f in found]  # type: ignore[index]


#: Metrics that are a mean of per-example scores (paired by the same bootstrap over examples).
PER_EXAMPLE = ("accuracy", "exact_match", "span_f1")
#: Metrics computed over the whole set of (prediction, label) pairs (paired by resampling examples).
WHOLE_SET = ("f1", "macro_f1", "mcc", "pearson", "spearman")


def _example_scores(record: Mapping, metric: str) -> tuple[np.ndarray, tuple] | None:
    """One record's per-example scores of ``metric`` in [0, 1], and what identifies its examples (its task kind
    says which metrics are means over examples and where the scores are)."""
    return kind_of_record(record).example_scores(record.get("quality") or {}, metric)


def example_scores(point: HasRecords, metric: str) -> tuple[list[np.ndarray], tuple] | None:
    """Per-example scores of each of the point's records and their examples' identity, or None if
    any record lacks them or the records were not scored on the same examples."""
    found = [_example_scores(r, metric) for r in point.records]
    if not found or any(f is None for f in found) or len({f[1] for f in found}) > 1:  # type: ignore[index]
        return None
    return [f[0] for f in found], found[0][1]  # type: ignore[index]


@functools.lru_cache(maxsize=8)
def _resamples(n: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs (binomial, p = 1/2)."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def _whole_set(metric: str, pred: np.ndarray, gold: np.ndarray, classes: int) -> np.ndarray:
    """``metric`` over the last axis (the examples of each resample; a single row for the estimate)."""
    two_d = pred.ndim == 1
    value = resampled_metric(metric, pred[None] if two_d else pred, gold[None] if two_d else gold, classes)
    return value[0] if two_d else value


def paired_difference(point: HasRecords, baseline: HasRecords, metric: str = "accuracy",
                      mask: np.ndarray | None = None) -> PairedDiff | None:
    """The paired difference of ``metric`` between ``point`` and ``baseline``.

    With several records per point (seeds), each example's outcome is averaged over the records
    (accuracy) or the statistic is averaged over records (F1) before the difference; the
    bootstrap resamples examples, so it covers the evaluation-set sampling, not seed variation.

    Args:
        point: the configuration.
        baseline: what it is compared with (scored on the same examples).
        metric: "accuracy", "f1", "exact_match" or "span_f1".
        mask: a slice of the examples (booleans), or None for all.

    Returns:
        The difference with its interval, or None when per-example outcomes are missing, the
        examples differ, or the slice is empty.
    """
    if metric in PER_EXAMPLE:
        mine_scores, theirs_scores = example_scores(point, metric), example_scores(baseline, metric)
        if mine_scores is None or theirs_scores is None or mine_scores[1] != theirs_scores[1]:
            return None  # not the same examples (or the same gold labels)
        right_x, right_b = np.mean(mine_scores[0], axis=0), np.mean(theirs_scores[0], axis=0)
        n = len(right_b)
    elif metric in WHOLE_SET:
        mine, theirs = outcomes(point), outcomes(baseline)
        if mine is None or theirs is None or len(mine[0][1]) != len(theirs[0][1]):
            return None
        if not np.array_equal(mine[0][1], theirs[0][1]):
            return None  # not the same gold labels: not the same examples
        n = len(mine[0][1])
    else:
        raise ValueError(f"paired differences are for {', '.join(PER_EXAMPLE + WHOLE_SET)}, got {metric!r}")
    index = np.arange(n) if mask is None else np.flatnonzero(mask[:n])
    if index.size == 0:
        return None
    boots = index[_resamples(index.size, PAIRED_BOOTSTRAP, PAIRED_SEED)]
    p_value = discordant = None
    if metric in PER_EXAMPLE:
        diff = right_x - right_b
        delta = float(diff[index].mean())
        samples = diff[boots].mean(axis=1)
        binary = metric in ("accuracy", "exact_match")
        assert mine_scores is not None and theirs_scores is not None  # checked above
        if binary and len(mine_scores[0]) == 1 and len(theirs_scores[0]) == 1:
            b = int(np.sum((right_b[index] == 1) & (right_x[index] == 0)))
            c = int(np.sum((right_b[index] == 0) & (right_x[index] == 1)))
            p_value, discordant = mcnemar_exact(b, c), (b, c)
    else:
        assert mine is not None and theirs is not None  # checked above
        classes = 1 + int(max(max(p.max(), g.max()) for p, g in (*mine, *theirs))) \
            if metric in ("macro_f1", "mcc") else 2

        def stat(runs: list[tuple[np.ndarray, np.ndarray]], rows: np.ndarray) -> np.ndarray:
            return np.mean([_whole_set(metric, p[rows], g[rows], classes) for p, g in runs], axis=0)

        delta = float(stat(mine, index) - stat(theirs, index))
        samples = stat(mine, boots) - stat(theirs, boots)
    low, high = np.percentile(samples, [2.5, 97.5])
    return PairedDiff(metric, delta, float(min(low, delta)), float(max(high, delta)), int(index.size),
                      p_value, discordant)


def slice_differences(point: Point, baseline: Point, metric: str = "accuracy") -> dict[str, PairedDiff]:
    """Paired differences on each slice stored in the point's first record (``quality.slices``)."""
    found = outcomes(point)
    slices = (point.records[0].get("quality") or {}).get("slices") if point.records else None
    if not found or not isinstance(slices, Mapping):
        return {}
    n = len(found[0][1])
    out = {}
    for name, bits in slices.items():
        diff = paired_difference(point, baseline, metric, unpack(bits, n))
        if diff is not None:
            out[name] = diff
    return out


def slice_sizes(point: Point) -> dict[str, int]:
    """Examples in each slice of the point's first record."""
    found = outcomes(point)
    slices = (point.records[0].get("quality") or {}).get("slices") if point.records else None
    if not found or not isinstance(slices, Mapping):
        return {}
    n = len(found[0][1])
    return {name: int(unpack(bits, n).sum()) for name, bits in slices.items()}


@dataclass(frozen=True)
class CostRatio:
    """A cost ratio (configuration / baseline).

    Attributes:
        ratio: median of the per-round ratios (paired) or ratio of the medians.
        low, high: 95% interval (paired rounds), or None when not paired.
        paired: True when it comes from ABBA rounds with this baseline.
        rounds: rounds behind it (over all records).
    """

    ratio: float
    low: float | None
    high: float | None
    paired: bool
    rounds: int = 0


#: cost metric -> the name of its ratio in ``cost.vs_baseline``
_RATIO_OF = {"energy_j_per_example": "energy", "latency_ms_mean": "time", "latency_ms_p50": "latency_p50",
             "latency_ms_p99": "latency_p99", "throughput_eps": "throughput"}


def cost_ratio(point: Point, baseline: Point, metric: str = "energy_j_per_example") -> CostRatio | None:
    """The point's cost relative to the baseline's, paired when its records were timed with it."""
    if point is baseline:
        return CostRatio(1.0, 1.0, 1.0, paired=True)
    name = _RATIO_OF.get(metric)
    rounds: list[float] = []
    for record in point.records:
        pairing = (record.get("cost") or {}).get("vs_baseline") or {}
        entry = pairing.get(name) if name else None
        if pairing.get("baseline_config_hash") in baseline.config_hashes and isinstance(entry, Mapping):
            rounds.extend(float(r) for r in entry.get("per_round") or [])
    if rounds and all(r > 0 for r in rounds):
        med, low, high = median_interval(rounds, log=True)
        return CostRatio(med, low, high, paired=True, rounds=len(rounds))
    mine, theirs = point.mean(metric), baseline.mean(metric)
    if mine is None or not theirs:
        return None
    return CostRatio(mine / theirs, None, None, paired=False)


def aa_ratio(baseline: Point, metric: str = "energy_j_per_example") -> CostRatio | None:
    """The baseline timed against itself in the same rounds (its A/A pair): the ratio a configuration no
    cheaper than the baseline shows by noise alone; None when its records have no A/A pair."""
    name = _RATIO_OF.get(metric)
    rounds: list[float] = []
    for record in baseline.records:
        pairing = (record.get("cost") or {}).get("vs_baseline") or {}
        entry = pairing.get(name) if name else None
        if pairing.get("aa") and isinstance(entry, Mapping):
            rounds.extend(float(r) for r in entry.get("per_round") or [])
    if len(rounds) < 2 or any(r <= 0 for r in rounds):
        return None
    med, low, high = median_interval(rounds, log=True)
    return CostRatio(med, low, high, paired=True, rounds=len(rounds))


def noise_floor(baseline: Point, metric: str = "energy_j_per_example") -> float | None:
    """The A/A noise floor as a relative difference: how far from 1 the baseline's ratio to itself reaches
    (its 95% interval, or its median where that is further); None without an A/A pair."""
    aa = aa_ratio(baseline, metric)
    if aa is None or aa.low is None or aa.high is None:
        return None
    return max(aa.high - 1.0, 1.0 - aa.low, abs(aa.ratio - 1.0))


def within_floor(ratio: float, other: float, floor: float | None) -> bool:
    """Whether two cost ratios are tied: they differ by no more than the noise floor (relative)."""
    if floor is None:
        return False
    return abs(np.log(ratio / other)) <= np.log1p(floor)


def engine_split(point: Point, baseline: Point, metric: str = "energy_j_per_example") \
        -> tuple[str, CostRatio, CostRatio] | None:
    """The point's ratio split into engine (dense on its engine / baseline) x reduction (point / dense on
    its engine), from records timed with the dense model on that engine in the same rounds; None when its
    records carry no split."""
    name = _RATIO_OF.get(metric)
    parts: dict[str, list[float]] = {"engine_part": [], "reduction_part": []}
    engine = None
    for record in point.records:
        pairing = (record.get("cost") or {}).get("vs_baseline") or {}
        split = pairing.get("engine_split")
        if not isinstance(split, Mapping) or pairing.get("baseline_config_hash") not in baseline.config_hashes:
            continue
        engine = split.get("engine")
        for part, rounds in parts.items():
            entry = (split.get(part) or {}).get(name) if name else None
            if isinstance(entry, Mapping):
                rounds.extend(float(r) for r in entry.get("per_round") or [])
    if engine is None or any(len(r) < 2 or any(v <= 0 for v in r) for r in parts.values()):
        return None
    ratios = [CostRatio(*median_interval(r, log=True), paired=True, rounds=len(r)) for r in parts.values()]
    return str(engine), ratios[0], ratios[1]


def training_energy_j(point: Point) -> float | None:
    """Mean training energy behind the point's records (base fine-tuning plus re-trainings)."""
    found = [(r.get("train") or {}).get("total_energy_j") for r in point.records]
    values = [float(v) for v in found if v is not None]
    if not values or len(values) < len(found):
        return None
    return float(np.mean(values))


def training_steps(point: Point) -> int | None:
    """Optimizer steps behind the point (base fine-tuning plus re-trainings, first record)."""
    steps = (point.records[0].get("train") or {}).get("total_steps") if point.records else None
    return None if steps is None else int(steps)


def trained_longer(point: Point, baseline: Point) -> bool:
    """True when the point's model had more optimizer steps than the baseline's."""
    mine, theirs = training_steps(point), training_steps(baseline)
    return mine is not None and theirs is not None and mine > theirs


def break_even_queries(point: Point, baseline: Point) -> float | None:
    """Queries after which the point's extra training energy is paid back by cheaper inference.

    Returns:
        0.0 when the point needed no extra training energy; None when it is not cheaper per query
        or an energy is missing; else extra training J / saved J per query.
    """
    e_point, e_base = point.mean("energy_j_per_example"), baseline.mean("energy_j_per_example")
    t_point, t_base = training_energy_j(point), training_energy_j(baseline)
    if None in (e_point, e_base, t_point, t_base):
        return None
    extra = t_point - t_base  # type: ignore[operator]
    if extra <= 0:
        return 0.0
    saved = e_base - e_point  # type: ignore[operator]
    return None if saved <= 0 else extra / saved


def total_energy_j(point: Point, queries: int) -> float | None:
    """Training energy plus ``queries`` inferences at the point's energy per example."""
    train, per_query = training_energy_j(point), point.mean("energy_j_per_example")
    return None if train is None or per_query is None else train + queries * per_query

