"""What one configuration costs, measured the same way for every configuration: the workload of each scenario
(offline whole passes, online requests, server arrivals), windows alone or in ABBA rounds with a baseline, and
the record's ``cost`` section built from them."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from joulebench.config.schema import RunConfig, config_hash
from joulebench.measure.protocol import (
    Measurement,
    Workload,
    measure_alone,
    measure_paired,
    paired_ratios,
    summarize_measurement,
)
from joulebench.measure.server import ServerSettings, find_max_rate, load_summary, request_positions, serve
from joulebench.models.batching import Encoded, EvalBatch, collate, eval_batches


def _logits(output: Any) -> torch.Tensor:
    if isinstance(output, torch.Tensor):
        return output
    logits = getattr(output, "logits", None)
    return output.start_logits if logits is None else logits  # a span head's output: timing only


def _forward(model: nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    return _logits(model(**inputs))


def _to(batches: list[EvalBatch], device: str) -> list[EvalBatch]:
    if device == "cpu":
        return batches
    return [EvalBatch({k: v.to(device) for k, v in b.inputs.items()}, b.indices) for b in batches]


@dataclass(frozen=True)
class MeasuredModel:
    """A model as the runner measured it: the arguments :meth:`Runner.measure_cost` takes."""

    model: nn.Module
    encoded: list[Encoded]
    config: RunConfig
    pad_id: int
    device: str
    threads: int


def online_indices(n_examples: int, requests: int, seed: int) -> list[int]:
    """The online requests: ``requests`` example indices drawn once without replacement with
    ``seed``, in the drawn order (the same for every configuration on the same split)."""
    return random.Random(seed).sample(range(n_examples), min(requests, n_examples))


def values_digest(values: Sequence[object]) -> str:
    return hashlib.sha256(",".join(map(str, values)).encode()).hexdigest()[:16]


def server_settings(m: Any, qps: float | None = None) -> ServerSettings:
    """The server scenario's load from the measure settings (``qps`` overrides the rate)."""
    return ServerSettings(m.server_qps if qps is None else qps, m.server_max_batch, m.server_max_wait_ms,
                          m.server_requests, m.sample_seed)


def server_workload(model: nn.Module, encoded: list[Encoded], m: Any, pad_id: int, device: str,
                    qps: float | None = None) -> Workload:
    """The server scenario at ``qps`` (default ``measure.server_qps``): a window serves the request
    sample once per pass, arriving by the same Poisson schedule for every configuration."""
    settings = server_settings(m, qps)
    positions = request_positions(len(encoded), m.server_requests, m.sample_seed)
    requests = [encoded[i] for i in positions]

    def run_batch(batch: list[int]) -> None:
        inputs = collate([requests[k % len(requests)] for k in batch], pad_id)
        _forward(model, {k: v.to(device) for k, v in inputs.items()} if device != "cpu" else inputs)

    def window(passes: int, meter: Any, sync: Callable[[], None] | None) -> Any:
        return serve(run_batch, len(requests) * passes, settings, meter=meter, sync=sync)

    full = list(range(min(m.server_max_batch, len(requests))))
    description = {"selection": f"{len(requests)} requests drawn with sample_seed {m.sample_seed}, Poisson arrivals "
                                f"at {settings.qps:g} qps (seed {m.sample_seed}), dynamic batching of <= "
                                f"{m.server_max_batch} with max wait {m.server_max_wait_ms:g} ms",
                   "n_examples": len(requests), "indices_sha256": values_digest(positions)}
    return Workload([lambda: run_batch(full), lambda: run_batch([0])], [len(full), 1], description, window)


