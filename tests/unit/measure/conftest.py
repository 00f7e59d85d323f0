"""Shared fakes for the measure tests."""

from __future__ import annotations

import pytest

from joulebench.measure.energy.base import EnergyWindow


class RecordingMeter:
    """Energy meter that records begin/end events into a shared event list."""

    method = "fake"

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.open: set[str] = set()

    def begin_window(self, key: str) -> None:
        self.open.add(key)
        self.events.append("begin")

    def end_window(self, key: str) -> EnergyWindow:
        self.open.remove(key)
        self.events.append("end")
        return EnergyWindow(1.0, 0.0, self.method, "fake")


@pytest.fixture
def events() -> list[str]:
    return []


@pytest.fixture
def recording_meter(events: list[str]) -> RecordingMeter:
    return RecordingMeter(events)
