"""Where a calibrated knob (an early-exit threshold, a token-pruning keep ratio) is chosen, so that the promise
it carries holds on the split it is reported on.

``calibration: auto`` (the default) takes, in this order:

- ``file``: the task's own calibration split (a declared task's ``data: {calibration: FILE}``), one knob;
- ``validation``: where the figures are reported on a declared ``test`` split, the dev split, one knob;
- ``crossfit``: where a task has only train and dev (GLUE), dev is split in two halves (seeded, identical
  inputs kept together) and each half gets the knob chosen on the other: no example is ever scored with a
  knob chosen on it, and the reported figure is the union. Each half's Learn-then-Test runs at ``delta / 2``, so
  that both halves hold together with probability at least ``1 - delta``;
- ``heldout_train`` (only when asked for, or where cross-fitting cannot apply): training examples the
  fine-tuning did not see. Their distribution is compared with the reported split's (lengths, labels); where
  they differ, the record says that the guarantee does not carry over.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from joulebench.errors import UserError

CALIBRATIONS = ("auto", "crossfit", "validation", "heldout_train", "file")

#: ``ReductionContext.extra`` keys the runner fills for calibrated reductions.
REPORTED = "reported_examples"  # () -> (split name, examples of the split figures are reported on)
VALIDATION = "validation_examples"  # () -> dev examples
CALIBRATION_FILE = "calibration_file"  # () -> (path, examples) of a declared calibration split, or None

#: Below this p-value (two-sample Kolmogorov-Smirnov on word counts) the lengths are taken to differ.
LENGTH_P = 0.01
#: Above this total-variation distance between label frequencies the labels are taken to differ.
LABEL_TV = 0.1


def fingerprint(input_ids: Sequence[int]) -> tuple[int, ...]:
    """An input's identity at run time: its token ids without padding."""
    return tuple(int(t) for t in input_ids)


