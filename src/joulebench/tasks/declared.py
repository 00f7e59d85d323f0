"""Tasks declared in YAML from the user's own files (or a Hub dataset): no Python.

A declaration (inline under ``task:`` in a configuration, or a file of its own)::

    name: tickets
    kind: classification            # classification | pair_classification | regression | extractive_qa
    data: {train: data/train.csv, dev: data/dev.jsonl, test: data/test.parquet}
    # or hub: {path: glue, name: sst2, revision: <commit>, splits: {train: train, dev: validation}}
    text: body                      # pair_classification: [premise, hypothesis]
    label: category                 # regression: the numeric target column
    labels: [billing, bug, other]   # optional: names in head order (else the sorted values of train)
    metrics: [accuracy, macro_f1]   # the first is the task's main metric
    slices: [channel]               # columns whose values become per-slice paired differences
    dev_split: {fraction: 0.1, seed: 0}   # used only when there is no dev file: stratified split of train
    # extractive_qa: columns question, context, answers ({text: [...], answer_start: [...]}), id

Paths are relative to the file that holds the declaration. The declaration and the *content* of its
files are the task's identity (:meth:`TaskDeclaration.identity`, :meth:`DeclaredTask.data_digest`):
an edited CSV is a new task, never a stale cache hit.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joulebench.errors import UserError
from joulebench.tasks.base import Example
from joulebench.tasks.metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS, declared_scores
from joulebench.tasks.slices import label_slices, length_quartiles, words
from joulebench.tasks.tables import Table, digest_files, numbers, read_table, text_values

#: Declared kind -> the runner's task kind (:mod:`joulebench.tasks.kinds`).
DECLARED_KINDS = {"classification": "classification", "pair_classification": "classification",
                  "regression": "regression", "extractive_qa": "qa"}

QA_METRICS = ("exact_match", "qa_f1")
METRICS_OF_KIND = {"classification": CLASSIFICATION_METRICS, "pair_classification": CLASSIFICATION_METRICS,
                   "regression": REGRESSION_METRICS, "extractive_qa": QA_METRICS}
DEFAULT_METRICS = {"classification": ("accuracy",), "pair_classification": ("accuracy",),
                   "regression": ("pearson", "spearman"), "extractive_qa": ("qa_f1", "exact_match")}

#: Split names a declaration's ``data`` may use, and the runner's split each one serves.
DATA_SPLITS = {"train": "train", "dev": "validation", "validation": "validation", "test": "test",
               "calibration": "calibration"}

#: SQuAD-style column names of an extractive QA task (overridable by the same keys).
QA_COLUMNS = {"id": "id", "question": "question", "context": "context", "answers": "answers"}

_KEYS = {"name", "kind", "data", "hub", "text", "label", "labels", "metrics", "slices", "dev_split", "description",
         *QA_COLUMNS}


@dataclass(frozen=True)
class TaskDeclaration:
    """A parsed, checked declaration (paths absolute). See the module docstring for the fields."""

    name: str
    kind: str
    files: tuple[tuple[str, str], ...] = ()
    hub: tuple[tuple[str, Any], ...] = ()
    text: tuple[str, ...] = ()
    label: str | None = None
    labels: tuple[str, ...] | None = None
    metrics: tuple[str, ...] = ()
    slices: tuple[str, ...] = ()
    dev_fraction: float = 0.1
    split_seed: int = 0
    qa_columns: tuple[tuple[str, str], ...] = ()
    source: str = ""

    def file_of(self, split: str) -> Path | None:
        """The file of a runner split (``train``, ``validation``, ``test``), None when not declared."""
        for name, path in self.files:
            if DATA_SPLITS[name] == split:
                return Path(path)
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form, with the paths (what a record keeps)."""
        data = dataclasses.asdict(self)
        data["files"], data["hub"], data["qa_columns"] = dict(self.files), dict(self.hub), dict(self.qa_columns)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskDeclaration:
        """The inverse of :meth:`to_dict` (a record's ``config.task_spec``)."""
        fields = dict(data)
        fields["files"] = tuple(sorted(fields.get("files", {}).items()))
        hub = dict(fields.get("hub") or {})
        if "splits" in hub:
            hub["splits"] = tuple(tuple(pair) for pair in hub["splits"])
        fields["hub"] = tuple(sorted(hub.items()))
        fields["qa_columns"] = tuple(sorted(fields.get("qa_columns", {}).items()))
        for key in ("text", "metrics", "slices"):
            fields[key] = tuple(fields.get(key) or ())
        if fields.get("labels") is not None:
            fields["labels"] = tuple(fields["labels"])
        return cls(**fields)

    def identity(self) -> dict[str, Any]:
        """What counts in a configuration's identity: everything but where the files are and where it was
        declared (their content counts through the data digest)."""
        data = self.to_dict()
        data["files"] = sorted(data["files"])
        data.pop("source")
        return data


