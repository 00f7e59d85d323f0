"""Sweep files: a base configuration plus ``grid:`` and ``zip:`` axes over dotted keys.

A sweep file holds the keys of a run configuration (the base) and two optional axes::

    task: sst2
    model: minilm-l6
    train: {epochs: 1, max_train_examples: 4000}
    grid:                       # cartesian product
      train.seed: [0, 1]
      reductions: [[], [int8], [{name: layer_drop, keep_layers: 3}]]
    zip:                        # lists advanced together (equal lengths), crossed with the grid
      model: [minilm-l6, bert-base]
      train.lr: [1.0e-4, 3.0e-5]

``grid`` may also be a list of such mappings: the union of their products, in order (as
scikit-learn's ``ParameterGrid``), e.g. every reduction offline plus the dense model online.
A value replaces the base's value for its key; ``reductions`` takes a list of alternative
reduction lists (``[]`` is the dense model; a lone ``int8`` or ``{name: ...}`` means a list of
one). Every configuration is validated before anything runs; an error names the file and key.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joulebench.config.schema import MeasureConfig, RunConfig, TrainConfig, config_hash
from joulebench.configuration import parse_config
from joulebench.configuration import read_yaml as read_yaml_file
from joulebench.errors import UserError

#: Keys of a sweep file besides those of a run configuration.
AXES = ("grid", "zip")

_SECTIONS: dict[str, type] = {"train": TrainConfig, "measure": MeasureConfig}
_TOP = tuple(f.name for f in dataclasses.fields(RunConfig))
#: Where parse_config is told it is; replaced by a description of the sweep value in errors.
_MARK = "<config>"


def sweep_keys() -> list[str]:
    """Every key an axis may vary: top-level fields and ``section.field`` for train/measure."""
    keys = [k for k in _TOP if k not in _SECTIONS and k != "name"]
    for section, cls in _SECTIONS.items():
        keys.extend(f"{section}.{f.name}" for f in dataclasses.fields(cls))
    return keys


def is_sweep(data: Any) -> bool:
    """True for a mapping with a ``grid`` or ``zip`` axis (anything else is a plain config)."""
    return isinstance(data, dict) and any(axis in data for axis in AXES)


@dataclass(frozen=True, eq=False)  # compared by identity: membership in a zip group is ``is``
class Axis:
    """One varied key: its values, and where it was written (``grid``, ``grid[1]``, ``zip``)."""

    key: str
    values: tuple[Any, ...]
    origin: str


@dataclass(frozen=True)
class Block:
    """A cartesian product over groups of axes; the axes of a group advance together.

    A group is one grid axis, or the whole zip group (its axes have equal lengths).
    """

    axes: tuple[tuple[Axis, ...], ...]

    def combinations(self) -> Iterator[list[tuple[Axis, Any]]]:
        """Each combination as (axis, value) pairs, the last axis varying fastest."""
        ranges = [range(len(group[0].values)) for group in self.axes]
        for indices in itertools.product(*ranges):
            yield [(axis, axis.values[i]) for group, i in zip(self.axes, indices, strict=True) for axis in group]


# -- reading --------------------------------------------------------------------------------------
def read_yaml(path: str | Path) -> Any:
    """``yaml.safe_load`` of a sweep file; a missing file or bad YAML is a one-line UserError."""
    return read_yaml_file(path, "sweep file")


def load_sweep(path: str | Path) -> list[RunConfig]:
    """Read and expand a sweep file into validated, de-duplicated configurations.

    Raises:
        UserError: naming the file and the key, for any bad key or value in any configuration.
    """
    return expand_sweep(read_yaml(path), str(path), Path(path).parent)


def load_any(path: str | Path) -> list[RunConfig]:
    """A sweep file (one with ``grid:`` or ``zip:``) expanded, or a plain config file loaded."""
    from joulebench.configuration import load_configs

    if Path(path).is_file() and is_sweep(read_yaml(path)):
        return load_sweep(path)
    return load_configs(path)


# -- expansion ------------------------------------------------------------------------------------
def expand_sweep(data: Any, where: str = "sweep", base_dir: Path | None = None) -> list[RunConfig]:
    """Expand a sweep mapping into validated RunConfigs, in expansion order, duplicates dropped.

    Args:
        data: the parsed sweep file (base keys plus ``grid`` and/or ``zip``).
        where: the file name, prefixed to every error message.
        base_dir: the sweep file's folder (task files and ``tasks/`` are found there; default: the working
            directory).

    Returns:
        One RunConfig per combination (a base ``measure.scenario`` list multiplies them), each
        named after the values it was given (``name`` does not enter the config hash).

    Raises:
        UserError: an unknown key, a malformed axis, or an invalid value, before anything runs.
    """
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a mapping (a base configuration plus grid:/zip:), got "
                        f"{type(data).__name__}")
    unknown = [k for k in data if k not in (*_TOP, *AXES)]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), [*_TOP, *AXES], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join([*_TOP, *AXES])}"
        raise UserError(f"{where}: unknown top-level key {unknown[0]!r}{hint}")
    base = {k: v for k, v in data.items() if k not in AXES}
    for section in _SECTIONS:
        if base.get(section) is not None and not isinstance(base[section], dict):
            raise UserError(f"{where}.{section}: expected a mapping of settings, got {base[section]!r}")
    blocks = _blocks(data.get("grid"), data.get("zip"), where)
    base_name = base.pop("name", None)

    configs: list[RunConfig] = []
    seen: set[str] = set()
    for block in blocks:
        first = next(block.combinations())
        try:
            _validate(_assign(base, first), where, "", base_dir)  # the base with each axis's first value
        except UserError:
            _blame_first(base, block, first, where, base_dir)
            raise
        for group in block.axes:  # then each other value (or zip row) alone, so errors name it
            for i in range(1, len(group[0].values)):
                chosen = [(a, a.values[i] if _within(a, group) else v) for a, v in first]
                _validate(_assign(base, chosen), where, _describe(group, i), base_dir)
        for combination in block.combinations():
            label = ", ".join(f"{axis.key}={_render(axis.key, value)}" for axis, value in combination)
            name = (f"{base_name} [{label}]" if label else base_name) if base_name else (label or None)
            data_i = _assign({**base, "name": name}, combination)
            for config in _validate(data_i, where, f"configuration [{label}]" if label else "", base_dir):
                chash = config_hash(config)
                if chash not in seen:
                    seen.add(chash)
                    configs.append(config)
    return configs


def _within(axis: Axis, group: Sequence[Axis]) -> bool:
    return any(axis is other for other in group)


def _describe(group: Sequence[Axis], i: int) -> str:
    """``grid 'train.lr' value 2 (-1)`` or ``zip row 2 (model=bert-base, train.lr=3e-05)``."""
    if len(group) == 1:
        axis = group[0]
        return f"{axis.origin} {axis.key!r} value {i + 1} ({_render(axis.key, axis.values[i])})"
    row = ", ".join(f"{a.key}={_render(a.key, a.values[i])}" for a in group)
    return f"zip row {i + 1} ({row})"


def _blame_first(base: dict, block: Block, first: list[tuple[Axis, Any]], where: str,
                 base_dir: Path | None = None) -> None:
    """The first combination is invalid: if leaving one axis out fixes it, name that axis's value."""
    for group in block.axes:
        without = [(a, v) for a, v in first if not _within(a, group)]
        try:
            _validate(_assign(base, without), where, "", base_dir)
        except UserError:
            continue
        _validate(_assign(base, first), where, _describe(group, 0), base_dir)


