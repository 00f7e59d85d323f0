"""A documented CPU power model for machines without an energy counter.

Without RAPL or NVML, joulebench estimates energy from process CPU time and wall time:

    energy = wall_s x idle_w  +  cpu_s x active_w_per_thread
    idle_w = IDLE_FRACTION x watts_per_thread x threads        (the run's threads, idle)
    active_w_per_thread = (1 - IDLE_FRACTION) x watts_per_thread

``watts_per_thread`` is the CPU's thermal design power (TDP) shared over its package's hardware
threads. The TDP comes from codecarbon's CPU table (``codecarbon/data/hardware/cpu_power.csv``, a
maintained list of vendor TDPs); the package's thread count from the kernel's topology on bare
metal. Where either is unknown (a model name the table does not hold, or a virtual machine whose
hypervisor hides the host package), codecarbon's own fallback of 4 W per thread is used and the
record says why. ``IDLE_FRACTION`` follows codecarbon's load model (a CPU draws at least 10% of its
TDP). Everything here is an estimate: the record carries the model, its source and the watts.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

#: Share of a thread's full-load power drawn when idle (codecarbon: at least 10% of TDP).
IDLE_FRACTION = 0.1
#: Watts per hardware thread when the TDP or the package's thread count is unknown (codecarbon's
#: DEFAULT_POWER_PER_CORE, applied per thread).
FALLBACK_WATTS_PER_THREAD = 4.0
SOURCE_TABLE = "codecarbon cpu_power.csv"


def codecarbon_data(relative: str) -> Path | None:
    """Path of a file in codecarbon's data folder (without importing codecarbon), or None when absent."""
    spec = importlib.util.find_spec("codecarbon")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / relative
    return path if path.exists() else None


def normalised_cpu_name(name: str) -> str:
    """A /proc/cpuinfo model name as the TDP table spells it: no (R)/(TM), "CPU", clock or core count."""
    text = re.sub(r"\((R|TM|tm|r)\)", "", name)
    text = re.sub(r"@.*$", "", text)
    text = re.sub(r"\b\d+-Core\b|\bProcessor\b|\bCPU\b|\bwith Radeon.*$", "", text, flags=re.IGNORECASE)
    return " ".join(text.split())


@functools.lru_cache(maxsize=4)
def tdp_table(path: Path | None = None) -> dict[str, tuple[str, float]]:
    """``{lower-case name: (name, TDP watts)}`` of the TDP table ({} when codecarbon is not installed)."""
    path = path or codecarbon_data("hardware/cpu_power.csv")
    if path is None:
        return {}
    table = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                table[row["Name"].strip().lower()] = (row["Name"].strip(), float(row["TDP"]))
            except (KeyError, TypeError, ValueError):
                continue
    return table


def lookup_tdp(cpu_name: str, table: dict[str, tuple[str, float]]) -> tuple[float | None, str]:
    """The TDP of ``cpu_name`` and where it came from, or None and why there is none.

    A row matches when its name equals the normalised model name, or when all of its words are in
    the model name and one of them is the model number (a word with a digit); the longest such row wins.
    """
    if not table:
        return None, f"{SOURCE_TABLE} not available (codecarbon not installed)"
    name = normalised_cpu_name(cpu_name)
    exact = table.get(name.lower())
    if exact is not None:
        return exact[1], f"{SOURCE_TABLE} row {exact[0]!r}"
    words = set(name.lower().split())
    numbers = {w for w in words if any(c.isdigit() for c in w)}
    if not numbers:
        family = [row for key, row in table.items() if words and words <= set(key.split())]
        return None, (f"the CPU reports {cpu_name!r}, no model number, so no single row of {SOURCE_TABLE} applies "
                      f"({len(family)} rows share its words)")
    rows = [row for key, row in table.items() if set(key.split()) <= words and numbers & set(key.split())]
    if not rows:
        return None, f"no row of {SOURCE_TABLE} matches {cpu_name!r}"
    best = max(rows, key=lambda row: len(row[0]))
    return best[1], f"{SOURCE_TABLE} row {best[0]!r} (matched from {cpu_name!r})"


def package_threads(sys_cpu: Path = Path("/sys/devices/system/cpu"), hypervisor: bool | None = None) -> \
        tuple[int | None, str]:
    """Hardware threads of one CPU package, from the kernel's topology, or None and why not.

    In a virtual machine the topology is the guest's, not the host package's, so it is not used.
    """
    if hypervisor is None:
        hypervisor = _has_hypervisor_flag()
    if hypervisor:
        return None, "virtual machine: the hypervisor hides the host package's thread count"
    packages: dict[str, int] = {}
    for path in sys_cpu.glob("cpu[0-9]*/topology/physical_package_id"):
        try:
            package = path.read_text().strip()
        except OSError:
            continue
        packages[package] = packages.get(package, 0) + 1
    if not packages:
        return None, f"no CPU topology under {sys_cpu}"
    threads = max(packages.values())
    return threads, f"kernel topology: {sum(packages.values())} threads in {len(packages)} package(s)"