def parse_declaration(data: Any, base_dir: Path, where: str) -> TaskDeclaration:
    """Check a declaration mapping; every problem is a one-line error naming the field.

    Args:
        data: the mapping under ``task:`` (or a task file's content).
        base_dir: the folder relative paths are read from (the declaring file's).
        where: how errors name the declaration (``tickets.yaml`` or ``config.yaml.task``).
    """
    if not isinstance(data, Mapping):
        raise UserError(f"{where}: expected a task declaration (a mapping with name, kind, data...), got {data!r}")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise UserError(f"{where}: unknown key {unknown[0]!r}; expected some of {', '.join(sorted(_KEYS))}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or any(c in name for c in "/\\ "):
        raise UserError(f"{where}.name: expected a short task name without spaces or slashes, got {name!r}")
    kind = data.get("kind", "classification")
    if kind not in DECLARED_KINDS:
        raise UserError(f"{where}.kind: expected one of {', '.join(DECLARED_KINDS)}, got {kind!r}")
    files, hub = _data_source(data, base_dir, where)
    text = _text_columns(data.get("text"), kind, where)
    label = data.get("label")
    if kind != "extractive_qa" and (not isinstance(label, str) or not label):
        what = "target" if kind == "regression" else "label"
        raise UserError(f"{where}.label: expected the column holding the {what}, got {label!r}")
    labels = data.get("labels")
    if labels is not None:
        if kind in ("regression", "extractive_qa"):
            raise UserError(f"{where}.labels: a {kind} task has no label names")
        if not isinstance(labels, list) or len(labels) < 2 or len({str(x) for x in labels}) != len(labels):
            raise UserError(f"{where}.labels: expected a list of at least two distinct names, got {labels!r}")
        labels = tuple(str(x) for x in labels)
    metrics = data.get("metrics", list(DEFAULT_METRICS[kind]))
    allowed = METRICS_OF_KIND[kind]
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, list) or not metrics or any(m not in allowed for m in metrics):
        bad = next((m for m in metrics if m not in allowed), metrics) if isinstance(metrics, list) else metrics
        raise UserError(f"{where}.metrics: {bad!r} is not a metric of a {kind} task; expected some of "
                        f"{', '.join(allowed)}")
    if "f1" in metrics and labels is not None and len(labels) != 2:
        raise UserError(f"{where}.metrics: f1 is the binary F1 of label 1; with {len(labels)} labels use macro_f1")
    slices = data.get("slices") or []
    if isinstance(slices, str):
        slices = [slices]
    if not isinstance(slices, list) or not all(isinstance(s, str) and s for s in slices):
        raise UserError(f"{where}.slices: expected a list of column names, got {slices!r}")
    fraction, seed = _dev_split(data.get("dev_split"), where)
    qa = {key: data.get(key, default) for key, default in QA_COLUMNS.items()}
    for key, value in qa.items():
        if not isinstance(value, str) or not value:
            raise UserError(f"{where}.{key}: expected a column name, got {value!r}")
    return TaskDeclaration(
        name=name, kind=kind, files=files, hub=hub, text=text, label=label if kind != "extractive_qa" else None,
        labels=labels, metrics=tuple(metrics), slices=tuple(slices), dev_fraction=fraction, split_seed=seed,
        qa_columns=tuple(sorted(qa.items())) if kind == "extractive_qa" else (), source=where)


