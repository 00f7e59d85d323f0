"""RAPL reader against a fake powercap sysfs tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from joulebench.measure.energy.rapl import RaplMeter, counter_delta_uj, find_package_zones, probe

MAX_UJ = 262_143_328_850


def _zone(root: Path, dirname: str, name: str, energy_uj: int, max_uj: int = MAX_UJ) -> Path:
    path = root / dirname
    path.mkdir()
    (path / "name").write_text(f"{name}\n")
    (path / "energy_uj").write_text(f"{energy_uj}\n")
    (path / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return path


def _set(path: Path, energy_uj: int) -> None:
    (path / "energy_uj").write_text(f"{energy_uj}\n")


@pytest.fixture
def sysfs(tmp_path: Path) -> dict[str, Path]:
    return {
        "pkg0": _zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000),
        "core0": _zone(tmp_path, "intel-rapl:0:0", "core", 500_000),  # sub-domain: inside package
        "pkg1": _zone(tmp_path, "intel-rapl:1", "package-1", MAX_UJ - 2_000_000),
        "psys": _zone(tmp_path, "intel-rapl:2", "psys", 0),  # platform, not a package
        "root": tmp_path,
    }


def test_only_package_zones_are_used(sysfs: dict[str, Path]) -> None:
    assert [z.name for z in find_package_zones(sysfs["root"])] == ["package-0", "package-1"]


def test_window_sums_packages_and_handles_wrap(sysfs: dict[str, Path]) -> None:
    meter = RaplMeter(sysfs["root"])
    assert RaplMeter.available(sysfs["root"])
    meter.begin_window("w")
    _set(sysfs["pkg0"], 4_000_000)  # +3 J
    _set(sysfs["core0"], 9_000_000)  # ignored
    _set(sysfs["pkg1"], 1_000_000)  # wrapped: +2 J to the top, +1 J after
    window = meter.end_window("w")
    assert window.method == "rapl"
    assert window.energy_j == pytest.approx(6.0)
    assert "package-0" in window.note and "package-1" in window.note


def test_counter_delta_wraps_once() -> None:
    assert counter_delta_uj(100, 250, 1000) == 150
    assert counter_delta_uj(900, 50, 1000) == 150


def test_missing_tree_is_unavailable(tmp_path: Path) -> None:
    ok, why = probe(tmp_path / "absent")
    assert not ok and "RAPL" in why
    assert not RaplMeter.available(tmp_path)  # exists but holds no zone


def test_failed_read_at_end_gives_none_not_zero(sysfs: dict[str, Path]) -> None:
    meter = RaplMeter(sysfs["root"])
    meter.begin_window("w")
    (sysfs["pkg0"] / "energy_uj").unlink()
    window = meter.end_window("w")
    assert window.energy_j is None and window.method is None
    assert "read failed" in window.note


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read mode-000 files")
def test_unreadable_counter_reports_permission(sysfs: dict[str, Path]) -> None:
    (sysfs["pkg0"] / "energy_uj").chmod(0)
    ok, why = probe(sysfs["root"])
    assert not ok and "not readable" in why


def test_cuda_note_says_gpu_not_counted(sysfs: dict[str, Path]) -> None:
    meter = RaplMeter(sysfs["root"], device="cuda")
    meter.begin_window("w")
    assert "GPU not counted" in meter.end_window("w").note
