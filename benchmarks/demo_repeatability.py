"""Do runs of the demo agree? Same cheapest configurations, paired ratios inside the first run's interval.

Run the demo several times, one after the other on the same machine, into separate folders, then compare
every later run with the first:

    joulebench demo --out runs/demo_a && joulebench demo --out runs/demo_b && joulebench demo --out runs/demo_c
    python benchmarks/demo_repeatability.py runs/demo_a/results.jsonl runs/demo_b/results.jsonl \
        runs/demo_c/results.jsonl

For every configuration it prints the paired energy and time ratios of each run (each with its interval) and
whether each later run's ratio lies inside the first run's interval; the A/A noise floor of every run (its
baseline timed against itself) and whether a ratio that left the interval stayed within the interval widened
by that floor; and the budget answers of every run (both rules, with the A/A tie rule). Exit status 1 when a
pick changes or a ratio leaves even the floor-widened interval.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from joulebench.analysis.aggregate import aggregate
from joulebench.analysis.budgets import find_baseline
from joulebench.analysis.load import load_records
from joulebench.analysis.paired import aa_ratio, cost_ratio, noise_floor
from joulebench.analysis.summary import build_sections
from joulebench.report.format import ratio_text

METRICS = (("energy_j_per_example", "energy"), ("latency_ms_mean", "time"))


def _points(path: Path) -> dict:
    return {(p.scenario, p.label): p for p in aggregate(load_records(path))}


def _answers(path: Path) -> dict:
    out = {}
    for section in build_sections(aggregate(load_records(path))):
        for pick in section.budget_picks:
            out[(section.scenario, pick.tolerance_abs, pick.rule)] = pick.pick.label if pick.pick else None
    return out


def _ratio(points: dict, key: tuple, metric: str):
    point = points.get(key)
    if point is None:
        return None
    base = find_baseline(list(points.values()), point.task, point.model, point.scenario)
    return None if base is None else cost_ratio(point, base, metric)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", help="results.jsonl of each run, the first is the reference")
    args = parser.parse_args()
    if len(args.runs) < 2:
        parser.error("name at least two runs")
    runs = [_points(path) for path in args.runs]
    first = runs[0]
    names = [f"run {i + 1}" for i in range(len(runs))]

    print("A/A noise floor (each run's baseline timed against itself in the same rounds; energy):\n")
    print("| scenario | " + " | ".join(names) + " |\n|---|" + "---|" * len(runs))
    floors: dict[tuple[int, str], float | None] = {}
    for scenario in sorted({k[0] for k in first}):
        cells = []
        for i, points in enumerate(runs):
            base = next((p for p in points.values() if p.scenario == scenario and p.is_baseline), None)
            aa = None if base is None else aa_ratio(base)
            floors[(i, scenario)] = None if base is None else noise_floor(base)
            floor = floors[(i, scenario)]
            cells.append(f"{ratio_text(aa)}, floor ±{100 * floor:.1f}%" if floor is not None else "no A/A pair")
        print(f"| {scenario} | " + " | ".join(cells) + " |")

    print("\n| scenario | configuration | metric | " + " | ".join(names)
          + " | later runs inside run 1's interval | inside it widened by the A/A floor |")
    print("|---|---|---|" + "---|" * len(runs) + "---|---|")
    ok, inside_total, widened_total, compared = True, 0, 0, 0
    for key, point in first.items():
        if point.is_baseline:
            continue
        for metric, name in METRICS:
            ratios = [_ratio(points, key, metric) for points in runs]
            ref = ratios[0]
            if ref is None or ref.low is None or any(r is None for r in ratios[1:]):
                continue
            floor = max((floors.get((i, key[0])) or 0.0) for i in range(len(runs)))
            inside = [ref.low <= r.ratio <= ref.high for r in ratios[1:]]
            widened = [ref.low / (1 + floor) <= r.ratio <= ref.high * (1 + floor) for r in ratios[1:]]
            compared += len(inside)
            inside_total += sum(inside)
            widened_total += sum(widened)
            ok &= all(widened)
            print(f"| {key[0]} | {key[1]} | {name} | " + " | ".join(ratio_text(r) for r in ratios)
                  + f" | {sum(inside)}/{len(inside)} | {sum(widened)}/{len(widened)} |")
    print(f"\nlater runs' ratios inside run 1's interval: {inside_total}/{compared}; inside it widened by the A/A "
          f"floor: {widened_total}/{compared}")

    print("\n| scenario | budget | rule | " + " | ".join(names) + " | same |")
    print("|---|---|---|" + "---|" * len(runs) + "---|")
    answers = [_answers(path) for path in args.runs]
    for key, pick in answers[0].items():
        picks = [a.get(key) for a in answers]
        same = all(p == pick for p in picks)
        ok &= same
        print(f"| {key[0]} | {100 * key[1]:g} pt | {key[2]} | " + " | ".join(str(p) for p in picks)
              + f" | {'yes' if same else 'NO'} |")
    print("\nall checks passed" if ok else "\nsome checks FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
