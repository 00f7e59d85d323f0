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


@pytest.fixture
def server_tree(tmp_path: Path) -> dict[str, Path]:
    """A two-socket server as recent kernels show it: packages with core and dram sub-zones."""
    pkg0 = _zone(tmp_path, "intel-rapl:0", "package-0", 10_000_000)
    pkg1 = _zone(tmp_path, "intel-rapl:1", "package-1", 20_000_000)
    return {"root": tmp_path, "pkg0": pkg0, "pkg1": pkg1,
            "core0": _zone(pkg0, "intel-rapl:0:0", "core", 0),
            "dram0": _zone(pkg0, "intel-rapl:0:1", "dram", 65_000_000, max_uj=65_712_999_613),
            "dram1": _zone(pkg1, "intel-rapl:1:0", "dram", 65_712_999_613 - 500_000, max_uj=65_712_999_613)}


def test_two_packages_with_dram_domains_wrapping_at_their_own_range(server_tree: dict[str, Path]) -> None:
    meter = RaplMeter(server_tree["root"])
    meter.begin_window("w")
    _set(server_tree["pkg0"], 15_000_000)  # +5 J
    _set(server_tree["pkg1"], 21_000_000)  # +1 J
    _set(server_tree["dram0"], 66_000_000)  # +1 J
    _set(server_tree["dram1"], 1_500_000)  # wrapped at dram's own range: +0.5 J to the top, +1.5 J after
    window = meter.end_window("w")
    assert window.energy_j == pytest.approx(6.0)  # packages only: the figure other machines report
    assert window.details is not None
    domains = window.details["domains_j"]
    assert domains["dram (intel-rapl:0:1)"] == pytest.approx(1.0)
    assert domains["dram (intel-rapl:1:0)"] == pytest.approx(2.0)
    assert "DRAM not in the figure, measured beside it" in window.note


def test_unreadable_energy_uj_as_on_recent_kernels(server_tree: dict[str, Path],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernels patched for CVE-2020-8694 make energy_uj root-only: EACCES on read, even as a file that exists."""
    real_read = Path.read_text

    def read_text(self: Path, *args: object, **kwargs: object) -> str:
        if self.name == "energy_uj" and "intel-rapl:1" in str(self):
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", read_text)
    ok, why = probe(server_tree["root"])
    assert not ok and why.count("\n") == 0
    assert "not readable" in why and "intel-rapl:1" in why and "root-only" in why


def test_auto_falls_back_with_one_labelled_line(server_tree: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from joulebench.measure import energy
    from joulebench.measure.energy import rapl as rapl_module

    (server_tree["pkg0"] / "energy_uj").unlink()
    monkeypatch.setattr(rapl_module, "DEFAULT_SYSFS_ROOT", server_tree["root"])
    monkeypatch.setattr(rapl_module.probe, "__defaults__", (server_tree["root"],))
    from joulebench import notices

    monkeypatch.setattr(notices, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="joulebench"):
        meter = energy.make_energy_meter("auto")
        energy.make_energy_meter("auto")
    assert meter.method == "estimate"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, "the fallback is said once per run, not per configuration"
    assert "auto -> estimate" in warnings[0].getMessage() and "\n" not in warnings[0].getMessage()
    meter.begin_window("k")
    window = meter.end_window("k")
    assert window.method == "estimate" and "RAPL unavailable" in window.note
