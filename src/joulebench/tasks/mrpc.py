"""MRPC: does a pair of news sentences paraphrase each other? (Dolan & Brockett, 2005).

Local layout: the Microsoft Research Paraphrase Corpus files ``<data_dir>/glue/MRPC/train.tsv``
and ``test.tsv`` (MSRP layout: header ``Quality, #1 ID, #2 ID, #1 String, #2 String``; the
files start with a UTF-8 byte-order mark, use CRLF line ends, and their text contains bare
double quotes, so they are read with ``csv.QUOTE_NONE``).

Splits: "train" is the whole MSRP train file (4,076 pairs) and "validation" is the labelled
MSRP *test* file (1,725 pairs). GLUE's own MRPC dev set is a 408-pair subset of the MSRP train
file, so evaluating on it while training on the local train.tsv would test on training data;
GLUE's MRPC test labels are not distributed, but the MSRP test file is public and labelled.
The Hub mapping matches: train = GLUE train + validation (3,668 + 408 = the 4,076 MSRP train
pairs), validation = GLUE test (the 1,725 MSRP test pairs, labelled on the Hub).

The copy in the shared data folder appends four hand-written toy pairs with IDs -1 ("I like
green apples.") to train.tsv; they are not MSRP pairs and are dropped (see ``keep_row``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from joulebench.tasks.base import TASKS
from joulebench.tasks.glue import GlueTask

#: Pair ID that marks rows that are not MSRP sentence pairs (MSRP IDs are positive).
NON_MSRP_ID = "-1"


class Mrpc(GlueTask):
    """MRPC paraphrase detection (sentence pair; accuracy and F1)."""

    name = "mrpc"
    folder = "MRPC"
    files: ClassVar[Mapping[str, str]] = {"train": "train.tsv", "validation": "test.tsv"}
    header = ("Quality", "#1 ID", "#2 ID", "#1 String", "#2 String")
    text_columns = ("#1 String", "#2 String")
    label_column = "Quality"
    filter_columns = ("#1 ID", "#2 ID")
    hub_id = ("glue", "mrpc")
    hub_splits: ClassVar[Mapping[str, str]] = {"train": "train+validation", "validation": "test"}
    hub_text_columns = ("sentence1", "sentence2")
    metric_names: tuple[str, ...] = ("accuracy", "f1")
    label_names = ("not_equivalent", "equivalent")

    def keep_row(self, fields: Mapping[str, str]) -> bool:
        """Drop the toy rows with ID -1 so counts match the official 4,076 / 1,725 pairs."""
        return NON_MSRP_ID not in (fields["#1 ID"].strip(), fields["#2 ID"].strip())


MRPC = TASKS.register(
    "mrpc", help="MRPC paraphrase (MSRP train / labelled MSRP test); accuracy and F1"
)(Mrpc())
