"""Energy-meter contract: keyed measurement windows and the meter registry."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from joulebench.registry import Registry

S = TypeVar("S")


#: Points kept of a window's power trace in the record (evenly spaced over the window).
TRACE_POINTS = 120


@dataclass(frozen=True)
class PowerTrace:
    """A window's power samples and what they integrate to.

    Attributes:
        t_s: sample times, seconds from the window's start.
        watts: power at each sample.
        rate_hz: the sampler's target rate.
        idle_w: mean power measured with nothing running, before the first window (None: not measured).
        gross_j: integral of the trace over the window.
        net_j: ``gross_j - idle_w * duration`` (None without idle power).
    """

    t_s: tuple[float, ...]
    watts: tuple[float, ...]
    rate_hz: float
    idle_w: float | None
    gross_j: float
    net_j: float | None

    def compact(self, points: int = TRACE_POINTS) -> dict:
        """The record form: at most ``points`` samples, evenly spaced, plus the totals."""
        step = max(1, -(-len(self.t_s) // points))
        return {"rate_hz": self.rate_hz, "samples": len(self.t_s), "idle_w": _round(self.idle_w),
                "energy_j_gross": _round(self.gross_j), "energy_j_net": _round(self.net_j),
                "t_s": [round(t, 4) for t in self.t_s[::step]], "w": [round(w, 3) for w in self.watts[::step]]}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


@dataclass(frozen=True)
class EnergyWindow:
    """Energy spent between ``begin_window`` and ``end_window`` of one key.

    Attributes:
        energy_j: joules spent in the window; ``None`` when it could not be measured
            (never 0 as a stand-in, so a missing value cannot pass for a free run).
        duration_s: wall time of the window in seconds.
        method: "nvml", "rapl", "estimate", or ``None`` when nothing was measured.
        note: assumptions of the method, or why ``energy_j`` is ``None``.
        power: the sampled power trace behind ``energy_j`` (sampled meters only), with idle
            power and net energy.
        details: what stands behind ``energy_j``: an estimate's power model (its watts and their sources), or
            a counter's domains; None when there is nothing to add.
    """

    energy_j: float | None
    duration_s: float
    method: str | None
    note: str
    power: PowerTrace | None = None
    details: dict | None = None


class EnergyMeter(Protocol):
    """Something that measures energy over keyed, possibly overlapping windows.

    Windows are keyed (as in zeus) so that nested or overlapping windows with
    distinct keys can run at the same time, e.g. a whole evaluation and each
    timed batch within it.
    """

    method: str

    def begin_window(self, key: str) -> None:
        """Start the window ``key``; raises ValueError if it is already open."""
        ...

    def end_window(self, key: str) -> EnergyWindow:
        """Close the window ``key`` and return its energy; raises ValueError if unknown."""
        ...


# Factories rather than meter classes, so "auto" can pick a class at call time.
ENERGY_METERS: Registry[Callable[..., EnergyMeter]] = Registry("energy meter")


class OpenWindows(Generic[S]):
    """Book-keeping shared by meters: start wall time and start reading per open key.

    Args:
        meter_name: name used in error messages.
    """

    def __init__(self, meter_name: str) -> None:
        self._meter_name = meter_name
        self._open: dict[str, tuple[float, S]] = {}

    def open(self, key: str, start_reading: S) -> None:
        """Record the start of window ``key``.

        Raises:
            ValueError: if ``key`` is already open (reusing it would silently drop a window).
        """
        if key in self._open:
            raise ValueError(f"{self._meter_name} energy window {key!r} is already open")
        self._open[key] = (time.perf_counter(), start_reading)

    def close(self, key: str) -> tuple[float, S]:
        """Forget window ``key`` and return ``(duration_s, start_reading)``.

        Raises:
            ValueError: if no window ``key`` is open.
        """
        try:
            start_s, start_reading = self._open.pop(key)
        except KeyError:
            raise ValueError(f"{self._meter_name} energy window {key!r} was never begun") from None
        return time.perf_counter() - start_s, start_reading

    def __contains__(self, key: object) -> bool:
        return key in self._open
