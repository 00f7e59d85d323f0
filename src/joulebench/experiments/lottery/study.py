"""Ticket studies: search, evaluate, transfer and MLM, each writing ordinary result records.

Every record has the study's base run config plus one ``ticket`` reduction whose parameters say
which mask, which initialisation and which execution, so it carries the same ``config_hash`` as
``joulebench run`` would give that config and lands on the same frontiers. The study writes the
records itself instead of calling ``Runner.run`` because in IMP the training that evaluates
round ``r``'s mask is also the one that finds round ``r+1``'s; it reuses the runner's own
evaluation and cost measurement, and the runner itself for the dense baselines.

Trained tickets of an IMP chain are kept in the checkpoint cache (key: mask digest, rewind
point, training settings), so an interrupted search resumes where it stopped.

One module per part: ``core.py`` (settings, store, dense baselines, ticket training, records,
evaluation), ``search.py`` (IMP and one-shot), ``transfer.py``, ``mlm.py``.
"""

from __future__ import annotations

from joulebench.experiments.lottery.core import DenseBaseline, StudyCore
from joulebench.experiments.lottery.transfer import TicketTransfer

__all__ = ["DenseBaseline", "StudyCore", "TicketStudy"]


class TicketStudy(TicketTransfer):
    """A ticket study: search (IMP, one-shot), evaluate, transfer and MLM over the settings' tasks and seeds."""
