"""Task kinds as plugins: one registry, one module per kind (:mod:`.base` is the protocol).

``classification`` (GLUE's, declared classification and pair classification), ``regression`` (a number per
input), ``qa`` (extractive question answering: SQuAD, declared ``extractive_qa``). A new kind is one module with a
:class:`TaskKind` subclass registered by ``@register_task_kind``; the runner, declarations, analysis, exports and
reductions ask it (``kind_of(task)``, ``kind_named(name)``, ``kind_of_record(record)``) and never test its name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from joulebench.registry import Registry
from joulebench.tasks.kinds.base import (  # noqa: F401  (the protocol and the helpers batches need)
    TARGET_KEYS,
    TaskKind,
    batch_inputs,
    batch_size_of,
)
from joulebench.tasks.kinds.classification import ClassificationKind, outcome_field  # noqa: F401
from joulebench.tasks.kinds.loss import supervised_loss  # noqa: F401
from joulebench.tasks.kinds.regression import RegressionKind
from joulebench.tasks.kinds.span import SpanKind

#: kind name -> the kind (an instance)
TASK_KINDS: Registry[TaskKind] = Registry("task kind")
K = TypeVar("K", bound=type[TaskKind])


def register_task_kind(cls: K) -> K:
    """Class decorator: register an instance of ``cls`` under ``cls.name``."""
    TASK_KINDS.register(cls.name, (cls.__doc__ or "").strip().split("\n")[0])(cls())
    return cls


for _builtin in (ClassificationKind, RegressionKind, SpanKind):
    register_task_kind(_builtin)


def kind_named(name: str) -> TaskKind:
    """The kind registered as ``name`` (a UserError with a suggestion otherwise)."""
    return TASK_KINDS.get(name)


def kind_of(task: Any) -> TaskKind:
    """The kind of ``task`` (``task.kind``, classification when it says none)."""
    return TASK_KINDS.get(getattr(task, "kind", "classification"))


def declared_kinds() -> dict[str, TaskKind]:
    """What a task declaration's ``kind:`` may say, and the kind each name means."""
    return {declared: TASK_KINDS.get(name) for name in TASK_KINDS for declared in TASK_KINDS.get(name).declared_as}


def kind_of_record(record: Mapping) -> TaskKind:
    """The kind of a record: its ``task_kind``, else (records made before it was written) the kind whose marker its
    quality holds, else classification."""
    name = record.get("task_kind")
    if isinstance(name, str) and name in TASK_KINDS:
        return TASK_KINDS.get(name)
    quality = record.get("quality")
    if isinstance(quality, dict):
        for candidate in TASK_KINDS:
            marker = TASK_KINDS.get(candidate).record_marker
            if marker is not None and marker in quality:
                return TASK_KINDS.get(candidate)
    return TASK_KINDS.get("classification")


def encoder_for(task: Any, tokenizer: Any, config: Any) -> Callable[[Sequence[Any], int], list]:
    """``(examples, max_seq_len) -> encoded`` as ``task``'s kind encodes them for ``config`` (a QA
    question becomes windows with answer positions)."""
    kind = kind_of(task)
    return lambda examples, max_seq_len: kind.encode(tokenizer, list(examples), max_seq_len, config)
