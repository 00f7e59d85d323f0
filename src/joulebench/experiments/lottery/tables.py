"""Markdown tables of ticket records: accuracy vs sparsity, price, transfer matrix. Pure functions."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable

ARMS = ("imp", "one_shot", "random_pruning", "random_reinit", "mlm_ticket", "magnitude_finetuned")


def ticket_details(record: dict) -> dict | None:
    """The details of a record's ``ticket`` reduction, or None for other records."""
    for r in record.get("reductions", []):
        if r.get("name") == "ticket":
            return r.get("details", {})
    return None


def arm(record: dict) -> str:
    """Which comparison a record belongs to: dense, imp, random_pruning, random_reinit, mlm_ticket ..."""
    d = ticket_details(record)
    if d is None:
        return "dense" if not record.get("reductions") else "other"
    prov = d.get("mask_provenance", {})
    if d.get("init") == "random":
        return "random_reinit"
    if prov.get("kind") == "random":
        return "random_pruning"
    if d.get("init") == "finetuned":
        return "magnitude_finetuned"
    if prov.get("objective") == "mlm":
        return "mlm_ticket"
    return str(prov.get("kind", "imp"))


def _metric(record: dict) -> float | None:
    quality = record.get("quality", {})
    value = quality.get(quality.get("primary_metric", "accuracy"), quality.get("accuracy"))
    return None if value is None else float(value)


def _fmt(values: list[float], matching: list[bool | None]) -> str:
    if not values:
        return "–"
    text = f"{statistics.fmean(values):.4f}"
    if len(values) > 1:
        text += f" (n={len(values)})"
    if matching and all(m is True for m in matching):
        text += " ✓"
    return text


def _dense_line(records: Iterable[dict], task: str) -> tuple[str, float | None, float | None]:
    found = [_metric(r) for r in records if r.get("task") == task and arm(r) == "dense"]
    values = [v for v in found if v is not None]
    if not values:
        return "–", None, None
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.4f} ± {std:.4f} (n={len(values)})", mean, std


