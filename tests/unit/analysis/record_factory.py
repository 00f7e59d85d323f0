"""Synthetic result records for tests: realistic values, energy_method "estimate".

These are inputs to the analysis, shaped like ``joulebench.results.schema`` documents.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence


def make_record(
    *,
    task: str = "sst2",
    model: str = "minilm-l6",
    regime: str = "full",
    reductions: Sequence[tuple[str, dict]] = (),
    scenario: str = "offline",
    seed: int = 0,
    accuracy: float | None = 0.90,
    energy: float | None = 0.05,
    p50: float | None = 4.0,
    p99: float | None = 6.5,
    peak_mem: float | None = 310.0,
    flops: float | None = 1.1e9,
    throughput: float | None = 240.0,
    n_examples: int = 872,
    energy_method: str | None = "estimate",
    extra_train: dict | None = None,
    details: dict | None = None,
    name: str | None = None,
) -> dict:
    """One record; ``reductions`` are (name, params) pairs, ``details`` go on the last one."""
    reds = [{"name": key, "params": dict(params), "details": {}} for key, params in reductions]
    if details and reds:
        reds[-1]["details"] = dict(details)
    # Shaped like joulebench.config.schema.RunConfig.to_dict().
    config = {
        "task": task,
        "model": model,
        "regime": regime,
        "max_seq_len": 128,
        "train": {"epochs": 3.0, "lr": 5e-5, "batch_size": 32, "warmup_ratio": 0.1,
                  "weight_decay": 0.01, "seed": seed, "max_train_examples": None,
                  "top_k_layers": 2, **(extra_train or {})},
        "measure": {"repeats": 2, "scenario": scenario, "batch_size": 32 if scenario == "offline" else 1,
                    "warmup_calls": 3, "online_examples": 200, "threads": 2,
                    "device": "cpu", "energy_meter": "estimate", "cpu_watts_per_core": None,
                    "eval_max_examples": None},
        "reductions": [{"name": r["name"], "params": r["params"]} for r in reds],
        "name": name,
    }
    hashed = {k: v for k, v in config.items() if k != "name"}
    canon = json.dumps(hashed, sort_keys=True, separators=(",", ":"))
    stderr = None if accuracy is None else math.sqrt(accuracy * (1 - accuracy) / n_examples)
    n_timed = 512
    return {
        "schema_version": 1,
        "config_hash": hashlib.sha256(canon.encode()).hexdigest()[:16],
        "name": name,
        "config": config,
        "task": task,
        "model": model,
        "regime": regime,
        "reductions": reds,
        "scenario": scenario,
        "quality": {"accuracy": accuracy, "accuracy_stderr": stderr,
                    "n_examples": n_examples, "split": "validation"},
        "cost": {
            "energy_j_per_example": energy,
            "energy_j_total": None if energy is None else energy * n_timed,
            "energy_method": energy_method if energy is not None else None,
            "energy_note": ("TDP x utilisation x wall time; not measured"
                            if energy is not None else "no energy counter"),
            "latency_ms_mean": p50, "latency_ms_p50": p50, "latency_ms_p90": p99,
            "latency_ms_p99": p99, "latency_samples_ms": [p50] * 4 if p50 else [],
            "throughput_eps": throughput, "peak_mem_mb": peak_mem, "peak_mem_method": "rss",
            "flops_per_example": flops, "param_count": 22_700_000, "batch_size": 32,
            "n_timed_examples": n_timed, "duration_s": 2.1, "threads": 2, "device": "cpu",
        },
        "train": {"checkpoint": "ck" + str(seed), "reused": True, "train_examples": 67349,
                  "epochs": 3.0, "train_time_s": None},
        "env": {"joulebench": "0.1.0", "torch": "2.x", "transformers": "4.x",
                "python": "3.11", "git_rev": None, "cpu": "test cpu", "gpu": None,
                "time_utc": "2026-01-01T00:00:00Z"},
    }


def write_jsonl(path, records) -> None:
    """Write records one per line."""
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def with_outcomes(record: dict, predictions: str, labels: str) -> dict:
    """``record`` with per-example predictions and labels (classification pairing), accuracy from them."""
    record["quality"].update(predictions=predictions, labels=labels, examples_sha256="same-examples",
                             accuracy=sum(p == g for p, g in zip(predictions, labels, strict=True)) / len(labels))
    return record


def make_qa_record(*, question_f1: Sequence[float], question_exact: str, windows_per_question: float = 1.2,
                   energy_per_window: float = 0.5, vs_baseline: dict | None = None, **kwargs) -> dict:
    """A SQuAD-shaped record: exact match and F1 in percent, per-question scores, per-window costs and
    ``cost.per_question``; other keywords as :func:`make_record`."""
    record = make_record(task="squad", energy=energy_per_window, n_examples=len(question_f1), **kwargs)
    f1 = 100 * sum(question_f1) / len(question_f1)
    em = 100 * question_exact.count("1") / len(question_exact)
    record["quality"] = {"n_examples": len(question_f1), "exact_match": em, "exact_match_stderr": 1.0,
                         "f1": f1, "f1_stderr": 1.0, "question_exact": question_exact,
                         "question_f1": list(question_f1), "examples_sha256": "qa-examples",
                         "n_windows": round(windows_per_question * len(question_f1)),
                         "windows_per_question": windows_per_question, "split": "validation"}
    record["cost"]["per_question"] = {"windows_per_question": windows_per_question,
                                      "energy_j": energy_per_window * windows_per_question,
                                      "flops": record["cost"]["flops_per_example"] * windows_per_question}
    if vs_baseline is not None:
        record["cost"]["vs_baseline"] = vs_baseline
    return record