def _blocks(grid: Any, zipped: Any, where: str) -> list[Block]:
    """The products to expand: one per grid mapping, each crossed with the zip group."""
    zip_group: tuple[Axis, ...] = ()
    if zipped is not None:
        if not isinstance(zipped, dict) or not zipped:
            raise UserError(f"{where}.zip: expected a mapping of key: [values...], got {zipped!r}")
        zip_group = tuple(_axis(k, v, "zip", where) for k, v in zipped.items())
        lengths = {len(a.values) for a in zip_group}
        if len(lengths) > 1:
            sizes = ", ".join(f"{a.key}: {len(a.values)}" for a in zip_group)
            raise UserError(f"{where}.zip: lists must have equal lengths to advance together ({sizes})")
    if grid is None:
        grids: list[tuple[str, dict]] = [("grid", {})]
    elif isinstance(grid, dict):
        grids = [("grid", grid)]
    elif isinstance(grid, list) and grid and all(isinstance(g, dict) for g in grid):
        grids = [(f"grid[{i}]", g) for i, g in enumerate(grid)]
    else:
        raise UserError(f"{where}.grid: expected a mapping of key: [values...] or a list of such mappings, "
                        f"got {grid!r}")
    blocks = []
    zip_keys = {a.key for a in zip_group}
    for origin, mapping in grids:
        axes = [_axis(k, v, origin, where) for k, v in mapping.items()]
        clash = zip_keys & {a.key for a in axes}
        if clash:
            raise UserError(f"{where}: key {sorted(clash)[0]!r} is in both {origin} and zip; vary it in one place")
        groups = ([zip_group] if zip_group else []) + [(a,) for a in axes]
        blocks.append(Block(tuple(groups)))
    return blocks


