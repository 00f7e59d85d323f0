"""The server scenario: Poisson arrivals, dynamic batching, latency with queueing, max-rate search.

The serving loop is driven on a virtual clock (time.perf_counter and time.sleep replaced), with a
fake model whose service time is known, so every latency can be worked out exactly.
"""

from __future__ import annotations

import statistics

import pytest

from joulebench.measure import server
from joulebench.measure.energy.base import EnergyWindow
from joulebench.measure.energy.estimate import EstimateMeter
from joulebench.measure.server import ServerSettings, find_max_rate, load_summary, poisson_arrivals, serve
from joulebench.measure.timing import TimingResult


class VirtualClock:
    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    clock = VirtualClock()
    monkeypatch.setattr(server.time, "perf_counter", clock.perf_counter)
    monkeypatch.setattr(server.time, "sleep", clock.sleep)
    return clock


def model_taking(clock, fixed_s, per_request_s, seen):
    def run_batch(batch):
        seen.append(list(batch))
        clock.now += fixed_s + per_request_s * len(batch)
    return run_batch


def meter():
    return EstimateMeter(15.0)


def test_arrivals_are_poisson_at_the_rate_and_the_same_schedule_at_every_rate():
    arrivals = poisson_arrivals(20000, 50.0, seed=3)
    gaps = [b - a for a, b in zip([0.0, *arrivals], arrivals, strict=False)]
    assert statistics.mean(gaps) == pytest.approx(1 / 50, rel=0.03)
    assert statistics.stdev(gaps) == pytest.approx(1 / 50, rel=0.05)  # exponential: sd == mean
    assert poisson_arrivals(10, 50.0, 3) == poisson_arrivals(10, 50.0, 3)
    assert poisson_arrivals(10, 100.0, 3) == pytest.approx([t / 2 for t in poisson_arrivals(10, 50.0, 3)])


def test_a_lone_request_waits_max_wait_then_is_served_alone(clock):
    seen = []
    settings = ServerSettings(qps=1.0, max_batch=8, max_wait_ms=5.0, requests=20, seed=0)  # ~1 s apart
    window = serve(model_taking(clock, 0.002, 0.001, seen), 20, settings, meter=meter())
    assert all(len(b) == 1 for b in seen)
    assert window.batch_sizes == [1] * 20
    # 5 ms waiting for company that never came, then 3 ms of service
    assert window.samples_ms == pytest.approx([8.0] * 20, abs=1e-6)


def test_overload_fills_batches_and_latency_includes_the_queue(clock):
    seen = []
    settings = ServerSettings(qps=10000.0, max_batch=4, max_wait_ms=5.0, requests=40, seed=1)
    window = serve(model_taking(clock, 0.010, 0.0, seen), 40, settings, meter=meter())
    assert [len(b) for b in seen] == [4] * 10  # all arrive within ~4 ms: every batch is full
    assert [k for b in seen for k in b] == list(range(40))  # first come, first served
    arrivals = poisson_arrivals(40, 10000.0, 1)
    first_served = 10.0 + arrivals[3] * 1e3  # the first batch starts once 4 have arrived
    assert window.samples_ms[0] == pytest.approx(first_served - arrivals[0] * 1e3)
    assert window.samples_ms[-1] > 90.0  # the last request queued behind 9 batches of 10 ms
    assert window.throughput_eps() == pytest.approx(40 / window.duration_s)
    assert window.throughput_eps() < 4 / 0.010 * 1.01  # no faster than the model can serve


def test_a_full_queue_is_served_without_waiting_for_the_deadline(clock):
    seen = []
    settings = ServerSettings(qps=10000.0, max_batch=2, max_wait_ms=1000.0, requests=6, seed=2)
    window = serve(model_taking(clock, 0.001, 0.0, seen), 6, settings, meter=meter())
    assert [len(b) for b in seen] == [2, 2, 2]
    assert max(window.samples_ms) < 10.0  # nobody waited anywhere near the 1 s deadline


def test_load_summary_checks_the_bound_on_p99():
    window = TimingResult([10.0] * 98 + [60.0, 70.0], [1] * 100, 2.0, _energy(), 100, 1, [1] * 100)
    summary = load_summary(window, ServerSettings(50.0, 16, 5.0, 100), bound_ms=50.0)
    assert summary["qps_achieved"] == 50.0 and summary["mean_batch"] == 1.0
    assert summary["latency_ms_p99"] > 50.0 and summary["bound_held"] is False
    assert load_summary(window, ServerSettings(50.0, 16, 5.0, 100), bound_ms=80.0)["bound_held"] is True


def _energy():
    return EnergyWindow(energy_j=1.0, duration_s=1.0, method="estimate", note="test")


def _window_with_p99(p99_ms):
    return TimingResult([p99_ms] * 10, [1] * 10, 1.0, _energy(), 10, 1, [1] * 10)


@pytest.mark.parametrize("start", [10.0, 700.0])
def test_max_rate_search_brackets_the_rate_where_the_bound_breaks(start):
    capacity = 173.0  # p99 grows without bound as the load approaches capacity
    tried = []

    def window_at(qps):
        tried.append(qps)
        return _window_with_p99(5.0 / max(1e-9, 1 - qps / capacity) if qps < capacity else 1e6)

    # p99 <= 50 ms  <=>  qps <= 0.9 * capacity
    found = find_max_rate(window_at, ServerSettings(start, 16, 5.0, 10), bound_ms=50.0, steps=6)
    assert found["max_qps"] <= 0.9 * capacity
    assert found["max_qps"] >= 0.9 * capacity * 0.95  # 6 log-scale bisection steps of a factor-2 bracket
    assert len(found["trials"]) == len(tried) and "note" not in found


def test_max_rate_search_says_when_no_rate_held():
    found = find_max_rate(lambda qps: _window_with_p99(1e6), ServerSettings(10.0, 16, 5.0, 10), 50.0,
                          max_doublings=3)
    assert found["max_qps"] is None and "no tried rate held" in found["note"]
