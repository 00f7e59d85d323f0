"""Markdown summary: configuration table, frontier members, budget picks, marginal gains."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from joulebench.analysis.aggregate import Point
from joulebench.analysis.budgets import point_energy_per_correct
from joulebench.analysis.cross_task import CrossTask
from joulebench.analysis.paired import (
    CostRatio,
    aa_ratio,
    break_even_queries,
    cost_ratio,
    engine_split,
    noise_floor,
    paired_difference,
    slice_differences,
    slice_sizes,
    total_energy_j,
    training_energy_j,
    training_steps,
    within_floor,
)
from joulebench.analysis.summary import Section, other_qualities, reported_split
from joulebench.measure.energy.power_model import GridIntensity
from joulebench.report.format import (
    DASH,
    SHORT_NAMES,
    diff_text,
    energy_method_text,
    metric_text,
    num,
    point_engine,
    quality_name,
    ratio_text,
    rule_text,
)

#: Queries for the "training + N inferences" column.
TOTAL_QUERIES = 1_000_000


def _cell(text: str) -> str:
    """Escape a table cell: a raw ``|`` would split the column."""
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Markdown table lines."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _carbon_cell(p: Point, carbon: GridIntensity | None) -> list[str]:
    if carbon is None:
        return []
    energy = p.mean("energy_j_per_example")
    return [DASH if energy is None else f"{carbon.grams(energy * 1000):.3g}"]


def _runtime(engine: str) -> str:
    """The execution engine under an engine label: torch's int8 kernels and casts still run in torch."""
    return engine.split()[0].replace("torch_ao", "torch").replace("torchao", "torch")


def _configurations(section: Section, carbon: GridIntensity | None = None) -> list[str]:
    """Table of every configuration in the section (with gCO2e per 1,000 examples when a grid intensity is given)."""
    metric = section.quality_metric
    qa = metric == "span_f1"  # question answering: exact match too, costs per question
    per = "question" if qa else "example"
    others = other_qualities(section)
    header = ["configuration", "engine", "n", f"{quality_name(metric)} ± 95% CI",
              *(["exact match ± 95% CI"] if qa else []), *(f"{quality_name(m)} ± 95% CI" for m in others),
              f"energy J/{per} (method)", "energy per correct (J)", "latency p50 (ms)", "latency p99 (ms)",
              "throughput (ex/s)", "peak mem (MB)", f"FLOPs/{per}",
              *([f"gCO2e per 1,000 {per}s (estimate)"] if carbon is not None else [])]
    rows = []
    for p in section.points:
        epc = point_energy_per_correct(p)
        energy = metric_text(p, "energy_j_per_example", with_ci=True)
        if p.energy_method and energy != DASH:
            energy += f" ({p.energy_method})"
        label = p.label + (" ★" if any(p is b for b in section.baselines) else "") + \
            (" ⚠ " + ("promise broken" if "promise broke" in section.excluded[p.label] else "saved nothing")
             if p.label in section.excluded else "")
        rows.append([label, point_engine(p), str(p.n), metric_text(p, metric, with_ci=True),
                     *([metric_text(p, "exact_match", with_ci=True)] if qa else []),
                     *(metric_text(p, m, with_ci=True) for m in others), energy,
                     num(epc.mean if epc else None), metric_text(p, "latency_ms_p50"),
                     metric_text(p, "latency_ms_p99"), metric_text(p, "throughput_eps"),
                     metric_text(p, "peak_mem_mb"), metric_text(p, "flops_per_example"), *_carbon_cell(p, carbon)])
    notes = ["", "★ baseline: full fine-tuning, no reductions."]
    if carbon is not None:
        notes.append(f"Carbon (an estimate on top of the energy figure and its method): energy x grid intensity "
                     f"{carbon.g_per_kwh:g} gCO2e/kWh ({carbon.source}).")
    base_engines = {point_engine(b) for b in section.baselines}
    base_runtimes = {_runtime(e) for e in base_engines}
    moved = [p.label for p in section.points if _runtime(point_engine(p)) not in base_runtimes]
    if moved:
        split = [p.label for p in section.points if p.label in moved and any(
            engine_split(p, b) is not None for b in section.baselines)]
        notes.append(f"Engine: {', '.join(moved)} ran on another engine than the baseline ({', '.join(base_engines)}); "
                     "their cost ratios include the change of engine as well as the reduction"
                     + ("; the split into engine x reduction is measured in the table *Engine x reduction* below ("
                        + ", ".join(split) + ")." if split else " (records made without the split)."))
    if qa:
        notes.append("Question answering: energy and FLOPs are per question (a question may span several windows); "
                     "latency and throughput are per window; a correct prediction is an exact match.")
    return _table(header, rows) + notes


