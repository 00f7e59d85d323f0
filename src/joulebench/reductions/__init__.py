"""Inference-time reductions, one module per reduction, registered by key."""

from joulebench.reductions.base import (
    REDUCTIONS,
    ReductionContext,
    apply_reductions,
    attach_realised,
    build_reduction_config,
    register_reduction,
    validate_reduction,
    validate_reduction_chain,
)

__all__ = [
    "REDUCTIONS", "ReductionContext", "apply_reductions", "attach_realised", "build_reduction_config",
    "register_reduction", "validate_reduction", "validate_reduction_chain",
]

import joulebench.reductions.builtin  # noqa: E402,F401  (registers the built-in reductions)
