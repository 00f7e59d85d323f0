"""Inference-time reductions, one module per reduction, registered by key."""

from joulebench.reductions.base import (
    REDUCTIONS,
    ReductionContext,
    apply_reductions,
    build_reduction_config,
    register_reduction,
    validate_reduction,
)

__all__ = [
    "REDUCTIONS", "ReductionContext", "apply_reductions", "build_reduction_config",
    "register_reduction", "validate_reduction",
]

import joulebench.reductions.builtin  # noqa: E402,F401  (registers the built-in reductions)
