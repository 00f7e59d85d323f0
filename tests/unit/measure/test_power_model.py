"""The CPU power model: TDP from codecarbon's table, package threads, fallbacks, and grid intensity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from joulebench.measure.energy.power_model import (
    FALLBACK_WATTS_PER_THREAD,
    codecarbon_data,
    cpu_power_model,
    grid_intensity,
    lookup_tdp,
    normalised_cpu_name,
    package_threads,
    tdp_table,
)


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "cpu_power.csv"
    path.write_text("Name,TDP\nIntel Xeon Platinum 8480+,350.0\nAMD EPYC 7763,280\nAMD EPYC 7713,225\n"
                    "AMD Ryzen 9 7950X,170.0\nAMD Ryzen 9 7950X3D,120.0\n")
    return path


def test_cpuinfo_names_are_normalised_as_the_table_spells_them() -> None:
    assert normalised_cpu_name("Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz") == "Intel Xeon Platinum 8480+"
    assert normalised_cpu_name("AMD EPYC 7763 64-Core Processor") == "AMD EPYC 7763"


def test_tdp_lookup_exact_longest_and_ambiguous(table: Path) -> None:
    rows = tdp_table(table)
    assert lookup_tdp("AMD EPYC 7763 64-Core Processor", rows)[0] == 280
    assert lookup_tdp("Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz", rows)[0] == 350
    tdp, why = lookup_tdp("AMD Ryzen 9 7950X3D 16-Core Processor", rows)
    assert tdp == 120 and "7950X3D" in why  # the longer row, not 7950X
    tdp, why = lookup_tdp("AMD EPYC", rows)  # a VM that hides the model number
    assert tdp is None and "no model number" in why and "2 rows" in why
    assert lookup_tdp("Imaginary CPU 1234", rows)[0] is None


def test_watts_per_thread_from_tdp_and_topology(table: Path) -> None:
    model = cpu_power_model(2, cpu_name="AMD EPYC 7763 64-Core Processor", table_path=table,
                            topology=(128, "kernel topology"))
    assert model.watts_per_thread == pytest.approx(280 / 128)
    assert model.idle_w == pytest.approx(0.1 * 280 / 128 * 2)
    assert model.energy_j(cpu_s=10.0, wall_s=5.0) == pytest.approx(5.0 * model.idle_w + 10.0 * 0.9 * 280 / 128)
    record = model.describe()
    assert record["tdp_w"] == 280 and "cpu_power.csv" in record["tdp_source"] and "TDP 280 W / 128" in \
        record["watts_source"]


def test_unknown_tdp_or_hidden_package_falls_back_and_says_why(table: Path) -> None:
    vm = cpu_power_model(2, cpu_name="AMD EPYC 7763", table_path=table, topology=(None, "virtual machine"))
    assert vm.watts_per_thread == FALLBACK_WATTS_PER_THREAD and "package thread count unknown" in vm.watts_source
    assert vm.tdp_w == 280  # still recorded
    unknown = cpu_power_model(2, cpu_name="AMD EPYC", table_path=table, topology=(8, "kernel topology"))
    assert unknown.watts_per_thread == FALLBACK_WATTS_PER_THREAD and "TDP unknown" in unknown.watts_source
    given = cpu_power_model(2, 9.0, cpu_name="AMD EPYC", table_path=table, topology=(8, "kernel topology"))
    assert given.watts_per_thread == 9.0 and "configuration" in given.watts_source


def test_package_threads_from_topology(tmp_path: Path) -> None:
    for cpu, package in enumerate([0, 0, 1, 1, 0, 1]):
        folder = tmp_path / f"cpu{cpu}" / "topology"
        folder.mkdir(parents=True)
        (folder / "physical_package_id").write_text(f"{package}\n")
    count, why = package_threads(tmp_path, hypervisor=False)
    assert count == 3 and "2 package(s)" in why
    assert package_threads(tmp_path, hypervisor=True)[0] is None


def test_codecarbon_table_is_installed_and_holds_known_rows() -> None:
    path = codecarbon_data("hardware/cpu_power.csv")
    assert path is not None, "codecarbon is a dependency: its CPU table must be installed"
    assert lookup_tdp("AMD EPYC 7763 64-Core Processor", tdp_table(path))[0] == 280


def test_grid_intensity_number_country_and_errors(tmp_path: Path) -> None:
    assert grid_intensity("350").g_per_kwh == 350 and grid_intensity("350").source == "given by the user"
    assert grid_intensity("350").grams(3.6e6) == pytest.approx(350)
    table = tmp_path / "mix.json"
    table.write_text(json.dumps({"FRA": {"carbon_intensity": 85.0, "country_name": "France", "year": 2022}}))
    fra = grid_intensity("fra", table)
    assert fra.g_per_kwh == 85.0 and "France" in fra.source
    with pytest.raises(ValueError, match="ISO 3166"):
        grid_intensity("XYZ", table)
    with pytest.raises(ValueError, match=">= 0"):
        grid_intensity("-1")
    with pytest.raises(ValueError, match=">= 0"):
        grid_intensity("nan")
