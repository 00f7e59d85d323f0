"""Progress without a terminal: a stage prints when it ends, and on the way at most one line per new tenth
and per 10 seconds, instead of one line per step."""

from __future__ import annotations

import io

from rich.console import Console

from joulebench import display


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _lines(monkeypatch) -> tuple[io.StringIO, Clock, display.ProgressBars]:
    out = io.StringIO()
    monkeypatch.setattr(display, "console", Console(file=out, force_terminal=False, width=100))
    clock = Clock()
    return out, clock, display.ProgressBars(clock=clock)


def test_a_fast_stage_prints_one_line(monkeypatch):
    out, clock, bars = _lines(monkeypatch)
    for step in range(1, 15):
        clock.now += 0.2
        bars("evaluate", step, 14)
    assert out.getvalue().splitlines() == ["  evaluate: 14/14"]


def test_a_long_stage_prints_at_most_one_line_per_tenth_and_per_ten_seconds(monkeypatch):
    out, clock, bars = _lines(monkeypatch)
    for step in range(1, 1001):
        clock.now += 0.5  # 500 s in all: 50 s per tenth
        bars("train", step, 1000)
    lines = out.getvalue().splitlines()
    assert lines[-1] == "  train: 1000/1000"
    assert 9 <= len(lines) <= 11
    tenths = [10 * int(line.split(": ")[1].split("/")[0]) // 1000 for line in lines]
    assert tenths == sorted(set(tenths))  # never two lines in one tenth


def test_the_next_configuration_starts_the_stage_again(monkeypatch):
    out, clock, bars = _lines(monkeypatch)
    for _ in range(3):
        for step in range(1, 15):
            clock.now += 0.5  # 7 s a stage: under the 10 s between lines, so only its end is shown
            bars("evaluate", step, 14)
    assert out.getvalue().splitlines() == ["  evaluate: 14/14"] * 3
