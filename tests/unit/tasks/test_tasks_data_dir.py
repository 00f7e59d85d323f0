"""Where tasks look for data: --data-dir, then $JOULEBENCH_DATA, then the Hub (None)."""

from __future__ import annotations

from pathlib import Path

import pytest

from joulebench.errors import UserError
from joulebench.tasks import DATA_ENV, get_task, resolve_data_dir


def test_explicit_argument_wins_over_env(
    tmp_path: Path, fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert resolve_data_dir(fixtures_dir) == fixtures_dir
    assert resolve_data_dir(str(fixtures_dir)) == fixtures_dir


def test_env_is_used_when_no_argument(
    fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOULEBENCH_DATA", str(fixtures_dir))
    resolved = resolve_data_dir(None)
    assert resolved == fixtures_dir
    assert len(get_task("qqp").load("validation", resolved)) == 40


def test_empty_argument_falls_back_to_env(
    fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATA_ENV, str(fixtures_dir))
    assert resolve_data_dir("") == fixtures_dir


def test_nothing_set_means_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_data_dir(None) is None


def test_nothing_set_finds_conventional_local_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(DATA_ENV, raising=False)
    (tmp_path / "shared" / "data" / "glue").mkdir(parents=True)
    (tmp_path / "checkout").mkdir()
    monkeypatch.chdir(tmp_path / "checkout")
    assert resolve_data_dir(None) == (tmp_path / "shared" / "data").resolve()


def test_empty_env_means_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_ENV, "")
    assert resolve_data_dir(None) is None


def test_tilde_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "data").mkdir()
    assert resolve_data_dir("~/data") == tmp_path / "data"


def test_missing_env_folder_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere"
    monkeypatch.setenv(DATA_ENV, str(missing))
    with pytest.raises(UserError) as info:
        resolve_data_dir(None)
    message = str(info.value)
    assert str(missing) in message
    assert DATA_ENV in message
    assert "\n" not in message


def test_missing_argument_folder_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(UserError, match="--data-dir") as info:
        resolve_data_dir(missing)
    assert str(missing) in str(info.value)


def test_a_file_is_not_a_data_dir(tmp_path: Path) -> None:
    file = tmp_path / "data.tsv"
    file.write_text("x\n")
    with pytest.raises(UserError, match="not a folder"):
        resolve_data_dir(file)
