"""The demo: the packaged default model on SST-2, configured by a packaged YAML file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def demo_config_path() -> Path:
    """Path of the packaged demo configuration."""
    return Path(str(resources.files("joulebench") / "configs" / "demo.yaml"))
