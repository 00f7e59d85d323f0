"""Sampled power: a simulated meter whose power curve is known integrates to within 1%, idle power
gives the net energy, records carry the trace, and the report draws it."""

from __future__ import annotations

import math
import time

import pytest

from joulebench.errors import UserError
from joulebench.measure.energy import make_energy_meter, rapl
from joulebench.measure.energy.sampled import SampledMeter, SimulatedPower, integrate


def curve(t: float) -> float:
    """A known, non-trivial power curve: a ramp, a 0.3 s oscillation and a step at 0.4 s."""
    return 30.0 + 4.0 * t + 12.0 * math.sin(2 * math.pi * t / 0.3) + (25.0 if t > 0.4 else 0.0)


def energy(t0: float, t1: float, n: int = 200_000) -> float:
    """The exact integral of ``curve`` (fine midpoint rule; the step is integrated exactly enough)."""
    h = (t1 - t0) / n
    return sum(curve(t0 + (i + 0.5) * h) for i in range(n)) * h


def test_trapezoid_is_exact_for_a_linear_power():
    t = [0.0, 0.5, 1.0, 2.0]
    assert integrate(t, [10 + 2 * x for x in t]) == pytest.approx(10 * 2 + 4, rel=1e-12)
    assert integrate([0.0], [5.0]) == 0.0


def test_simulated_meter_integrates_the_known_curve_within_one_percent():
    source = SimulatedPower(curve)
    meter = SampledMeter(source, rate_hz=200, idle_s=0.1)
    meter.begin_window("w")  # measures idle first (0.1 s of the curve), then starts the window
    start = source.elapsed()
    time.sleep(0.8)
    window = meter.end_window("w")
    end = source.elapsed()
    trace = window.power
    assert window.method == "simulated-sampled" and "200 Hz" in window.note and "idle" in window.note
    assert trace is not None and len(trace.t_s) >= 0.8 * 200 * 0.8  # the sampler kept its rate
    assert window.energy_j == pytest.approx(energy(start, end), rel=0.01)
    assert trace.idle_w == pytest.approx(energy(0, 0.1) / 0.1, rel=0.05)  # the curve before the window
    assert trace.net_j == pytest.approx(trace.gross_j - trace.idle_w * (trace.t_s[-1] - trace.t_s[0]), rel=1e-9)
    compact = trace.compact()
    assert len(compact["t_s"]) <= 120 and compact["energy_j_gross"] == pytest.approx(trace.gross_j)


def test_sampled_meter_without_rapl_or_nvml_is_one_line():
    if rapl.probe()[0]:
        pytest.skip("this machine has RAPL: the sampled meter is available")
    with pytest.raises(UserError, match="energy meter 'sampled' needs RAPL on the CPU"):
        make_energy_meter("sampled")


def test_a_record_carries_the_power_trace_and_the_report_draws_it(tmp_path, fixture_data_dir, monkeypatch):
    from joulebench.configuration import parse_config
    from joulebench.models.checkpoints import CheckpointCache
    from joulebench.report.build import build_report
    from joulebench.results.store import ResultStore
    from joulebench.runner import Runner, RunOptions

    monkeypatch.setattr(Runner, "_meter_factory",
                        staticmethod(lambda config, device: lambda: SampledMeter(SimulatedPower(curve), 100, 0.05)))
    (config,) = parse_config({"task": "sst2", "model": "tiny-random-bert", "max_seq_len": 32,
                              "train": {"batch_size": 16},
                              "measure": {"batch_size": 16, "repeats": 2, "warmup_calls": 1, "threads": 1}})
    store = ResultStore.in_dir(tmp_path / "out")
    record = Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(tmp_path / "cache"))).run(config, store)
    power = record["cost"]["power"]
    assert record["cost"]["energy_method"] == "simulated-sampled"
    assert power["trace"]["samples"] >= 2 and len(power["energy_j_net"]) == 2
    written = build_report(store.path, tmp_path / "report")
    assert [name for name in written if name.startswith("power_")]


def test_a_record_without_sampled_power_says_why(tmp_path, fixture_data_dir):
    from joulebench.configuration import parse_config
    from joulebench.models.checkpoints import CheckpointCache
    from joulebench.runner import Runner, RunOptions

    (config,) = parse_config({"task": "sst2", "model": "tiny-random-bert", "max_seq_len": 32,
                              "train": {"batch_size": 16},
                              "measure": {"batch_size": 16, "repeats": 2, "warmup_calls": 1, "threads": 1,
                                          "energy_meter": "estimate"}})
    record = Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(tmp_path / "cache"))).run(config)
    assert record["cost"]["power"]["trace"] is None
    assert "no sampled power: energy method estimate" in record["cost"]["power"]["note"]
