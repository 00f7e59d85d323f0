"""NVML meter against a fake pynvml module (no GPU on the test machine)."""

from __future__ import annotations

import pytest

from joulebench.measure.energy import nvml
from joulebench.measure.energy.nvml import NvmlMeter, cuda_index


class FakeNvml:
    """Enough of pynvml for the meter: one GPU whose counter the test sets."""

    class NVMLError(Exception):
        pass

    def __init__(self, *, init_fails: bool = False) -> None:
        self.init_fails = init_fails
        self.energy_mj = 5_000
        self.refs = 0

    def nvmlInit(self) -> None:
        if self.init_fails:
            raise self.NVMLError("Driver Not Loaded")
        self.refs += 1

    def nvmlShutdown(self) -> None:
        self.refs -= 1

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        if index != 0:
            raise self.NVMLError("Invalid Argument")
        return "gpu0"

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> str:
        raise self.NVMLError("Not Found")

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: str) -> int:
        return self.energy_mj


@pytest.fixture(autouse=True)
def _no_visible_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def test_no_driver_is_cleanly_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nvml, "_import_nvml", lambda: FakeNvml(init_fails=True))
    ok, why = nvml.probe("cuda")
    assert not ok and "Driver Not Loaded" in why
    assert NvmlMeter.available("cuda") is False


def test_real_probe_never_raises() -> None:
    assert isinstance(NvmlMeter.available("cuda"), bool)


def test_counter_delta_in_joules(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeNvml()
    monkeypatch.setattr(nvml, "_import_nvml", lambda: fake)
    assert NvmlMeter.available("cuda") and fake.refs == 0  # probe balances init/shutdown
    meter = NvmlMeter("cuda")
    meter.begin_window("w")
    fake.energy_mj += 2_500
    window = meter.end_window("w")
    assert window.energy_j == pytest.approx(2.5)
    assert window.method == "nvml" and "CPU not counted" in window.note


def test_missing_gpu_index_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nvml, "_import_nvml", FakeNvml)
    assert not NvmlMeter.available("cuda:3")


def test_visible_devices_remap_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nvml, "_import_nvml", FakeNvml)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    assert NvmlMeter.available("cuda:0")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert not NvmlMeter.available("cuda:0")


def test_cuda_index() -> None:
    assert cuda_index("cuda") == 0
    assert cuda_index("cuda:2") == 2


def test_gpu_without_energy_counter_falls_back_with_one_labelled_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pre-Volta GPU answers NVML_ERROR_NOT_SUPPORTED for the total-energy counter."""
    from joulebench.measure import energy
    from joulebench.measure.energy import rapl

    fake = FakeNvml()

    def not_supported(handle: str) -> int:
        raise fake.NVMLError("Not Supported")

    fake.nvmlDeviceGetTotalEnergyConsumption = not_supported  # type: ignore[method-assign]
    monkeypatch.setattr(nvml, "_import_nvml", lambda: fake)
    monkeypatch.setattr(rapl, "probe", lambda *a, **k: (False, "RAPL unavailable: none here"))
    ok, why = nvml.probe("cuda")
    assert not ok and "Not Supported" in why and "\n" not in why
    assert fake.refs == 0  # init and shutdown stay balanced on failure
    meter = energy.make_energy_meter("auto", device="cuda")
    meter.begin_window("k")
    window = meter.end_window("k")
    assert window.method == "estimate" and "Not Supported" in window.note and "GPU not counted" in window.note


def test_counter_read_failing_mid_run_gives_none_not_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeNvml()
    monkeypatch.setattr(nvml, "_import_nvml", lambda: fake)
    meter = NvmlMeter("cuda")
    meter.begin_window("w")

    def lost(handle: str) -> int:
        raise fake.NVMLError("GPU is lost")

    fake.nvmlDeviceGetTotalEnergyConsumption = lost  # type: ignore[method-assign]
    window = meter.end_window("w")
    assert window.energy_j is None and window.method is None and "GPU is lost" in window.note
