"""One generic registry per kind of plugin, with did-you-mean on a miss."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from joulebench.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a plugin key (as written in configs) to a plugin object.

    Args:
        kind: human name of the plugin kind, used in error messages ("task", "reduction").
    """

    def __init__(self, kind: str, plural: str | None = None) -> None:
        self.kind = kind
        self.plural = plural or f"{kind}s"
        self._items: dict[str, T] = {}
        self._help: dict[str, str] = {}

    def register(self, name: str, help: str = "") -> Callable[[T], T]:
        """Decorator registering ``obj`` under ``name``."""

        def decorator(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            doc = help or (getattr(obj, "__doc__", None) or "").strip().split("\n")[0]
            self._help[name] = doc
            return obj

        return decorator

    def get(self, name: str) -> T:
        """Return the plugin registered as ``name``, or raise a UserError with a suggestion."""
        if name in self._items:
            return self._items[name]
        close = difflib.get_close_matches(str(name), list(self._items), n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(self._items))}"
        raise UserError(f"unknown {self.kind} {name!r}{hint}")

    def unregister(self, name: str) -> None:
        """Remove ``name`` (a plugin registered for the length of a test or a session)."""
        self._items.pop(name, None)
        self._help.pop(name, None)

    def names(self) -> list[str]:
        """Sorted registered keys."""
        return sorted(self._items)

    def describe(self, name: str) -> str:
        """One-line help for ``name``."""
        return self._help.get(name, "")

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
