"""GLUE SST-2: binary sentiment of single movie-review sentences (Socher et al., 2013).

Local layout: ``<data_dir>/glue/SST-2/train.tsv`` and ``dev.tsv`` with header
``sentence<TAB>label``. ``dev.tsv`` is the official GLUE validation split (872 sentences);
GLUE's test labels are not public, so "validation" is what results report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from joulebench.tasks.base import TASKS
from joulebench.tasks.glue import GlueTask


class Sst2(GlueTask):
    """GLUE SST-2 sentiment (single sentence, accuracy)."""

    name = "sst2"
    folder = "SST-2"
    files: ClassVar[Mapping[str, str]] = {"train": "train.tsv", "validation": "dev.tsv"}
    header = ("sentence", "label")
    text_columns = ("sentence", None)
    label_column = "label"
    hub_id = ("glue", "sst2")
    hub_splits: ClassVar[Mapping[str, str]] = {"train": "train", "validation": "validation"}
    hub_text_columns = ("sentence", None)
    metric_names: tuple[str, ...] = ("accuracy",)
    label_names = ("negative", "positive")


SST2 = TASKS.register("sst2", help="GLUE SST-2 binary sentiment, single sentence; accuracy")(
    Sst2()
)