def _data_source(data: Mapping, base_dir: Path, where: str) -> tuple[tuple, tuple]:
    if ("data" in data) == ("hub" in data):
        raise UserError(f"{where}: expected exactly one of data (local files) and hub (a Hub dataset)")
    if "hub" in data:
        hub = data["hub"]
        if not isinstance(hub, Mapping) or not isinstance(hub.get("path"), str):
            raise UserError(f"{where}.hub: expected {{path, name?, revision?, splits?}}, got {hub!r}")
        splits = hub.get("splits", {"train": "train", "dev": "validation"})
        if not isinstance(splits, Mapping) or "train" not in splits or set(splits) - set(DATA_SPLITS):
            raise UserError(f"{where}.hub.splits: expected a mapping with train and optionally dev/test, "
                            f"got {splits!r}")
        return (), (("name", hub.get("name")), ("path", hub["path"]), ("revision", hub.get("revision")),
                    ("splits", tuple(sorted((str(k), str(v)) for k, v in splits.items()))))
    files = data["data"]
    if isinstance(files, str):
        files = {"train": files}
    if not isinstance(files, Mapping) or "train" not in files:
        raise UserError(f"{where}.data: expected {{train: FILE, dev: FILE, test: FILE}} (train required), "
                        f"got {files!r}")
    unknown = sorted(set(files) - set(DATA_SPLITS))
    if unknown:
        raise UserError(f"{where}.data: unknown split {unknown[0]!r}; expected train, dev, test, calibration")
    if "dev" in files and "validation" in files:
        raise UserError(f"{where}.data: give dev or validation, not both")
    out = []
    for split, value in files.items():
        if not isinstance(value, str) or not value:
            raise UserError(f"{where}.data.{split}: expected a file path, got {value!r}")
        path = (base_dir / Path(value).expanduser()).resolve()
        out.append((split, str(path)))
    return tuple(sorted(out)), ()


def _text_columns(value: Any, kind: str, where: str) -> tuple[str, ...]:
    if kind == "extractive_qa":
        if value is not None:
            raise UserError(f"{where}.text: an extractive_qa task names question, context and answers columns instead")
        return ()
    wanted = 2 if kind == "pair_classification" else 1
    columns = [value] if isinstance(value, str) else value
    if not isinstance(columns, list) or len(columns) not in ((1, 2) if kind == "regression" else (wanted,)) \
            or not all(isinstance(c, str) and c for c in columns):
        shape = "[first, second]" if wanted == 2 else "a column name"
        raise UserError(f"{where}.text: expected {shape}, got {value!r}")
    return tuple(columns)


def _dev_split(value: Any, where: str) -> tuple[float, int]:
    value = value or {}
    if not isinstance(value, Mapping) or set(value) - {"fraction", "seed"}:
        raise UserError(f"{where}.dev_split: expected {{fraction, seed}}, got {value!r}")
    fraction, seed = value.get("fraction", 0.1), value.get("seed", 0)
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise UserError(f"{where}.dev_split.fraction: expected a number in (0, 1), got {fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UserError(f"{where}.dev_split.seed: expected an integer, got {seed!r}")
    return float(fraction), seed


def read_declaration(path: str | Path) -> TaskDeclaration:
    """A task file: its declaration, relative paths read from its folder."""
    from joulebench.yaml_io import read_yaml

    path = Path(path)
    data = read_yaml(path, "task file")
    return parse_declaration(data, path.parent, str(path))


# --- The task -------------------------------------------------------------------------------------------------------


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
