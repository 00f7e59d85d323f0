"""Warnings a user should read once per process, however often the code that meets them runs."""

from __future__ import annotations

import logging

logger = logging.getLogger("joulebench")
_warned: set[str] = set()


def warn_once(message: str, *args: object) -> None:
    """Log a warning the first time this process meets it (a sweep builds a meter, loads a model, per
    configuration); later repeats go to the info level."""
    text = message % args if args else message
    if text in _warned:
        logger.info(text)
        return
    _warned.add(text)
    logger.warning(text)