def _axis(key: Any, values: Any, origin: str, where: str) -> Axis:
    """Check one axis: a known dotted key and a non-empty list of values."""
    known = sweep_keys()
    if key not in known:
        hint = ""
        if key in _SECTIONS:
            hint = f"; vary one setting with a dotted key such as {key}.{dataclasses.fields(_SECTIONS[key])[0].name}"
        else:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
        raise UserError(f"{where}.{origin}: unknown key {key!r}{hint}")
    if not isinstance(values, list) or not values:
        raise UserError(f"{where}.{origin}.{key}: expected a non-empty list of values, got {values!r}")
    if key == "reductions":  # a lone reduction stands for a list of one
        values = [v if isinstance(v, list) else [v] for v in values]
    return Axis(key=key, values=tuple(values), origin=origin)


def _assign(base: dict, chosen: Sequence[tuple[Axis, Any]]) -> dict:
    """A copy of ``base`` with each axis's value set at its (dotted) key."""
    data = copy.deepcopy(base)
    for axis, value in chosen:
        if "." in axis.key:
            section, field = axis.key.split(".", 1)
            data[section] = {**(data.get(section) or {}), field: copy.deepcopy(value)}
        else:
            data[axis.key] = copy.deepcopy(value)
    return data


def _validate(data: dict, where: str, what: str, base_dir: Path | None = None) -> list[RunConfig]:
    """parse_config plus the checks it leaves to run time (task, regime, model, reduction chain)."""
    try:
        configs = parse_config(data, _MARK, base_dir)
        for config in configs:
            for check in _run_time_checks(config):
                check()
    except UserError as exc:
        detail = str(exc)
        if detail.startswith(_MARK):
            detail = detail[len(_MARK):].lstrip(".: ")
        prefix = f"{where}: {what}" if what else where
        raise UserError(f"{prefix}: {detail}") from None
    return configs


def _run_time_checks(config: RunConfig) -> list[Callable[[], Any]]:
    from joulebench.models.loading import resolve_model
    from joulebench.reductions.base import validate_reduction_chain
    from joulebench.tasks.resolve import task_of
    from joulebench.training.regimes import REGIMES

    device = config.measure.device
    return [
        lambda: _named("task", lambda _: task_of(config), config.task),
        lambda: _named("regime", REGIMES.get, config.regime),
        lambda: _named("model", resolve_model, config.model),
        lambda: validate_reduction_chain(config.reductions, "reductions", device),
    ]


def _named(key: str, check: Callable[[str], Any], value: str) -> None:
    try:
        check(value)
    except UserError as exc:
        raise UserError(f"{key}: {exc}") from None


def _render(key: str, value: Any, limit: int = 60) -> str:
    """A compact one-line rendering of a sweep value for names and messages."""
    if key == "reductions" and isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, dict):
                params = ",".join(f"{k}={v}" for k, v in item.items() if k != "name")
                parts.append(f"{item.get('name', '?')}({params})" if params else str(item.get("name", "?")))
            else:
                parts.append(str(item))
        text = "+".join(parts) or "dense"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
