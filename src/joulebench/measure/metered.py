"""A metered block: wall time, energy and peak memory of whatever runs inside it (e.g. training)."""

from __future__ import annotations

import itertools
import time
from types import TracebackType

from joulebench.measure.energy.base import EnergyMeter
from joulebench.measure.memory import PeakMemory

_keys = itertools.count()


class Metered:
    """Context manager: the block's wall time, energy (one meter window) and peak memory.

    Args:
        meter: the energy meter whose window covers the block.
        device: "cpu" or "cuda", for the peak-memory method.

    Attributes:
        cost: after exit, ``{"time_s", "energy_j", "energy_method", "energy_note", "peak_mem_mb",
            "peak_mem_method"}``; ``energy_j`` is None (with the note saying why) where the
            meter could not measure.
    """

    def __init__(self, meter: EnergyMeter, device: str = "cpu") -> None:
        self._meter = meter
        self._memory = PeakMemory(device=device)
        self._key = f"metered-{next(_keys)}"
        self._start_s = 0.0
        self.cost: dict = {}

    def __enter__(self) -> Metered:
        self._memory.__enter__()
        self._meter.begin_window(self._key)
        self._start_s = time.perf_counter()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        duration_s = time.perf_counter() - self._start_s
        energy = self._meter.end_window(self._key)
        self._memory.__exit__(exc_type, exc, tb)
        self.cost = {
            "time_s": round(duration_s, 3),
            "energy_j": energy.energy_j,
            "energy_method": energy.method,
            "energy_note": energy.note,
            "peak_mem_mb": round(self._memory.peak_mb, 1),
            "peak_mem_method": self._memory.method,
        }
