"""Shared implementation of binary GLUE-style tasks read from TSV files or the Hub.

Each task module subclasses :class:`GlueTask`, sets the class attributes that describe its
files and columns, and registers an instance in :data:`~joulebench.tasks.base.TASKS`.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from joulebench.errors import UserError
from joulebench.tasks.base import SPLITS, Example
from joulebench.tasks.hub import load_hub_columns
from joulebench.tasks.metrics import binary_scores
from joulebench.tasks.slices import pair_slices, single_sentence_slices, word_counts
from joulebench.tasks.subset import deterministic_subset
from joulebench.tasks.tsv import parse_binary_label, read_tsv


class GlueTask:
    """A binary classification task over one text or a text pair.

    Subclasses set these class attributes:

    Attributes:
        name: registry key.
        folder: folder under ``<data_dir>/glue/`` ("SST-2").
        files: split -> file name in ``folder``.
        header: the official header, in file order (quoted in error messages).
        text_columns: TSV column of text_a and of text_b (None for single-sentence tasks).
        label_column: TSV column holding 0/1.
        filter_columns: further TSV columns that :meth:`keep_row` looks at.
        hub_id: ``(path, config)`` for ``datasets.load_dataset``.
        hub_splits: our split -> ``datasets`` split expression.
        hub_text_columns: Hub column of text_a and of text_b (None for single-sentence tasks).
        metric_names: "accuracy", plus "f1" for pair tasks.
        label_names: GLUE's names of label 0 and label 1 (exports carry them as ``id2label``).
    """

    name: str
    folder: str
    files: ClassVar[Mapping[str, str]]
    header: tuple[str, ...]
    text_columns: tuple[str, str | None]
    label_column: str
    filter_columns: tuple[str, ...] = ()
    hub_id: tuple[str, str]
    hub_splits: ClassVar[Mapping[str, str]]
    hub_text_columns: tuple[str, str | None]
    hub_label_column = "label"
    num_labels = 2
    #: the classes' names, in label order (GLUE's own names for its 0/1 labels).
    label_names: tuple[str, ...] = ("0", "1")
    primary_metric = "accuracy"
    metric_names: tuple[str, ...] = ("accuracy",)

    def __repr__(self) -> str:
        return f"<task {self.name}>"

    def load(
        self,
        split: str,
        data_dir: Path | None,
        max_examples: int | None = None,
        seed: int = 0,
    ) -> list[Example]:
        """See :meth:`joulebench.tasks.base.Task.load`."""
        if split not in SPLITS:
            raise UserError(
                f"task {self.name!r} has no split {split!r}; expected one of: {', '.join(SPLITS)}"
            )
        if data_dir is None:
            examples = self._load_hub(split)
        else:
            examples = self._load_local(split, Path(data_dir))
        return deterministic_subset(examples, max_examples, seed)

    def score(self, predictions: Sequence[int], labels: Sequence[int]) -> dict[str, float]:
        """See :meth:`joulebench.tasks.base.Task.score`."""
        return binary_scores(predictions, labels, with_f1="f1" in self.metric_names)

    def slices(self, examples: Sequence[Example], data_dir: Path | None) -> dict[str, list[bool]]:
        """Named slices of ``examples`` (see :mod:`joulebench.tasks.slices`)."""
        labels = [int(e.label) for e in examples]
        if self.text_columns[1] is not None:
            return pair_slices([e.text_a for e in examples], [e.text_b or "" for e in examples], labels)
        return single_sentence_slices([e.text_a for e in examples], labels, _train_word_counts(self, data_dir))

    def data_digest(self, data_dir: Path | None) -> str:
        """The data's identity: the content digest of the local files, or the Hub dataset."""
        if data_dir is None:
            return f"hub:{self.hub_id[0]}/{self.hub_id[1]}"
        from joulebench.tasks.tables import digest_files

        folder = Path(data_dir) / "glue" / self.folder
        return digest_files([folder / name for name in sorted(set(self.files.values()))])

    def layout(self, data_dir: Path) -> str:
        """One-line description of the expected local files, for error messages."""
        names = ", ".join(dict.fromkeys(self.files.values()))
        columns = ", ".join(self.header)
        return f"{data_dir / 'glue' / self.folder}/ holding {names} with header columns {columns}"

    def keep_row(self, fields: Mapping[str, str]) -> bool:
        """Whether a local row belongs to the data set; subclasses drop known non-data rows."""
        return True

    def _read_columns(self) -> tuple[str, ...]:
        """Columns a local file must have: the texts, the label and the filter columns."""
        texts = tuple(c for c in self.text_columns if c is not None)
        return (*texts, self.label_column, *self.filter_columns)

    def _load_local(self, split: str, data_dir: Path) -> list[Example]:
        if not data_dir.is_dir():
            raise UserError(
                f"data directory {data_dir} does not exist; expected {self.layout(data_dir)}"
            )
        path = data_dir / "glue" / self.folder / self.files[split]
        column_a, column_b = self.text_columns
        examples = []
        for row in read_tsv(path, self._read_columns(), self.layout(data_dir)):
            if not self.keep_row(row.fields):
                continue
            examples.append(
                Example(
                    text_a=row.fields[column_a],
                    text_b=None if column_b is None else row.fields[column_b],
                    label=parse_binary_label(
                        row.fields[self.label_column], path, row.line, self.label_column
                    ),
                )
            )
        if not examples:
            raise UserError(f"{path} has no usable rows; expected at least one example")
        return examples

    def _load_hub(self, split: str) -> list[Example]:
        hub_split = self.hub_splits[split]
        column_a, column_b = self.hub_text_columns
        wanted = [c for c in (column_a, column_b, self.hub_label_column) if c is not None]
        columns = load_hub_columns(self.hub_id, hub_split, wanted)
        where = f"Hub dataset {self.hub_id[0]}/{self.hub_id[1]} split {hub_split!r}"
        labels = [
            _hub_label(value, where, i) for i, value in enumerate(columns[self.hub_label_column])
        ]
        if not labels:
            raise UserError(f"{where} is empty; expected at least one example")
        texts_b: list[Any] = columns[column_b] if column_b is not None else [None] * len(labels)
        return [
            Example(text_a=str(a), text_b=None if b is None else str(b), label=label)
            for a, b, label in zip(columns[column_a], texts_b, labels, strict=True)
        ]


@functools.lru_cache(maxsize=4)
def _train_word_counts(task: GlueTask, data_dir: Path | None) -> Counter | None:
    """Word counts over the task's whole training split (None when it cannot be read)."""
    try:
        return word_counts(e.text_a for e in task.load("train", data_dir))
    except UserError:
        return None


def _hub_label(value: Any, where: str, index: int) -> int:
    """Check a Hub label; GLUE marks unlabelled (test) rows with -1."""
    if value in (0, 1) and not isinstance(value, bool):
        return int(value)
    hint = " (-1 marks an unlabelled split)" if value == -1 else ""
    raise UserError(f"{where} row {index}: label {value!r}{hint}; expected 0 or 1")
