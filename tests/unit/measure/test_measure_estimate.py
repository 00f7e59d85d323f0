"""The CPU-time estimate meter against known CPU time and wall time."""

from __future__ import annotations

import time

import pytest

from joulebench.measure.energy.estimate import EstimateMeter
from joulebench.measure.energy.power_model import cpu_power_model


def _model(watts: float, threads: int = 1):
    return cpu_power_model(threads, watts, cpu_name="Test CPU", topology=(None, "test"))


def _burn_cpu(cpu_seconds: float) -> None:
    # Spin until this process has used the CPU time, not the wall time, so a
    # loaded machine cannot shrink the work being measured.
    end = time.process_time() + cpu_seconds
    while time.process_time() < end:
        pass


def test_busy_loop_energy_is_cpu_time_times_active_watts_plus_idle() -> None:
    meter = EstimateMeter(power_model=_model(20.0))
    cpu_start_s = time.process_time()
    meter.begin_window("busy")
    _burn_cpu(0.3)
    window = meter.end_window("busy")
    cpu_s = time.process_time() - cpu_start_s
    assert window.method == "estimate"
    expected = cpu_s * 0.9 * 20.0 + window.duration_s * 0.1 * 20.0  # 90% active per busy thread, 10% idle
    assert window.energy_j == pytest.approx(expected, rel=0.10, abs=0.03 * 20.0)
    assert window.energy_j > 0.25 * 20.0
    assert window.duration_s >= 0.25  # wall time >= CPU time of one busy thread


def test_sleep_costs_idle_power_over_wall_time() -> None:
    meter = EstimateMeter(power_model=_model(15.0, threads=2))
    meter.begin_window("sleep")
    time.sleep(0.3)
    window = meter.end_window("sleep")
    assert window.energy_j is not None
    idle_j = window.duration_s * 0.1 * 15.0 * 2  # two threads idle at 10% of full load
    assert idle_j <= window.energy_j < idle_j + 0.05 * 15.0
    assert window.duration_s >= 0.29


def test_note_and_assumptions_state_the_model_and_its_sources() -> None:
    meter = EstimateMeter(12.5, threads=1)
    meter.begin_window("k")
    window = meter.end_window("k")
    assert window.note.startswith("estimate (not measured):")
    assert "11.2 W per busy thread" in window.note and "measure.cpu_watts_per_core" in window.note
    assert "GPU" not in window.note
    assert window.details is not None and window.details["watts_per_thread"] == 12.5
    assert "formula" in window.details and "tdp_source" in window.details


def test_cuda_device_note_says_gpu_not_counted() -> None:
    meter = EstimateMeter(device="cuda:0")
    meter.begin_window("k")
    assert "GPU not counted" in meter.end_window("k").note


def test_negative_watts_rejected() -> None:
    with pytest.raises(ValueError):
        EstimateMeter(cpu_watts_per_core=-1.0)


def test_nested_windows_with_distinct_keys() -> None:
    meter = EstimateMeter()
    meter.begin_window("outer")
    meter.begin_window("inner")
    time.sleep(0.02)
    inner = meter.end_window("inner")
    time.sleep(0.05)
    outer = meter.end_window("outer")
    assert outer.duration_s > inner.duration_s + 0.04


def test_unknown_or_reused_key_raises_value_error() -> None:
    meter = EstimateMeter()
    with pytest.raises(ValueError, match="never begun"):
        meter.end_window("nope")
    meter.begin_window("k")
    with pytest.raises(ValueError, match="already open"):
        meter.begin_window("k")
    meter.end_window("k")
    with pytest.raises(ValueError):
        meter.end_window("k")  # a closed window cannot be closed twice
