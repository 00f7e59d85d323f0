"""Transfer: tickets found on one task, evaluated on the others."""

from __future__ import annotations

from pathlib import Path

from joulebench.errors import UserError
from joulebench.experiments.lottery import tables
from joulebench.experiments.lottery.mlm import MlmTickets
from joulebench.experiments.lottery.search import TicketSearch
from joulebench.reductions.lottery.masks import load_mask


class TicketTransfer(TicketSearch, MlmTickets):
    """Transfer: tickets found on one task, evaluated on the others."""

    def transfer(self) -> str:
        """The transfer matrix: each source task's mask (and optionally the MLM mask) on every task."""
        t = self.s.transfer
        seed = self.s.base.train.seed
        sources: dict[str, Path] = {}
        for task in t.tasks:
            given = (t.masks or {}).get(task)
            if given:
                sources[task] = Path(given)
                continue
            path = self.mask_path(task, "imp", seed, t.sparsity)
            if not path.is_file():
                levels = t.search_sparsities or tuple(lv for lv in self.s.search.levels() if lv <= t.sparsity + 1e-9)
                if not levels or abs(levels[-1] - t.sparsity) > 1e-9:
                    raise UserError(f"transfer.sparsity {t.sparsity} is not a level of the search schedule; set "
                                    "transfer.search_sparsities ending at it")
                self.say(f"transfer: no {task} mask at {t.sparsity:.0%}; searching (IMP, {len(levels)} rounds)")
                self.dense(task)
                self._imp(task, seed, tuple(levels))
            sources[task] = path
        if t.include_mlm:
            sources["mlm"] = self.mask_path(self._mlm_tag(), "mlm", seed, t.sparsity)
        for source, path in sources.items():
            mask = load_mask(path)
            for target in t.tasks:
                self.dense(target)
                label = f"transfer {source}->{target} {t.sparsity:.0%}"
                self._evaluate_mask(target, seed, path, mask, "pretrained", label,
                                    extra=self._transfer_extra(mask, target))
        return tables.transfer_matrix(self.store.records(), list(t.tasks), t.sparsity)
