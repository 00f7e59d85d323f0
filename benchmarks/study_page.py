"""docs/results/study.md from the study's kept records (benchmarks/study.py page): everything on the page is
computed here from those records, so re-running the page's Rebuild command reproduces it byte for byte."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections import Counter, defaultdict
from pathlib import Path


def _records(kept: Path) -> list[dict]:
    if not kept.is_file():
        return []
    return [json.loads(line) for line in kept.read_text().splitlines() if line.strip()]


def _planned(specs: list[Path]) -> dict[str, list]:
    from joulebench.experiments.sweep.expand import load_sweep

    out: dict[str, list] = defaultdict(list)
    for spec in specs:
        for config in load_sweep(spec):
            out[config.task].append(config)
    return out


def _label(config) -> str:
    parts = [r.name for r in config.reductions] or ["dense"]
    engine = "" if config.engine == "torch" else f" on {config.engine}"
    regime = "" if config.regime == "full" else f" ({config.regime})"
    return "+".join(parts) + regime + engine + ("" if config.measure.scenario == "offline" else " online")


def _identity(config: dict) -> str:
    """A configuration as the study plans it: everything but its label and the data binding (a record's data digest
    is checked when it is measured; the page must read the same on a machine without the data)."""
    kept = {k: v for k, v in config.items() if k not in ("name", "task_data", "task_spec")}
    return json.dumps(kept, sort_keys=True, default=str)


def _completeness(planned: dict[str, list], records: list[dict]) -> list[str]:
    done = {_identity(r["config"]) for r in records}
    lines = ["| task | configurations planned | measured | seeds measured (dense) | still to measure |",
             "|---|---|---|---|---|"]
    for task, configs in planned.items():
        todo_configs = [c for c in configs if _identity(c.to_dict()) not in done]
        seeds = sorted({r["config"]["train"]["seed"] for r in records if r["task"] == task and not r["reductions"]})
        missing = Counter(_label(c) for c in todo_configs)
        todo = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in sorted(missing.items())) or "nothing"
        lines.append(f"| {task} | {len(configs)} | {len(configs) - len(todo_configs)} | "
                     f"{', '.join(map(str, seeds)) or 'none'} | {todo} |")
    return lines


def _provenance(records: list[dict]) -> list[str]:
    if not records:
        return ["No record has been measured yet."]
    machines = Counter(f"{r['env'].get('cpu')} ({', '.join(r['env'].get('cpu_features') or [])}), "
                       f"{r['env'].get('threads')} threads" for r in records)
    commits = sorted({str(r["env"].get("git_rev"))[:10] for r in records})
    times = sorted(r["env"].get("time_utc") or "" for r in records)
    budgets = Counter(
        f"{r['task']}: {r['config']['train'].get('max_train_examples') or 'all'} training examples, "
        f"{r['config']['train']['epochs']} epoch(s), batch {r['config']['train']['batch_size']}, lr "
        f"{r['config']['train']['lr']}, {r['config']['train'].get('precision', 'fp32')} training"
        for r in records)
    lines = [f"- machine: {m} ({n} records)" for m, n in machines.most_common()]
    lines.append(f"- commits: {', '.join(commits)}; measured {times[0]} to {times[-1]} (UTC)")
    lines += [f"- training budget, {b} ({n} records)" for b, n in sorted(budgets.items())]
    methods = Counter(r["cost"].get("energy_method") for r in records)
    lines.append("- energy: " + ", ".join(f"{m} ({n})" for m, n in methods.items())
                 + "; an estimate is a CPU power model, not a measurement (each record's energy_note says which)")
    return lines


#: Prasanna et al.'s "winning": a re-fine-tuned subnetwork within this many accuracy points of its seed's dense model
#: (on average over seeds); stated on the page with the rule
WINNING_POINTS = 2.0


def _accuracy(record: dict) -> float | None:
    value = (record.get("quality") or {}).get("accuracy")
    return None if value is None else float(value)


def _chen(tickets: list[dict]) -> tuple[str, str]:
    """Chen et al.'s SST-2 claim at 60% sparsity, from the ticket records: status and why (with the figures)."""
    from joulebench.experiments.lottery.tables import arm, ticket_details

    at60: dict[str, list[dict]] = defaultdict(list)
    for record in tickets:
        details = ticket_details(record)
        if details is not None and record.get("task") == "sst2" and round(float(details.get("sparsity", 0)), 3) == 0.6:
            at60[arm(record)].append(record)
    dense = [a for r in tickets if arm(r) == "dense" and (a := _accuracy(r)) is not None]
    if not at60.get("imp") or not dense:
        return "not testable yet", ("the lottery-ticket study at full scale (`python benchmarks/study.py tickets`: IMP "
                                    "to 70% in 10% rounds, each a full fine-tuning of 67,349 sentences, with its "
                                    "baselines) has no IMP ticket at 60% and dense seeds in the kept records yet")

    def said(name: str) -> str:
        found = at60.get(name, [])
        if not found:
            return f"{name.replace('_', ' ')}: not run"
        matching = sum(bool(ticket_details(r).get("matching")) for r in found)
        accs = [a for r in found if (a := _accuracy(r)) is not None]
        mean = sum(accs) / len(accs) if accs else float("nan")
        return f"{name.replace('_', ' ')} {mean:.4f} ({matching} of {len(found)} matching)"

    imp = at60["imp"]
    all_match = all(bool(ticket_details(r).get("matching")) for r in imp)
    baselines_fail = all(not ticket_details(r).get("matching") for name in ("random_pruning", "random_reinit")
                         for r in at60.get(name, []))
    status = "reproduced" if all_match and baselines_fail else "not reproduced"
    why = (f"dense {sum(dense) / len(dense):.4f} over {len(dense)} seeds; {said('imp')}, {said('random_pruning')}, "
           f"{said('random_reinit')}; matching = the 95% paired-bootstrap interval of the difference to the dense "
           f"model excludes the tolerance (ticket records' matching_rule)")
    return status, why


