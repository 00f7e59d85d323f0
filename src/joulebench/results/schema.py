"""The result record: one JSON object per measured configuration.

Every key a record may carry is documented here; ``analysis`` and ``report`` read only these.
Units are in the names. A figure that could not be measured is ``None`` and a ``*_note`` says why.

Top level
    schema_version   int, bumped on incompatible changes.
    config_hash      str, sha256 (16 hex) of the canonical run config; the store's identity key.
    name             str | None, optional human label from the config.
    config           dict, the full run config as loaded (see ``joulebench.config.schema``).
    task             str, task key ("sst2", "mrpc", "qqp") or a declared task's name.
    task_data        str | None, the content digest of the task's data (files, or Hub dataset and revision): the
                     data the record was measured on (``joulebench.tasks.bind_data``).
    task_kind        str | None, the task's kind ("classification", "regression", "qa": ``joulebench.tasks.kinds``),
                     which says where the quality metrics are and how paired statistics read them; records made
                     before it was written are recognised by their quality (``kind_of_record``).
    model            str, model reference as written (alias, Hub id or path).
    regime           str, training regime key ("full", "frozen", "top_k").
    engine           str, what ran the model and at which precision it ran: "torch eager", "torch eager bf16",
                     "openvino int8", "onnxruntime" (``engine_label``; records made before ``engine_run``
                     existed say it through their reductions' details: ``engine_of``).
    engine_run       dict | None, what the engine says it ran: name, version, device, threads,
                     precision_asked, precision_ran (read off the engine: OpenVINO's runtime model, the
                     operators of ONNX Runtime's optimised graph, torch's weight dtypes), precision_source,
                     warning (set where the precision run differs from the one asked), one_off ({what,
                     time_s, energy_j, ...}: conversion, compilation, calibration; also in train.one_off and
                     counted in train.total_energy_j), auto (``engine: auto``: each candidate's timing and
                     agreement, the rule and the pick). None in records made before it.
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
    predictions      str, the predicted class of every evaluated example, one digit each, in split
                     order: analysis pairs any two configurations on the same examples with it
                     (paired bootstrap, McNemar; ``joulebench.analysis.paired``).
    labels           str, the gold class of every example, same layout.
    examples_sha256  str, 16-hex digest of the gold labels in order: a pairing check.
    slices           dict, slice name -> hex bitmask (bit i = example i, ``tasks.slices.pack``): the
                     task's declared slices of the evaluation set (length quartiles, negation, rare
                     words, labels; for pairs: length quartiles, word overlap, labels).

cost (dict)
    A measurement is ``measure.repeats`` windows, each ``measure.passes`` whole passes over the
    same examples (offline: every batch of the split; online: the seeded request sample). Each
    figure below is the median over the windows; ``ci95`` holds its 95% interval.
    energy_j_per_example   float | None, joules per example (median over windows).
    energy_method          "nvml" | "rapl" | "estimate" | None.
    energy_note            str, the method's assumptions, or why energy is None.
    latency_ms_mean/p50/p90/p99  float: per request (online) or amortised per example (offline);
                           each window's statistic, median over windows.
    latency_samples_ms     list[float], raw per-call samples of every window (per request, or per
                           batch / size).
    throughput_eps         float, examples per second over a window (median over windows).
    ci95                   dict, metric -> [low, high]: Student-t 95% interval over the windows (around
                           their mean, widened to contain the median); None where a window lacks it.
    windows                list of {duration_s, n_examples, passes, energy_j, energy_j_per_example,
                           latency_ms_p50, latency_ms_p99, throughput_eps}, one per window.
    power                  dict: with a sampled meter (``energy_meter: sampled``), ``trace`` (the first
                           window: {rate_hz, samples, idle_w, energy_j_gross, energy_j_net, t_s, w},
                           at most 120 points), ``energy_j_gross`` and ``energy_j_net`` (above idle)
                           per window, ``idle_w``; otherwise ``trace: null`` and a ``note`` saying why.
    protocol               dict: ``selection`` (which examples, in words), ``n_examples`` per pass,
                           ``indices_sha256`` (the examples timed, a pairing check), ``repeats``,
                           ``passes``, ``warmup_calls``, ``order`` ("alone", or the ABBA order
                           "TB BT TB BT": T = this configuration, B = its baseline).
    vs_baseline            dict, present when timed in ABBA rounds with a baseline:
                           ``baseline_config_hash``, ``rounds``, ``order``, and for each of
                           ``energy`` (J/example), ``time`` (wall time per example), ``latency_p50``,
                           ``latency_p99``, ``throughput``: ``{ratio, ci95: [low, high], per_round}``
                           (this / baseline per round; median, Student-t interval on the logs), or
                           None when not measurable; ``baseline_windows`` as ``windows``.
                           ``order_rule``: how the order was drawn (balanced rounds, seeded random sequence).
                           ``aa: true`` when this configuration is its own baseline, timed against itself
                           (an A/A pair: its ratios are the noise floor). ``engine_split``, when the
                           configuration runs on another engine than its baseline (onnxruntime): ``engine``,
                           ``dense_on_engine_config_hash``, ``engine_part`` (dense on the engine / baseline)
                           and ``reduction_part`` (this / dense on the engine), each with the ratios above,
                           all three sides timed in the same rounds.
    vs_baseline_note       str, when a baseline was asked for but this is the baseline itself (A/A).
    energy_details         dict, what stands behind an estimate: the CPU power model (``cpu_model``,
                           ``tdp_w`` and ``tdp_source``, ``package_threads`` and ``threads_source``,
                           ``watts_per_thread`` and ``watts_source``, ``idle_fraction``, ``idle_w``,
                           ``active_w_per_thread``, ``formula``); or a counter's domains (``domains_j``).
    peak_mem_mb            float | None, process RSS peak (CPU) or max CUDA allocation (GPU), over
                           this configuration's windows (in a paired run the process also holds the
                           baseline's weights).
    peak_mem_method        "rss_hwm" (kernel peak RSS, reset per window) | "rss" (sampled every 5 ms)
                           | "cuda_max_allocated".
    flops_per_example      float | None, forward FLOPs per example (torch flop counter; on a graph engine counted
                           on the torch model handed to it, and ``flops_note`` says so).
    param_count            int, parameters of the model as run, packed int8 weights included.
    batch_size             int, examples per call in the timed windows.
    n_timed_examples       int, examples processed over all windows.
    duration_s             float, wall time of all windows.
    threads                int, torch intra-op threads used.
    device                 "cpu" | "cuda".

train (dict)
    checkpoint       str, hash of what produced the fine-tuned weights.
    reused           bool, True when loaded from the checkpoint cache instead of trained.
    steps            int | None, optimizer steps of the base fine-tuning.
    train_examples   int; epochs float; train_time_s float | None.
    cost             dict | None, what the base fine-tuning cost, metered like inference (also for a
                     reused checkpoint: read from its provenance): ``time_s``, ``energy_j``,
                     ``energy_method``, ``energy_note``, ``peak_mem_mb``, ``peak_mem_method``;
                     None (with ``cost_note``) for checkpoints saved before this was recorded.
    retraining       list of {what, steps, examples, epochs, regime?, final_loss?, cost}: every
                     training a reduction ran (layer-drop retrain, exit heads, structured and
                     ticket retraining), metered the same way.
    total_steps      int | None, base steps + retraining steps.
    total_energy_j   float | None, base + retraining + one-off (engine) energy (None when any part is unknown).
    one_off          dict | None, the engine's one-off cost (engine_run.one_off), counted in total_energy_j.

env (dict)
    joulebench, torch, transformers, python   versions.
    git_rev          str | None, the project's git revision.
    cpu              str, CPU model; gpu str | None.
    cpu_features     list[str], notable CPU flags (avx2, avx512f, avx512_vnni, avx512_bf16, amx_*...).
    cpu_count        int, logical CPUs.
    torch_backends   dict: ``cpu_capability`` (torch's SIMD level), ``mkldnn`` (oneDNN available),
                     ``quantized_engines``.
    time_utc         str, ISO-8601 time of the record.

Reductions' ``details`` may carry ``mask_recipe`` (how a ticket or structured mask was made,
without its seed): reports aggregate the seeds of one recipe. ``early_exit`` details carry
``threshold_source`` ("given" or "calibrated") and ``calibration`` (max_drop, split, examples,
accuracy_drop, mean_layers) when the threshold was calibrated on held-out training examples.
"""

