"""Calibrated promises checked after the fact, on the split they are reported on.

A reduction whose knob was calibrated for a quality budget (``max_drop``: early exit, token pruning) promises
that its drop stays within the budget. Each such record carries ``details.promise``: the realised drop on the
reported split against the same configuration without that reduction (paired on the same examples, bootstrap
95% interval), ``broken: true`` where the whole interval lies above the budget, and whether the reduction
saved anything in the scenario it was measured in (``saved_nothing`` where its cost ratio to the dense
baseline is at or above 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Where a calibrated reduction keeps its calibration in its details.
CALIBRATION_KEYS = ("calibration", "search")


@dataclass(frozen=True, eq=False)
class _Scored:
    records: tuple[Mapping, ...]


def calibrated(reductions: Sequence[Mapping]) -> list[tuple[int, dict]]:
    """(position, calibration details) of each reduction that promises a ``max_drop``."""
    found = []
    for i, reduction in enumerate(reductions):
        details = reduction.get("details") or {}
        for key in CALIBRATION_KEYS:
            calibration = details.get(key)
            if isinstance(calibration, dict) and calibration.get("max_drop") is not None:
                found.append((i, calibration))
                break
    return found


def check(quality: Mapping, reference: Mapping, calibration: Mapping, reference_label: str) -> dict[str, Any]:
    """The promise of ``calibration`` checked on ``quality`` against ``reference`` (the model without the
    reduction), both scored on the same examples of the reported split."""
    from joulebench.analysis.paired import paired_difference

    max_drop = float(calibration["max_drop"])
    promise = {"max_drop": max_drop, "delta": calibration.get("delta"), "split": quality.get("split"),
               "reference": reference_label, "carries_over": calibration.get("carries_over", True)}
    diff = paired_difference(_Scored(({"quality": dict(quality)},)), _Scored(({"quality": dict(reference)},)),
                             "accuracy")
    if diff is None:
        return {**promise, "realised_drop": None, "broken": None,
                "note": "not checked: the record and its reference were not scored on the same examples"}
    low, high = -diff.high, -diff.low
    return {**promise, "realised_drop": round(-diff.delta, 5) + 0.0,
            "ci95": [round(low, 5) + 0.0, round(high, 5) + 0.0],
            "n": diff.n, "broken": bool(low > max_drop),
            "rule": "broken where the whole paired 95% interval of the drop lies above max_drop"}


def savings(cost: Mapping) -> dict[str, Any]:
    """Whether the measured configuration cost less than its dense baseline in its scenario: the energy and
    time ratios with their intervals, ``saved_nothing`` where the energy ratio is at or above 1."""
    paired = cost.get("vs_baseline") or {}
    energy, time = paired.get("energy") or {}, paired.get("time") or {}
    if energy.get("ratio") is None:
        return {"saved_nothing": None, "note": "not paired with a dense baseline: run it in a sweep or with "
                                               "--baseline auto to know whether it saved anything"}
    out = {"energy_ratio": energy.get("ratio"), "energy_ci95": energy.get("ci95"),
           "time_ratio": time.get("ratio"), "time_ci95": time.get("ci95"),
           "saved_nothing": bool(energy["ratio"] >= 1.0)}
    if out["saved_nothing"]:
        out["note"] = (f"saved nothing here: {energy['ratio']:.3f}x the dense baseline's energy "
                       f"[{energy['ci95'][0]:.3f}, {energy['ci95'][1]:.3f}] in this scenario")
    return out


def promise_of(record: Mapping) -> dict[str, Any] | None:
    """The first promise a record carries (``details.promise`` of a calibrated reduction), or None."""
    for reduction in record.get("reductions") or []:
        promise = (reduction.get("details") or {}).get("promise")
        if isinstance(promise, dict):
            return promise
    return None


def problem(records: Sequence[Mapping]) -> str | None:
    """Why a configuration must not be a budget's pick: a promise that broke on some seed, or a calibrated
    reduction that saved nothing on any seed; None when neither."""
    found = [p for p in (promise_of(r) for r in records) if p is not None]
    broken = [p for p in found if p.get("broken")]
    if broken:
        p = broken[0]
        return (f"its promise broke on {len(broken)} of {len(found)} record(s): drop {100 * p['realised_drop']:.2f} pt "
                f"[{100 * p['ci95'][0]:.2f}, {100 * p['ci95'][1]:.2f}] on {p.get('split')} > max_drop "
                f"{100 * p['max_drop']:g} pt")
    if found and all(p.get("saved_nothing") for p in found):
        return found[0].get("note") or "it saved nothing against the dense baseline"
    return None
