"""Typed run configurations: frozen dataclasses, safe YAML loading, hashing."""

from joulebench.config.loader import load_configs, parse_config
from joulebench.config.schema import MeasureConfig, ReductionSpec, RunConfig, TrainConfig, config_hash

__all__ = [
    "MeasureConfig", "ReductionSpec", "RunConfig", "TrainConfig", "config_hash",
    "load_configs", "parse_config",
]