def _prasanna(structured: list[dict]) -> tuple[str, str]:
    """Prasanna et al.'s claim from the structured study's records (names: dense seed N, structured V K seed N)."""
    by_seed: dict[int, dict[str, float]] = defaultdict(dict)
    for record in structured:
        match = re.match(r"(?:dense|structured (\w+) (pruned|retrained(?: [\d.]+ ep)?)) seed (\d+)$",
                         record.get("name") or "")
        accuracy = _accuracy(record)
        if match is None or accuracy is None or record.get("scenario") != "offline":
            continue
        variant, kind, seed = match.groups()
        by_seed[int(seed)]["dense" if variant is None else f"{variant}/{kind}"] = accuracy
    seeds = sorted(s for s, found in by_seed.items() if {"dense", "good/retrained", "bad/retrained"} <= set(found))
    if not seeds:
        return "not testable yet", ("the good/bad/random structured study at full scale (`python benchmarks/study.py "
                                    "structured`) has no seed with dense, good and bad re-fine-tuned records yet")
    gaps = {v: [100 * (by_seed[s]["dense"] - by_seed[s][v]) for s in seeds if v in by_seed[s]]
            for v in ("good/retrained", "bad/retrained", "random/retrained")}
    mean_gap = {v: sum(g) / len(g) for v, g in gaps.items() if g}
    status = "reproduced" if all(mean_gap.get(v, 99.0) <= WINNING_POINTS for v in ("good/retrained", "bad/retrained")) \
        else "not reproduced"
    why = "; ".join(f"{v} {abs(gap):.2f} points {'below' if gap >= 0 else 'above'} dense"
                    for v, gap in mean_gap.items())
    return status, (f"{why} (mean over seeds {', '.join(map(str, seeds))}); winning = within {WINNING_POINTS:g} points "
                    "of the seed's dense model after re-fine-tuning")


def _ratio(vs: dict, key: str) -> str:
    found = vs.get(key) or {}
    ratio, ci = found.get("ratio"), found.get("ci95")
    if ratio is None:
        return "–"
    return f"{ratio:.2f}x" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if isinstance(ci, list) and None not in ci else "")


def _realsize(records: list[dict]) -> list[str]:
    """Per real-size model: each configuration's energy and p50 latency against that model's dense torch fp32 run
    (ratio with its 95% interval over the ABBA rounds), FLOPs and parameters; random weights, so no quality."""
    if not records:
        return ["BERT-base and DistilBERT shapes with random weights under the same reductions: not in the kept "
                "records yet (`python benchmarks/study.py realsize` measures them; `benchmarks/families_cost.py` "
                "times a few alone)."]
    lines = ["Random weights (the configs shipped with joulebench): cost only. Each row is timed in ABBA rounds "
             "against its model's dense torch fp32 configuration on the same 256 SST-2 dev sentences (64 tokens, "
             "batches of 64); ratios below 1 are cheaper, with the 95% interval over rounds.", "",
             "| model | engine | reductions | energy vs dense | p50 latency vs dense | GFLOPs/ex | params (M) |",
             "|---|---|---|---|---|---|---|"]
    for record in sorted(records, key=lambda r: (r["model"], r.get("engine") or "", _names(r))):
        cost = record.get("cost") or {}
        vs = cost.get("vs_baseline") or {}
        flops, params = cost.get("flops_per_example"), cost.get("param_count")
        lines.append(f"| {record['model'].split(':', 1)[-1]} | {record.get('engine') or 'torch eager'} | "
                     f"{_names(record) or 'dense'} | {_ratio(vs, 'energy')} | {_ratio(vs, 'latency_p50')} | "
                     f"{'–' if flops is None else f'{flops / 1e9:.2f}'} | "
                     f"{'–' if params is None else f'{params / 1e6:.1f}'} |")
    return lines


