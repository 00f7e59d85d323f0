"""Lottery tickets in pre-trained BERT (Chen et al. 2020; Prasanna et al. 2020).

Find them (iterative magnitude pruning with rewinding, on the task or on MLM), test them against
random pruning, random re-initialisation and the dense model, transfer them between tasks, and
price them (nonzero FLOPs, compressed size, dense vs CSR wall-clock). Importing this package
registers the ``ticket`` reduction.

Modules: ``targets`` (what is pruned), ``masks`` (artefacts, applying, enforcing), ``pruning``
(mask makers), ``imp`` (the IMP loop), ``mlm`` (MLM objective and head), ``sparse`` (CSR and 2:4
execution), ``price`` (FLOPs and bytes), ``reduction`` (the registered reduction). The study
that writes records (search / evaluate / transfer / mlm) is ``joulebench.experiments.lottery``.
"""

from joulebench.reductions.lottery.imp import ImpSchedule, StepCapture, iterative_magnitude_pruning
from joulebench.reductions.lottery.masks import (
    MaskEnforcer,
    MaskMismatchError,
    TicketMask,
    apply_mask,
    check_compatible,
    dense_mask,
    load_mask,
    save_mask,
)
from joulebench.reductions.lottery.mlm import MaskedLmModel, build_mlm_model
from joulebench.reductions.lottery.price import linear_flops_per_token, storage_bytes, ticket_details
from joulebench.reductions.lottery.pruning import (
    global_magnitude_mask,
    one_shot_masks,
    random_mask_like,
    sparsity_schedule,
)
from joulebench.reductions.lottery.reduction import Ticket, TicketConfig, initial_model
from joulebench.reductions.lottery.sparse import CsrLinear, to_semi_structured_24, to_sparse_csr
from joulebench.reductions.lottery.targets import prunable_linears, prunable_weights

__all__ = [
    "CsrLinear", "ImpSchedule", "MaskEnforcer", "MaskMismatchError", "MaskedLmModel", "StepCapture", "Ticket",
    "TicketConfig", "TicketMask", "apply_mask", "build_mlm_model", "check_compatible", "dense_mask",
    "global_magnitude_mask", "initial_model", "iterative_magnitude_pruning", "linear_flops_per_token", "load_mask",
    "one_shot_masks", "prunable_linears", "prunable_weights", "random_mask_like", "save_mask", "sparsity_schedule",
    "storage_bytes", "ticket_details", "to_semi_structured_24", "to_sparse_csr",
]
