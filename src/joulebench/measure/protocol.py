"""The measurement protocol: the same work for every configuration, repeats, and pairing.

A measurement is ``repeats`` windows; each window is ``passes`` whole passes over the same
calls (every offline batch of the split, or every online request of a fixed sample). Every cost
metric is summarised as the median over the windows with a 95% interval. A paired measurement
times a configuration and its baseline alternately in ABBA rounds (target first in even
rounds, baseline first in odd ones), so drift in machine load falls on both sides alike, and
gives the per-round ratios with their interval.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from joulebench.measure.energy.base import EnergyMeter
from joulebench.measure.memory import PeakMemory
from joulebench.measure.stats import summarize_latency, t95
from joulebench.measure.timing import TimingResult, time_passes, warm_up

#: Window metrics summarised in a record, each with a median and a 95% interval.
WINDOW_METRICS = ("energy_j_per_example", "latency_ms_mean", "latency_ms_p50", "latency_ms_p90",
                  "latency_ms_p99", "throughput_eps")

#: Paired ratios a record carries (target / baseline, per round).
RATIO_METRICS = {
    "energy": "energy_j_per_example",
    "time": "time_per_example",
    "latency_p50": "latency_ms_p50",
    "latency_p99": "latency_ms_p99",
    "throughput": "throughput_eps",
}


@dataclass(frozen=True)
class Workload:
    """The calls of one whole pass over the measured examples.

    Attributes:
        calls: zero-argument callables (one forward pass per batch or request).
        sizes: examples per call.
        description: what the pass covers, for the record (``selection``, ``n_examples``,
            ``indices_sha256``...).
        window: times one window itself, ``window(passes, meter, sync) -> TimingResult``, instead of
            :func:`time_passes` over ``calls`` (the server scenario's arrival schedule); ``calls``
            then serve the warm-up only.
    """

    calls: Sequence[Callable[[], object]]
    sizes: Sequence[int]
    description: dict = field(default_factory=dict)
    window: Callable[[int, EnergyMeter, Callable[[], None] | None], TimingResult] | None = None


@dataclass
class Measurement:
    """The windows of one side of a measurement, and its peak memory."""

    windows: list[TimingResult] = field(default_factory=list)
    peak_mem_mb: float | None = None
    peak_mem_method: str | None = None

    def metric(self, name: str) -> list[float | None]:
        """``name`` (a WINDOW_METRICS key or ``time_per_example``) of every window."""
        return [window_metrics(w)[name] for w in self.windows]


def window_metrics(window: TimingResult) -> dict[str, float | None]:
    """Cost metrics of one window: energy and time per example, latency statistics, throughput."""
    energy = window.energy.energy_j
    per_example = window.per_example_ms()
    return {
        "energy_j_per_example": None if energy is None else energy / window.n_examples,
        **summarize_latency(per_example),
        "throughput_eps": window.throughput_eps(),
        "time_per_example": window.duration_s / window.n_examples,
    }


def median_interval(values: Sequence[float], log: bool = False) -> tuple[float, float, float]:
    """Median of ``values`` and a 95% interval.

    The interval is Student-t around the mean of the values (of their logarithms with
    ``log``, for ratios), widened where needed so that it contains the median.

    Raises:
        ValueError: on an empty sequence, or non-positive values with ``log``.
    """
    if not values:
        raise ValueError("median_interval of no values")
    arr = np.asarray(values, dtype=float)
    if log and np.any(arr <= 0):
        raise ValueError("log intervals need positive values")
    med = float(statistics.median(arr.tolist()))
    if len(arr) == 1:
        return med, med, med
    x = np.log(arr) if log else arr
    half = t95(len(x) - 1) * float(np.std(x, ddof=1)) / math.sqrt(len(x))
    lo, hi = float(np.mean(x)) - half, float(np.mean(x)) + half
    if log:
        lo, hi = math.exp(lo), math.exp(hi)
    return med, min(lo, med), max(hi, med)


def _measure(sides: dict[str, Workload], order: str, *, passes: int, warmup_calls: int, meter: EnergyMeter,
             device: str, sync: Callable[[], None] | None) -> dict[str, Measurement]:
    """Warm every side up, then time one window per letter of ``order`` (a side's key), each side's
    peak memory taken over its own windows only."""
    for workload in sides.values():
        warm_up(workload.calls, warmup_calls, sync)
    windows: dict[str, list[TimingResult]] = {key: [] for key in sides}
    peaks: dict[str, list[PeakMemory]] = {key: [] for key in sides}
    for key in order.replace(" ", ""):
        workload = sides[key]
        with PeakMemory(device=device) as mem:
            if workload.window is not None:
                windows[key].append(workload.window(passes, meter, sync))
            else:
                windows[key].append(time_passes(workload.calls, workload.sizes, passes=passes, meter=meter, sync=sync))
        peaks[key].append(mem)
    return {key: Measurement(windows[key], max(m.peak_mb for m in peaks[key]), peaks[key][0].method)
            for key in sides}


def measure_alone(
    workload: Workload,
    *,
    repeats: int,
    passes: int,
    warmup_calls: int,
    meter: EnergyMeter,
    device: str = "cpu",
    sync: Callable[[], None] | None = None,
) -> Measurement:
    """``repeats`` windows of ``passes`` whole passes over ``workload``, after an untimed warm-up."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    return _measure({"T": workload}, "T" * repeats, passes=passes, warmup_calls=warmup_calls, meter=meter,
                    device=device, sync=sync)["T"]


def round_orders(sides: str, rounds: int, seed: int | None = None) -> str:
    """The order of windows in ``rounds`` rounds, one window per side per round.

    Without a seed: ABBA (``"TB BT TB ..."``, each side first in alternate rounds; with three sides the
    order and its reverse alternate). With a seed: the same balance (every side first as often as the
    others, within one round) drawn in a random sequence, so that a periodic disturbance cannot line up
    with one side.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    forward, backward = sides, sides[::-1]
    if seed is None:
        return " ".join(forward if r % 2 == 0 else backward for r in range(rounds))
    import itertools
    import random

    rng = random.Random(seed)
    cycle = [forward, backward] if len(sides) <= 2 else ["".join(p) for p in itertools.permutations(sides)]
    orders: list[str] = []
    while len(orders) < rounds:
        block = list(cycle)
        rng.shuffle(block)
        orders += block
    return " ".join(orders[:rounds])


def measure_paired(
    target: Workload,
    baseline: Workload,
    *,
    rounds: int,
    passes: int,
    warmup_calls: int,
    meter: EnergyMeter,
    device: str = "cpu",
    sync: Callable[[], None] | None = None,
    seed: int | None = None,
    others: dict[str, Workload] | None = None,
) -> tuple[Measurement, Measurement, str, dict[str, Measurement]]:
    """Time ``target`` and ``baseline`` (and ``others``, keyed by one letter) alternately: ``rounds``
    windows each, in balanced orders (:func:`round_orders`; randomised with ``seed``).

    Returns:
        The target's measurement (its peak memory from its own windows only), the baseline's,
        the order as a string (``"TB BT TB"``), and the measurements of ``others``.
    """
    others = dict(others or {})
    if any(len(k) != 1 or k in "TB" for k in others):
        raise ValueError("other sides are keyed by one letter other than T and B")
    sides = {"T": target, "B": baseline, **others}
    order = round_orders("".join(sides), rounds, seed)
    measured = _measure(sides, order, passes=passes, warmup_calls=warmup_calls,
                        meter=meter, device=device, sync=sync)
    return measured["T"], measured["B"], order, {k: measured[k] for k in others}


def summarize_measurement(measurement: Measurement) -> dict:
    """Record fields of one measurement: each metric's median over windows and its interval.

    Returns:
        ``{metric: median}`` for WINDOW_METRICS (None where a window lacks the value, e.g. no
        energy), ``ci95: {metric: [low, high]}``, and ``windows``: per-window figures.
    """
    out: dict = {}
    ci: dict[str, list[float] | None] = {}
    for metric in WINDOW_METRICS:
        values = measurement.metric(metric)
        if any(v is None for v in values):
            out[metric], ci[metric] = None, None
            continue
        med, lo, hi = median_interval(values)  # type: ignore[arg-type]
        out[metric], ci[metric] = med, [lo, hi]
    out["ci95"] = ci
    out["windows"] = [
        {"duration_s": round(w.duration_s, 5), "n_examples": w.n_examples, "passes": w.passes,
         "energy_j": w.energy.energy_j,
         **{k: (None if v is None else round(v, 6)) for k, v in window_metrics(w).items()
            if k in ("energy_j_per_example", "latency_ms_p50", "latency_ms_p99", "throughput_eps")}}
        for w in measurement.windows
    ]
    return out


def paired_ratios(target: Measurement, baseline: Measurement) -> dict:
    """Target / baseline ratios per round, with the median and a 95% interval of each.

    The interval is Student-t on the logarithms of the per-round ratios (a ratio's noise is
    multiplicative). A ratio that cannot be formed (no energy measured) is None.
    """
    if len(target.windows) != len(baseline.windows) or not target.windows:
        raise ValueError("paired ratios need the same, non-zero number of windows on both sides")
    out: dict = {}
    for name, metric in RATIO_METRICS.items():
        t_values, b_values = target.metric(metric), baseline.metric(metric)
        if any(v is None or v <= 0 for v in [*t_values, *b_values]):
            out[name] = None
            continue
        per_round = [t / b for t, b in zip(t_values, b_values, strict=True)]  # type: ignore[operator]
        med, lo, hi = median_interval(per_round, log=True)
        out[name] = {"ratio": med, "ci95": [lo, hi], "per_round": [round(r, 5) for r in per_round]}
    return out