def _has_hypervisor_flag() -> bool:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return "hypervisor" in line.split(":", 1)[1].split()
    except OSError:
        pass
    return False


@dataclass(frozen=True)
class CpuPowerModel:
    """What the estimate assumes about this CPU's power, and where each number came from.

    Attributes:
        cpu_model: the model name the CPU reports.
        tdp_w: its TDP (None: unknown, see ``tdp_source``).
        tdp_source: the table row used, or why none.
        package_threads: hardware threads of one package (None: unknown, see ``threads_source``).
        threads_source: where the count came from, or why none.
        watts_per_thread: full-load power of one hardware thread.
        watts_source: how ``watts_per_thread`` was obtained.
        threads: threads of the run, charged idle power over wall time.
        idle_fraction: share of full-load power drawn idle.
    """

    cpu_model: str
    tdp_w: float | None
    tdp_source: str
    package_threads: int | None
    threads_source: str
    watts_per_thread: float
    watts_source: str
    threads: int
    idle_fraction: float = IDLE_FRACTION

    @property
    def idle_w(self) -> float:
        return self.idle_fraction * self.watts_per_thread * self.threads

    @property
    def active_w_per_thread(self) -> float:
        return (1 - self.idle_fraction) * self.watts_per_thread

    def energy_j(self, cpu_s: float, wall_s: float) -> float:
        """Estimated joules of a window with ``cpu_s`` process CPU seconds over ``wall_s`` seconds."""
        return wall_s * self.idle_w + cpu_s * self.active_w_per_thread

    def describe(self) -> dict:
        """The record form: every assumption with its source."""
        return {**asdict(self), "idle_w": round(self.idle_w, 4),
                "active_w_per_thread": round(self.active_w_per_thread, 4),
                "formula": "energy = wall_s x idle_w + cpu_s x active_w_per_thread (estimate)"}

    def summary(self) -> str:
        return (f"CPU power model: {self.watts_per_thread:.3g} W per busy thread ({self.watts_source}), "
                f"{self.idle_w:.3g} W idle for {self.threads} thread(s)")


def cpu_power_model(threads: int, watts_per_thread: float | None = None, *, cpu_name: str | None = None,
                    table_path: Path | None = None, topology: tuple[int | None, str] | None = None) -> CpuPowerModel:
    """The power model of this machine's CPU for a run of ``threads`` threads.

    Args:
        threads: threads of the run (idle power is charged for these).
        watts_per_thread: a user's figure (``measure.cpu_watts_per_core``); None: from the TDP table.
        cpu_name, table_path, topology: injectable for tests (default: this machine).
    """
    from joulebench.env_info import cpu_model

    name = cpu_name if cpu_name is not None else cpu_model()
    tdp, tdp_source = lookup_tdp(name, tdp_table(table_path))
    count, count_source = topology if topology is not None else package_threads()
    if watts_per_thread is not None:
        watts, source = float(watts_per_thread), "measure.cpu_watts_per_core in the configuration"
    elif tdp is not None and count:
        watts, source = tdp / count, f"TDP {tdp:g} W / {count} package threads"
    else:
        missing = "TDP unknown" if tdp is None else "package thread count unknown"
        watts, source = FALLBACK_WATTS_PER_THREAD, f"codecarbon's fallback per thread, {missing}"
    return CpuPowerModel(name, tdp, tdp_source, count, count_source, watts, source, max(1, threads))


# -- carbon ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridIntensity:
    """Grams of CO2-equivalent per kWh of electricity, and where the figure came from."""

    g_per_kwh: float
    source: str

    def grams(self, energy_j: float) -> float:
        return energy_j / 3.6e6 * self.g_per_kwh


def grid_intensity(value: str, table_path: Path | None = None) -> GridIntensity:
    """A grid intensity from ``value``: a number (g/kWh, the user's) or an ISO 3166 alpha-3 country
    code looked up in codecarbon's energy-mix table.

    Raises:
        ValueError: a negative number, or a code the table does not hold (the message says which).
    """
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        if not number >= 0 or number == float("inf"):
            raise ValueError(f"grid intensity must be a finite number >= 0 g/kWh or a country code, got {value!r}")
        return GridIntensity(number, "given by the user")
    path = table_path or codecarbon_data("private_infra/global_energy_mix.json")
    if path is None:
        raise ValueError(f"grid intensity {value!r}: the country table needs codecarbon installed; give g/kWh instead")
    table = json.loads(path.read_text())
    row = table.get(value.strip().upper())
    if row is None or "carbon_intensity" not in row:
        raise ValueError(f"grid intensity {value!r}: not an ISO 3166 alpha-3 country code of codecarbon's energy-mix "
                         "table (e.g. FRA, DEU, USA); or give g/kWh")
    return GridIntensity(float(row["carbon_intensity"]), f"codecarbon global_energy_mix.json: {row.get('country_name')}"
                                                         f" {row.get('year', '')}".rstrip())

