"""Reading a search file into a :class:`SearchSpace` (one-line errors naming the key)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from joulebench.errors import UserError
from joulebench.experiments.search.objectives import parse_constraint, parse_objective
from joulebench.experiments.search.space import SAMPLERS, Param, SearchSpace, Slot
from joulebench.experiments.sweep.expand import read_yaml, sweep_keys

_SEARCH_KEYS = ("reductions", "keys", "objectives", "constraints", "sampler", "seed")


def is_search(data: Any) -> bool:
    """A search file: a base configuration (no ``configs:`` list, as ticket study files have) whose
    ``search:`` section names reductions or keys to vary."""
    search = data.get("search") if isinstance(data, dict) else None
    return isinstance(search, dict) and "configs" not in data and ("reductions" in search or "keys" in search)


def load_search(path: str | Path) -> SearchSpace:
    """Read and check a search file; every error names the file and the key."""
    return parse_search(read_yaml(path), str(path), Path(path).parent)


def parse_search(data: Any, where: str = "search file", base_dir: Path | None = None) -> SearchSpace:
    """Check a parsed search file and build its space (the base is validated like a sweep's)."""
    if not isinstance(data, dict) or not isinstance(data.get("search"), dict):
        raise UserError(f"{where}: expected a base configuration plus a 'search:' mapping")
    search = data["search"]
    unknown = [k for k in search if k not in _SEARCH_KEYS]
    if unknown:
        raise UserError(f"{where}.search: unknown key {unknown[0]!r}; known: {', '.join(_SEARCH_KEYS)}")
    base = {k: v for k, v in data.items() if k != "search"}
    if "reductions" in base:
        raise UserError(f"{where}.reductions: the search sets the reductions; list them under search.reductions")
    if isinstance((base.get("measure") or {}).get("scenario"), list):
        raise UserError(f"{where}.measure.scenario: a search measures one scenario; got a list")
    slots = tuple(_slot(s, f"{where}.search.reductions[{i}]") for i, s in enumerate(search.get("reductions") or []))
    if len({s.name for s in slots}) != len(slots):
        raise UserError(f"{where}.search.reductions: a reduction may appear once")
    keys_data = search.get("keys") or {}
    if not isinstance(keys_data, dict):
        raise UserError(f"{where}.search.keys: expected a mapping of dotted key: parameter, got {keys_data!r}")
    known = set(sweep_keys()) - {"reductions"}
    for key in keys_data:
        if key not in known:
            raise UserError(f"{where}.search.keys: unknown key {key!r}; a key is one a sweep may vary")
    keys = {k: _param(v, f"{where}.search.keys.{k}") for k, v in keys_data.items()}
    if not slots and not keys:
        raise UserError(f"{where}.search: nothing to search (give reductions: and/or keys:)")
    raw_objectives = search.get("objectives") or ["maximize accuracy", "minimize energy_j_per_example"]
    if not isinstance(raw_objectives, list):
        raise UserError(f"{where}.search.objectives: expected a list such as [maximize accuracy, ...]")
    objectives = tuple(parse_objective(o, f"{where}.search.objectives[{i}]") for i, o in enumerate(raw_objectives))
    raw_constraints = search.get("constraints") or []
    if not isinstance(raw_constraints, list):
        raise UserError(f"{where}.search.constraints: expected a list such as ['accuracy >= baseline - 0.01']")
    constraints = tuple(parse_constraint(c, f"{where}.search.constraints[{i}]")
                        for i, c in enumerate(raw_constraints))
    sampler = search.get("sampler", "tpe")
    if sampler not in SAMPLERS:
        raise UserError(f"{where}.search.sampler: expected one of {', '.join(SAMPLERS)}, got {sampler!r}")
    seed = search.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UserError(f"{where}.search.seed: expected an integer, got {seed!r}")
    space = SearchSpace(base=base, slots=slots, keys=keys, objectives=objectives, constraints=constraints,
                        sampler=sampler, seed=seed, where=where, base_dir=base_dir)
    _check_points(space)
    return space


def _check_points(space: SearchSpace) -> None:
    """Validate the extreme points of every slot now, so a bad value fails before anything runs."""
    for use_all in (True, False):
        params: dict[str, Any] = {}
        for slot in space.slots:
            if slot.optional:
                params[slot.use_param] = use_all
            for pname, param in slot.params.items():
                params[f"{slot.name}.{pname}"] = param.choices[0] if param.kind == "choices" else param.low
        for key, param in space.keys.items():
            params[key] = param.choices[0] if param.kind == "choices" else param.low
        space.config_for(params)


def _slot(data: Any, where: str) -> Slot:
    if isinstance(data, str):
        data = {"name": data}
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise UserError(f"{where}: expected a reduction name or {{name: ..., optional: ..., params: {{...}}}}")
    unknown = [k for k in data if k not in ("name", "optional", "params")]
    if unknown:
        raise UserError(f"{where}: unknown key {unknown[0]!r}; known: name, optional, params")
    optional = data.get("optional", True)
    if not isinstance(optional, bool):
        raise UserError(f"{where}.optional: expected true or false, got {optional!r}")
    raw = data.get("params") or {}
    if not isinstance(raw, dict):
        raise UserError(f"{where}.params: expected a mapping of parameter: range, got {raw!r}")
    params = {k: _param(v, f"{where}.params.{k}") for k, v in raw.items() if isinstance(v, dict)}
    fixed = {k: v for k, v in raw.items() if not isinstance(v, dict)}
    return Slot(name=data["name"], optional=optional, params=params, fixed=fixed)


def _param(data: Any, where: str) -> Param:
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected {{int: [low, high]}}, {{float: [low, high]}} or {{choices: [...]}}")
    kinds = [k for k in ("int", "float", "choices") if k in data]
    extra = [k for k in data if k not in ("int", "float", "choices", "step", "log")]
    if len(kinds) != 1 or extra:
        raise UserError(f"{where}: expected exactly one of int, float, choices (with optional step, log); got "
                        f"{sorted(data)}")
    kind = kinds[0]
    if kind == "choices":
        choices = data["choices"]
        if not isinstance(choices, list) or not choices:
            raise UserError(f"{where}.choices: expected a non-empty list, got {choices!r}")
        return Param(kind="choices", choices=tuple(choices))
    bounds = data[kind]
    ok = (isinstance(bounds, list) and len(bounds) == 2
          and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds) and bounds[0] <= bounds[1])
    if not ok or (kind == "int" and not all(float(b).is_integer() for b in bounds)):
        raise UserError(f"{where}.{kind}: expected [low, high] with low <= high, got {bounds!r}")
    step, log = data.get("step"), bool(data.get("log", False))
    if step is not None and (isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0):
        raise UserError(f"{where}.step: expected a positive number, got {step!r}")
    if log and (step is not None or bounds[0] <= 0):
        raise UserError(f"{where}.log: a log range needs low > 0 and no step")
    return dataclasses.replace(Param(kind=kind), low=bounds[0], high=bounds[1],
                               step=None if step is None else step, log=log)
