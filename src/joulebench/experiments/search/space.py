"""Search files: a base configuration plus a ``search:`` section naming what may vary.

    task: sst2
    model: minilm-l6
    train: {epochs: 1, max_train_examples: 4000}
    measure: {scenario: offline, repeats: 3}
    search:
      reductions:                 # slots, applied in this order when present
        - name: layer_drop
          optional: true          # the sampler decides whether the slot is used at all
          params:
            keep_layers: {int: [2, 5]}
        - name: seq_len
          optional: true
          params:
            max_seq_len: {choices: [16, 24, 32]}
        - {name: int8, optional: true}
      keys:                       # other configuration keys (dotted, as in a sweep)
        measure.batch_size: {choices: [32, 64]}
      objectives: [maximize accuracy, minimize energy_j_per_example]
      constraints: ["accuracy >= baseline - 0.01"]
      sampler: tpe                # tpe (default), nsga2 or random
      seed: 0

A parameter is ``{int: [low, high]}`` (``step``), ``{float: [low, high]}`` (``step`` or
``log: true``) or ``{choices: [...]}``. A slot's parameters are conditional on the slot being
used (Optuna's define-by-run space). Every point of the space is an ordinary run configuration;
its identity is its ``config_hash``, so a record in the store is recognised as a trial of the
space by rebuilding the configuration from the parameters read back out of it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joulebench.config.schema import RunConfig, config_hash
from joulebench.errors import UserError
from joulebench.experiments.search.objectives import Constraint, Objective
from joulebench.experiments.sweep.expand import expand_sweep

SAMPLERS = ("tpe", "nsga2", "random")


@dataclass(frozen=True)
class Param:
    """One searched parameter: an integer or float range, or a list of choices."""

    kind: str  # "int" | "float" | "choices"
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    @property
    def bounds(self) -> tuple[float, float]:
        """``(low, high)`` of a numeric parameter (the loader requires both for kinds int and float)."""
        if self.low is None or self.high is None:
            raise ValueError(f"a {self.kind} search parameter needs low and high")
        return self.low, self.high

    def suggest(self, trial: Any, name: str) -> Any:
        """The value Optuna's ``trial`` proposes for this parameter under ``name``."""
        if self.kind == "int":
            low, high = self.bounds
            return trial.suggest_int(name, int(low), int(high), step=int(self.step or 1))
        if self.kind == "float":
            low, high = self.bounds
            return trial.suggest_float(name, low, high, step=self.step, log=self.log)
        return trial.suggest_categorical(name, list(self.choices))

    def distribution(self) -> Any:
        """The Optuna distribution (to tell the study a trial measured before)."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.kind == "int":
            low, high = self.bounds
            return IntDistribution(int(low), int(high), step=int(self.step or 1))
        if self.kind == "float":
            low, high = self.bounds
            return FloatDistribution(low, high, step=self.step, log=self.log)
        return CategoricalDistribution(list(self.choices))

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a point of this parameter's range."""
        if self.kind == "choices":
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind == "int" and value != int(value):
            return False
        low, high = self.bounds
        return low - 1e-12 <= value <= high + 1e-12


@dataclass(frozen=True)
class Slot:
    """A reduction the search may apply: its name, whether it may be left out, its parameters.

    ``fixed`` holds parameters given a plain value (not searched).
    """

    name: str
    optional: bool
    params: dict[str, Param]
    fixed: dict[str, Any]

    @property
    def use_param(self) -> str:
        """The Optuna name of the on/off choice."""
        return f"use.{self.name}"