def _frontiers(section: Section) -> list[str]:
    """Frontier members per cost axis, cheapest first."""
    rows = []
    for x_metric, frontier in section.frontiers.items():
        strict = ", ".join(p.label for p in frontier.strict) or DASH
        extra = ", ".join(p.label for p in frontier.noise_aware if not frontier.on_strict(p))
        excluded = "; ".join(f"{e.point.label}: {e.reason}" for e in frontier.excluded)
        rows.append([f"{quality_name(section.quality_metric)} vs {SHORT_NAMES.get(x_metric, x_metric)}",
                     strict, extra or DASH, excluded or DASH])
    header = ["axes", "Pareto frontier (strict, cheapest first)",
              "also on frontier within noise", "excluded (missing value)"]
    return _table(header, rows)


def _budgets(section: Section) -> list[str]:
    """Cheapest configuration within each tolerance of each baseline, by both rules."""
    if not section.budget_picks:
        return ["No baseline (regime `full`, no reductions) measured: budgets not computed."]
    rows = []
    for pick in section.budget_picks:
        chosen = pick.pick
        label = DASH if chosen is None else chosen.label + (" †" if pick.trained_longer else "")
        rows.append([
            pick.baseline.label,
            f"{100 * pick.tolerance_abs:g} pt",
            pick.rule,
            label if chosen else "none qualifies",
            diff_text(pick.quality_diff) if chosen else DASH,
            metric_text(chosen, pick.cost_metric) if chosen else DASH,
            ratio_text(pick.ratio) if chosen else DASH,
        ])
    name = quality_name(section.quality_metric)
    split = reported_split(section)
    header = ["baseline", f"max {name} drop", "rule", "cheapest configuration", f"Δ {name} on {split} (paired 95% CI)",
              "energy J/example", "energy vs baseline (paired 95% CI)"]
    notes = ["", *(f"- {rule}: {rule_text(rule, section.quality_metric)}"
                   for rule in dict.fromkeys(p.rule for p in section.budget_picks)),
             "- † trained longer than the baseline (more optimizer steps): its extra training energy is in the "
             "table below."]
    floors = {p.floor for p in section.budget_picks if p.floor is not None}
    if floors:
        notes.append(f"- Tie rule: configurations whose energy ratios differ by less than the A/A noise floor "
                     f"(±{100 * max(floors):.1f}%) are tied; the tie goes to the better {name}.")
    for label, why in section.excluded.items():
        notes.append(f"- Not considered: {label}: {why}.")
    for pick in section.budget_picks:
        if pick.tied and pick.pick is not None:
            notes.append(f"- {100 * pick.tolerance_abs:g} pt, {pick.rule}: {pick.pick.label} is tied on energy with "
                         f"{', '.join(p.label for p in pick.tied)} (within the floor).")
    return _table(header, rows) + notes


def _paired(section: Section) -> list[str]:
    """Every configuration against its baseline: paired quality, paired cost, training cost."""
    rows = []
    for base in section.baselines:
        floor, aa = noise_floor(base), aa_ratio(base)
        for p in section.points:
            if p.model != base.model:
                continue
            diff = paired_difference(p, base, section.quality_metric) if p is not base else None
            p_value = DASH if diff is None or diff.mcnemar_p is None else f"{diff.mcnemar_p:.3g}"
            even = break_even_queries(p, base)
            energy_ratio = cost_ratio(p, base, "energy_j_per_example")
            rows.append([
                p.label + (" ★" if p is base else ""),
                diff_text(diff) if p is not base else "0 (baseline)",
                p_value,
                ratio_text(energy_ratio if p is not base else aa or energy_ratio)
                + (" (A/A)" if p is base and aa is not None else ""),
                _versus_floor(energy_ratio, floor) if p is not base else DASH,
                ratio_text(cost_ratio(p, base, "latency_ms_mean")),
                DASH if training_steps(p) is None else str(training_steps(p)),
                num(training_energy_j(p)),
                num(total_energy_j(p, TOTAL_QUERIES)),
                DASH if even is None else ("0 (no extra training)" if even == 0 else f"{even:,.0f}"),
            ])
    if not rows:
        return ["No baseline measured: nothing to pair with."]
    header = ["configuration", f"Δ {quality_name(section.quality_metric)} vs baseline (paired bootstrap 95% CI)",
              "McNemar p",
              "energy ratio (ABBA 95% CI)", "energy vs the A/A floor", "time ratio (ABBA 95% CI)", "training steps",
              "training energy (J)",
              f"training + {TOTAL_QUERIES:,} queries (J)", "break-even queries"]
    notes = ["", "The baseline's row shows it timed against itself in the same rounds (A/A): the spread a ratio has "
             "by noise alone. Its reach from 1 is the noise floor; a configuration whose energy ratio is within "
             "the floor of 1 is *tied* with the baseline, and two configurations within the floor of each other are "
             "tied in the budget picks (the tie goes to the better quality). *Run to run* widens the ABBA interval by "
             "the floor on both sides: the range in which a repeat of the sweep on this machine is expected "
             "(benchmarks/demo_repeatability.py: inside it for every ratio of three demo runs, against 36 of 44 "
             "inside the ABBA interval alone).",
             "Ratios are configuration / baseline per ABBA round (median, Student-t interval on the logs); "
             "`(unpaired)` means the record was not timed with this baseline. Training energy covers the base "
             "fine-tuning and every re-training the configuration needed (energy method as above); break-even is "
             "the number of queries after which the extra training has paid for itself."]
    return _table(header, rows) + notes


