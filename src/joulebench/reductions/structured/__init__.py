"""Structured pruning of attention heads and FFN units, compacted into a smaller model.

Importing this package registers the ``structured_prune`` reduction.

Modules: ``layers`` (where the structures live), ``mask`` (what is kept, as JSON), ``gates``
(masking by forward hooks), ``importance`` (gradient and magnitude scores), ``search`` (iterative
pruning with a stopping rule; good/bad/random variants), ``compact`` (physical removal,
save/load), ``data`` (held-out scoring examples) and ``reduction`` (the registered reduction). The
good/bad/random x pruned/retrained x seeds study behind ``joulebench prune`` is
``joulebench.experiments.structured``.
"""

from joulebench.reductions.structured.compact import compact, current_mask, load_compacted, save_compacted
from joulebench.reductions.structured.gates import masked
from joulebench.reductions.structured.importance import Importance, gradient_importance, magnitude_importance
from joulebench.reductions.structured.mask import StructureMask, load_mask, save_mask
from joulebench.reductions.structured.reduction import StructuredPrune, StructuredPruneConfig
from joulebench.reductions.structured.search import SearchPlan, iterative_prune, variant_mask

__all__ = [
    "Importance", "SearchPlan", "StructureMask", "StructuredPrune", "StructuredPruneConfig", "compact",
    "current_mask", "gradient_importance", "iterative_prune", "load_compacted", "load_mask",
    "magnitude_importance", "masked", "save_compacted", "save_mask", "variant_mask",
]