@dataclass
class Routing:
    """A knob chosen per input: ``by_input`` maps an input's fingerprint to its value (the one chosen on the
    other half), ``default`` serves inputs calibration never saw (the more conservative of the two)."""

    by_input: dict[tuple[int, ...], float] = field(default_factory=dict)
    default: float = 0.0

    def values(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """(batch,) the knob of each row of a padded batch."""
        ids = input_ids.tolist()
        masks = attention_mask.tolist() if attention_mask is not None else [[1] * len(r) for r in ids]
        found = [self.by_input.get(tuple(t for t, m in zip(row, mask, strict=True) if m), self.default)
                 for row, mask in zip(ids, masks, strict=True)]
        return torch.tensor(found, dtype=torch.float32, device=input_ids.device)


@dataclass
class CalibrationSet:
    """The examples a knob is chosen on and how they relate to the reported split.

    Attributes:
        how: ``file``, ``validation``, ``crossfit`` or ``heldout_train``.
        examples: the calibration examples (for ``crossfit``: the reported split itself, halved later).
        where: the split in words, for the record.
        reported_split: the split the record's figures are on.
        carries_over: whether the guarantee is stated for the reported split (False where held-out training
            data differs from it), with ``check`` saying why.
    """

    how: str
    examples: list
    where: str
    reported_split: str
    carries_over: bool = True
    check: dict[str, Any] | None = None


def resolve(how: str, ctx: Any, n_heldout: int, can_crossfit: bool = True) -> CalibrationSet:
    """The calibration examples of ``how`` (``auto`` resolved as the module docstring says).

    Raises:
        UserError: a calibration the run cannot give (no Runner context, a file asked for and none declared).
    """
    extra = getattr(ctx, "extra", None) or {}
    reported = extra.get(REPORTED)
    split, reported_examples = reported() if reported is not None else ("validation", None)
    declared = extra.get(CALIBRATION_FILE)
    file = declared() if declared is not None else None
    if how == "auto":
        how = "file" if file is not None else "validation" if split == "test" else \
            "crossfit" if can_crossfit and reported_examples is not None else "heldout_train"
    if how == "file":
        if file is None:
            raise UserError("calibration: file needs the task to declare data: {calibration: FILE}")
        path, examples = file
        return _with_check(CalibrationSet("file", examples, f"the task's calibration file {path}", split),
                           reported_examples)
    if how == "validation":
        if split != "test":
            raise UserError("calibration: validation would choose on the split that is reported (this task has no "
                            "test split); use crossfit")
        return _with_check(CalibrationSet("validation", extra[VALIDATION](), "the dev split (figures are on test)",
                                          split), reported_examples)
    if how == "crossfit":
        if reported_examples is None:
            raise UserError("calibration: crossfit needs the evaluation split (run it through the Runner)")
        if not can_crossfit:
            raise UserError("calibration: crossfit cannot apply here (re-training per candidate); use heldout_train")
        return CalibrationSet("crossfit", list(reported_examples), f"{split}, cross-fitted on two halves", split)
    if ctx.calibration_examples is None:
        raise UserError("calibration: heldout_train needs a calibration split (run it through the Runner)")
    return _with_check(CalibrationSet("heldout_train", ctx.calibration_examples(n_heldout),
                                      "held-out training examples (not in the training subset)", split),
                       reported_examples)


def _with_check(found: CalibrationSet, reported: Sequence[Any] | None) -> CalibrationSet:
    if reported is None:
        return found
    found.check = exchangeable(found.examples, reported)
    found.carries_over = bool(found.check["matches"])
    return found


def _words(example: Any) -> int:
    return len(str(getattr(example, "text_a", "")).split()) + len(str(getattr(example, "text_b", "") or "").split())


def exchangeable(calibration: Sequence[Any], reported: Sequence[Any]) -> dict[str, Any]:
    """Whether calibration examples look drawn like the reported ones: lengths (two-sample Kolmogorov-Smirnov
    on word counts) and labels (total variation between their frequencies)."""
    from scipy.stats import ks_2samp

    a, b = [_words(e) for e in calibration], [_words(e) for e in reported]
    ks = ks_2samp(a, b)
    labels = sorted({str(getattr(e, "label", None)) for e in [*calibration, *reported]})
    freq = [np.array([sum(str(getattr(e, "label", None)) == v for e in group) / max(1, len(group))
                      for v in labels]) for group in (calibration, reported)]
    tv = float(0.5 * np.abs(freq[0] - freq[1]).sum())
    matches = bool(ks.pvalue >= LENGTH_P and tv <= LABEL_TV)
    return {"length_median_words": [float(np.median(a)) if a else None, float(np.median(b)) if b else None],
            "length_ks_p": round(float(ks.pvalue), 6), "label_total_variation": round(tv, 4), "matches": matches,
            "rule": f"lengths KS p >= {LENGTH_P} and label total variation <= {LABEL_TV}",
            "note": None if matches else "the calibration data is not drawn like the reported split: the "
                                         "guarantee does not carry over to it"}


def halves(fingerprints: Sequence[tuple[int, ...]], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two halves of the positions, identical inputs kept on one side (seeded)."""
    unique = sorted(set(fingerprints))
    order = np.random.default_rng(seed).permutation(len(unique))
    side = {unique[i]: k % 2 for k, i in enumerate(order)}
    flags = np.array([side[f] for f in fingerprints], dtype=np.int64)
    return np.flatnonzero(flags == 0), np.flatnonzero(flags == 1)


def needed_examples(max_drop: float, delta: float) -> int:
    """The fewest calibration examples on which Learn-then-Test can certify anything: even zero harms give
    a p-value of ``(1 - max_drop)^n``, which must be at most ``delta``."""
    if max_drop <= 0:
        return math.inf  # type: ignore[return-value]
    return math.ceil(math.log(delta) / math.log(1 - max_drop))


def check_size(found: CalibrationSet, max_drop: float, delta: float) -> None:
    """Refuse a calibration set too small for the requested guarantee (one line, naming the source)."""
    if max_drop <= 0:
        raise UserError("max_drop 0 can never be certified from a finite calibration sample (even no harm at all "
                        "leaves a p-value of 1); give a budget above 0")
    n = len(found.examples) // 2 if found.how == "crossfit" else len(found.examples)
    level = delta / 2 if found.how == "crossfit" else delta
    need = needed_examples(max_drop, level)
    if n < need:
        each = " per half" if found.how == "crossfit" else ""
        raise UserError(f"calibration on {found.where}: {n} examples{each}; max_drop {max_drop} with delta {delta} "
                        f"needs at least {need}{each} (even with no harm at all nothing smaller certifies it)")


def crossfit(choose: Callable[[np.ndarray, float], dict[str, Any]], fingerprints: Sequence[tuple[int, ...]],
             seed: int, delta: float, conservative: Callable[[float, float], float]) -> tuple[Routing, dict[str, Any]]:
    """Choose a knob on each half with ``choose(positions, delta / 2)`` and route every input to the knob of the
    other half.

    Returns:
        The routing and, for the record, each half's choice (``value`` is the knob) and sizes.
    """
    first, second = halves(fingerprints, seed)
    on_first, on_second = choose(first, delta / 2), choose(second, delta / 2)
    routing = Routing(default=conservative(on_first["value"], on_second["value"]))
    for positions, value in ((first, on_second["value"]), (second, on_first["value"])):
        for i in positions:
            routing.by_input[fingerprints[i]] = value
    return routing, {"halves": [int(len(first)), int(len(second))], "chosen_on_first_half": on_first,
                     "chosen_on_second_half": on_second, "delta_per_half": delta / 2,
                     "unseen_inputs_get": routing.default}
