"""The trainings behind one record: what was trained, for how many steps, and at what cost."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from joulebench.measure.energy.base import EnergyMeter
from joulebench.measure.metered import Metered


class TrainingLog:
    """Collects one entry per training a configuration needed beyond its base fine-tuning.

    Args:
        meter_factory: makes the energy meter of each training window.
        device: "cpu" or "cuda".

    Attributes:
        entries: ``{"what", "steps", "examples", "epochs", "cost": {...}}`` per training, in order.
    """

    def __init__(self, meter_factory: Callable[[], EnergyMeter], device: str = "cpu") -> None:
        self._meter_factory = meter_factory
        self._device = device
        self.entries: list[dict] = []

    @contextmanager
    def window(self, what: str, **facts: object) -> Iterator[dict]:
        """Meter the training inside the block; the yielded dict takes facts known at the end
        (``steps``, ``final_loss``) and becomes the entry."""
        entry: dict = {"what": what, **facts}
        with Metered(self._meter_factory(), self._device) as metered:
            yield entry
        entry["cost"] = metered.cost
        self.entries.append(entry)

    def reused(self, what: str, checkpoint: str, provenance: dict, **facts: object) -> dict:
        """Log a training whose weights came from the cache: the entry carries the cost of the run that
        made them (from the cached provenance) and ``reused: True``."""
        entry = {"what": what, **facts, "steps": provenance.get("steps"), "reused": True, "checkpoint": checkpoint,
                 "cost": provenance.get("cost")}
        self.entries.append(entry)
        return entry

    def skipped(self, what: str, reason: str, **facts: object) -> dict:
        """Log a training that did not run (``train: none``): no steps, nothing spent on it."""
        entry = {"what": what, **facts, "steps": 0, "skipped": reason, "cost": None}
        self.entries.append(entry)
        return entry

    @property
    def steps(self) -> int:
        """Optimizer steps over every logged training."""
        return sum(int(e.get("steps") or 0) for e in self.entries)

    @property
    def energy_j(self) -> float | None:
        """Energy over every logged training, None when any was not measurable."""
        found = [(e.get("cost") or {}).get("energy_j") for e in self.entries]
        values = [float(v) for v in found if v is not None]
        return None if len(values) < len(found) else float(sum(values))
