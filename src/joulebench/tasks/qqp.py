"""GLUE QQP: are two Quora questions duplicates?

Local layout (official GLUE): ``<data_dir>/glue/QQP/train.tsv`` and ``dev.tsv`` with header
``id, qid1, qid2, question1, question2, is_duplicate``; "validation" is dev.tsv (GLUE's test
labels are not public). No offline copy ships with the shared data: it loads from the Hub
(``glue``/``qqp``) or from a local copy in that layout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from joulebench.tasks.base import TASKS
from joulebench.tasks.glue import GlueTask


class Qqp(GlueTask):
    """GLUE QQP duplicate questions (question pair; accuracy and F1)."""

    name = "qqp"
    folder = "QQP"
    files: ClassVar[Mapping[str, str]] = {"train": "train.tsv", "validation": "dev.tsv"}
    header = ("id", "qid1", "qid2", "question1", "question2", "is_duplicate")
    text_columns = ("question1", "question2")
    label_column = "is_duplicate"
    hub_id = ("glue", "qqp")
    hub_splits: ClassVar[Mapping[str, str]] = {"train": "train", "validation": "validation"}
    hub_text_columns = ("question1", "question2")
    metric_names: tuple[str, ...] = ("accuracy", "f1")
    label_names = ("not_duplicate", "duplicate")


QQP = TASKS.register("qqp", help="GLUE QQP duplicate Quora questions; accuracy and F1")(Qqp())
