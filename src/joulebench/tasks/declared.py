"""A declared task (:mod:`joulebench.tasks.declaration`) as a task: its rows read, checked, scored and sliced."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joulebench.errors import UserError
from joulebench.tasks.declaration import (  # noqa: F401  (re-exported: the declaration's names)
    DATA_SPLITS,
    TaskDeclaration,
    parse_declaration,
    read_declaration,
)
from joulebench.tasks.kinds import declared_kinds
from joulebench.tasks.tables import Table, digest_files, read_table


@dataclass(frozen=True)
class LabelledRows:
    """One split as the table read it: examples, and for each its row in the file and slice values."""

    examples: list
    rows: list[int]
    groups: list[dict[str, str]]
    table: Table


class DeclaredTask:
    """A :class:`~joulebench.tasks.base.Task` from a :class:`TaskDeclaration`."""

    hub_id = ("", "")

    def __init__(self, declaration: TaskDeclaration) -> None:
        self.declaration = declaration
        self.name = declaration.name
        self.task_kind = declared_kinds()[declaration.kind]
        self.kind = self.task_kind.name
        self.metric_names = tuple("f1" if m == "qa_f1" else m for m in declaration.metrics)
        self.primary_metric = self.metric_names[0]
        self._label_names: tuple[str, ...] | None = declaration.labels
        self._parsed: dict[int, LabelledRows] = {}

    def __repr__(self) -> str:
        return f"<declared task {self.name}>"

    # -- identity --

    def data_digest(self, data_dir: Path | None = None) -> str:
        """The content digest of the files (or the Hub dataset and revision)."""
        d = self.declaration
        if d.hub:
            hub = dict(d.hub)
            dataset = "/".join(str(hub[k]) for k in ("path", "name") if hub[k])
            return f"hub:{dataset}@{hub['revision'] or 'unpinned'}"
        return digest_files([Path(p) for _, p in d.files])

    # -- labels --

    @property
    def label_names(self) -> tuple[str, ...]:
        """Class names in head order: declared, else the sorted distinct labels of the training file."""
        if self._label_names is None:
            table = self._table("train")
            values = {str(v) for v in table.column(self.declaration.label or "", "label")}
            numeric = all(_is_int(v) for v in values)
            self._label_names = tuple(sorted(values, key=(lambda v: int(v)) if numeric else None))
        return self._label_names

    @property
    def num_labels(self) -> int:
        return self.task_kind.num_labels(self)

    def label_index(self, value: Any, table: Table, row: int) -> int:
        names = self.label_names
        text = str(value).strip() if value is not None else ""
        if text in names:
            return names.index(text)
        if self.declaration.labels is not None and _is_int(text) and 0 <= int(text) < len(names):
            return int(text)
        shown = ", ".join(names) if len(names) <= 12 else ", ".join(names[:12]) + ", ..."
        raise UserError(f"{table.where(row, self.declaration.label)}: label {value!r} is not among the "
                        f"{'declared' if self.declaration.labels else 'training'} labels ({shown})")

    # -- loading --

    def _table(self, split: str) -> Table:
        d = self.declaration
        if d.hub:
            return _hub_table(d.hub, split)
        path = d.file_of(split)
        if path is None:
            raise UserError(f"task {self.name!r}: no {split} file declared")
        return read_table(path)

    def has_split(self, split: str) -> bool:
        d = self.declaration
        if d.hub:
            return any(DATA_SPLITS[k] == split for k, _ in dict(d.hub)["splits"])
        return d.file_of(split) is not None

    def rows(self, split: str) -> LabelledRows:
        """Every example of ``split`` (``train``, ``validation``, ``test``), checked; a split of train
        when no dev file was declared."""
        if split == "validation" and not self.has_split("validation"):
            return self._carved("validation")
        if split == "train" and not self.has_split("validation"):
            return self._carved("train")
        return self._parse(self._table(split))

    def _parse(self, table: Table) -> LabelledRows:
        """The table's examples, parsed once per table read (an edited file is read, and parsed, again)."""
        cached = self._parsed.get(id(table))
        if cached is not None and cached.table is table:
            return cached
        self._parsed[id(table)] = parsed = self._parse_table(table)
        return parsed

    def _parse_table(self, table: Table) -> LabelledRows:
        examples = self.task_kind.read_examples(self, table)
        groups_columns = {c: table.column(c, "slices") for c in self.declaration.slices}
        groups = [{c: str(values[row]) for c, values in groups_columns.items()} for row in range(len(examples))]
        return LabelledRows(examples, list(range(len(examples))), groups, table)

    def _carved(self, split: str) -> LabelledRows:
        """A seeded split of the training file into train and dev (stratified by label when classifying)."""
        whole = self._parse(self._table("train"))
        dev = set(_dev_rows(whole.examples, self.declaration.dev_fraction, self.declaration.split_seed,
                            stratify=self.task_kind.stratified))
        keep = [i for i in range(len(whole.examples)) if (i in dev) == (split == "validation")]
        return LabelledRows([whole.examples[i] for i in keep], keep, [whole.groups[i] for i in keep], whole.table)

    def load(self, split: str, data_dir: Path | None = None, max_examples: int | None = None,
             seed: int = 0) -> list:
        """See :meth:`joulebench.tasks.base.Task.load` (``data_dir`` is not used: the files are declared)."""
        from joulebench.tasks.subset import deterministic_subset

        if split not in ("train", "validation", "test", "calibration"):
            raise UserError(f"task {self.name!r} has no split {split!r}; expected train, validation, test or "
                            "calibration")
        examples = self.rows(split).examples
        if not examples:
            raise UserError(f"task {self.name!r}: the {split} split is empty")
        return deterministic_subset(examples, max_examples, seed)

    # -- scoring --

    def score(self, predictions: Any, labels: Any) -> dict[str, float]:
        """Each declared metric with its standard error (QA: SQuAD's exact match and F1, in percent)."""
        return self.task_kind.score_declared(self, predictions, labels)

    def slices(self, examples: Sequence[Any], data_dir: Path | None) -> dict[str, list[bool]]:
        """The kind's slices (length quartiles, each label when classifying) and each value of the declared slice
        columns."""
        out = self.task_kind.slices(self, examples)
        if self.declaration.slices:
            out.update(self._declared_slices(examples))
        return out

    def _declared_slices(self, examples: Sequence[Any]) -> dict[str, list[bool]]:
        """``<column>=<value>`` slices: examples matched to their rows by content (subsets keep no row)."""
        evaluated = self.rows("test" if self.has_split("test") else "validation")
        by_example: dict[Any, dict[str, str]] = {}
        for example, group in zip(evaluated.examples, evaluated.groups, strict=True):
            by_example.setdefault(example, group)
        out: dict[str, list[bool]] = {}
        for column in self.declaration.slices:
            values = [by_example.get(e, {}).get(column, "") for e in examples]
            for value in sorted(set(values)):
                out[f"{column}={value}"] = [v == value for v in values]
        return out

    # -- validation --

    def check(self) -> list[str]:
        """Read and check every declared split before anything runs; returns warnings (leakage).

        Raises:
            UserError: the first problem, naming the file, row and column.
        """
        d = self.declaration
        splits = ["train", "validation", "test"]
        loaded = {}
        for split in [*splits, "calibration"]:
            if split in ("test", "calibration") and not self.has_split(split):
                continue
            rows = self.rows(split)
            if not rows.examples:
                raise UserError(f"{rows.table.path}: the {split} split is empty; expected at least one example")
            loaded[split] = rows
        if d.slices:
            for column in d.slices:  # named columns exist in every file
                for rows in loaded.values():
                    rows.table.column(column, "slices")
        self.task_kind.check_train(self, loaded["train"].examples, str(loaded["train"].table.path))
        warnings = []
        key = self.task_kind.input_key
        train_inputs = {key(e) for e in loaded["train"].examples}
        for split in ("validation", "test"):
            if split in loaded:
                shared = sum(1 for e in loaded[split].examples if key(e) in train_inputs)
                if shared:
                    warnings.append(f"task {self.name!r}: {shared} of {len(loaded[split].examples)} {split} inputs "
                                    f"also occur in train (leakage: scores on them overstate generalisation)")
        if "calibration" in loaded:
            reported = "test" if "test" in loaded else "validation"
            inputs = {key(e) for e in loaded[reported].examples}
            shared = sum(1 for e in loaded["calibration"].examples if key(e) in inputs)
            if shared:
                calibration = loaded["calibration"]
                raise UserError(f"{calibration.table.path}: {shared} of {len(calibration.examples)} calibration inputs"
                                f" also occur in the {reported} split the figures are reported on; "
                                "a promise chosen on them would be checked on itself: remove them")
        return warnings


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _dev_rows(examples: list, fraction: float, seed: int, stratify: bool) -> list[int]:
    from sklearn.model_selection import train_test_split

    index = list(range(len(examples)))
    labels = [e.label for e in examples] if stratify else None
    if stratify and labels is not None and min(Counter(labels).values()) < 2:
        labels = None  # a label with one example cannot be stratified
    if len(index) < 2:
        raise UserError("cannot split a training file of one row into train and dev; declare a dev file")
    _, dev = train_test_split(index, test_size=fraction, random_state=seed, stratify=labels)
    return sorted(dev)


@functools.lru_cache(maxsize=8)
def _hub_table(hub: tuple, split: str) -> Table:
    from joulebench.tasks.hub import load_hub_dataset

    spec = dict(hub)
    wanted = [v for k, v in spec["splits"] if DATA_SPLITS[k] == split]
    if not wanted:
        raise UserError(f"Hub dataset {spec['path']}: no {split} split declared")
    columns = load_hub_dataset(spec["path"], spec["name"], wanted[0], spec["revision"])
    return Table(Path(f"hub:{spec['path']}" + (f"/{spec['name']}" if spec["name"] else "") + f"[{wanted[0]}]"),
                 columns, None)


@functools.lru_cache(maxsize=32)
def declared_task(declaration: TaskDeclaration) -> DeclaredTask:
    """The task of a declaration (one object per declaration, so loaded files are read once)."""
    return DeclaredTask(declaration)