def _versus_floor(ratio: CostRatio | None, floor: float | None) -> str:
    if ratio is None or floor is None:
        return DASH
    verdict = ("tied" if within_floor(ratio.ratio, 1.0, floor)
               else ("cheaper" if ratio.ratio < 1 else "dearer")) + f" (floor ±{100 * floor:.1f}%)"
    if ratio.low is None or ratio.high is None:
        return verdict
    return f"{verdict}; run to run [{ratio.low / (1 + floor):.2f}, {ratio.high * (1 + floor):.2f}]"


def _engines(section: Section) -> list[str]:
    """Reductions on another engine: their ratio split into engine x reduction (all timed in the same rounds)."""
    rows = []
    for base in section.baselines:
        for p in section.points:
            split = engine_split(p, base) if p is not base else None
            if split is None:
                continue
            engine, on_engine, reduction = split
            rows.append([p.label, engine, ratio_text(cost_ratio(p, base, "energy_j_per_example")),
                         ratio_text(on_engine), ratio_text(reduction)])
    if not rows:
        return []
    header = ["configuration", "engine", "energy vs baseline", "engine: dense on it vs baseline",
              "reduction: vs dense on its engine"]
    return ["### Engine x reduction", ""] + _table(header, rows) + [
        "", "Each row's model, the baseline and the dense model on the row's engine were timed in the same rounds; "
            "the whole ratio is the product of the two parts (each a median with its 95% interval)."]


def _slices(section: Section) -> list[str]:
    """Paired accuracy difference per slice of the evaluation set, for every reduced configuration."""
    lines: list[str] = []
    for base in section.baselines:
        sizes = slice_sizes(base)
        if not sizes:
            continue
        names = list(sizes)
        rows = []
        for p in section.points:
            if p is base or p.model != base.model:
                continue
            by_slice = slice_differences(p, base, section.quality_metric)
            rows.append([p.label, *(diff_text(by_slice.get(name)) for name in names)])
        if rows:
            header = ["configuration", *(f"{name} (n={sizes[name]})" for name in names)]
            lines += _table(header, rows)
    if not lines:
        return ["No per-example outcomes with slices in these records."]
    return lines + ["", "Slices are declared per task and computed from the data (length quartiles by words; "
                    "negation cues; words seen fewer than 5 times in the training split; gold label); none is "
                    "tuned. Differences are paired on the examples of the slice."]


def _gains(section: Section) -> list[str]:
    """Marginal accuracy per joule between neighbours on the energy frontier."""
    if not section.gains:
        return ["Fewer than two points on the energy frontier: no marginal gains."]
    rows = []
    for g in section.gains:
        per_j = None if g.per_unit_cost is None else 100 * g.per_unit_cost
        rows.append([g.cheaper.label, g.dearer.label, f"{100 * g.delta_quality:+.2f}",
                     f"{num(g.delta_cost)}", num(per_j)])
    name = quality_name(section.quality_metric)
    header = ["from", "to", f"Δ {name} (pt)", "Δ energy (J/example)", f"{name} pt per J/example"]
    return _table(header, rows)


