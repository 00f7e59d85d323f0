"""The server scenario: requests arrive by a Poisson process, the model serves them with dynamic batching.

As in MLPerf Inference's Server scenario, the question is what a model does under load: requests
arrive at a target rate (exponential gaps drawn once with a seed, the same schedule for every
configuration), wait in a queue, and the server takes the oldest ones as one padded batch when
``max_batch`` are waiting or the oldest has waited ``max_wait``. A request's
latency runs from its arrival to the end of its batch, so it includes queueing. The loop runs in
real time on one thread: it sleeps until the next event and the model's calls are real.

A window is one such schedule; it is a :class:`~joulebench.measure.timing.TimingResult` whose
samples are the per-request latencies, so the protocol's repeats, ABBA pairing and summaries apply
unchanged (throughput is requests served over the window, energy per example is energy per query).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from joulebench.measure.energy.base import EnergyMeter
from joulebench.measure.stats import summarize_latency
from joulebench.measure.timing import TimingResult

_window_ids = itertools.count()


@dataclass(frozen=True)
class ServerSettings:
    """One load: the arrival rate, the batching policy, and how many requests a window holds."""

    qps: float
    max_batch: int
    max_wait_ms: float
    requests: int
    seed: int = 0

    def with_qps(self, qps: float) -> ServerSettings:
        return ServerSettings(qps, self.max_batch, self.max_wait_ms, self.requests, self.seed)


def poisson_arrivals(n: int, qps: float, seed: int) -> list[float]:
    """Arrival times (s from the window's start) of ``n`` requests of a Poisson process at ``qps``.

    The gaps are drawn for rate 1 and scaled, so the same seed gives the same pattern at every
    rate (a faster load is the same schedule compressed), and the same for every configuration.
    """
    if qps <= 0:
        raise ValueError(f"qps must be > 0, got {qps}")
    rng = random.Random(seed)
    gaps = [rng.expovariate(1.0) / qps for _ in range(n)]
    return list(itertools.accumulate(gaps))


def _sleep_until(t0: float, at_s: float) -> None:
    delay = t0 + at_s - time.perf_counter()
    if delay > 0:
        time.sleep(delay)


def serve(run_batch: Callable[[list[int]], object], n_requests: int, settings: ServerSettings, *,
          meter: EnergyMeter, sync: Callable[[], None] | None = None) -> TimingResult:
    """Serve ``n_requests`` requests arriving at ``settings.qps``, in real time, inside one energy window.

    Args:
        run_batch: runs one padded batch of the given request positions (0..n_requests-1).
        n_requests: requests in the window.
        settings: rate, batching policy and seed.
        meter: energy meter; its window covers the whole schedule, idle gaps included.
        sync: called after each batch (asynchronous devices).

    Returns:
        A TimingResult: per-request latency (arrival to completion, ms) in arrival order, one
        example per request, the window's duration, energy and the batch sizes served.
    """
    arrivals = poisson_arrivals(n_requests, settings.qps, settings.seed)
    max_wait_s = settings.max_wait_ms / 1e3
    latency_ms = [0.0] * n_requests
    batches: list[int] = []
    queue: deque[int] = deque()
    next_arrival = 0
    key = f"server-{next(_window_ids)}"
    meter.begin_window(key)
    t0 = time.perf_counter()
    try:
        while next_arrival < n_requests or queue:
            now = time.perf_counter() - t0
            arrived = bisect.bisect_right(arrivals, now, lo=next_arrival)
            queue.extend(range(next_arrival, arrived))
            next_arrival = arrived
            if not queue:
                _sleep_until(t0, arrivals[next_arrival])
                continue
            deadline = arrivals[queue[0]] + max_wait_s
            if len(queue) < settings.max_batch and now < deadline:  # the server cannot know none will come
                _sleep_until(t0, deadline if next_arrival >= n_requests else min(deadline, arrivals[next_arrival]))
                continue
            batch = [queue.popleft() for _ in range(min(settings.max_batch, len(queue)))]
            run_batch(batch)
            if sync is not None:
                sync()
            done = time.perf_counter() - t0
            for position in batch:
                latency_ms[position] = (done - arrivals[position]) * 1e3
            batches.append(len(batch))
    finally:
        duration_s = time.perf_counter() - t0
        energy = meter.end_window(key)
    return TimingResult(latency_ms, [1] * n_requests, duration_s, energy, n_requests, 1, batches)


def load_summary(window: TimingResult, settings: ServerSettings, bound_ms: float) -> dict:
    """What one window at one load showed: achieved rate, latency with queueing, the bound."""
    stats = summarize_latency(window.samples_ms)
    sizes = window.batch_sizes or []
    return {"qps_offered": settings.qps, "qps_achieved": round(window.throughput_eps(), 3),
            "latency_ms_p50": round(stats["latency_ms_p50"], 3), "latency_ms_p99": round(stats["latency_ms_p99"], 3),
            "bound_held": stats["latency_ms_p99"] <= bound_ms,
            "mean_batch": round(sum(sizes) / len(sizes), 3) if sizes else None,
            "energy_j_per_query": None if window.energy.energy_j is None
            else window.energy.energy_j / window.n_examples}


def find_max_rate(window_at: Callable[[float], TimingResult], settings: ServerSettings, bound_ms: float, *,
                  steps: int = 5, max_doublings: int = 10) -> dict:
    """The highest arrival rate whose window holds ``p99 <= bound_ms``, by doubling then bisection.

    Starts at ``settings.qps``, doubles (or halves) until the bound changes side, then bisects the
    bracket ``steps`` times on a log scale. Every tried rate is one window of the same schedule
    (compressed or stretched), so the answer is as good as one window's p99: the record says so.

    Returns:
        ``{"max_qps": rate or None, "trials": [...], "method": ...}``; ``max_qps`` is None, with a
        note, when even the lowest rate tried missed the bound.
    """
    trials: list[dict] = []

    def held(qps: float) -> bool:
        summary = load_summary(window_at(qps), settings.with_qps(qps), bound_ms)
        trials.append(summary)
        return bool(summary["bound_held"])

    qps = settings.qps
    good, bad = (qps, None) if held(qps) else (None, qps)
    for _ in range(max_doublings):
        if good is not None and bad is not None:
            break
        qps = qps * 2 if bad is None else qps / 2
        if held(qps):
            good = qps if good is None else max(good, qps)
        else:
            bad = qps if bad is None else min(bad, qps)
    if good is not None and bad is not None:
        for _ in range(steps):
            middle = math.sqrt(good * bad)
            if held(middle):
                good = middle
            else:
                bad = middle
    out = {"max_qps": None if good is None else round(good, 3), "bound_ms": bound_ms,
           "bracket": [good, bad], "trials": trials,
           "method": f"doubling then {steps} log-scale bisection steps; one window of {settings.requests} "
                     "Poisson requests per tried rate (the same seed)"}
    if good is None:
        out["note"] = f"no tried rate held p99 <= {bound_ms} ms (lowest tried {min(t['qps_offered'] for t in trials)})"
    if bad is None:
        out["note"] = "every tried rate held the bound: the highest tried is a lower bound, not the maximum"
    return out


def request_positions(n_examples: int, requests: int, seed: int) -> list[int]:
    """The requests' example indices: a sample drawn once with ``seed`` (cycled when more requests
    than examples are asked for), the same for every configuration on the same split."""
    rng = random.Random(seed)
    order = rng.sample(range(n_examples), n_examples)
    return [order[i % n_examples] for i in range(requests)]