def workload(model: nn.Module, encoded: list[Encoded], m: Any, pad_id: int, device: str) -> Workload:
    """The calls of one whole pass: every offline batch of the split, every online request, or
    the server scenario's arrival schedule."""
    if m.scenario == "server":
        return server_workload(model, encoded, m, pad_id, device)
    if m.scenario == "online":
        indices = online_indices(len(encoded), m.online_examples, m.sample_seed)
        batches = [EvalBatch(collate([encoded[i]], pad_id), [i]) for i in indices]
        description = {"selection": f"{len(indices)} requests drawn with sample_seed {m.sample_seed}, drawn order",
                       "n_examples": len(indices), "indices_sha256": values_digest(indices)}
    else:
        batches = eval_batches(encoded, m.batch_size, pad_id)
        description = {"selection": f"the whole split, {len(batches)} length-bucketed batches of <= {m.batch_size}",
                       "n_examples": len(encoded), "indices_sha256": values_digest(range(len(encoded)))}
        if encoded and hasattr(encoded[0], "example"):  # QA windows: the work is every window of these questions
            description["questions_sha256"] = values_digest(sorted({w.example for w in encoded}))  # type: ignore[attr-defined]
    batches = _to(batches, device)
    calls = [lambda b=b: _forward(model, b.inputs) for b in batches]
    return Workload(calls, [b.size for b in batches], description)


def call_shape(encoded: list[Encoded], m: Any) -> tuple[int, int]:
    """``(batch size, tokens)`` of a typical call of the scenario's workload: batch 1 online, the offline
    batch size (the server's largest batch), and the median padded width of its calls (what the backend
    probe times, so that its choice holds at the shape that is measured)."""
    import statistics

    if not encoded:
        return 1, 2
    if m.scenario == "online":
        indices = online_indices(len(encoded), m.online_examples, m.sample_seed)
        return 1, int(statistics.median(len(encoded[i].input_ids) for i in indices))
    batch = m.server_max_batch if m.scenario == "server" else m.batch_size
    order = sorted(len(e.input_ids) for e in encoded)
    widths = [order[min(start + batch, len(order)) - 1] for start in range(0, len(order), batch)]
    return min(batch, len(encoded)), int(statistics.median(widths))


def _power_fields(measurement: Measurement) -> dict:
    """The first window's sampled power trace, and every window's gross and net energy; or why there is none."""
    found = [w.energy.power for w in measurement.windows]
    traces = [t for t in found if t is not None]
    if len(traces) < len(found) or not traces:
        method = measurement.windows[0].energy.method
        return {"trace": None, "note": f"no sampled power: energy method {method} (energy_meter: sampled samples "
                                       "NVML or RAPL power where they are readable)"}
    return {"trace": traces[0].compact(), "energy_j_gross": [round(t.gross_j, 6) for t in traces],
            "energy_j_net": [None if t.net_j is None else round(t.net_j, 6) for t in traces],
            "idle_w": traces[0].idle_w}


