"""Read a ``results.jsonl`` file into record dicts, refusing anything malformed."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from joulebench.errors import UserError
from joulebench.results.schema import SCHEMA_VERSION

log = logging.getLogger("joulebench.analysis")

#: Keys the analysis reads from every record; a record without them cannot be placed.
REQUIRED_KEYS = ("config", "task", "model", "regime", "reductions", "scenario", "quality", "cost")


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


def _parse_line(line: str, path: Path, lineno: int) -> dict:
    """Parse and check one line; errors name the file and the 1-based line number."""
    where = f"{path}:{lineno}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}: malformed JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise UserError(f"{where}: expected a JSON object, got {type(record).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in record]
    if missing:
        raise UserError(f"{where}: record lacks required key(s) {', '.join(missing)}")
    version = record.get("schema_version")
    if isinstance(version, int) and version > SCHEMA_VERSION:
        # A newer record may have changed meaning; reading it as v1 would mislead.
        raise UserError(
            f"{where}: schema_version {version} is newer than supported {SCHEMA_VERSION}"
        )
    return record
