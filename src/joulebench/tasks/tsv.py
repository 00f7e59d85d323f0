"""Strict reading of the tab-separated files that GLUE-style tasks ship as.

Every problem becomes a one-line :class:`~joulebench.errors.UserError` that names the file,
the line and what was expected, because a benchmark that silently skips or mis-parses rows
reports numbers nobody can compare.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from joulebench.errors import UserError


@dataclass(frozen=True)
class TsvRow:
    """One data row.

    Attributes:
        line: 1-based physical line number in the file (the header is line 1).
        fields: the requested columns of this row, by header name.
    """

    line: int
    fields: dict[str, str]


def read_tsv(path: Path, columns: Sequence[str], layout: str) -> list[TsvRow]:
    """Read a headered TSV file and return the requested columns of each row.

    Fields are read with ``csv.QUOTE_NONE``: GLUE/MSRP text contains unbalanced double quotes
    that a quoting reader would glue across tabs and lines. A UTF-8 byte-order mark (MSRP files
    start with one) is dropped so that the first header name matches. Blank lines are skipped.

    Args:
        path: the file.
        columns: header names that must be present; other columns are ignored.
        layout: human description of the expected layout, quoted when the file is missing.

    Returns:
        The rows, in file order; never empty.

    Raises:
        UserError: missing or unreadable file, missing column, a row with the wrong number
            of fields, or no data rows.
    """
    if not path.is_file():
        raise UserError(f"data file not found: {path}; expected {layout}")
    try:
        # newline="" lets csv handle the CRLF line ends of the MSRP files itself.
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = _read_rows(handle, path, columns, layout)
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} is not UTF-8 text (byte offset {exc.start})") from exc
    if not rows:
        raise UserError(f"{path} has a header but no data rows; expected at least one example")
    return rows


def _read_rows(handle: TextIO, path: Path, columns: Sequence[str], layout: str) -> list[TsvRow]:
    """Parse the open file ``handle``; see :func:`read_tsv`."""
    reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
    try:
        header = [name.strip() for name in next(reader, [])]
        if not any(header):
            raise UserError(f"{path} is empty; expected a header line and rows ({layout})")
        missing = [name for name in columns if name not in header]
        if missing:
            raise UserError(
                f"{path}: missing column(s) {', '.join(repr(m) for m in missing)}; "
                f"found columns: {', '.join(repr(h) for h in header)}"
            )
        index = {name: header.index(name) for name in columns}
        rows: list[TsvRow] = []
        for record in reader:
            if not record:
                continue
            if len(record) != len(header):
                raise UserError(
                    f"{path} line {reader.line_num}: expected {len(header)} tab-separated "
                    f"fields ({', '.join(header)}), found {len(record)}"
                )
            rows.append(TsvRow(reader.line_num, {name: record[i] for name, i in index.items()}))
    except csv.Error as exc:
        # E.g. a field over csv's size limit: report where, not a bare csv traceback.
        raise UserError(f"{path} line {reader.line_num}: unreadable row ({exc})") from exc
    return rows


def parse_binary_label(value: str, path: Path, line: int, column: str) -> int:
    """Parse a 0/1 label field.

    Raises:
        UserError: the value is not exactly 0 or 1 (after trimming spaces).
    """
    text = value.strip()
    if text not in ("0", "1"):
        raise UserError(
            f"{path} line {line}: column {column!r} has value {value!r}; expected 0 or 1"
        )
    return int(text)
