"""A declared task (:mod:`joulebench.tasks.declaration`) as a task: its rows read, checked, scored and sliced."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joulebench.errors import UserError
from joulebench.tasks.base import Example
from joulebench.tasks.declaration import (  # noqa: F401  (re-exported: the declaration's names)
    DATA_SPLITS,
    DECLARED_KINDS,
    DEFAULT_METRICS,
    METRICS_OF_KIND,
    QA_COLUMNS,
    QA_METRICS,
    TaskDeclaration,
    parse_declaration,
    read_declaration,
)
from joulebench.tasks.metrics import declared_scores
from joulebench.tasks.slices import label_slices, length_quartiles, words
from joulebench.tasks.tables import Table, digest_files, numbers, read_table, text_values


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
        self.kind = DECLARED_KINDS[declaration.kind]
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
        if self.kind == "regression":
            return 1
        return len(self.label_names) if self.kind == "classification" else 2

    def _label_index(self, value: Any, table: Table, row: int) -> int:
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
        d = self.declaration
        if d.kind == "extractive_qa":
            examples = _qa_examples(table, dict(d.qa_columns))
        else:
            texts = [text_values(table, column, "text") for column in d.text]
            if self.kind == "regression":
                targets: list = numbers(table, d.label or "", "label")
            else:
                raw = table.column(d.label or "", "label")
                targets = [self._label_index(value, table, row) for row, value in enumerate(raw)]
            second = texts[1] if len(texts) > 1 else [None] * len(targets)
            examples = [Example(a, b, y) for a, b, y in zip(texts[0], second, targets, strict=True)]
        groups_columns = {c: table.column(c, "slices") for c in d.slices}
        groups = [{c: str(values[row]) for c, values in groups_columns.items()} for row in range(len(examples))]
        return LabelledRows(examples, list(range(len(examples))), groups, table)

    def _carved(self, split: str) -> LabelledRows:
        """A seeded split of the training file into train and dev (stratified by label when classifying)."""
        whole = self._parse(self._table("train"))
        dev = set(_dev_rows(whole.examples, self.declaration.dev_fraction, self.declaration.split_seed,
                            stratify=self.kind == "classification"))
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
        if self.kind == "qa":
            from joulebench.tasks.squad_metrics import squad_scores

            return squad_scores(predictions, {e.id: e.answers for e in labels})
        return declared_scores(self.metric_names, predictions, labels, self.num_labels)

    def slices(self, examples: Sequence[Any], data_dir: Path | None) -> dict[str, list[bool]]:
        """Length quartiles, each label (classification), and each value of the declared slice columns."""
        if self.kind == "qa":
            lengths = [len(words(e.question)) + len(words(e.context)) for e in examples]
            return length_quartiles(lengths)
        lengths = [len(words(e.text_a)) + len(words(e.text_b or "")) for e in examples]
        out = length_quartiles(lengths)
        if self.kind == "classification":
            named = label_slices([e.label for e in examples])
            out.update({f"label_{self.label_names[int(k.split('_', 1)[1])]}": v for k, v in named.items()})
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
        if d.kind != "extractive_qa":
            for column in d.slices:  # named columns exist in every file
                for rows in loaded.values():
                    rows.table.column(column, "slices")
        if self.kind == "classification":
            present = {e.label for e in loaded["train"].examples}
            if len(present) < 2:
                raise UserError(f"{loaded['train'].table.path}: the training split holds one label only "
                                f"({self.label_names[next(iter(present))]}); expected at least two")
        warnings = []
        key = (lambda e: (e.question, e.context)) if self.kind == "qa" else (lambda e: (e.text_a, e.text_b))
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


def _qa_examples(table: Table, columns: dict[str, str]) -> list:
    from joulebench.tasks.squad import QAExample

    ids = [str(v) for v in table.column(columns["id"], "id")]
    questions = text_values(table, columns["question"], "question")
    contexts = text_values(table, columns["context"], "context")
    answers = table.column(columns["answers"], "answers")
    seen: dict[str, int] = {}
    out = []
    for row, (qid, question, context, answer) in enumerate(zip(ids, questions, contexts, answers, strict=True)):
        if qid in seen:
            first = table.where(seen[qid]).split(" ", 1)[1]
            raise UserError(f"{table.where(row, columns['id'])}: question id {qid!r} already used on {first}; "
                            "answers are keyed by id, so ids must be unique")
        seen[qid] = row
        texts, starts = _answers(answer, table, row, columns["answers"])
        for text, start in zip(texts, starts, strict=True):
            if context[start:start + len(text)] != text:
                raise UserError(f"{table.where(row, columns['answers'])}: answer {text!r} is not in the context at "
                                f"offset {start}")
        out.append(QAExample(qid, question, context, tuple(texts), tuple(starts)))
    return out


def _answers(value: Any, table: Table, row: int, column: str) -> tuple[list[str], list[int]]:
    where = table.where(row, column)
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, Mapping) or not isinstance(value.get("text"), list) \
            or not isinstance(value.get("answer_start"), list) or len(value["text"]) != len(value["answer_start"]) \
            or not value["text"]:
        raise UserError(f"{where}: expected {{text: [answers], answer_start: [offsets]}} with at least one answer, "
                        f"got {str(value)[:80]!r}")
    texts, starts = value["text"], value["answer_start"]
    if not all(isinstance(t, str) for t in texts) or not all(isinstance(s, int) and s >= 0 for s in starts):
        raise UserError(f"{where}: answers must be texts and answer_start non-negative integers")
    return texts, starts


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
