"""Append-only JSONL store: each record written whole, flushed and fsynced.

A run killed mid-write can leave a partial last line; it never ended with a newline, so it is
recognisably incomplete. Readers ignore it and the next append cuts it off before writing, so no
record is lost, duplicated or half-written and a resumed run redoes only what is missing.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from joulebench.errors import UserError
from joulebench.paths import writable_folder
from joulebench.results.schema import SCHEMA_VERSION

log = logging.getLogger("joulebench.results")


#: The store's file name in an output folder: spelled here only.
RESULTS_FILE = "results.jsonl"

#: Keys every record has; a line without them is not a record (analysis cannot place it).
REQUIRED_KEYS = ("config", "task", "model", "regime", "reductions", "scenario", "quality", "cost")


def parse_record(line: str | bytes, path: Path, lineno: int, required: tuple[str, ...] = REQUIRED_KEYS) -> dict:
    """One line of a results file as a record, checked (``required`` keys, schema version): errors name the file
    and the 1-based line number. The store itself requires only that a line is a JSON object (it also holds
    failure entries of ``keep_going`` sweeps); analysis requires :data:`REQUIRED_KEYS`."""
    where = f"{path}:{lineno}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}: malformed JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise UserError(f"{where}: expected a JSON object, got {type(record).__name__}")
    missing = [key for key in required if key not in record]
    if missing:
        raise UserError(f"{where}: record lacks required key(s) {', '.join(missing)}")
    version = record.get("schema_version")
    if isinstance(version, int) and version > SCHEMA_VERSION:  # a newer record may have changed meaning
        raise UserError(f"{where}: schema_version {version} is newer than supported {SCHEMA_VERSION}")
    return record


def results_path(where: str | Path) -> Path:
    """The results file of an output folder, or ``where`` itself when it is a file (or named like one)."""
    path = Path(where)
    return path / RESULTS_FILE if path.is_dir() or (not path.exists() and path.suffix != ".jsonl") else path


class ResultStore:
    """``DIR/results.jsonl`` with atomic appends and resume by ``config_hash``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def in_dir(cls, out_dir: str | Path) -> ResultStore:
        """The store of an output directory (created if needed)."""
        out = writable_folder(out_dir, "--out")
        return cls(out / RESULTS_FILE)

    def records(self) -> list[dict]:
        """Every complete record, in order. A malformed complete line is a UserError."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        complete, tail = lines[:-1], lines[-1]
        if tail.strip():
            log.warning("%s: ignoring an incomplete last record (interrupted write)", self.path)
        return [parse_record(line, self.path, number, required=()) for number, line in enumerate(complete, start=1)
                if line.strip()]

    def hashes(self) -> set[str]:
        """config_hash of every stored record."""
        return {str(r["config_hash"]) for r in self.records() if r.get("config_hash")}

    @contextmanager
    def _locked(self) -> Iterator[int]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def append(self, record: dict) -> None:
        """Write one record as one line, whole, then fsync."""
        line = (json.dumps(record, sort_keys=False, allow_nan=False) + "\n").encode()
        with self._locked() as fd:
            size = os.fstat(fd).st_size
            if size:
                os.lseek(fd, size - 1, os.SEEK_SET)
                if os.read(fd, 1) != b"\n":  # a write was interrupted: drop the partial tail
                    with open(self.path, "rb") as f:
                        keep = f.read().rfind(b"\n") + 1
                    os.ftruncate(fd, keep)
            os.write(fd, line)
            os.fsync(fd)
