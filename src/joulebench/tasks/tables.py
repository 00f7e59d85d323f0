"""Reading a user's data file (CSV, TSV, JSON Lines, Parquet) through ``datasets``, with errors that name
the file, the row and the column.

A table is its columns as lists, plus how to name a row of it in a message (``line 7`` of a text file,
counting the header; ``row 6`` of a Parquet file, from 0). CSV and TSV columns are read as text (a
label ``1`` stays ``"1"``; the task maps it), so that a column never changes type half-way through a
file. TSV is read without quoting, as GLUE's files are written.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joulebench.errors import UserError

#: file suffix -> (``datasets`` builder, how rows are numbered in messages)
FORMATS = {".csv": "csv", ".tsv": "csv", ".jsonl": "json", ".json": "json", ".parquet": "parquet"}


@dataclass(frozen=True)
class Table:
    """The columns of one data file.

    Attributes:
        path: the file.
        columns: column name -> values in file order.
        first_row_line: the text line of row 0 (2 below a header line, 1 in JSON Lines), or None
            for a binary format (rows are then named by index).
    """

    path: Path
    columns: dict[str, list[Any]]
    first_row_line: int | None

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), []))

    def where(self, row: int, column: str | None = None) -> str:
        """``data/train.csv line 7, column 'label'``: how a message names a cell."""
        place = f"line {row + self.first_row_line}" if self.first_row_line is not None else f"row {row}"
        return f"{self.path} {place}" + (f", column {column!r}" if column else "")

    def column(self, name: str, role: str) -> list[Any]:
        """The column ``name``, or a one-line error saying which role (``text``, ``label``...) named it."""
        if name not in self.columns:
            found = ", ".join(repr(c) for c in self.columns)
            raise UserError(f"{self.path}: no column {name!r} (named by {role}); found columns: {found}")
        return self.columns[name]


def read_table(path: str | Path) -> Table:
    """The columns of a CSV, TSV, JSON Lines or Parquet file, cached while the file is unchanged.

    Raises:
        UserError: a missing file, an unknown suffix, bytes that are not UTF-8 (with the line), a JSON
            Lines row that is not an object or whose column changes type (with the line and column), an
            unreadable file, or no rows.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"data file not found: {path}")
    if path.suffix.lower() not in FORMATS:
        raise UserError(f"{path}: unknown data format {path.suffix!r}; expected .csv, .tsv, .jsonl or .parquet")
    stat = os.stat(path)
    return _read(str(path.resolve()), stat.st_mtime_ns, stat.st_size, str(path))


@functools.lru_cache(maxsize=16)
def _read(resolved: str, mtime_ns: int, size: int, shown: str) -> Table:
    path, suffix = Path(shown), Path(resolved).suffix.lower()
    builder = FORMATS[suffix]
    if builder != "parquet":
        data = path.read_bytes()
        _check_utf8(path, data)
        lines = [line for line in data.splitlines() if line.strip()]
        if len(lines) <= (0 if builder == "json" else 1):
            raise UserError(f"{path} has no data rows; expected {'a header line and ' * (builder != 'json')}"
                            "at least one row")
    if builder == "json":
        _check_json_lines(path)
    try:
        columns = _load_columns(resolved, builder, suffix)
    except UserError:
        raise
    except Exception as exc:  # pyarrow and pandas parse errors alike
        detail = " ".join(str(exc).split())[:200]
        raise UserError(f"{path}: cannot be read as {suffix[1:]} ({type(exc).__name__}: {detail})") from None
    table = Table(path, columns, None if builder == "parquet" else (1 if builder == "json" else 2))
    if not columns or len(table) == 0:
        raise UserError(f"{path} has no data rows; expected a header line and at least one row")
    return table


def _load_columns(resolved: str, builder: str, suffix: str) -> dict[str, list[Any]]:
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    options: dict[str, Any] = {}
    if builder == "csv":
        header = _header(Path(resolved), "\t" if suffix == ".tsv" else ",")
        options = {"features": datasets.Features({name: datasets.Value("string") for name in header}),
                   "keep_default_na": False, "na_filter": False}
        if suffix == ".tsv":
            options.update(delimiter="\t", quoting=3)  # csv.QUOTE_NONE: GLUE's text has unbalanced quotes
    dataset = datasets.load_dataset(builder, data_files={"train": resolved}, split="train", keep_in_memory=True,
                                    **options)
    return {name: list(dataset[name]) for name in dataset.column_names}


def _header(path: Path, delimiter: str) -> list[str]:
    import csv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle, delimiter=delimiter), [])
    if not any(name.strip() for name in header):
        raise UserError(f"{path} is empty; expected a header line naming the columns, then rows")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise UserError(f"{path}: the header names column {duplicates[0]!r} twice")
    return header


def _check_utf8(path: Path, data: bytes) -> None:
    """Refuse bytes that are not UTF-8, naming the line (datasets would fail without saying where)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UserError(f"{path} line {line}: undecodable bytes {data[exc.start:exc.end]!r} at byte offset "
                        f"{exc.start}; expected UTF-8 text") from None


def _check_json_lines(path: Path) -> None:
    """Each line a JSON object whose values keep one type per key (datasets names neither line nor key)."""
    kinds: dict[str, tuple[str, int]] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path} line {number}: not valid JSON ({exc.msg}); expected one object per "
                                "line (JSON Lines)") from None
            if not isinstance(row, dict):
                raise UserError(f"{path} line {number}: expected a JSON object per line, got {type(row).__name__}")
            for key, value in row.items():
                kind = _json_kind(value)
                if kind == "null":
                    continue
                seen = kinds.setdefault(key, (kind, number))
                if seen[0] != kind and {seen[0], kind} != {"integer", "number"}:
                    raise UserError(f"{path} line {number}, column {key!r}: mixed types, {kind} here but "
                                    f"{seen[0]} on line {seen[1]}; expected one type per column")


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "text"
    return "list" if isinstance(value, list) else "object"


def text_values(table: Table, column: str, role: str) -> list[str]:
    """The column as text; a number, an empty cell or a null in it is a one-line error with the row."""
    values = table.column(column, role)
    for row, value in enumerate(values):
        if not isinstance(value, str):
            kind = "empty" if value is None else type(value).__name__
            raise UserError(f"{table.where(row, column)}: {kind} value {value!r} in a text column; "
                            "expected text on every row")
    return values


def numbers(table: Table, column: str, role: str) -> list[float]:
    """The column as finite numbers (a regression target), else a one-line error with the row."""
    import math

    out = []
    for row, value in enumerate(table.column(column, role)):
        try:
            number = float(value) if not isinstance(value, bool) else float("nan")
        except (TypeError, ValueError):
            number = float("nan")
        if not math.isfinite(number):
            raise UserError(f"{table.where(row, column)}: target {value!r} is not a finite number; "
                            "a regression target must be a number on every row")
        out.append(number)
    return out


def digest_files(paths: Sequence[Path]) -> str:
    """One 16-hex digest of the files' bytes, in the given order (the data's identity)."""
    import hashlib

    from joulebench.config.schema import file_digest

    parts = [file_digest(str(p)) or f"unreadable:{p}" for p in paths]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
