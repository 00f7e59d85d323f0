"""Typed dataclasses from plain mappings: unknown keys and wrong types are one-line UserErrors.

Every layer that builds a frozen config from YAML data (run configs, reductions' own configs,
study settings) uses this, so that errors read the same everywhere.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from joulebench.config.schema import REMOVED_MEASURE_KEYS, MeasureConfig
from joulebench.errors import UserError


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """Check ``value`` against a simple annotation (int, float, str, bool, X | None)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], where)
    if annotation is bool:
        if not isinstance(value, bool):
            raise UserError(f"{where}: expected true/false, got {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(f"{where}: expected an integer, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(value):  # YAML's .nan and .inf: no field means them, and JSON cannot hold them
            raise UserError(f"{where}: expected a finite number, got {value!r}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise UserError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def build_dataclass(cls: type, data: Any, where: str) -> Any:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a mapping of settings, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    removed = [k for k in unknown if cls is MeasureConfig and k in REMOVED_MEASURE_KEYS]
    if removed:
        raise UserError(f"{where}: key {removed[0]!r} was removed; {REMOVED_MEASURE_KEYS[removed[0]]}")
    if unknown:
        import difflib

        close = difflib.get_close_matches(str(unknown[0]), sorted(names), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(names))}"
        raise UserError(f"{where}: unknown key {unknown[0]!r}{hint}")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}") for k, v in data.items()}
    return cls(**kwargs)
