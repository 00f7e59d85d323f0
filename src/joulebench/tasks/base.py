"""Task API shared by every benchmark task: examples, the Task protocol and the registry.

A task turns a split name ("train" or "validation") into a list of :class:`Example` and
turns predictions into metrics. Tasks load either from a local copy of the data in its
official layout (``data_dir``) or, when ``data_dir`` is None, from the Hugging Face Hub.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from joulebench.errors import UserError
from joulebench.registry import Registry

#: Environment variable naming the local data root (the folder that holds ``glue/``).
DATA_ENV = "JOULEBENCH_DATA"

#: Split names every task accepts.
SPLITS = ("train", "validation")


@dataclass(frozen=True)
class Example:
    """One labelled input.

    Attributes:
        text_a: first (or only) text.
        text_b: second text for sentence-pair tasks, None for single-sentence tasks.
        label: class index in ``range(task.num_labels)``, or the target of a regression task (a float).
    """

    text_a: str
    text_b: str | None
    label: int | float


@runtime_checkable
class Task(Protocol):
    """What the trainer and the evaluator need from a task.

    Attributes:
        name: registry key, as written in configs ("sst2").
        num_labels: number of classes.
        primary_metric: the metric used to compare runs (a key of :meth:`score`'s result).
        metric_names: metrics :meth:`score` reports; each also comes with ``<name>_stderr``,
            and the result always holds ``n_examples``.
        hub_id: ``(path, config)`` for ``datasets.load_dataset``.
    """

    name: str
    num_labels: int
    primary_metric: str
    metric_names: tuple[str, ...]
    hub_id: tuple[str, str]

    def load(
        self,
        split: str,
        data_dir: Path | None,
        max_examples: int | None = None,
        seed: int = 0,
    ) -> list[Example]:
        """Load ``split`` from ``data_dir`` (None: the Hugging Face Hub).

        Args:
            split: "train" or "validation".
            data_dir: local data root holding ``glue/<TASK>/...``; None loads from the Hub.
            max_examples: keep at most this many examples: a deterministic random subset,
                in file order.
            seed: selects the subset; the same seed gives the same subset.

        Raises:
            UserError: missing or malformed data, or an unreachable Hub.
        """
        ...

    def score(self, predictions: Sequence[int], labels: Sequence[int]) -> dict[str, float]:
        """Metrics of ``predictions`` against ``labels`` (same length, in the same order)."""
        ...


#: Every task: a :class:`Task` (classification, pairs, regression) or a question-answering task with the
#: same registry key and metadata but span examples (``joulebench.tasks.squad.Squad``).
TASKS: Registry[Any] = Registry("task")


def get_task(name: str) -> Task:
    """Return the registered task ``name``.

    Raises:
        UserError: unknown name (with a did-you-mean suggestion).
    """
    return TASKS.get(name)


#: Conventional local data folders, tried in order when neither --data-dir nor the variable is set.
DEFAULT_DATA_DIRS = ("data", "../shared/data")


def resolve_data_dir(data_dir: str | Path | None) -> Path | None:
    """Pick the local data root: the explicit argument, else ``$JOULEBENCH_DATA``, else the
    first of ``./data`` and ``../shared/data`` (relative to the working directory) that holds a
    ``glue/`` folder, else None.

    None means "load from the Hugging Face Hub".

    Args:
        data_dir: value of ``--data-dir`` or a config field; None or "" when not given.

    Raises:
        UserError: the chosen folder does not exist or is not a directory.
    """
    source = "--data-dir"
    if data_dir is None or str(data_dir) == "":
        # An empty variable counts as unset, so `JOULEBENCH_DATA= cmd` can force the Hub.
        data_dir = os.environ.get(DATA_ENV) or None
        source = DATA_ENV
    if data_dir is None and DATA_ENV not in os.environ:
        for candidate in DEFAULT_DATA_DIRS:
            if (Path(candidate) / "glue").is_dir():
                logging.getLogger("joulebench.tasks").info("using local data in %s", candidate)
                return Path(candidate).resolve()
    if data_dir is None:
        return None
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise UserError(
            f"data directory {str(path)!r} (from {source}) does not exist or is not a folder; "
            "expected a folder holding glue/SST-2, glue/MRPC or glue/QQP"
        )
    return path
