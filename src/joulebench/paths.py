"""Folders named on the command line: made when missing, refused in one line when a file is in the way."""

from __future__ import annotations

from pathlib import Path

from joulebench.errors import UserError


def no_file_in_the_way(path: str | Path, option: str) -> Path:
    """``path`` unchanged when it could be a folder: neither it nor a parent is a regular file.

    Raises:
        UserError: naming the file in the way.
    """
    folder = Path(path)
    for part in [folder, *folder.parents]:
        if part.exists() and not part.is_dir():
            where = "is a file" if part == folder else f"is below {part}, which is a file"
            raise UserError(f"{option} {folder}: {where}; expected a folder")
    return folder


def writable_folder(path: str | Path, option: str) -> Path:
    """``path`` as a folder, created with its parents.

    Raises:
        UserError: ``path`` or one of its parents is a regular file (or the folder cannot be made).
    """
    folder = no_file_in_the_way(path, option)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{option} {folder}: cannot create the folder ({exc.strerror})") from None
    return folder