def _names(record: dict) -> str:
    return " + ".join(r["name"] + ("" if not (r.get("params") or {}) else
                                   " " + ",".join(f"{k}={v}" for k, v in sorted(r["params"].items())))
                      for r in record.get("reductions") or [])


def _claims(tickets: list[dict], structured: list[dict]) -> list[str]:
    lines = ["| claim | status here | why |", "|---|---|---|"]
    chen = ("Chen et al. 2020: IMP subnetworks of pre-trained BERT at 60% sparsity match the dense model on SST-2 "
            "(with random-pruning and re-initialisation baselines that do not)")
    prasanna = ("Prasanna et al. 2020: structured subnetworks chosen by importance ('good') and the worst ones "
                "('bad') both re-fine-tune to near the dense model ('all tickets are winning')")
    for claim, (status, why) in ((chen, _chen(tickets)), (prasanna, _prasanna(structured))):
        lines.append(f"| {claim} | {status} | {why} |")
    return lines


def write_page(kept: Path, page: Path, figures: Path, specs: list[Path], rebuild: str) -> None:
    """The page and its figures (PNG frontiers, the interactive HTML report) from the kept records."""
    from joulebench.report.build import build_report

    records = _records(kept)
    tickets = _records(kept.parent / "study_tickets.jsonl")
    structured = _records(kept.parent / "study_structured.jsonl")
    realsize = _records(kept.parent / "study_realsize.jsonl")
    planned = _planned(specs)
    lines = ["# The study at full scale", "",
             f"Rebuild: `{rebuild}` (from `{kept.name}`, the kept records; `python benchmarks/study.py train` and "
             "`measure` add records, resumably)", "",
             "all-MiniLM-L6-v2 (the packaged model) fine-tuned on the full training sets of SST-2 (67,349 sentences), "
             "MRPC (3,668 pairs) and SQuAD v1.1 (87,599 questions) with seeds 0, 1 and 2, every reduction at two or "
             "three strengths (configs/study/*.yaml), each timed in ABBA rounds with its seed's dense model on the "
             "task's whole dev set. Every figure below is computed from the kept records by this page's Rebuild "
             "command; nothing is copied by hand.", "",
             "## Where the study stands", "", *_completeness(planned, records), "",
             "## Machine, commits and budgets", "", *_provenance(records), "",
             "## The papers' claims", "",
             f"From `study_tickets.jsonl` ({len(tickets)} records) and `study_structured.jsonl` ({len(structured)} "
             "records) beside the kept records.", "", *_claims(tickets, structured), "",
             "## Real-size cost", "", *_realsize(realsize), ""]
    if figures.exists():
        shutil.rmtree(figures)
    figures.mkdir(parents=True)
    if records:
        with tempfile.TemporaryDirectory(prefix="joulebench-study-page-") as tmp:
            store = Path(tmp) / "results.jsonl"
            store.write_text(kept.read_text())
            written = build_report(store, figures)
            report = (figures / "report.md").read_text().replace(str(store), kept.name)
            (figures / "report.md").unlink()
            html = figures / "report.html"
            if html.is_file():  # the same source line, without the temporary folder's random name
                html.write_text(html.read_text().replace(str(store), kept.name))
        body = re.sub(r"\]\((?!https?:)([^)]+\.png)\)", lambda m: f"]({figures.name}/{m.group(1)})", report)
        body = re.sub(r"^# ", "## ", body, count=1, flags=re.M)
        lines += ["## Per task: frontiers, seeds, budgets, break-even", "",
                  f"The interactive report (plotly, about 5 MB, so not committed) is written beside the figures as "
                  f"`{figures.name}/report.html` by the Rebuild command.", "",
                  body.rstrip(), ""]
        del written
    page.write_text("\n".join(lines).rstrip() + "\n")
