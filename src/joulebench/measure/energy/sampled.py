"""Energy from sampled power: a background sampler reads a power source at a stated rate during
the window, the trace is integrated (trapezoid rule), and idle power measured before the first
window gives the net energy (above idle) beside the gross.

Power sources: ``NvmlPower`` (the driver's power reading, milliwatts), ``RaplPower`` (power from
successive readings of the package energy counters) and ``SimulatedPower`` (a known curve, for
tests and for checking the integration). Where neither NVML nor RAPL is readable there is no
sampled meter; the CPU-time estimate stays what it is, labelled as an estimate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from joulebench.measure.energy.base import EnergyWindow, OpenWindows, PowerTrace

DEFAULT_RATE_HZ = 50.0
DEFAULT_IDLE_S = 1.0


class PowerSource(Protocol):
    """Something that reports the power drawn right now."""

    name: str

    def watts(self) -> float:
        """Instantaneous (or short-average) power in watts."""
        ...


def integrate(t_s: Sequence[float], watts: Sequence[float]) -> float:
    """Trapezoid integral of power over time, in joules (0 for fewer than two samples)."""
    return sum((t1 - t0) * (w0 + w1) / 2 for t0, t1, w0, w1 in zip(t_s, t_s[1:], watts, watts[1:], strict=False))


class PowerSampler:
    """Reads ``source`` every ``1 / rate_hz`` seconds on a background thread until stopped.

    The first sample is taken at start and the last at stop, so the trace spans the window.
    """

    def __init__(self, source: PowerSource, rate_hz: float = DEFAULT_RATE_HZ,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        if rate_hz <= 0:
            raise ValueError(f"power sampling rate must be > 0 Hz, got {rate_hz}")
        self.source, self.rate_hz, self._clock = source, rate_hz, clock
        self._t: list[float] = []
        self._w: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0

    def _sample(self) -> None:
        self._t.append(self._clock() - self._t0)
        self._w.append(float(self.source.watts()))

    def _run(self) -> None:
        period = 1.0 / self.rate_hz
        next_at = self._t0 + period
        while not self._stop.wait(max(0.0, next_at - self._clock())):
            self._sample()
            next_at += period

    def start(self) -> None:
        self._t0 = self._clock()
        self._sample()
        self._thread = threading.Thread(target=self._run, name="joulebench-power-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> tuple[list[float], list[float]]:
        """Stop, take the closing sample, and return (times, watts)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        return self._t, self._w


def measure_idle(source: PowerSource, seconds: float = DEFAULT_IDLE_S, rate_hz: float = DEFAULT_RATE_HZ) -> float:
    """Mean power over ``seconds`` with nothing else running (time-weighted: the trace's integral / span)."""
    sampler = PowerSampler(source, rate_hz)
    sampler.start()
    time.sleep(seconds)
    t, w = sampler.stop()
    span = t[-1] - t[0]
    return integrate(t, w) / span if span > 0 else w[-1]


class SampledMeter:
    """An EnergyMeter whose windows integrate sampled power; idle power is measured once, lazily.

    Args:
        source: where power is read.
        rate_hz: samples per second.
        idle_s: seconds of idle measurement before the first window (0: no idle power, net is None).
    """

    def __init__(self, source: PowerSource, rate_hz: float = DEFAULT_RATE_HZ, idle_s: float = DEFAULT_IDLE_S) -> None:
        self.source, self.rate_hz, self.idle_s = source, rate_hz, idle_s
        self.method = f"{source.name}-sampled"
        self.idle_w: float | None = None
        self._windows: OpenWindows[PowerSampler] = OpenWindows(self.method)

    def begin_window(self, key: str) -> None:
        if self.idle_w is None and self.idle_s > 0 and key not in self._windows:
            self.idle_w = measure_idle(self.source, self.idle_s, self.rate_hz)
        sampler = PowerSampler(self.source, self.rate_hz)
        self._windows.open(key, sampler)
        sampler.start()

    def end_window(self, key: str) -> EnergyWindow:
        duration_s, sampler = self._windows.close(key)
        t, w = sampler.stop()
        gross = integrate(t, w)
        net = None if self.idle_w is None else gross - self.idle_w * (t[-1] - t[0])
        trace = PowerTrace(tuple(t), tuple(w), self.rate_hz, self.idle_w, gross, net)
        idle = "no idle power measured" if self.idle_w is None else (
            f"idle {self.idle_w:.1f} W measured for {self.idle_s:g} s before the first window")
        note = (f"{self.source.name} power sampled at {self.rate_hz:g} Hz ({len(t)} samples), trapezoid "
                f"integral (gross); {idle}")
        return EnergyWindow(energy_j=gross, duration_s=duration_s, method=self.method, note=note, power=trace)


class SimulatedPower:
    """A power source following a known curve of time since its creation (tests, integration checks)."""

    name = "simulated"

    def __init__(self, curve: Callable[[float], float], clock: Callable[[], float] = time.perf_counter) -> None:
        self._curve, self._clock, self._t0 = curve, clock, clock()

    def watts(self) -> float:
        return self._curve(self._clock() - self._t0)

    def elapsed(self) -> float:
        return self._clock() - self._t0


class NvmlPower:
    """The GPU's power reading from NVML (``nvmlDeviceGetPowerUsage``, milliwatts)."""

    name = "nvml"

    def __init__(self, device: str = "cuda") -> None:
        from joulebench.measure.energy.nvml import _device_handle, _import_nvml

        self._nvml = _import_nvml()
        self._nvml.nvmlInit()
        self._handle = _device_handle(self._nvml, device)

    def watts(self) -> float:
        return self._nvml.nvmlDeviceGetPowerUsage(self._handle) / 1000.0


class RaplPower:
    """CPU package power from successive RAPL energy readings (summed over packages)."""

    name = "rapl"

    def __init__(self) -> None:
        from joulebench.measure.energy.rapl import find_package_zones

        self._zones = find_package_zones()
        self._last = (time.perf_counter(), [z.read_energy_uj() for z in self._zones])
        self._watts = 0.0

    def watts(self) -> float:
        from joulebench.measure.energy.rapl import counter_delta_uj

        now, readings = time.perf_counter(), [z.read_energy_uj() for z in self._zones]
        then, before = self._last
        if now - then > 1e-4:
            joules = sum(counter_delta_uj(b, a, z.max_energy_range_uj) for b, a, z in
                         zip(before, readings, self._zones, strict=True)) / 1e6
            self._watts = joules / (now - then)
            self._last = (now, readings)
        return self._watts
