"""The search against the grid it replaces: same space, same fine-tuned model, one run.

Measures every point of ``configs/search_sst2.yaml``'s space (the grid, 50 configurations) and
a search of at most a third as many trials over the same space, each into its own store (the
search never sees the grid's records), then reports for each: the runs, the wall time, the
frontier (maximise accuracy, minimise energy as a paired ratio to the dense model) and its
hypervolume with the same reference point and normalisation, and the cheapest configuration
within one accuracy point of the dense model (point estimate, as the report's budgets).

    python benchmarks/search_vs_grid.py --data-dir ../shared/data --out runs/search_vs_grid

The search runs first, so the re-trainings it needs (layer drop at the depths it tries) are in
its time; the grid then reuses those from the checkpoint cache and trains the rest. Re-running
resumes both stores. Energy uses the ``estimate`` meter (CPU seconds x 15 W per busy core).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from joulebench.analysis.aggregate import aggregate
from joulebench.analysis.budgets import budget_pick, find_baseline
from joulebench.env_info import cpu_features, cpu_model
from joulebench.experiments.search import hypervolume, load_search, minimised, pareto_trials, run_search, stored_trials
from joulebench.experiments.sweep import run_sweep
from joulebench.report.format import diff_text, ratio_text

SPEC = Path(__file__).resolve().parents[1] / "configs" / "search_sst2.yaml"
#: The hypervolume box: accuracy down to 10 points below the dense model, energy up to 1.1x it.
ACCURACY_SPAN, ENERGY_REFERENCE = 0.10, 1.1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/search_vs_grid"))
    parser.add_argument("--trials", type=int, default=None, help="search trials (default: a third of the grid)")
    args = parser.parse_args()
    space = load_search(SPEC)
    grid = space.grid()
    trials = args.trials or len(grid) // 3
    print(f"machine: {cpu_model()} ({', '.join(cpu_features())}); space {SPEC.name}: {len(grid)} grid points, "
          f"search {trials} trials ({space.sampler}, seed {space.seed})", flush=True)

    t0 = time.monotonic()
    outcome = run_search(space, args.out / "search", trials, data_dir=args.data_dir)
    search_s = time.monotonic() - t0
    t0 = time.monotonic()
    configs = [space.config_for(p) for p in grid]
    run_sweep(configs, args.out / "grid", data_dir=args.data_dir, pair=True)
    grid_s = time.monotonic() - t0

    found = {"grid": stored_trials(space, args.out / "grid"), "search": stored_trials(space, args.out / "search")}
    runs = {"grid": len(found["grid"]), "search": len(found["search"])}
    seconds = {"grid": grid_s, "search": search_s}
    dense = space.baseline_params()
    baseline_acc = next(t for t in found["grid"] if t.params == dense).estimates["accuracy"].value
    reference = (-(baseline_acc - ACCURACY_SPAN), ENERGY_REFERENCE)
    scale = (ACCURACY_SPAN, ENERGY_REFERENCE)
    volume = {}
    print("\n| | runs | time (s) | frontier points | hypervolume | cheapest within 1 pt of dense |")
    print("|---|---|---|---|---|---|")
    picks = {}
    for name in ("grid", "search"):
        front = pareto_trials(found[name], space.objectives)
        volume[name] = hypervolume([minimised(t, space.objectives) for t in front], reference, scale)
        points = aggregate(_records(args.out / name))
        base = find_baseline(points, "sst2", "minilm-l6", "offline")
        pick = budget_pick(points, base, 0.01) if base else None
        picks[name] = pick
        answer = "none" if pick is None or pick.pick is None else (
            f"{pick.pick.name}: energy {ratio_text(pick.ratio)}, Δ acc {diff_text(pick.quality_diff)}")
        print(f"| {name} | {runs[name]} | {seconds[name]:.0f} | {len(front)} | {volume[name]:.4f} | {answer} |")
        print(f"  frontier ({name}): " + "; ".join(
            f"{t.label} ({t.estimates['accuracy'].value:.4f}, x{t.estimates['energy_j_per_example'].value:.3f})"
            for t in sorted(front, key=lambda t: t.estimates["accuracy"].value)), flush=True)
    share = volume["search"] / volume["grid"] if volume["grid"] else float("nan")
    fraction = runs["search"] / runs["grid"]
    g, s = picks["grid"], picks["search"]
    same = bool(g and s and g.pick and s.pick and set(g.pick.config_hashes) & set(s.pick.config_hashes))
    inside = bool(g and s and g.ratio and s.ratio and g.ratio.low is not None
                  and g.ratio.low <= s.ratio.ratio <= g.ratio.high)
    print(f"\nTarget: >= 95% of the grid's hypervolume with <= 1/3 of its runs: {share:.1%} with {fraction:.0%} of "
          f"the runs -> {'MET' if share >= 0.95 and fraction <= 1 / 3 + 1e-9 else 'MISSED'}")
    print(f"Target: the same cheapest-within-1-point answer, or one inside its interval: "
          f"{'same configuration' if same else ('inside the interval' if inside else 'different')} -> "
          f"{'MET' if same or inside else 'MISSED'}")
    print(f"search stopped: {outcome.stopped}; hypervolume box: accuracy {baseline_acc - ACCURACY_SPAN:.4f}.."
          f"{baseline_acc:.4f}+ (dense - {ACCURACY_SPAN:.2f}), energy ratio 0..{ENERGY_REFERENCE}, each scaled to 1")


def _records(out: Path) -> list[dict]:
    from joulebench.analysis.load import load_records

    return load_records(out / "results.jsonl")


if __name__ == "__main__":
    main()
