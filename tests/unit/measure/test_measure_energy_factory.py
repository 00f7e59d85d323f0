"""make_energy_meter: names, explicit meters, and the logged auto fallback."""

from __future__ import annotations

import logging

import pytest

from joulebench.errors import UserError
from joulebench.measure.energy import ENERGY_METERS, make_energy_meter, nvml, rapl
from joulebench.measure.energy.estimate import EstimateMeter


def test_registered_names_have_help() -> None:
    assert ENERGY_METERS.names() == ["auto", "estimate", "nvml", "rapl", "sampled"]
    assert all(ENERGY_METERS.describe(name) for name in ENERGY_METERS.names())


def test_unknown_name_suggests_closest() -> None:
    with pytest.raises(UserError, match="did you mean 'rapl'"):
        make_energy_meter("rapll")


def test_explicit_rapl_unavailable_raises_user_error() -> None:
    if rapl.probe()[0]:
        pytest.skip("RAPL is readable on this machine")
    with pytest.raises(UserError, match="'rapl' is not available"):
        make_energy_meter("rapl")


def test_explicit_nvml_unavailable_raises_user_error() -> None:
    if nvml.probe("cuda")[0]:
        pytest.skip("NVML is usable on this machine")
    with pytest.raises(UserError, match="'nvml' is not available"):
        make_energy_meter("nvml", device="cuda")


def test_nvml_on_cpu_device_is_refused() -> None:
    with pytest.raises(UserError, match="measures a GPU"):
        make_energy_meter("nvml", device="cpu")


def test_negative_watts_is_user_error() -> None:
    with pytest.raises(UserError, match="cpu_watts_per_core"):
        make_energy_meter("estimate", cpu_watts_per_core=-3.0)


def test_explicit_estimate_uses_given_watts() -> None:
    meter = make_energy_meter("estimate", cpu_watts_per_core=7.0)
    assert isinstance(meter, EstimateMeter) and meter.power_model.watts_per_thread == 7.0


def test_auto_falls_back_to_estimate_and_logs_why(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rapl, "probe", lambda *a, **k: (False, "RAPL unavailable: fake reason"))
    monkeypatch.setattr(nvml, "probe", lambda *a, **k: (False, "NVML unavailable (fake)"))
    with caplog.at_level(logging.WARNING, logger="joulebench.measure"):
        meter = make_energy_meter("auto", device="cuda", cpu_watts_per_core=9.0)
    assert meter.method == "estimate"
    assert "fake reason" in caplog.text and "estimate" in caplog.text
    meter.begin_window("k")
    note = meter.end_window("k").note
    assert "measure.cpu_watts_per_core" in note and "8.1 W per busy thread" in note
    assert "GPU not counted" in note
    assert "no RAPL/NVML on this machine" in note and "fake reason" in note
