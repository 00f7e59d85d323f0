"""Do two runs of the demo agree? Same cheapest configurations, paired ratios inside each other's interval.

Run the demo twice, one after the other on the same machine, into two folders, then compare:

    joulebench demo --out runs/demo_a && joulebench demo --out runs/demo_b
    python benchmarks/demo_repeatability.py runs/demo_a/results.jsonl runs/demo_b/results.jsonl

For every configuration it prints the paired energy and time ratios of both runs (each with its
ABBA interval) and whether the second lies inside the first's interval or within ±10% of it; then
the budget answers of both runs (both rules). Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from joulebench.analysis.aggregate import aggregate
from joulebench.analysis.budgets import find_baseline
from joulebench.analysis.load import load_records
from joulebench.analysis.paired import cost_ratio
from joulebench.analysis.summary import build_sections
from joulebench.report.format import ratio_text


def _points(path: Path) -> dict:
    return {(p.scenario, p.label): p for p in aggregate(load_records(path))}


def _answers(path: Path) -> dict:
    out = {}
    for section in build_sections(aggregate(load_records(path))):
        for pick in section.budget_picks:
            out[(section.scenario, pick.tolerance_abs, pick.rule)] = pick.pick.label if pick.pick else None
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    args = parser.parse_args()
    first, second = _points(args.first), _points(args.second)
    ok = True
    print("| scenario | configuration | metric | run 1 (ABBA 95% CI) | run 2 (ABBA 95% CI) | run 2 inside run 1's "
          "interval or within ±10% |")
    print("|---|---|---|---|---|---|")
    for key, a in first.items():
        b = second.get(key)
        if b is None or a.is_baseline:
            continue
        base_a = find_baseline(list(first.values()), a.task, a.model, a.scenario)
        base_b = find_baseline(list(second.values()), b.task, b.model, b.scenario)
        for metric, name in (("energy_j_per_example", "energy"), ("latency_ms_mean", "time")):
            ra, rb = cost_ratio(a, base_a, metric), cost_ratio(b, base_b, metric)
            if ra is None or rb is None:
                continue
            inside = (ra.low is not None and ra.low <= rb.ratio <= ra.high) or abs(rb.ratio / ra.ratio - 1) <= 0.10
            ok &= inside
            print(f"| {key[0]} | {key[1]} | {name} | {ratio_text(ra)} | {ratio_text(rb)} | "
                  f"{'yes' if inside else 'NO'} |")
    print("\n| scenario | budget | rule | run 1 | run 2 | same |")
    print("|---|---|---|---|---|---|")
    answers_a, answers_b = _answers(args.first), _answers(args.second)
    for key, pick in answers_a.items():
        other = answers_b.get(key)
        ok &= pick == other
        print(f"| {key[0]} | {100 * key[1]:g} pt | {key[2]} | {pick} | {other} | {'yes' if pick == other else 'NO'} |")
    print("\nall checks passed" if ok else "\nsome checks FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