from __future__ import annotations

from collections.abc import Mapping

from joulebench.tasks.kinds import kind_of_record

SCHEMA_VERSION = 2

TOP_LEVEL_KEYS = (
    "schema_version", "config_hash", "name", "config", "task", "task_data", "task_kind", "model", "regime",
    "reductions", "engine", "engine_run", "scenario", "quality", "cost", "train", "env",
)

#: Metrics the analysis may put on an axis, with their direction. Where a record holds a quality metric, and on
#: what scale, is its task kind's (``TaskKind.quality_metrics``): question answering keeps SQuAD's percent and the
#: analysis reads fractions, and ``f1`` is the classification F1, which a QA record does not have (its F1 is
#: ``span_f1``). Cost metrics marked ``per_unit`` are read from the kind's ``per_unit_cost`` section where it has
#: one (QA: energy and FLOPs *per question*, as a question may span several windows and ``seq_len`` changes how
#: many), so a frontier compares the cost of an answer.
METRICS: dict[str, dict] = {
    "accuracy": {"quality": True, "higher_is_better": True},
    "f1": {"quality": True, "higher_is_better": True},
    "macro_f1": {"quality": True, "higher_is_better": True},
    "mcc": {"quality": True, "higher_is_better": True},
    "pearson": {"quality": True, "higher_is_better": True},
    "spearman": {"quality": True, "higher_is_better": True},
    "exact_match": {"quality": True, "higher_is_better": True},
    "span_f1": {"quality": True, "higher_is_better": True},
    "energy_j_per_example": {"path": ("cost", "energy_j_per_example"), "higher_is_better": False,
                             "per_unit": "energy_j"},
    "latency_ms_p50": {"path": ("cost", "latency_ms_p50"), "higher_is_better": False},
    "latency_ms_p99": {"path": ("cost", "latency_ms_p99"), "higher_is_better": False},
    "latency_ms_mean": {"path": ("cost", "latency_ms_mean"), "higher_is_better": False},
    "throughput_eps": {"path": ("cost", "throughput_eps"), "higher_is_better": True},
    "peak_mem_mb": {"path": ("cost", "peak_mem_mb"), "higher_is_better": False},
    "flops_per_example": {"path": ("cost", "flops_per_example"), "higher_is_better": False, "per_unit": "flops"},
}

