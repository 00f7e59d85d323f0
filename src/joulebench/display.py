"""Terminal tables of records (rich)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

#: Where commands print progress and messages (stderr: stdout stays for results).
console = Console(stderr=True)


def _fmt(value: object, spec: str = ".3g") -> str:
    return "n/a" if value is None else format(value, spec)


def reduction_label(record: dict) -> str:
    """'int8 + layer_drop(keep_layers=3)' or 'dense'."""
    parts = []
    for r in record.get("reductions", []):
        params = ", ".join(f"{k}={v}" for k, v in r.get("params", {}).items())
        parts.append(f"{r['name']}({params})" if params else r["name"])
    return " + ".join(parts) or "dense"


def _quality_text(q: dict) -> str:
    """Accuracy (classification), EM/F1 in percent (question answering) or the task's main metric (a declared
    regression task's correlation), with standard errors."""
    if "null_reason" in q:
        return "quality null (cost only)"
    main = q.get("primary_metric")
    if main in ("pearson", "spearman", "macro_f1", "mcc") and main in q:
        return f"{main} {q[main]:.4f} ± {q.get(main + '_stderr', float('nan')):.4f}"
    if "accuracy" in q:
        return f"acc {q['accuracy']:.4f} ± {q['accuracy_stderr']:.4f}"
    return f"EM {q['exact_match']:.1f} ± {q['exact_match_stderr']:.1f}, F1 {q['f1']:.1f} ± {q['f1_stderr']:.1f}"


def print_records(records: list[dict], console: Console | None = None) -> None:
    """One row per record: quality and cost side by side, energy method named."""
    console = console or Console(width=max(Console().width, 170))
    if not records:
        console.print("no new records")
        return
    table = Table(title="joulebench results", show_lines=False)
    for col in ("task", "model", "regime", "reductions", "engine", "scenario", "quality", "J/example", "method",
                "p50 ms", "p99 ms", "ex/s", "peak MB", "GFLOPs/ex"):
        table.add_column(col, overflow="fold")
    for r in records:
        q, c = r["quality"], r["cost"]
        acc = _quality_text(q)
        flops = c.get("flops_per_example")
        table.add_row(
            r["task"], r["model"], r["regime"], reduction_label(r), str(r.get("engine") or "torch eager"),
            r["scenario"], acc,
            _fmt(c.get("energy_j_per_example")), str(c.get("energy_method")),
            _fmt(c.get("latency_ms_p50")), _fmt(c.get("latency_ms_p99")), _fmt(c.get("throughput_eps"), ".1f"),
            _fmt(c.get("peak_mem_mb"), ".0f"), _fmt(None if flops is None else flops / 1e9),
        )
    console.print(table)
    methods = {r["cost"].get("energy_method") for r in records}
    if "estimate" in methods:
        note = next(r["cost"]["energy_note"] for r in records if r["cost"].get("energy_method") == "estimate")
        console.print(f"[yellow]energy is estimated, not measured:[/] {note}")


class PlainLines:
    """When a progress line is due without a terminal (logs, CI): a stage prints when it ends, and on the way only
    when a new tenth of it is done and ``EVERY_S`` seconds have passed since its last line."""

    EVERY_S = 10.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._last: dict[str, tuple[float, int]] = {}  # stage -> (time of its last line, tenth it showed)

    def due(self, what: str, done: int, total: int) -> bool:
        """Whether ``what: done/total`` should be printed now."""
        now = self.clock()
        if what not in self._last or done <= 1:  # a stage starts (again: the next configuration)
            self._last[what] = (now, 0)
        last, tenth = self._last[what]
        reached = 10 * done // max(1, total)
        if done >= total or (reached > tenth and now - last >= self.EVERY_S):
            self._last[what] = (now, reached)
            return True
        return False


class ProgressBars:
    """rich progress bars keyed by what is running (train, evaluate, ...)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=console, transient=True,
        )
        self.tasks: dict[str, TaskID] = {}
        self.plain = PlainLines(clock)

    def __call__(self, what: str, done: int, total: int) -> None:
        if not console.is_terminal:
            if self.plain.due(what, done, total):
                console.print(f"  {what}: {done}/{total}")
            return
        if what not in self.tasks:
            self.tasks[what] = self.progress.add_task(what, total=total)
        self.progress.update(self.tasks[what], completed=done, total=total)
        if done >= total:
            self.progress.remove_task(self.tasks.pop(what))

    def __enter__(self) -> ProgressBars:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)
