"""Read a ``results.jsonl`` file into record dicts, refusing anything malformed (each line parsed and checked by
the store's own :func:`joulebench.results.store.parse_record`: one reader of records)."""

from __future__ import annotations

import logging
from pathlib import Path

from joulebench.errors import UserError
from joulebench.results.store import REQUIRED_KEYS
from joulebench.results.store import parse_record as _parse_line

__all__ = ["REQUIRED_KEYS", "load_records"]

log = logging.getLogger("joulebench.analysis")

def load_records(path: Path | str) -> list[dict]:
    """Load every record of a JSONL results file, in file order.

    Whitespace-only lines carry no record and are passed over; every other line must be a JSON
    object with the keys in :data:`REQUIRED_KEYS`. A bad line aborts the load so that a
    corrupted or hand-edited store never yields a partial report. The one exception mirrors
    ``ResultStore``: a last line with no newline that does not parse is an interrupted write
    (the store drops it on its next append), so it is skipped with a logged warning.

    Args:
        path: the results file.

    Returns:
        The records, one dict per non-blank line.

    Raises:
        UserError: the file is missing or unreadable, or a line is not valid JSON, not an
            object, lacks a required key, or has a newer ``schema_version`` than this code.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"results file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read results file {path}: {exc}") from None
    lines = text.split("\n")
    tail = lines.pop()  # after the last newline: "" unless the last write was cut short
    records = [_parse_line(line, path, n) for n, line in enumerate(lines, start=1) if line.strip()]
    if tail.strip():
        try:
            records.append(_parse_line(tail, path, len(lines) + 1))
        except UserError as exc:
            if "malformed JSON" not in str(exc):
                raise
            log.warning("%s:%d: ignoring an incomplete last record (interrupted write)",
                        path, len(lines) + 1)
    return records