@dataclass(frozen=True)
class SearchSpace:
    """The base configuration, the slots and keys it varies, and what the search optimises."""

    base: dict
    slots: tuple[Slot, ...]
    keys: dict[str, Param]
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...]
    sampler: str
    seed: int
    where: str
    base_dir: Path | None = None
    data_dir: Path | None = None

    def bound(self, config: RunConfig) -> RunConfig:
        """``config`` bound to its data (the data folder given to the search, else the default one)."""
        from joulebench.tasks import resolve_data_dir
        from joulebench.tasks.resolve import bind_data

        return bind_data(config, self.data_dir if self.data_dir is not None else resolve_data_dir(None))

    # -- points of the space -------------------------------------------------------------------
    def suggest(self, trial: Any) -> dict[str, Any]:
        """Ask ``trial`` for every parameter (conditional ones only when their slot is used)."""
        params: dict[str, Any] = {}
        for slot in self.slots:
            used = trial.suggest_categorical(slot.use_param, [False, True]) if slot.optional else True
            if slot.optional:
                params[slot.use_param] = used
            if used:
                for pname, param in slot.params.items():
                    params[f"{slot.name}.{pname}"] = param.suggest(trial, f"{slot.name}.{pname}")
        for key, param in self.keys.items():
            params[key] = param.suggest(trial, key)
        return params

    def distributions(self, params: dict[str, Any]) -> dict[str, Any]:
        """The Optuna distribution of each parameter in ``params``."""
        from optuna.distributions import CategoricalDistribution

        out = {}
        for slot in self.slots:
            if slot.optional and slot.use_param in params:
                out[slot.use_param] = CategoricalDistribution([False, True])
            for pname, param in slot.params.items():
                if f"{slot.name}.{pname}" in params:
                    out[f"{slot.name}.{pname}"] = param.distribution()
        for key, param in self.keys.items():
            if key in params:
                out[key] = param.distribution()
        return out

    def baseline_params(self) -> dict[str, Any] | None:
        """The point with every optional slot left out (the dense model), when the space has it."""
        if any(not slot.optional for slot in self.slots):
            return None
        params: dict[str, Any] = {slot.use_param: False for slot in self.slots}
        for key, param in self.keys.items():
            base = _get_dotted(self.base, key)
            if base is None or not param.contains(base):
                return None
            params[key] = base
        return params

    def config_for(self, params: dict[str, Any]) -> RunConfig:
        """The run configuration of one point (validated as ``joulebench run`` would)."""
        data = copy.deepcopy(self.base)
        reductions: list[Any] = []
        labels = []
        for slot in self.slots:
            if slot.optional and not params.get(slot.use_param, False):
                continue
            values = {**slot.fixed, **{p: params[f"{slot.name}.{p}"] for p in slot.params}}
            reductions.append({"name": slot.name, **values} if values else slot.name)
            labels.append(f"{slot.name}({','.join(f'{k}={v}' for k, v in values.items())})" if values else slot.name)
        data["reductions"] = reductions
        for key in self.keys:
            _set_dotted(data, key, params[key])
            labels.append(f"{key}={params[key]}")
        data["name"] = f"{self.base.get('name') or 'search'} [{'+'.join(labels) or 'dense'}]"
        configs = expand_sweep(data, self.where, self.base_dir)
        return self.bound(configs[0])

    def params_of(self, record: dict) -> dict[str, Any] | None:
        """The point of this space a stored record measured, or None when it is not one.

        The parameters are read from the record's configuration and the configuration rebuilt
        from them; only an exact ``config_hash`` match counts.
        """
        config = record.get("config") or {}
        stored = list(config.get("reductions") or [])
        params: dict[str, Any] = {}
        for slot in self.slots:
            spec = stored[0] if stored else None
            name = spec if isinstance(spec, str) else (spec or {}).get("name")
            if name != slot.name:
                if not slot.optional:
                    return None
                params[slot.use_param] = False
                continue
            stored.pop(0)
            if slot.optional:
                params[slot.use_param] = True
            if isinstance(spec, str) or spec is None:
                values = {}
            else:  # a record holds {name, params}; a hand-written config may inline the parameters
                values = dict(spec["params"]) if isinstance(spec.get("params"), dict) else {
                    k: v for k, v in spec.items() if k != "name"}
            for pname, param in slot.params.items():
                if pname not in values or not param.contains(values[pname]):
                    return None
                params[f"{slot.name}.{pname}"] = values[pname]
        if stored:
            return None
        for key, param in self.keys.items():
            value = _get_dotted(config, key)
            if not param.contains(value):
                return None
            params[key] = value
        try:
            rebuilt = self.config_for(params)
        except UserError:
            return None
        return params if config_hash(rebuilt) == record.get("config_hash") else None

    def grid(self) -> list[dict[str, Any]]:
        """Every point of a space whose parameters are all finite (choices, integer or stepped ranges)."""
        points: list[dict[str, Any]] = [{}]
        for slot in self.slots:
            options: list[dict[str, Any]] = [{slot.use_param: False}] if slot.optional else []
            inner: list[dict[str, Any]] = [{slot.use_param: True} if slot.optional else {}]
            for pname, param in slot.params.items():
                inner = [{**p, f"{slot.name}.{pname}": v} for p in inner for v in _values(param, pname)]
            options += inner
            points = [{**p, **o} for p in points for o in options]
        for key, param in self.keys.items():
            points = [{**p, key: v} for p in points for v in _values(param, key)]
        return points


def _values(param: Param, name: str) -> list[Any]:
    if param.kind == "choices":
        return list(param.choices)
    low, high = param.bounds
    if param.kind == "int":
        return list(range(int(low), int(high) + 1, int(param.step or 1)))
    if param.step:
        n = int(round((high - low) / param.step))
        return [round(low + i * param.step, 10) for i in range(n + 1)]
    raise UserError(f"search parameter {name}: a continuous float range has no grid (give a step)")


def _get_dotted(data: dict, key: str) -> Any:
    if "." in key:
        section, field = key.split(".", 1)
        return (data.get(section) or {}).get(field)
    return data.get(key)


def _set_dotted(data: dict, key: str, value: Any) -> None:
    if "." in key:
        section, field = key.split(".", 1)
        data[section] = {**(data.get(section) or {}), field: value}
    else:
        data[key] = value


# -- reading --------------------------------------------------------------------------------------
