"""Sweep progress: done / left / estimated time remaining; rich bars, or plain lines in logs."""

from __future__ import annotations

import time
from statistics import fmean, median
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from joulebench.config.schema import RunConfig
from joulebench.display import PlainLines


def format_duration(seconds: float | None) -> str:
    """``1h 02m``, ``3m 05s``, ``12s``; ``?`` when unknown."""
    if seconds is None:
        return "?"
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


class Eta:
    """Time left, from the configurations finished so far.

    A configuration that fine-tuned costs its training plus a measurement; the others cost a
    measurement only. Both are estimated separately (trainings by their mean, measurements by
    their median, robust to the first one paying for imports and warm-up), so one long
    fine-tuning at the start does not inflate the estimate for the measurements that reuse it.

    Args:
        measurements: configurations left to run.
        trainings: fine-tunings among them.
        slots: configurations that run at the same time (Ray: one per node).
    """

    def __init__(self, measurements: int, trainings: int, slots: int = 1) -> None:
        self.measurements_left = measurements
        self.trainings_left = trainings
        self.slots = max(1, slots)
        self._measure_s: list[float] = []
        self._train_s: list[float] = []

    def finished(self, seconds: float, train_s: float | None = None) -> None:
        """One configuration done in ``seconds``, ``train_s`` of them fine-tuning (None: reused)."""
        self.measurements_left = max(0, self.measurements_left - 1)
        if train_s is not None:
            self.trainings_left = max(0, self.trainings_left - 1)
            self._train_s.append(train_s)
        self._measure_s.append(max(0.0, seconds - (train_s or 0.0)))

    def dropped(self) -> None:
        """One configuration will not run (it failed); it adds nothing to the averages."""
        self.measurements_left = max(0, self.measurements_left - 1)

    def remaining_s(self) -> float | None:
        """Estimated seconds left; None before there is anything to estimate from."""
        if self.measurements_left == 0:
            return 0.0
        if not self._measure_s or (self.trainings_left and not self._train_s):
            return None
        train = fmean(self._train_s) if self._train_s else 0.0
        return (self.measurements_left * median(self._measure_s) + self.trainings_left * train) / self.slots


def print_line(console: Console, text: str) -> None:
    """Print ``text`` as it is: no markup, no highlighting, no wrapping (logs stay greppable)."""
    console.print(text, highlight=False, markup=False, soft_wrap=True)


def label(config: RunConfig) -> str:
    """What a configuration is called in progress output."""
    name = config.name or f"{config.task}/{config.model}/{config.regime}"
    return f"{name} ({config.measure.scenario})"


class SweepProgress:
    """Receives an executor's events and shows them (see ``executors.base.SweepEvents``).

    On a terminal: an overall bar with done / left / time remaining, plus transient bars for
    the step in progress (training, evaluation). Otherwise one plain line per event.
    """

    def __init__(self, total: int, trainings: int, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.total = total
        self.done = 0
        self.failures = 0
        self.eta = Eta(total, trainings)
        self._started: dict[int, float] = {}
        self._live = self.console.is_terminal
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(), console=self.console, transient=False,
        )
        self._overall: TaskID | None = None
        self._steps: dict[str, TaskID] = {}
        self._plain = PlainLines()  # without a terminal: a line per stage's end, at most one per tenth and 10 s

    # -- context ------------------------------------------------------------------------------
    def __enter__(self) -> SweepProgress:
        if self._live:
            self._progress.__enter__()
            self._overall = self._progress.add_task("sweep", total=self.total, info=self._info())
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live:
            self._progress.__exit__(*exc)

    def _info(self) -> str:
        left = self.total - self.done
        return f"left {left} · ~{format_duration(self.eta.remaining_s())} remaining"

    def _print(self, text: str) -> None:
        print_line(self.console, text)

    # -- events -------------------------------------------------------------------------------
    def ready(self, slots: int) -> None:
        """The executor runs up to ``slots`` configurations at a time."""
        self.eta.slots = max(1, slots)

    def started(self, config: RunConfig) -> None:
        self._started[id(config)] = time.monotonic()
        self._print(f"[{self.done + 1}/{self.total}] start  {label(config)}")

    def step(self, what: str, done: int, total: int) -> None:
        """The runner's progress callback (training steps, evaluation batches)."""
        if not self._live:
            if self._plain.due(what, done, total):
                self._print(f"  {what}: {done}/{total}")
            return
        if what not in self._steps:
            self._steps[what] = self._progress.add_task(f"  {what}", total=total, info="")
        self._progress.update(self._steps[what], completed=done, total=total)
        if done >= total:
            self._progress.remove_task(self._steps.pop(what))

    def finished(self, config: RunConfig, record: dict | None, seconds: float | None = None) -> None:
        """A configuration ended with ``record`` (None: another process stored it meanwhile)."""
        if seconds is None:
            seconds = time.monotonic() - self._started.pop(id(config), time.monotonic())
        train = (record or {}).get("train") or {}
        self.eta.finished(seconds, None if train.get("reused", True) else (train.get("train_time_s") or 0.0))
        self.done += 1
        what = "done" if record is not None else "already stored"
        self._print(f"[{self.done}/{self.total}] {what}  {label(config)} in {format_duration(seconds)}; {self._info()}")
        self._advance()

    def failed(self, config: RunConfig, message: str) -> None:
        self._started.pop(id(config), None)
        self.eta.dropped()
        self.done += 1
        self.failures += 1
        self._print(f"[{self.done}/{self.total}] FAILED {label(config)}: {message}")
        self._advance()

    def _advance(self) -> None:
        if self._overall is not None:
            self._progress.update(self._overall, completed=self.done, info=self._info())
