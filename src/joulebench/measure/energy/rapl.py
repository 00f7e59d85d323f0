"""CPU package energy from the Linux powercap RAPL counters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from joulebench.measure.energy.base import EnergyWindow, OpenWindows

DEFAULT_SYSFS_ROOT = Path("/sys/class/powercap")

# Top-level zones only ("intel-rapl:0"); "intel-rapl:0:0" are sub-domains (core,
# uncore, dram) already contained in or separate from the package, and
# "intel-rapl-mmio:*" duplicates the package on some Intel parts.
_PACKAGE_ZONE = re.compile(r"^intel-rapl:\d+$")
_SUB_ZONE = re.compile(r"^intel-rapl:\d+:\d+$")


@dataclass(frozen=True)
class RaplZone:
    """One RAPL package domain.

    Attributes:
        path: zone directory holding ``energy_uj`` and ``max_energy_range_uj``.
        name: content of the zone's ``name`` file, e.g. "package-0".
        max_energy_range_uj: value at which ``energy_uj`` wraps back to 0.
    """

    path: Path
    name: str
    max_energy_range_uj: int

    def read_energy_uj(self) -> int:
        """Current counter value in microjoules."""
        return int((self.path / "energy_uj").read_text().strip())


def find_package_zones(sysfs_root: Path = DEFAULT_SYSFS_ROOT) -> list[RaplZone]:
    """Return the readable RAPL package zones under ``sysfs_root``.

    Raises:
        OSError: if a zone exists but its counter cannot be read (often permissions:
            ``energy_uj`` is root-only on kernels patched for CVE-2020-8694).
        ValueError: if no package zone exists or a file holds garbage.
    """
    root = Path(sysfs_root)
    if not root.is_dir():
        raise ValueError(f"{root} does not exist, the kernel exposes no powercap/RAPL")
    zones = []
    for path in sorted(root.iterdir()):
        if not _PACKAGE_ZONE.match(path.name):
            continue
        name_file = path / "name"
        name = name_file.read_text().strip() if name_file.exists() else path.name
        # Some kernels expose dram/psys as top-level zones; only packages are CPU energy.
        if not name.startswith("package"):
            continue
        zone = RaplZone(path, name, int((path / "max_energy_range_uj").read_text().strip()))
        zone.read_energy_uj()  # fail now, not at the end of a long window
        zones.append(zone)
    if not zones:
        raise ValueError(f"no RAPL package zone (intel-rapl:N) under {root}")
    return zones


def find_dram_zones(sysfs_root: Path = DEFAULT_SYSFS_ROOT) -> list[RaplZone]:
    """The readable DRAM domains (sub-zones ``intel-rapl:N:M`` or top-level zones named "dram"); [] when none.

    Unlike packages, a DRAM domain that cannot be read is left out rather than an error: it is
    reported beside the package energy, not part of it.
    """
    root = Path(sysfs_root)
    zones: list[RaplZone] = []
    for path in sorted(root.glob("intel-rapl:*/intel-rapl:*")) + sorted(root.glob("intel-rapl:*")):
        if not (_SUB_ZONE.match(path.name) or _PACKAGE_ZONE.match(path.name)):
            continue
        try:
            if (path / "name").read_text().strip() != "dram":
                continue
            zone = RaplZone(path, f"dram ({path.name})", int((path / "max_energy_range_uj").read_text().strip()))
            zone.read_energy_uj()
        except (OSError, ValueError):
            continue
        if zone.path not in [z.path for z in zones]:
            zones.append(zone)
    return zones


def probe(sysfs_root: Path = DEFAULT_SYSFS_ROOT) -> tuple[bool, str]:
    """Return ``(usable, reason)``; ``reason`` says why not when unusable."""
    try:
        zones = find_package_zones(sysfs_root)
    except PermissionError as err:
        return False, f"RAPL counters not readable: {err.strerror} on {err.filename} (root-only on most kernels)"
    except (OSError, ValueError) as err:
        return False, f"RAPL unavailable: {err}"
    return True, f"RAPL zones {', '.join(z.name for z in zones)}"


def counter_delta_uj(start_uj: int, end_uj: int, max_energy_range_uj: int) -> int:
    """Energy between two readings of a counter that wraps at ``max_energy_range_uj``.

    Only one wrap can be detected; the range is hundreds of kJ, i.e. tens of
    minutes at full package power, far longer than one measurement window.
    """
    if end_uj >= start_uj:
        return end_uj - start_uj
    return end_uj + max_energy_range_uj - start_uj


class RaplMeter:
    """Energy meter summing all RAPL package domains (CPU sockets).

    Args:
        sysfs_root: powercap directory; injectable so tests can use a fake tree.
        device: compute device of the run; on "cuda" the note says the GPU is not counted.

    Raises:
        OSError, ValueError: if no package zone can be read (see ``find_package_zones``).
    """

    method = "rapl"

    def __init__(self, sysfs_root: Path = DEFAULT_SYSFS_ROOT, *, device: str = "cpu") -> None:
        self._zones = find_package_zones(sysfs_root)
        self._dram = find_dram_zones(sysfs_root)
        self._device = device
        self._windows: OpenWindows[list[int]] = OpenWindows("rapl")

    @classmethod
    def available(cls, sysfs_root: Path = DEFAULT_SYSFS_ROOT) -> bool:
        """True when at least one package counter is readable."""
        return probe(sysfs_root)[0]

    def begin_window(self, key: str) -> None:
        """Start window ``key`` by reading every package counter."""
        self._windows.open(key, [zone.read_energy_uj() for zone in [*self._zones, *self._dram]])

    def end_window(self, key: str) -> EnergyWindow:
        """Close window ``key``; energy is the sum of package deltas."""
        duration_s, start_uj = self._windows.close(key)
        zones = [*self._zones, *self._dram]
        try:
            end_uj = [zone.read_energy_uj() for zone in self._zones]
        except (OSError, ValueError) as err:
            return EnergyWindow(None, duration_s, None, f"rapl: counter read failed at window end ({err})")
        dram_end: list[int | None] = []
        for zone in self._dram:
            try:
                dram_end.append(zone.read_energy_uj())
            except (OSError, ValueError):
                dram_end.append(None)
        deltas = {zone.name: None if e is None else counter_delta_uj(s, e, zone.max_energy_range_uj) / 1e6
                  for zone, s, e in zip(zones, start_uj, [*end_uj, *dram_end], strict=True)}
        total_j = sum(deltas[zone.name] for zone in self._zones)  # type: ignore[misc]
        note = f"rapl: sum of {', '.join(z.name for z in self._zones)} (CPU packages; DRAM not in the figure"
        note += f", measured beside it: {', '.join(z.name for z in self._dram)})" if self._dram else ")"
        if self._device.startswith("cuda"):
            note += "; GPU not counted (RAPL sees CPU packages only)"
        return EnergyWindow(total_j, duration_s, self.method, note, details={"domains_j": deltas})
