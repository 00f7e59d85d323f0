"""Short human labels for configurations, e.g. ``"minilm-l6 full + int8 + layers(k=3)"``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping


def model_short(model: str) -> str:
    """Shorten a model reference for display.

    Aliases are kept as written; Hub ids (``org/name``) and paths keep their last component,
    because the organisation or directory rarely tells configurations apart.

    Args:
        model: the model reference as written in the record.

    Returns:
        The display name.
    """
    text = str(model).rstrip("/\\")
    return text.replace("\\", "/").rsplit("/", 1)[-1] or str(model)


def format_value(value: object) -> str:
    """Compact text for a parameter value (``0.5``, ``true``, ``[0,2]``; a path by its file name)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str) and ("/" in value or "\\" in value):
        return model_short(value)  # a file path: its name tells configurations apart
    if isinstance(value, (int, str)):
        return str(value)
    if value is None:
        return "none"
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def reduction_label(reduction: Mapping) -> str:
    """``name(param=value, ...)``, or just ``name`` when the reduction has no parameters."""
    name = str(reduction.get("name", "?"))
    params = reduction.get("params") or {}
    if not params:
        return name
    inner = ", ".join(f"{key}={format_value(val)}" for key, val in params.items())
    return f"{name}({inner})"


def config_label(model: str, regime: str, reductions: Iterable[Mapping]) -> str:
    """Label built from model, regime and the reductions in the order they were applied.

    Args:
        model: model reference as written.
        regime: training regime key.
        reductions: the record's ``reductions`` list.

    Returns:
        E.g. ``"minilm-l6 full + int8 + layers(k=3)"``.
    """
    parts = [f"{model_short(model)} {regime}"]
    parts.extend(reduction_label(r) for r in reductions)
    return " + ".join(parts)


def flatten(tree: object, prefix: str = "") -> dict[str, object]:
    """Flatten nested dicts into dotted keys; lists and scalars are leaves."""
    if not isinstance(tree, Mapping):
        return {prefix: tree}
    flat: dict[str, object] = {}
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, path))
        else:
            flat[path] = value
    return flat


def distinguishing_suffixes(configs: list[Mapping], max_keys: int = 3) -> list[str]:
    """Text telling apart configurations that got the same label.

    Args:
        configs: the colliding configurations (seed already removed).
        max_keys: at most this many differing keys are spelled out.

    Returns:
        One suffix per config, e.g. ``"train.lr=3e-05"``; empty strings when nothing differs
        or too many keys differ (the caller then falls back to a hash).
    """
    flats = [flatten(c) for c in configs]
    keys = sorted(set().union(*flats))
    missing = object()
    differing = [k for k in keys if len({json.dumps(f.get(k, missing), default=repr, sort_keys=True)
                                         for f in flats}) > 1]
    if not differing or len(differing) > max_keys:
        return ["" for _ in configs]
    return [", ".join(f"{k}={format_value(f.get(k))}" for k in differing) for f in flats]
