"""Reading YAML files safely (``yaml.safe_load``: no tags, nothing executed), with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from joulebench.errors import UserError


def read_yaml(path: str | Path, what: str = "config file") -> Any:
    """``yaml.safe_load`` of ``path``; a missing file or bad YAML is a one-line UserError.

    Args:
        path: the file.
        what: how the error names it (``"sweep file"``, ``"study file"`` ...).
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: {what} not found")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise UserError(f"{path}:{line} is not valid YAML ({getattr(exc, 'problem', exc)})") from None
