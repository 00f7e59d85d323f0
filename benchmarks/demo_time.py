"""How long `joulebench demo` takes, stage by stage, from an empty cache.

Runs the demo in this process exactly as the command does (`joulebench demo --out OUT`), with a fresh
checkpoint cache and backend-probe cache (a temporary folder, unless --cache-dir names one), and times
its stages by wrapping the runner's methods: training (fine-tuning, or loading a cached checkpoint),
reductions (with the trainings they run: re-fine-tuning, distillation, exit heads; calibration),
quality evaluation, each cost measurement (one line per configuration), and the report. Prints the
machine, the total wall time, each stage's seconds, and whether the total is within the goal
(8 minutes on 2 cores).

    python benchmarks/demo_time.py --out runs/demo_time
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

GOAL_S = 8 * 60


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the demo's output folder (must not hold results)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="checkpoint cache (default: a new empty one)")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    if (args.out / "results.jsonl").exists():
        print(f"{args.out} already holds results: the demo would skip them; name an empty folder", file=sys.stderr)
        return 2
    cache = args.cache_dir or Path(tempfile.mkdtemp(prefix="joulebench-demo-cache-"))
    os.environ["JOULEBENCH_CACHE"] = str(cache)  # the backend probe's cache lives there too

    from joulebench.env_info import cpu_features, cpu_model
    from joulebench.measure.cost import CostMeasurer, MeasuredModel
    from joulebench.report import build
    from joulebench.runner import Runner

    stages: dict[str, float] = defaultdict(float)
    measurements: list[tuple[str, str, float]] = []

    def timed(owner: type, name: str, stage: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*a, **k):
            start = time.perf_counter()
            try:
                return original(*a, **k)
            finally:
                seconds = time.perf_counter() - start
                stages[stage] += seconds
                if stage == "measurement":
                    config = a[1].config if isinstance(a[1], MeasuredModel) else a[3]
                    label = "+".join(r.name for r in config.reductions) or "dense"
                    measurements.append((config.measure.scenario, label, seconds))

        setattr(owner, name, wrapper)

    timed(Runner, "fine_tuned", "training (fine-tuning or loading the checkpoint)")
    timed(Runner, "reduce", "reductions (with their own training and calibration)")
    timed(Runner, "evaluate", "quality evaluation")
    timed(CostMeasurer, "paired", "measurement")
    timed(CostMeasurer, "alone", "measurement")
    timed(build, "build_report", "report")
    from joulebench import cli

    start = time.perf_counter()
    code = cli.demo(out=args.out, data_dir=args.data_dir, cache_dir=cache)
    total = time.perf_counter() - start
    print(f"\nmachine: {cpu_model()} ({', '.join(cpu_features())}), {os.cpu_count()} cores; cache {cache} "
          f"({'given' if args.cache_dir else 'empty at start'})")
    print(f"demo exit status {code}; total {total:.0f} s ({total / 60:.2f} min); goal <= {GOAL_S / 60:.0f} min: "
          f"{'met' if total <= GOAL_S else 'NOT met'}")
    print("\n| stage | seconds | share |\n|---|---|---|")
    for stage, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(f"| {stage} | {seconds:.1f} | {seconds / total:.0%} |")
    other = total - sum(stages.values())
    print(f"| other (probe, data loading, printing) | {other:.1f} | {other / total:.0%} |")
    print("\n| scenario | configuration | measurement seconds |\n|---|---|---|")
    for scenario, label, seconds in measurements:
        print(f"| {scenario} | {label} | {seconds:.1f} |")
    return 0 if code == 0 and total <= GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main())