def _server_fields(measurement: Measurement, m: Any) -> dict:
    """The server scenario's load, and what each window showed at it (latency includes queueing)."""
    settings = server_settings(m)
    per_window = [load_summary(w, settings, m.latency_bound_ms) for w in measurement.windows]
    p99 = sorted(w["latency_ms_p99"] for w in per_window)[len(per_window) // 2]
    return {"qps_offered": m.server_qps, "max_batch": m.server_max_batch, "max_wait_ms": m.server_max_wait_ms,
            "requests": m.server_requests, "latency_bound_ms": m.latency_bound_ms,
            "bound_held": p99 <= m.latency_bound_ms,
            "held_windows": f"{sum(w['bound_held'] for w in per_window)}/{len(per_window)}",
            "windows": per_window,
            "energy_note": "energy per query is the window's energy over its requests: idle gaps between arrivals "
                           "are inside the window (the estimate meter counts busy CPU time only, so they cost it "
                           "nothing; a sampled meter's gross energy includes idle power)"}


def per_question(cost: dict, windows: int, questions: int) -> dict:
    """Per-question cost of a task whose questions span several windows (the record's per-example
    figures are per window)."""
    factor = windows / questions
    energy, flops = cost.get("energy_j_per_example"), cost.get("flops_per_example")
    return {"windows_per_question": round(factor, 4),
            "energy_j": None if energy is None else energy * factor,
            "flops": None if flops is None else flops * factor,
            "time_ms": None if not cost.get("throughput_eps") else 1e3 * factor / cost["throughput_eps"],
            "note": "per-window figures times the mean windows per question of the evaluation split"}


def per_question_ratios(ratios: dict, target_windows: int, baseline_windows: int) -> dict:
    """Paired ratios of a QA configuration per *question*: a pass covers the same questions on both
    sides, but a shorter window (``seq_len``) makes more windows of them, so energy and time per
    window understate the cost of an answer. Energy and time ratios are multiplied, throughput
    divided, by target windows / baseline windows; latency ratios stay per window (a batch's
    latency)."""
    factor = target_windows / baseline_windows
    out: dict = {"ratio_unit": "per question (energy, time, throughput); per window (latency)",
                 "windows": {"target": target_windows, "baseline": baseline_windows}}
    for name, power in (("energy", 1), ("time", 1), ("throughput", -1)):
        entry = ratios.get(name)
        if not isinstance(entry, dict):
            continue
        scale = factor ** power
        low, high = sorted(v * scale for v in entry["ci95"])
        out[name] = {"ratio": entry["ratio"] * scale, "ci95": [low, high],
                     "per_round": [round(r * scale, 5) for r in entry["per_round"]]}
    return out


def count_parameters(model: nn.Module) -> int:
    """Parameters of the model as run, packed int8 weights of dynamic-quantized Linears included
    (they are buffers of a packed object there, not ``nn.Parameter``), or an exported graph's
    weights (onnxruntime)."""
    exported = getattr(model, "graph_param_count", None)
    if exported is not None:
        return int(exported)
    total = sum(p.numel() for p in model.parameters())
    for module in model.modules():
        packed = getattr(module, "_packed_params", None)
        if packed is not None and hasattr(packed, "_weight_bias"):
            weight, bias = packed._weight_bias()
            total += weight.numel() + (0 if bias is None else bias.numel())
    return total


class CostMeasurer:
    """Measures cost with energy meters made by ``meter_factory`` (one per measurement)."""

    def __init__(self, meter_factory: Callable[[RunConfig, str], Callable[[], Any]]) -> None:
        self.meter_factory = meter_factory

    def cost_fields(self, measurement: Measurement, work: Workload, config: RunConfig, device: str,
                     threads: int, order: str) -> dict:
        m = config.measure
        first = measurement.windows[0]
        energy = first.energy
        summary = summarize_measurement(measurement)
        return {
            **{k: v for k, v in summary.items() if k not in ("ci95", "windows")},
            "energy_method": energy.method,
            "energy_note": energy.note,
            **({"energy_details": energy.details} if energy.details is not None else {}),
            "ci95": summary["ci95"],
            "latency_samples_ms": [round(x, 4) for w in measurement.windows for x in w.per_example_ms()],
            "peak_mem_mb": measurement.peak_mem_mb,
            "peak_mem_method": measurement.peak_mem_method,
            "batch_size": {"online": 1, "server": m.server_max_batch}.get(m.scenario, m.batch_size),
            "n_timed_examples": sum(w.n_examples for w in measurement.windows),
            "duration_s": sum(w.duration_s for w in measurement.windows),
            "protocol": {**work.description, "repeats": len(measurement.windows), "passes": m.passes,
                         "warmup_calls": m.warmup_calls, "order": order},
            "windows": summary["windows"],
            "power": _power_fields(measurement),
            "threads": threads,
            "device": device,
            **({"server": _server_fields(measurement, m)} if m.scenario == "server" else {}),
        }

    def max_rate(self, measured: MeasuredModel) -> dict:
        """The highest rate that holds ``latency_bound_ms`` for ``measured`` (one window per tried rate)."""
        m = measured.config.measure
        meter = self.meter_factory(measured.config, measured.device)()
        sync = torch.cuda.synchronize if measured.device == "cuda" else None

        def window_at(qps: float) -> Any:
            work = server_workload(measured.model, measured.encoded, m, measured.pad_id, measured.device, qps)
            assert work.window is not None  # the server workload times its own windows
            return work.window(1, meter, sync)

        return find_max_rate(window_at, server_settings(m), m.latency_bound_ms)

    @torch.inference_mode()
    def alone(self, model: nn.Module, encoded: list[Encoded], config: RunConfig, pad_id: int,
                     device: str, threads: int) -> dict:
        """Cost of ``model`` alone: ``measure.repeats`` windows of whole passes."""
        m = config.measure
        work = workload(model, encoded, m, pad_id, device)
        sync = torch.cuda.synchronize if device == "cuda" else None
        measurement = measure_alone(work, repeats=m.repeats, passes=m.passes, warmup_calls=m.warmup_calls,
                                    meter=self.meter_factory(config, device)(), device=device, sync=sync)
        cost = self.cost_fields(measurement, work, config, device, threads, "alone")
        if m.scenario == "server" and m.server_find_max_rate:
            cost["server"]["max_rate"] = self.max_rate(MeasuredModel(model, encoded, config, pad_id, device, threads))
        return cost

    @torch.inference_mode()
    def paired(self, target: MeasuredModel, baseline: MeasuredModel, engine_dense: MeasuredModel | None = None,
               engine: str | None = None) -> dict:
        """Cost of ``target`` timed in balanced rounds with ``baseline`` (the target's measure settings).

        The record's cost figures come from the target's own windows; ``vs_baseline`` holds the
        per-round ratios (target / baseline) with their median and 95% interval. The order of each
        round is drawn at random (balanced: each side first equally often) from a seed derived from
        the configuration. With ``engine_dense`` (the dense model on the target's other ``engine``)
        it is timed in the same rounds, and ``vs_baseline.engine_split`` splits each ratio into
        engine (dense on the engine / baseline) x reduction (target / dense on the engine).
        """
        config, device = target.config, target.device
        m = config.measure
        if baseline.config.measure.scenario != m.scenario:
            raise ValueError("a configuration is paired with a baseline of the same scenario")
        work_t = workload(target.model, target.encoded, m, target.pad_id, device)
        work_b = workload(baseline.model, baseline.encoded, m, baseline.pad_id, device)
        same = "questions_sha256" if "questions_sha256" in work_t.description else "indices_sha256"
        if work_t.description[same] != work_b.description.get(same):
            raise ValueError("the configuration and its baseline must be timed on the same examples")
        others = {}
        if engine_dense is not None:
            others["E"] = workload(engine_dense.model, engine_dense.encoded, m, engine_dense.pad_id, device)
        sync = torch.cuda.synchronize if device == "cuda" else None
        seed = int(config_hash(config)[:8], 16)
        t_meas, b_meas, order, other_meas = measure_paired(
            work_t, work_b, rounds=m.repeats, passes=m.passes, warmup_calls=m.warmup_calls,
            meter=self.meter_factory(config, device)(), device=device, sync=sync, seed=seed, others=others)
        cost = self.cost_fields(t_meas, work_t, config, device, target.threads, order)
        cost["vs_baseline"] = {
            "baseline_config_hash": config_hash(baseline.config),
            "rounds": m.repeats,
            "order": order,
            "order_rule": f"balanced rounds in a random sequence (seed {seed} from the configuration hash)",
            **paired_ratios(t_meas, b_meas),
            "baseline_windows": summarize_measurement(b_meas)["windows"],
        }
        if engine_dense is not None:
            e_meas = other_meas["E"]
            cost["vs_baseline"]["engine_split"] = {
                "engine": engine,
                "dense_on_engine_config_hash": config_hash(engine_dense.config),
                "engine_part": paired_ratios(e_meas, b_meas),
                "reduction_part": paired_ratios(t_meas, e_meas),
                "note": f"E = the dense model on {engine}, timed in the same rounds: target / baseline = "
                        f"(E / baseline: the engine) x (target / E: the reduction on {engine})",
            }
        if same == "questions_sha256":
            cost["vs_baseline"].update(per_question_ratios(cost["vs_baseline"], len(target.encoded),
                                                           len(baseline.encoded)))
        if m.scenario == "server" and m.server_find_max_rate:
            cost["server"]["max_rate"] = self.max_rate(target)
            cost["vs_baseline"]["baseline_max_rate"] = self.max_rate(baseline)
        return cost
