"""Energy estimate from process CPU time when no hardware counter is readable."""

from __future__ import annotations

import resource

from joulebench.measure.energy.base import EnergyWindow, OpenWindows

DEFAULT_CPU_WATTS_PER_CORE = 15.0


def process_cpu_time_s() -> float:
    """User + system CPU seconds of this process so far.

    Covers every thread of the process (torch intra-op pool included) and
    child processes once they have been waited for (e.g. joined DataLoader
    workers); children still running are not seen. ``getrusage`` counts in microseconds
    (``os.times`` in clock ticks of 10 ms, too coarse for a window of a few hundred ms).
    """
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class EstimateMeter:
    """Energy estimate = CPU seconds x assumed watts per busy core (+ idle watts x wall time).

    Nothing is measured: the watts are assumptions, and the note says so.

    Args:
        cpu_watts_per_core: assumed power of one fully busy core, in watts.
        idle_watts: assumed constant power added for the wall time of the window.
        device: compute device; on "cuda" the note says the GPU is not counted.
        reason: why the estimate is used instead of a counter, appended to the note.

    Raises:
        ValueError: if a wattage is negative.
    """

    method = "estimate"

    def __init__(
        self,
        cpu_watts_per_core: float = DEFAULT_CPU_WATTS_PER_CORE,
        *,
        idle_watts: float = 0.0,
        device: str = "cpu",
        reason: str = "",
    ) -> None:
        if cpu_watts_per_core < 0 or idle_watts < 0:
            raise ValueError("estimate meter wattages must be >= 0")
        self.cpu_watts_per_core = float(cpu_watts_per_core)
        self.idle_watts = float(idle_watts)
        self._device = device
        self._reason = reason
        self._windows: OpenWindows[float] = OpenWindows("estimate")

    def begin_window(self, key: str) -> None:
        """Start window ``key`` by reading the process CPU time."""
        self._windows.open(key, process_cpu_time_s())

    def end_window(self, key: str) -> EnergyWindow:
        """Close window ``key``; energy is CPU time x watts per core (+ idle part)."""
        end_cpu_s = process_cpu_time_s()
        duration_s, start_cpu_s = self._windows.close(key)
        cpu_s = max(0.0, end_cpu_s - start_cpu_s)
        energy_j = cpu_s * self.cpu_watts_per_core + duration_s * self.idle_watts
        return EnergyWindow(energy_j, duration_s, self.method, self._note(cpu_s, duration_s))

    def _note(self, cpu_s: float, duration_s: float) -> str:
        parts = [f"estimate: process CPU time {cpu_s:.3g} s x {self.cpu_watts_per_core} W/core (assumed, not measured)"]
        if self.idle_watts:
            parts[0] += f" + wall time {duration_s:.3g} s x {self.idle_watts} W idle (assumed)"
        if self._device.startswith("cuda"):
            parts.append("GPU not counted (the estimate sees CPU time only)")
        if self._reason:
            parts.append(self._reason)
        return "; ".join(parts)