#: Quality metrics, in the order a section picks its primary one (the first its points have).
QUALITY_METRICS = ("span_f1", "accuracy", "exact_match", "f1", "macro_f1", "mcc", "pearson", "spearman")


def primary_metric_of(record: Mapping) -> str | None:
    """The metric a record's task is judged by (``quality.primary_metric``, on the analysis's scale: a QA
    task's F1 is ``span_f1``), None for records made before tasks said so."""
    quality = record.get("quality")
    name = quality.get("primary_metric") if isinstance(quality, dict) else None
    if not isinstance(name, str):
        return None
    name = kind_of_record(record).metric_names.get(name, name)
    return name if name in METRICS else None


def _follow(record: Mapping, path: tuple[str, ...]) -> object:
    node: object = record
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def metric_where(record: Mapping, metric: str) -> tuple[tuple[str, ...], float] | None:
    """Where ``record`` holds ``metric`` and the factor to the analysis's scale; None when its kind has no such
    metric (see the note above ``METRICS``)."""
    spec = METRICS[metric]
    kind = kind_of_record(record)
    if spec.get("quality"):
        found = kind.quality_metrics.get(metric)
        return None if found is None else (("quality", found[0]), found[1])
    if kind.per_unit_cost is not None and "per_unit" in spec:
        return ("cost", kind.per_unit_cost, spec["per_unit"]), 1.0
    return spec["path"], 1.0


def metric_value(record: Mapping, metric: str) -> float | None:
    """Read ``metric`` from a record; None if absent or not a metric of the record's kind."""
    where = metric_where(record, metric)
    if where is None:
        return None
    node = _follow(record, where[0])
    return None if node is None else float(node) * where[1]  # type: ignore[arg-type]


def engine_label(facts: dict) -> str:
    """How a record names what ran: ``torch eager``, ``torch eager bf16``, ``openvino int8``."""
    name = "torch eager" if facts.get("name") == "torch" else str(facts.get("name"))
    ran = facts.get("precision_ran") or "fp32"
    return name if ran == "fp32" else f"{name} {ran}"


def engine_of(reductions: list[dict]) -> str:
    """The engine a record's model ran on, from what its reductions realised: ``torch eager`` unless a reduction
    moved it (``onnxruntime`` for an exported graph, ``torch_ao int8`` for dynamic int8 in torch, ``torch eager
    bf16`` for a 16-bit cast)."""
    engine = "torch eager"
    for reduction in reductions:
        details = reduction.get("details") if isinstance(reduction, dict) else None
        if not isinstance(details, dict):
            continue
        backend, dtype = details.get("backend"), details.get("dtype")
        if details.get("engine"):
            engine = str(details["engine"])
        elif backend == "onnxruntime":
            engine = "onnxruntime"
        elif dtype == "int8" and backend:
            engine = f"{backend} int8"
        elif dtype in ("bf16", "fp16"):
            engine = f"torch eager {dtype}"
    return engine
