"""Fine-tuned checkpoints (safetensors + config) keyed by the hash of what produced them."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from joulebench.errors import UserError

#: A temporary checkpoint dir this old belongs to a run that was killed while saving (a save
#: takes seconds); the next save removes it.
STALE_TEMP_S = 6 * 3600


class CorruptCheckpoint(UserError):
    """A cached checkpoint that cannot be loaded; the message names the file and what is wrong.

    The runner catches it, removes the entry and trains again; anywhere else it is a one-line error.
    """


def default_cache_dir() -> Path:
    """``$JOULEBENCH_CACHE`` or ``~/.cache/joulebench``."""
    return Path(os.environ.get("JOULEBENCH_CACHE", Path.home() / ".cache" / "joulebench"))


class CheckpointCache:
    """A directory of ``<key>/`` checkpoints written atomically (temp dir, then rename)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir() / "checkpoints"

    def path(self, key: str) -> Path:
        return self.root / key

    def has(self, key: str) -> bool:
        return (self.path(key) / "model.safetensors").is_file()

    def save(self, key: str, model: Any, provenance: dict) -> Path:
        """Save a Hugging Face model (``save_pretrained``, safetensors) plus the provenance that produced it."""
        return self._save(key, lambda tmp: model.save_pretrained(tmp, safe_serialization=True), provenance)

    def save_module(self, key: str, module: nn.Module, provenance: dict) -> Path:
        """Save any module's ``state_dict`` as ``model.safetensors`` (a reduced model, exit heads...)."""
        from safetensors.torch import save_file

        def write(tmp: Path) -> None:
            state = {k: v.detach().contiguous().clone() for k, v in module.state_dict().items()}
            save_file(state, str(tmp / "model.safetensors"))

        return self._save(key, write, provenance)

    def _save(self, key: str, write: Callable[[Path], None], provenance: dict) -> Path:
        from joulebench.paths import writable_folder

        writable_folder(self.root, "--cache-dir (or $JOULEBENCH_CACHE)")
        self.remove_stale_temps()
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=self.root))
        try:
            write(tmp)
            (tmp / "provenance.json").write_text(json.dumps(provenance, indent=2, default=str))
            _fsync_tree(tmp)  # the data must be on disk before the rename makes it visible
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        final = self.path(key)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        _fsync_dir(self.root)  # and the rename itself, so a power loss keeps it or not, never half
        return final

    def remove_stale_temps(self, older_than_s: float = STALE_TEMP_S) -> list[Path]:
        """Delete temporary checkpoint dirs left by killed runs (older than ``older_than_s``)."""
        removed = []
        now = time.time()
        for path in self.root.glob(".*-*"):
            try:
                stale = path.is_dir() and now - path.stat().st_mtime > older_than_s
            except OSError:  # removed meanwhile by another process
                continue
            if stale:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        return removed

    def provenance(self, key: str) -> dict:
        """The provenance saved with checkpoint ``key`` ({} when it has none or cannot be read)."""
        try:
            return json.loads((self.path(key) / "provenance.json").read_text())
        except (OSError, ValueError):
            return {}

    def load_into(self, key: str, model: nn.Module) -> None:
        """Load saved weights into an already built model of the same architecture.

        Raises:
            CorruptCheckpoint: the weights file is truncated, corrupt or does not fit the model.
        """
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = self.path(key) / "model.safetensors"
        try:
            state = load_file(str(path))
            model.load_state_dict(state, strict=True)
        except (SafetensorError, OSError, RuntimeError) as exc:
            raise CorruptCheckpoint(f"{path}: {' '.join(str(exc).split())[:200]}") from None

    def remove(self, key: str) -> None:
        """Delete checkpoint ``key`` (a corrupt entry, before it is trained again)."""
        shutil.rmtree(self.path(key), ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """fsync every file under ``root``, then the folders (a rename is only durable with them)."""
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
        elif path.is_dir():
            _fsync_dir(path)
    _fsync_dir(root)
