"""The study at full scale (issue #34): full SST-2, MRPC and SQuAD v1.1, seeds 0-2, every reduction; resumable.

Three phases, each safe to interrupt and re-run (it resumes where it stopped):

  python benchmarks/study.py train [--threads 1]   # every fine-tuning and re-training, into the checkpoint cache;
                                                   # no timing, so it may run beside other work (niced)
  python benchmarks/study.py measure               # every configuration, timed in ABBA rounds with its dense
                                                   # seed (needs a quiet machine), into runs/study/results.jsonl
  python benchmarks/study.py tickets               # the lottery-ticket study (Chen et al.): IMP to 70% with its
                                                   # baselines and dense seeds, into runs/study/tickets
  python benchmarks/study.py structured            # Prasanna et al.'s good/bad/random subnetworks, seeds 0-2,
                                                   # into runs/study/structured
  python benchmarks/study.py realsize              # cost of the same reductions at BERT-base and DistilBERT size
                                                   # (random weights), into runs/study/realsize (quiet machine)
  python benchmarks/study.py keep                  # the compact copy of the records (after an interrupted phase)
  python benchmarks/study.py page                  # docs/results/study.md from the kept records

``--smallest`` runs the study's smallest configuration end to end (what CI runs): MRPC seed 0, 64 training pairs,
dense and int8, 32 dev pairs, a two-round ticket search and a structured search on the same budget, into a temporary
folder, then the page from those records.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # study_page beside it
SPECS = [ROOT / "configs" / "study" / f"{task}.yaml" for task in ("sst2", "mrpc", "squad")]
TICKETS = ROOT / "configs" / "study" / "tickets_sst2.yaml"
STRUCTURED = ROOT / "configs" / "study" / "structured_sst2.yaml"
REALSIZE = ROOT / "configs" / "study" / "realsize.yaml"
OUT = ROOT / "runs" / "study"
#: where each part of the study writes its records (subfolders of OUT) and keeps their compact copy
PARTS = {"": "study_records.jsonl", "tickets": "study_tickets.jsonl", "structured": "study_structured.jsonl",
         "realsize": "study_realsize.jsonl"}
#: the kept records, compact (per-call samples and window lists dropped): what the page is rebuilt from
KEPT = ROOT / "benchmarks" / "results" / "study_records.jsonl"
PAGE = ROOT / "docs" / "results" / "study.md"
FIGURES = ROOT / "docs" / "results" / "study"
REBUILD = "python benchmarks/study.py page"
#: what each record keeps of its cost section's per-call detail: nothing (the summaries stay)
DROPPED_COST_KEYS = ("latency_samples_ms", "windows", "power")
SMALLEST = {"task": "mrpc", "model": "minilm-l6", "max_seq_len": 64,
            "train": {"epochs": 1, "max_train_examples": 64, "batch_size": 16, "min_steps": 0, "seed": 0},
            "measure": {"scenario": "offline", "batch_size": 16, "repeats": 2, "eval_max_examples": 32,
                        "warmup_calls": 1}}

log = logging.getLogger("study")


def study_configs(specs: list[Path]) -> list:
    """The study's configurations, in the order they are worth having: dense models of every task and seed
    first, then reductions by seed (seed 0 of every task before seed 1), SQuAD's long trainings last."""
    from joulebench.experiments.sweep.expand import load_sweep

    configs = [c for spec in specs for c in load_sweep(spec)]

    def order(c) -> tuple:
        return (c.task == "squad", bool(c.reductions) or c.regime != "full", c.train.seed, c.task)

    return sorted(configs, key=order)


def train(configs: list, threads: int) -> None:
    """Every training behind ``configs`` (base fine-tuning, reductions' re-trainings), cached; nothing timed."""
    import torch

    from joulebench.runner import Runner, RunOptions
    from joulebench.tasks import resolve_data_dir

    torch.set_num_threads(threads)
    runner = Runner(RunOptions(data_dir=resolve_data_dir(None)))
    seen: set[str] = set()
    for i, config in enumerate(configs, 1):
        key = runner.train_key(config) + repr(config.reductions)
        if key in seen:  # online and offline share their trainings
            continue
        seen.add(key)
        started = time.time()
        runner.built(config, "cpu")
        print(f"[{i}/{len(configs)}] trained {config.task} seed {config.train.seed} {config.regime} "
              f"{[r.name for r in config.reductions]} in {time.time() - started:.0f} s", flush=True)


def compact(record: dict) -> dict:
    """``record`` without its per-call samples, windows and power traces (the summaries stay)."""
    cost = {k: v for k, v in (record.get("cost") or {}).items() if k not in DROPPED_COST_KEYS}
    vs = cost.get("vs_baseline")
    if isinstance(vs, dict):
        cost["vs_baseline"] = {k: v for k, v in vs.items() if k not in ("baseline_windows",)}
    quality = {k: v for k, v in (record.get("quality") or {}).items() if k != "slices"}
    return {**record, "cost": cost, "quality": quality}


def measure(specs: list[Path], out: Path, kept: Path) -> None:
    """Every configuration of ``specs`` not yet measured, paired with its seed's dense model, into ``out``; then
    the compact copy of every record (``kept``), rewritten atomically."""
    from joulebench.experiments.sweep.driver import run_sweep

    for spec in specs:
        run_sweep(spec, out, keep_going=True, where=spec.name)
        keep(out, kept)


def keep(out: Path, kept: Path) -> None:
    """The compact copy of every record of ``out``, rewritten atomically (nothing when ``out`` holds none)."""
    from joulebench.results.store import ResultStore

    if not (out / "results.jsonl").is_file():
        return
    records = ResultStore.in_dir(out).records()
    tmp = kept.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(compact(r), sort_keys=True) + "\n" for r in records))
    os.replace(tmp, kept)


