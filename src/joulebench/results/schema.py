"""The result record: one JSON object per measured configuration.

Every key a record may carry is documented here; ``analysis`` and ``report`` read only these.
Units are in the names. A figure that could not be measured is ``None`` and a ``*_note`` says why.

Top level
    schema_version   int, bumped on incompatible changes.
    config_hash      str, sha256 (16 hex) of the canonical run config; the store's identity key.
    name             str | None, optional human label from the config.
    config           dict, the full run config as loaded (see ``joulebench.config.schema``).
    task             str, task key ("sst2", "mrpc", "qqp").
    model            str, model reference as written (alias, Hub id or path).
    regime           str, training regime key ("full", "frozen", "top_k").
    reductions       list of {"name": str, "params": dict, "details": dict}: each reduction
                     applied, in order, with its parameters and what it realised (layers_kept,
                     mean_layers_computed, tokens_kept_ratio, weight_bits, max_seq_len, sparsity…).
    scenario         "offline" (batched, throughput) or "online" (batch size 1, per-request latency).

quality (dict)
    accuracy         float in [0, 1] on the evaluation split.
    accuracy_stderr  float, binomial standard error sqrt(p(1-p)/n).
    f1, f1_stderr    float, for pair tasks (binary F1 of the positive class; stderr by bootstrap).
    n_examples       int, evaluated examples.
    split            str, the split evaluated ("validation").

cost (dict)
    energy_j_per_example   float | None, joules per example in the timed window.
    energy_j_total         float | None, joules over the timed window.
    energy_method          "nvml" | "rapl" | "estimate" | None.
    energy_note            str, the method's assumptions, or why energy is None.
    latency_ms_mean/p50/p90/p99  float: per request (online) or amortised per example (offline).
    latency_samples_ms     list[float], raw per-call samples (per request, or per batch / size).
    throughput_eps         float, examples per second over the timed window.
    peak_mem_mb            float | None, process RSS peak (CPU) or max CUDA allocation (GPU).
    peak_mem_method        "rss_hwm" (kernel peak RSS, reset per window) | "rss" (sampled every 5 ms)
                           | "cuda_max_allocated".
    flops_per_example      float | None, forward FLOPs per example (torch flop counter).
    param_count            int, parameters of the model as run.
    batch_size             int, examples per call in the timed window.
    n_timed_examples       int, examples processed in the timed window.
    duration_s             float, wall time of the timed window.
    threads                int, torch intra-op threads used.
    device                 "cpu" | "cuda".

train (dict)
    checkpoint       str, hash of what produced the fine-tuned weights.
    reused           bool, True when loaded from the checkpoint cache instead of trained.
    train_examples   int; epochs float; train_time_s float | None (None when reused).

env (dict)
    joulebench, torch, transformers, python   versions.
    git_rev          str | None, the project's git revision.
    cpu              str, CPU model; gpu str | None.
    time_utc         str, ISO-8601 time of the record.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

TOP_LEVEL_KEYS = (
    "schema_version", "config_hash", "name", "config", "task", "model", "regime",
    "reductions", "scenario", "quality", "cost", "train", "env",
)

#: Metrics the analysis may put on an axis, with their direction.
METRICS: dict[str, dict] = {
    "accuracy": {"path": ("quality", "accuracy"), "higher_is_better": True},
    "f1": {"path": ("quality", "f1"), "higher_is_better": True},
    "energy_j_per_example": {"path": ("cost", "energy_j_per_example"), "higher_is_better": False},
    "latency_ms_p50": {"path": ("cost", "latency_ms_p50"), "higher_is_better": False},
    "latency_ms_p99": {"path": ("cost", "latency_ms_p99"), "higher_is_better": False},
    "latency_ms_mean": {"path": ("cost", "latency_ms_mean"), "higher_is_better": False},
    "throughput_eps": {"path": ("cost", "throughput_eps"), "higher_is_better": True},
    "peak_mem_mb": {"path": ("cost", "peak_mem_mb"), "higher_is_better": False},
    "flops_per_example": {"path": ("cost", "flops_per_example"), "higher_is_better": False},
}


def metric_value(record: dict, metric: str) -> float | None:
    """Read ``metric`` from a record following ``METRICS[metric]['path']``; None if absent."""
    node: object = record
    for key in METRICS[metric]["path"]:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return None if node is None else float(node)  # type: ignore[arg-type]
