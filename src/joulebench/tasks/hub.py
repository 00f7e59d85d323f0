"""Loading a split from the Hugging Face Hub with ``datasets.load_dataset``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from joulebench.errors import UserError
from joulebench.hub_access import offline_unless_reachable

_OFFLINE_HINT = "pass --data-dir or set JOULEBENCH_DATA to a local copy of the data"


def load_hub_columns(
    hub_id: tuple[str, str], split: str, columns: Sequence[str]
) -> dict[str, list[Any]]:
    """Download (or reuse the cached) ``hub_id`` split and return the requested columns.

    Args:
        hub_id: ``(path, config)``, e.g. ``("glue", "sst2")``.
        split: a ``datasets`` split expression, e.g. ``"validation"`` or ``"train+validation"``.
        columns: column names to return.

    Returns:
        Column name -> list of values, all of one length.

    Raises:
        UserError: ``datasets`` missing, the Hub unreachable or the dataset unavailable, or a
            column missing from the downloaded split.
    """
    where = f"{hub_id[0]}/{hub_id[1]} split {split!r}"
    try:
        # Imported here: it is slow to import and only needed without a local data dir.
        import datasets
    except ImportError as exc:
        raise UserError(
            f"cannot load {where} from the Hugging Face Hub: the 'datasets' package is not "
            f"installed; install it or {_OFFLINE_HINT}"
        ) from exc
    offline = offline_unless_reachable()
    try:
        dataset = datasets.load_dataset(*hub_id, split=split)
    except Exception as exc:  # network, auth, cache and not-found errors alike
        detail = offline or " ".join(str(exc).split())[:200]
        raise UserError(
            f"cannot load {where} from the Hugging Face Hub ({type(exc).__name__}: {detail}); "
            f"the Hub is unreachable or the dataset is unavailable: {_OFFLINE_HINT}"
        ) from exc
    found = list(dataset.column_names)
    missing = [name for name in columns if name not in found]
    if missing:
        raise UserError(
            f"Hub dataset {where} has no column(s) {', '.join(map(repr, missing))}; "
            f"found columns: {', '.join(map(repr, found))}"
        )
    return {name: list(dataset[name]) for name in columns}


def load_hub_dataset(path: str, name: str | None, split: str, revision: str | None) -> dict[str, list[Any]]:
    """Every column of a Hub dataset split (a declared task's ``hub:``), pinned to ``revision`` when given.

    Raises:
        UserError: the Hub unreachable or the dataset, configuration or split unavailable.
    """
    where = f"Hub dataset {path}" + (f"/{name}" if name else "") + f" split {split!r}"
    import datasets

    offline = offline_unless_reachable()
    try:
        dataset = datasets.load_dataset(path, name, split=split, revision=revision)
    except Exception as exc:  # network, auth, cache and not-found errors alike
        detail = offline or " ".join(str(exc).split())[:200]
        raise UserError(f"cannot load {where} ({type(exc).__name__}: {detail}); the Hub is unreachable or the "
                        "dataset is unavailable: declare local files under data: instead") from exc
    return {column: list(dataset[column]) for column in dataset.column_names}
