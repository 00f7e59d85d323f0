"""Energy estimate from process CPU time and wall time when no hardware counter is readable."""

from __future__ import annotations

import resource

from joulebench.measure.energy.base import EnergyWindow, OpenWindows
from joulebench.measure.energy.power_model import CpuPowerModel, cpu_power_model
from joulebench.measure.threads import usable_cores


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
    """Energy estimate by the CPU power model: wall time x idle watts + CPU seconds x active watts per thread.

    Nothing is measured but time: the watts come from the power model
    (:mod:`joulebench.measure.energy.power_model`: the CPU's TDP from codecarbon's table shared over its
    package's threads, or codecarbon's fallback), and the note and ``details`` say so.

    Args:
        cpu_watts_per_core: a user's full-load watts per thread instead of the TDP table's (None: the table).
        device: compute device; on "cuda" the note says the GPU is not counted.
        reason: why the estimate is used instead of a counter, appended to the note.
        threads: threads of the run, charged idle power (default: the usable cores).
        power_model: the model itself (tests; default built from this machine).

    Raises:
        ValueError: if the wattage is negative.
    """

    method = "estimate"

    def __init__(
        self,
        cpu_watts_per_core: float | None = None,
        *,
        device: str = "cpu",
        reason: str = "",
        threads: int | None = None,
        power_model: CpuPowerModel | None = None,
    ) -> None:
        if cpu_watts_per_core is not None and not cpu_watts_per_core >= 0:
            raise ValueError("estimate meter wattages must be >= 0")
        self.power_model = power_model or cpu_power_model(threads or usable_cores(), cpu_watts_per_core)
        self._device = device
        self._reason = reason
        self._windows: OpenWindows[float] = OpenWindows("estimate")

    def begin_window(self, key: str) -> None:
        """Start window ``key`` by reading the process CPU time."""
        self._windows.open(key, process_cpu_time_s())

    def end_window(self, key: str) -> EnergyWindow:
        """Close window ``key``; energy by the power model from its CPU and wall time."""
        end_cpu_s = process_cpu_time_s()
        duration_s, start_cpu_s = self._windows.close(key)
        cpu_s = max(0.0, end_cpu_s - start_cpu_s)
        energy_j = self.power_model.energy_j(cpu_s, duration_s)
        return EnergyWindow(energy_j, duration_s, self.method, self._note(cpu_s, duration_s),
                            details=self.power_model.describe())

    def _note(self, cpu_s: float, duration_s: float) -> str:
        p = self.power_model
        parts = [f"estimate (not measured): wall time {duration_s:.3g} s x {p.idle_w:.3g} W idle + process CPU time "
                 f"{cpu_s:.3g} s x {p.active_w_per_thread:.3g} W per busy thread; {p.watts_source}; "
                 f"TDP: {p.tdp_source}"]
        if self._device.startswith("cuda"):
            parts.append("GPU not counted (the estimate sees CPU time only)")
        if self._reason:
            parts.append(self._reason)
        return "; ".join(parts)
