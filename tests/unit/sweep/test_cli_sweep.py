"""``joulebench sweep`` as a user runs it: a bad file fails in one line before anything runs.

In this process (the resume test runs the command as a subprocess), through ``main()``.
"""

from __future__ import annotations

import sys

import pytest

from joulebench.cli import main


def test_bad_value_anywhere_fails_before_anything_runs(tmp_path, tiny_sweep, monkeypatch, capsys):
    sweep = tmp_path / "bad.yaml"
    text = tiny_sweep.read_text().replace("train.seed: [0, 1]", "train.seed: [0, 1]\n  train.lr: [1.0e-4, -1]")
    sweep.write_text(text)
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", ["joulebench", "sweep", str(sweep), "--out", str(out)])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    stderr = capsys.readouterr().err
    (line,) = [x for x in stderr.splitlines() if x.startswith("joulebench: error")]
    assert "bad.yaml: grid 'train.lr' value 2 (-1): train.lr must be > 0" in line
    assert "Traceback" not in stderr and not out.exists()


def test_dry_run_prints_the_plan(tmp_path, tiny_sweep, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["joulebench", "sweep", str(tiny_sweep), "--out", str(tmp_path / "out"),
                                      "--cache-dir", str(tmp_path / "cache"), "--dry-run"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 0
    assert "6 configurations (2 fine-tuned checkpoints); already done: 0" in capsys.readouterr().err
