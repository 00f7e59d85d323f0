"""The declaration of a task in YAML from the user's own files (or a Hub dataset): no Python.

A declaration (inline under ``task:`` in a configuration, or a file of its own)::

    name: tickets
    kind: classification            # classification | pair_classification | regression | extractive_qa
    data: {train: data/train.csv, dev: data/dev.jsonl, test: data/test.parquet}   # calibration: FILE too
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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joulebench.errors import UserError
from joulebench.tasks.kinds import TaskKind, declared_kinds

#: Split names a declaration's ``data`` may use, and the runner's split each one serves.
DATA_SPLITS = {"train": "train", "dev": "validation", "validation": "validation", "test": "test",
               "calibration": "calibration"}

_KEYS = {"name", "kind", "data", "hub", "text", "label", "labels", "metrics", "slices", "dev_split", "description"}


def _keys() -> set[str]:
    """The keys a declaration may hold: the common ones and every kind's named columns."""
    return _KEYS.union(*(kind.named_columns for kind in declared_kinds().values()))


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

    @property
    def windows(self) -> bool:
        """Whether the declared kind cuts inputs into windows (the configuration's ``doc_stride`` applies)."""
        return declared_kinds()[self.kind].windows

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
    keys = _keys()
    unknown = sorted(set(data) - keys)
    if unknown:
        raise UserError(f"{where}: unknown key {unknown[0]!r}; expected some of {', '.join(sorted(keys))}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or any(c in name for c in "/\\ "):
        raise UserError(f"{where}.name: expected a short task name without spaces or slashes, got {name!r}")
    kinds = declared_kinds()
    kind = data.get("kind", "classification")
    if kind not in kinds:
        raise UserError(f"{where}.kind: expected one of {', '.join(kinds)}, got {kind!r}")
    task_kind = kinds[kind]
    files, hub = _data_source(data, base_dir, where)
    text = _text_columns(data.get("text"), kind, task_kind, where)
    label = data.get("label")
    if task_kind.target is not None and (not isinstance(label, str) or not label):
        raise UserError(f"{where}.label: expected the column holding the {task_kind.target}, got {label!r}")
    labels = data.get("labels")
    if labels is not None:
        if not task_kind.has_label_names:
            raise UserError(f"{where}.labels: a {kind} task has no label names")
        if not isinstance(labels, list) or len(labels) < 2 or len({str(x) for x in labels}) != len(labels):
            raise UserError(f"{where}.labels: expected a list of at least two distinct names, got {labels!r}")
        labels = tuple(str(x) for x in labels)
    metrics = data.get("metrics", list(task_kind.default_metrics))
    allowed = task_kind.metrics
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
    named = {key: data.get(key, default) for key, default in task_kind.named_columns.items()}
    for key, value in named.items():
        if not isinstance(value, str) or not value:
            raise UserError(f"{where}.{key}: expected a column name, got {value!r}")
    return TaskDeclaration(
        name=name, kind=kind, files=files, hub=hub, text=text, label=label if task_kind.target is not None else None,
        labels=labels, metrics=tuple(metrics), slices=tuple(slices), dev_fraction=fraction, split_seed=seed,
        qa_columns=tuple(sorted(named.items())), source=where)


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


def _text_columns(value: Any, kind: str, task_kind: TaskKind, where: str) -> tuple[str, ...]:
    counts = task_kind.declared_as[kind]
    if not counts:
        if value is not None:
            names = ", ".join(task_kind.named_columns)
            raise UserError(f"{where}.text: an {kind} task names {names} columns instead")
        return ()
    columns = [value] if isinstance(value, str) else value
    if not isinstance(columns, list) or len(columns) not in counts \
            or not all(isinstance(c, str) and c for c in columns):
        shape = "[first, second]" if counts == (2,) else "a column name" if counts == (1,) else \
            "a column name or [first, second]"
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
