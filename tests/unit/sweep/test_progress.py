"""Progress: the time-left estimate and the plain lines written when output is not a terminal."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from joulebench.configuration import parse_config
from joulebench.experiments.sweep.progress import Eta, SweepProgress, format_duration


def test_eta_separates_training_from_measuring():
    eta = Eta(measurements=4, trainings=2)
    assert eta.remaining_s() is None  # nothing measured yet
    eta.finished(110.0, train_s=100.0)  # trained (100 s) and measured (10 s)
    assert eta.remaining_s() == pytest.approx(3 * 10 + 1 * 100)
    eta.finished(20.0)  # measured only, reusing the checkpoint
    assert eta.remaining_s() == pytest.approx(2 * 15 + 1 * 100)
    eta.dropped()  # a failure adds nothing to the averages
    assert eta.remaining_s() == pytest.approx(1 * 15 + 1 * 100)
    eta.slots = 2
    assert eta.remaining_s() == pytest.approx((15 + 100) / 2)


def test_eta_waits_for_a_training_it_cannot_estimate():
    eta = Eta(measurements=3, trainings=1)
    eta.finished(10.0)  # the first group's checkpoint was cached: no training seen yet
    assert eta.remaining_s() is None
    eta.finished(5.0, train_s=4.0)
    eta.finished(5.0)
    assert eta.remaining_s() == 0.0


@pytest.mark.parametrize("seconds, text", [(None, "?"), (0, "0s"), (59.4, "59s"), (61, "1m 01s"), (3725, "1h 02m")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_plain_lines_show_done_left_and_time_remaining():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=60)
    (a,) = parse_config({"task": "sst2", "name": "a"})
    (b,) = parse_config({"task": "sst2", "name": "b", "regime": "frozen"})
    with SweepProgress(total=2, trainings=1, console=console) as progress:
        progress.started(a)
        for step in range(1, 11):  # a fast stage: only its end is shown
            progress.step("train sst2/full", step, 10)
        progress.finished(a, {"train": {"reused": False, "train_time_s": 50.0}}, seconds=60.0)
        progress.failed(b, "layer_drop: keep_layers=5 but the model has only 2 encoder layers")
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "[1/2] start  a (offline)"
    assert lines[1] == "  train sst2/full: 10/10"
    assert lines[2] == "[1/2] done  a (offline) in 1m 00s; left 1 · ~10s remaining"
    assert lines[3].startswith("[2/2] FAILED b (offline): layer_drop: keep_layers=5")  # long lines are not wrapped
