"""``joulebench search`` as a user runs it, on the tiny random BERT and the fixture data.

Bad files fail in one line with exit 2; a search killed (SIGKILL) and restarted continues
without re-running a stored trial and ends with distinct points of the space, each stored once.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from joulebench.cli import main
from joulebench.experiments.search import load_search


def start(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "joulebench", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("change, message", [
    (lambda s: s["search"].update(sampler="grid"), "search.yaml.search.sampler: expected one of tpe, nsga2, random"),
    (lambda s: s["search"].update(objectives=["maximize speed"]), "unknown metric 'speed'"),
    (lambda s: s["search"].update(constraints=["accuracy > baseline"]), "expected 'METRIC >= baseline - X'"),
    (lambda s: s["search"]["reductions"][0]["params"].update(keep_layers={"int": [3, 1]}),
     "keep_layers.int: expected [low, high] with low <= high"),
    (lambda s: s["search"]["reductions"][0]["params"].update(keep_layers={"choices": [0]}),
     "keep_layers"),
])
def test_a_bad_search_file_is_one_line_and_exit_2(tmp_path, search_data, monkeypatch, capsys, change, message):
    change(search_data)
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(search_data))
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", ["joulebench", "search", str(path), "--out", str(out)])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    stderr = capsys.readouterr().err
    (line,) = [x for x in stderr.splitlines() if x.startswith("joulebench: error")]
    assert message in line and "Traceback" not in stderr and not out.exists()


def test_a_bad_goal_is_one_line(tmp_path, search_file, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["joulebench", "search", str(search_file), "--out", str(tmp_path / "o"),
                                      "--goal", "cheapest please"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    assert "--goal: expected 'maximize METRIC' or 'minimize METRIC'" in capsys.readouterr().err


@pytest.mark.product_min_steps  # compared with records written by a subprocess (the product default)
def test_killed_search_continues_without_re_running_a_stored_trial(tmp_path, search_file, fixture_data_dir):
    out = tmp_path / "out"
    results = out / "results.jsonl"
    args = ["search", str(search_file), "--out", str(out), "--trials", "5", "--data-dir", str(fixture_data_dir),
            "--cache-dir", str(tmp_path / "cache")]
    proc = start(args)
    deadline = time.monotonic() + 240
    while len(records(results)) < 2:
        assert proc.poll() is None, f"the search ended early:\n{proc.communicate()[1]}"
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    before = [r["config_hash"] for r in records(results)]
    assert 2 <= len(before) < 5

    final = start(args)
    stdout, stderr = final.communicate(timeout=300)
    assert final.returncode == 0, stderr
    assert f"{len(before)} trials already in" in stderr and "not re-run" in stderr, stderr
    after = [r["config_hash"] for r in records(results)]
    assert after[: len(before)] == before  # nothing already written was lost or rewritten
    assert len(after) == len(set(after)) == 5  # no stored trial ran again
    space = dataclasses.replace(load_search(search_file), data_dir=fixture_data_dir)
    assert all(space.params_of(r) is not None for r in records(results))  # every record is a point of the space
    assert "frontier (maximize accuracy, minimize energy_j_per_example)" in stdout