def _cross_task(comparison: CrossTask, image: str | None) -> list[str]:
    """The same reductions across tasks: each task's quality change and energy ratio, and each
    task's frontier on normalised axes."""
    tasks = [t.task for t in comparison.tasks]
    lines = [f"## Across tasks ({comparison.scenario})", "",
             "Each task against its own dense baseline (same model and scenario): quality in the task's own "
             "metric (accuracy; F1 for question answering), the paired difference in points with its bootstrap "
             "95% interval; energy as the paired ABBA ratio to that baseline (per question for question "
             "answering). Reductions are matched by name and parameters.", ""]
    if image:
        lines += [f"![quality retained vs energy ratio, one frontier per task]({image})", ""]
    rows = []
    for label, per_task in comparison.rows:
        cells = [label]
        for task in tasks:
            tp = per_task.get(task)
            if tp is None:
                cells.append(DASH)
            elif tp.delta is None and tp.reductions == "dense":
                cells.append("baseline")
            else:
                retained = DASH if tp.retained is None else f"{100 * tp.retained:.1f}% kept"
                cells.append(f"{diff_text(tp.delta)} ({retained}); energy {ratio_text(tp.cost)}")
        rows.append(cells)
    header = ["reductions", *(f"{t.task} ({quality_name(t.points[0].quality_metric)})" for t in comparison.tasks)]
    lines += _table(header, rows) if rows else ["No reduction was measured on two tasks."]
    lines += ["", "Frontier per task (cheapest first; quality retained, energy ratio):", ""]
    for t in comparison.tasks:
        members = ", ".join(f"{p.reductions} ({100 * p.retained:.1f}%, {p.cost.ratio:.2f}×)"  # type: ignore
                            for p in t.frontier) or DASH
        lines.append(f"- **{t.task}** (baseline {t.baseline.label}): {members}")
    return lines + [""]


def _images(shown: Sequence[tuple[str, str]]) -> list[str]:
    """Markdown image links (caption, file name relative to the report)."""
    return [f"![{_cell(caption).replace(']', ')')}]({name})" for caption, name in shown]


def render_markdown(sections: Sequence[Section], source: str = "", n_records: int = 0,
                    images: Mapping[tuple[str, str], Sequence[tuple[str, str]]] | None = None,
                    across: Sequence[tuple[CrossTask, str | None]] = (),
                    carbon: GridIntensity | None = None) -> str:
    """The Markdown report.

    Args:
        sections: analysed sections.
        source: where the records came from, for the header.
        n_records: number of records read.
        images: (task, scenario) -> (caption, PNG file name) written beside the report.
        across: cross-task comparisons (one per scenario with two or more tasks) and their plot.
        carbon: a :class:`~joulebench.measure.energy.power_model.GridIntensity` for a gCO2e column, or None.

    Returns:
        Markdown text.
    """
    n_points = sum(len(s.points) for s in sections)
    lines = ["# joulebench report", ""]
    if source:
        lines.append(f"Source: `{source}` — {n_records} record(s), {n_points} configuration(s) "
                     "(seeds and repeats averaged; CIs are 95%).")
        lines.append("")
    for section in sections:
        chosen_apart = any(p.chosen_on for p in section.budget_picks)
        lines += [f"## {section.task} / {section.scenario}", "",
                  f"Quality figures are on the `{reported_split(section)}` split"
                  + ("; budget picks were chosen on `validation` (the configurations scored there, never on the "
                     "split reported)" if chosen_apart else "") + ".", ""]
        lines.append("> " + energy_method_text(section.energy_methods))
        for note in section.energy_notes:
            lines.append(f"> - {note}")
        lines.append("")
        lines += ["### Configurations", ""] + _configurations(section, carbon) + [""]
        lines += ["### Pareto frontiers", ""] + _frontiers(section) + [""]
        lines += ["### Cheapest within tolerance of baseline", ""] + _budgets(section) + [""]
        lines += ["### Paired with the baseline: quality, cost and training", ""] + _paired(section) + [""]
        engines = _engines(section)
        if engines:
            lines += engines + [""]
        lines += [f"### Where the loss falls: paired Δ {quality_name(section.quality_metric)} per slice", ""] \
            + _slices(section) + [""]
        lines += ["### Marginal gains along the energy frontier", ""] + _gains(section) + [""]
        shown = (images or {}).get((section.task, section.scenario))
        if shown:
            lines += ["### Plots", ""] + _images(shown) + [""]
    for comparison, image in across:
        lines += _cross_task(comparison, image)
    if not sections:
        lines.append("No records.")
    return "\n".join(lines).rstrip() + "\n"