def keep_all(out: Path, kept_dir: Path) -> None:
    """The compact copies of every part of the study (the measured sweeps, tickets, structured)."""
    for part, name in PARTS.items():
        keep(out / part if part else out, kept_dir / name)


def tickets(spec: Path, out: Path, kept: Path) -> None:
    """Chen et al.'s study: IMP masks at every level for the search seeds, the random-pruning and re-initialisation
    baselines, the dense seeds; each ticket fine-tuned and measured (resumes from the masks and records kept)."""
    from joulebench.experiments.lottery.settings import load_study
    from joulebench.experiments.lottery.study import TicketStudy
    from joulebench.models.checkpoints import CheckpointCache
    from joulebench.tasks import resolve_data_dir

    study = TicketStudy(load_study(spec), out, resolve_data_dir(None), CheckpointCache(),
                        say=lambda m: print(m, flush=True))
    study.search()
    keep(out, kept)


def structured(spec: Path, out: Path, kept: Path, seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    """Prasanna et al.'s study: per seed the stopping-rule search, then good/bad/random subnetworks of that size,
    pruned and re-fine-tuned, beside the dense model (resumes: records already stored are read back)."""
    from joulebench.configuration import load_configs
    from joulebench.experiments.structured.study import StudySettings, run_study
    from joulebench.results.store import ResultStore
    from joulebench.runner import Runner, RunOptions
    from joulebench.tasks import resolve_data_dir

    runner = Runner(RunOptions(data_dir=resolve_data_dir(None)))
    store = ResultStore.in_dir(out)
    run_study(runner, load_configs(spec), StudySettings(seeds=seeds), store, out / "masks",
              log=lambda m: print(m, flush=True))
    keep(out, kept)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", choices=("train", "measure", "tickets", "structured", "realsize", "keep", "page"))
    parser.add_argument("--smallest", action="store_true",
                        help="the study's smallest configuration end to end in a temporary folder (what CI runs)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for the train phase")
    parser.add_argument("--task", action="append", help="only these tasks (sst2, mrpc, squad)")
    parser.add_argument("--seed", type=int, action="append",
                        help="train phase: only these seeds (to finish one seed's trainings first)")
    args = parser.parse_args(argv)
    specs = [s for s in SPECS if not args.task or s.stem in args.task]
    logging.basicConfig(level=logging.WARNING)
    if args.smallest:
        return smallest(args.phase)
    if args.phase == "train":
        train([c for c in study_configs(specs) if not args.seed or c.train.seed in args.seed], args.threads)
    elif args.phase == "measure":
        measure(specs, OUT, KEPT)
    elif args.phase == "tickets":
        tickets(TICKETS, OUT / "tickets", KEPT.parent / PARTS["tickets"])
    elif args.phase == "structured":
        structured(STRUCTURED, OUT / "structured", KEPT.parent / PARTS["structured"])
    elif args.phase == "realsize":
        measure([REALSIZE], OUT / "realsize", KEPT.parent / PARTS["realsize"])
    elif args.phase == "keep":  # the compact copies of what an interrupted phase wrote
        keep_all(OUT, KEPT.parent)
    else:
        from study_page import write_page

        write_page(KEPT, PAGE, FIGURES, SPECS, REBUILD)
    return 0


def smallest(phase: str) -> int:
    """The smallest configuration of the study through every phase: MRPC seed 0 on 64 training pairs, dense and
    int8 (OpenVINO), 32 dev pairs; the ticket and structured studies on SST-2 at that budget (two IMP rounds, one
    seed); in a temporary folder; the page built from those records, twice, byte for byte."""
    import tempfile

    import yaml
    from study_page import write_page

    with tempfile.TemporaryDirectory(prefix="joulebench-study-") as tmp:
        spec = Path(tmp) / "mrpc.yaml"
        spec.write_text(yaml.safe_dump({**SMALLEST, "name": "study-smallest",
                                        "grid": [{"reductions": [[], ["int8"]], "engine": ["torch", "openvino"]}]}))
        kept = Path(tmp) / PARTS[""]
        train(study_configs([spec]), 2)
        measure([spec], Path(tmp) / "runs", kept)
        base = {**SMALLEST, "task": "sst2", "name": "study-smallest-sst2"}
        ticket_spec = Path(tmp) / "tickets.yaml"  # two IMP rounds (30%, 60%), both baselines at 60%, two dense seeds
        ticket_spec.write_text(yaml.safe_dump({
            "configs": [base], "search": {"method": "imp", "sparsity_step": 0.3, "final_sparsity": 0.6, "seeds": [0]},
            "baselines": {"dense_seeds": [0, 1], "random_pruning": True, "random_reinit": True, "sparsities": [0.6]}}))
        tickets(ticket_spec, Path(tmp) / "runs" / "tickets", Path(tmp) / PARTS["tickets"])
        structured_spec = Path(tmp) / "structured.yaml"
        structured_spec.write_text(yaml.safe_dump(base))
        structured(structured_spec, Path(tmp) / "runs" / "structured", Path(tmp) / PARTS["structured"], seeds=(0,))
        page = Path(tmp) / "study.md"
        write_page(kept, page, Path(tmp) / "figures", [spec], "python benchmarks/study.py page")
        first = page.read_bytes()
        write_page(kept, page, Path(tmp) / "figures", [spec], "python benchmarks/study.py page")
        if page.read_bytes() != first:
            import difflib

            diff = difflib.unified_diff(first.decode().splitlines(), page.read_text().splitlines(), lineterm="", n=0)
            print("the page is not rebuilt byte for byte from its records:\n" + "\n".join(list(diff)[:20]),
                  file=sys.stderr)
            return 1
        print(page.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
