"""The CPU-time estimate meter against known CPU time and wall time."""

from __future__ import annotations

import time

import pytest

from joulebench.measure.energy.estimate import EstimateMeter


def _burn_cpu(cpu_seconds: float) -> None:
    # Spin until this process has used the CPU time, not the wall time, so a
    # loaded machine cannot shrink the work being measured.
    end = time.process_time() + cpu_seconds
    while time.process_time() < end:
        pass


def test_busy_loop_energy_is_cpu_time_times_watts() -> None:
    meter = EstimateMeter(cpu_watts_per_core=20.0)
    cpu_start_s = time.process_time()
    meter.begin_window("busy")
    _burn_cpu(0.3)
    window = meter.end_window("busy")
    cpu_s = time.process_time() - cpu_start_s
    assert window.method == "estimate"
    # os.times ticks at 10 ms, so allow a couple of ticks plus 10 %.
    assert window.energy_j == pytest.approx(cpu_s * 20.0, rel=0.10, abs=0.03 * 20.0)
    assert window.energy_j > 0.25 * 20.0
    assert window.duration_s >= 0.25  # wall time >= CPU time of one busy thread


def test_sleep_costs_about_zero_but_is_not_none() -> None:
    meter = EstimateMeter(cpu_watts_per_core=15.0)
    meter.begin_window("sleep")
    time.sleep(0.3)
    window = meter.end_window("sleep")
    assert window.energy_j is not None
    assert 0.0 <= window.energy_j < 0.05 * 15.0
    assert window.duration_s >= 0.29


def test_idle_watts_add_wall_time_energy() -> None:
    meter = EstimateMeter(cpu_watts_per_core=0.0, idle_watts=10.0)
    meter.begin_window("idle")
    time.sleep(0.1)
    window = meter.end_window("idle")
    assert window.energy_j == pytest.approx(window.duration_s * 10.0, rel=1e-6)
    assert "10.0 W idle" in window.note


def test_note_states_method_formula_and_watts() -> None:
    meter = EstimateMeter(cpu_watts_per_core=12.5)
    meter.begin_window("k")
    note = meter.end_window("k").note
    assert note.startswith("estimate:")
    assert "12.5 W/core" in note and "assumed" in note
    assert "GPU" not in note


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