def accuracy_table(records: list[dict], task: str, same_task_masks: bool = True) -> str:
    """Accuracy vs sparsity for IMP, one-shot, random pruning, random re-init and MLM tickets on ``task``.

    ✓ marks a matching subnetwork (paired non-inferiority against the dense seeds); only records with
    ``execution: dense`` count (CSR runs repeat the same trained weights).
    """
    dense_text, _, _ = _dense_line(records, task)
    cells: dict[float, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        d = ticket_details(r)
        if r.get("task") != task or d is None or d.get("execution") != "dense":
            continue
        prov_task = d.get("mask_provenance", {}).get("task")
        a = arm(r)
        if same_task_masks and a != "mlm_ticket" and prov_task not in (None, task):
            continue
        level = round(float(d.get("sparsity", 0.0)), 3)
        cells[level][a].append((_metric(r), d.get("matching")))
    arms = [a for a in ARMS if any(a in row for row in cells.values())]
    header = "| sparsity | " + " | ".join(arms) + " |"
    lines = [f"Task {task}: dense {dense_text}; ✓ = matching (paired non-inferiority to the dense model)", "", header,
             "|" + "---|" * (len(arms) + 1)]
    lines.append("| 0% (dense) | " + " | ".join(dense_text if a in ("imp", "one_shot") else "" for a in arms) + " |")
    for level in sorted(cells):
        row = []
        for a in arms:
            entries = [e for e in cells[level].get(a, []) if e[0] is not None]
            row.append(_fmt([e[0] for e in entries], [e[1] for e in entries]))
        lines.append(f"| {level:.0%} | " + " | ".join(row) + " |")
    for a in ("imp", "one_shot", "mlm_ticket"):
        matching = [lv for lv in sorted(cells) if cells[lv].get(a)
                    and all(m is True for _, m in cells[lv][a])]
        if a in arms:
            best = f"{max(matching):.0%}" if matching else "none"
            lines.append(f"\nHighest matching sparsity ({a}): {best}")
    return "\n".join(lines)


def price_table(records: list[dict], task: str) -> str:
    """What tickets cost: dense-kernel vs CSR latency, nonzero FLOPs, compressed size (IMP tickets)."""
    rows: dict[float, dict[str, dict]] = defaultdict(dict)
    dense = [r for r in records if r.get("task") == task and arm(r) == "dense"]
    for r in records:
        d = ticket_details(r)
        if r.get("task") != task or d is None or arm(r) not in ("imp", "one_shot"):
            continue
        if d.get("mask_provenance", {}).get("task") not in (None, task):
            continue
        rows[round(float(d["sparsity"]), 3)].setdefault(d.get("execution", "dense"), r)
    lines = [
        f"Task {task}: price of IMP tickets (cost measured per example; energy method in brackets)", "",
        "| sparsity | p50 ms dense kernels | J/ex dense kernels | p50 ms CSR | J/ex CSR | GFLOPs/ex dense | "
        "GFLOPs/ex nonzero | MB dense | MB CSR | MB bitmask |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in dense[:1]:
        c = r["cost"]
        lines.append(f"| 0% (dense) | {_n(c.get('latency_ms_p50'))} | {_n(c.get('energy_j_per_example'))} "
                     f"[{c.get('energy_method')}] | – | – | {_n(_g(c.get('flops_per_example')))} | "
                     f"{_n(_g(c.get('flops_per_example')))} | {_n(_mb(_param_bytes(r)))} | – | – |")
    for level in sorted(rows):
        dense_r, csr_r = rows[level].get("dense"), rows[level].get("sparse_csr")
        d = ticket_details(dense_r or csr_r or {}) or {}
        dc = (dense_r or {}).get("cost", {})
        cc = (csr_r or {}).get("cost", {})
        lines.append(
            f"| {level:.0%} | {_n(dc.get('latency_ms_p50'))} | {_n(dc.get('energy_j_per_example'))} | "
            f"{_n(cc.get('latency_ms_p50'))} | {_n(cc.get('energy_j_per_example'))} | "
            f"{_n(_g(dc.get('flops_per_example')))} | {_n(_g(d.get('flops_per_example_nonzero')))} | "
            f"{_n(_mb(d.get('model_bytes_dense')))} | {_n(_mb(d.get('model_bytes_csr')))} | "
            f"{_n(_mb(d.get('model_bytes_bitmask')))} |"
        )
    return "\n".join(lines)


def transfer_matrix(records: list[dict], tasks: list[str], sparsity: float) -> str:
    """Rows: where the mask was found (task or MLM); columns: the task it was fine-tuned on."""
    cells: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        d = ticket_details(r)
        if d is None or d.get("execution") != "dense" or d.get("init") not in ("pretrained", "rewind"):
            continue
        if abs(float(d.get("sparsity", -1)) - sparsity) > 0.005 or arm(r) not in ("imp", "one_shot", "mlm_ticket"):
            continue
        prov = d.get("mask_provenance", {})
        source = "MLM" if prov.get("objective") == "mlm" else str(prov.get("task"))
        cells[source][r["task"]].append((_metric(r), d.get("matching")))
    lines = [f"Transfer at {sparsity:.0%} sparsity: rows = mask found on, columns = fine-tuned on; ✓ = matching", "",
             "| mask from \\ fine-tuned on | " + " | ".join(tasks) + " |", "|" + "---|" * (len(tasks) + 1)]
    lines.append("| dense | " + " | ".join(_dense_line(records, t)[0] for t in tasks) + " |")
    for source in sorted(cells, key=lambda s: (s == "MLM", s)):
        row = []
        for t in tasks:
            entries = [e for e in cells[source].get(t, []) if e[0] is not None]
            row.append(_fmt([e[0] for e in entries], [e[1] for e in entries]))
        lines.append(f"| {source} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def _param_bytes(record: dict) -> float | None:
    count = record.get("cost", {}).get("param_count")
    return None if count is None else count * 4


def _g(flops: float | None) -> float | None:
    return None if flops is None else flops / 1e9


def _mb(n: float | None) -> float | None:
    return None if n is None else n / 1e6


def _n(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"
