"""Where a reduced model meets its engine (``engine:``): the context the engine gets (an example batch, training
sentences for calibration), the one-off cost of getting the model onto it (metered), ``engine: auto``'s choice,
and what the record says ran."""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from joulebench.config.schema import RunConfig
from joulebench.engines import DEFAULT_ENGINE, ENGINES, EngineContext, Prepared
from joulebench.engines.choice import AUTO, TORCH_ENGINES, engine_problem, precision_of
from joulebench.errors import UserError
from joulebench.measure.cost import _logits
from joulebench.measure.metered import Metered
from joulebench.models.batching import eval_batches
from joulebench.tasks.kinds import kind_of

#: Training sentences a calibrated precision (OpenVINO's int8) is calibrated on: never the reported split.
CALIBRATION_SENTENCES = 320
#: ``engine: auto``: timed calls per candidate, and the agreement with torch's predictions it must keep
AUTO_CALLS = 5
AUTO_AGREEMENT = 0.99


def engine_context(config: RunConfig, task: Any, tokenizer: Any, max_seq_len: int, encoded: list, device: str,
                   threads: int, data_dir: Any) -> EngineContext:
    """What the engine gets: the first measured batch as its example, and a seeded sample of the TRAINING split
    (``CALIBRATION_SENTENCES``), encoded like the measured inputs, for calibration."""
    batch_size = config.measure.batch_size
    example = eval_batches(encoded[:batch_size], batch_size, tokenizer.pad_token_id)[0].inputs

    def calibration() -> list[dict[str, torch.Tensor]]:
        examples = task.load("train", data_dir, CALIBRATION_SENTENCES, config.train.seed)
        train_encoded = kind_of(task).encode(tokenizer, examples, max_seq_len, config)
        return [b.inputs for b in eval_batches(train_encoded, 32, tokenizer.pad_token_id)]

    return EngineContext(device=device, threads=threads, example=example, calibration=calibration,
                         calibration_note=f"{CALIBRATION_SENTENCES} training-split examples (seed "
                                          f"{config.train.seed}), never the reported split",
                         span=not kind_of(task).single_output)


def precision_for(config: RunConfig, model: nn.Module) -> str:
    """The precision the configuration asks of its engine (auto16 resolved to what torch cast, where it did)."""
    asked = precision_of(config.reductions)
    if asked == "auto16":
        floats = [p.dtype for p in model.parameters() if p.is_floating_point()]
        return "fp16" if floats and floats[0] == torch.float16 else "bf16"
    return asked


def check(config: RunConfig, span: bool) -> None:
    """The engine's refusal as one line (what validate says too), before anything is trained."""
    problem = engine_problem(config.engine, config.reductions, config.measure.device, span)
    if problem is not None:
        raise UserError(f"engine: {problem}")


def on_engine(config: RunConfig, model: nn.Module, ctx: EngineContext, meter: Callable[[], Any],
              name: str | None = None) -> Prepared:
    """``model`` (reductions applied) made ready on ``config``'s engine (or ``name``), the one-off cost metered:
    the record's ``engine`` facts with ``one_off`` = {what, time_s, energy_j, ...}."""
    engine = ENGINES.get(name or config.engine)
    precision = precision_for(config, model)
    with Metered(meter(), ctx.device) as metered:
        try:
            prepared = engine.prepare(model, precision, ctx)
        except (RuntimeError, ValueError, TypeError) as exc:  # a conversion the engine cannot do: say which
            raise UserError(f"engine {engine.name}: could not run this model at {precision}: "
                            f"{str(exc).splitlines()[0][:300]}") from None
    what = prepared.facts.get("one_off")
    prepared.facts["one_off"] = None if what is None else {"what": what, **metered.cost}
    return prepared


def compare_engines(model: nn.Module, ctx: EngineContext, candidates: list[tuple[str, str]],
                    meter: Callable[[], Any], calls: int = AUTO_CALLS) -> list[dict]:
    """Each (engine, precision) prepared from ``model`` and timed on ``ctx.example`` (one warm-up call, then the
    median of ``calls``), with the share of ``ctx``'s calibration inputs on which its predictions agree with torch
    fp32's; a candidate that cannot run says why. Engines convert or wrap ``model``: none changes it, and torch's
    own precisions run on a copy."""
    import copy

    batches = ctx.calibration() if ctx.calibration is not None else [ctx.example]
    with torch.inference_mode():
        reference = torch.cat([_logits(model(**b)).argmax(-1) for b in batches])
    rows: list[dict[str, Any]] = []
    for name, precision in candidates:
        engine = ENGINES.get(name)
        problem = engine_problem(name, [] if precision == "fp32" else [{"name": "quantize", "dtype": precision}],
                                 ctx.device, ctx.span)
        if problem is None and name in TORCH_ENGINES and precision != "fp32":
            problem = _torch_precision_problem(precision, ctx.device)
        if problem is not None:
            rows.append({"engine": name, "precision": precision, "skipped": problem})
            continue
        subject = model if name not in TORCH_ENGINES or precision == "fp32" else _torch_at(copy.deepcopy(model),
                                                                                            precision)
        with Metered(meter(), ctx.device) as metered:
            prepared = engine.prepare(subject, precision, ctx)
        with torch.inference_mode():
            agree = float((torch.cat([_logits(prepared.model(**b)).argmax(-1) for b in batches])
                           == reference).float().mean())
            prepared.model(**ctx.example)
            times = []
            for _ in range(calls):
                started = time.perf_counter()
                prepared.model(**ctx.example)
                times.append(time.perf_counter() - started)
        what = prepared.facts.get("one_off")
        prepared.facts["one_off"] = None if what is None else {"what": what, **metered.cost}
        rows.append({"engine": name, "precision": precision, "median_s": round(statistics.median(times), 5),
                     "agreement": round(agree, 4), "precision_ran": prepared.facts.get("precision_ran"),
                     "one_off_s": metered.cost.get("time_s"), "prepared": prepared})
    return rows


def _torch_precision_problem(precision: str, device: str) -> str | None:
    from joulebench.reductions.quantize import device_problem

    return device_problem(precision, device)


def _torch_at(model: nn.Module, precision: str) -> nn.Module:
    """``model`` at ``precision`` in torch: what the quantize reduction does (a cast, or torchao's int8)."""
    from joulebench.reductions.int8_backends import AUTO_BACKEND, quantize_int8

    if precision == "int8":
        return quantize_int8(model, AUTO_BACKEND)[0]
    return model.to({"bf16": torch.bfloat16, "fp16": torch.float16}[precision])


def choose_auto(config: RunConfig, model: nn.Module, ctx: EngineContext,
                meter: Callable[[], Any]) -> Prepared:
    """``engine: auto``: every installed engine that can run this configuration (at fp32) is prepared and timed on
    the example batch; the fastest whose predictions on training inputs agree with torch's on >=
    ``AUTO_AGREEMENT`` of them runs. Its facts carry ``auto`` (each candidate's median seconds and agreement, or
    why it could not run)."""
    rows = compare_engines(model, ctx, [(name, "fp32") for name in ENGINES.names()], meter)
    eligible = [r for r in rows if "median_s" in r and r["agreement"] >= AUTO_AGREEMENT]
    if not eligible:
        raise UserError("engine: auto: no engine ran this configuration with torch's predictions")
    best = min(eligible, key=lambda r: r["median_s"])
    prepared = best["prepared"]  # its one-off cost was metered when it was prepared for the comparison
    rule = (f"the fastest median of {AUTO_CALLS} calls on the example batch among engines whose predictions on "
            f"{ctx.calibration_note} agree with torch's on >= {AUTO_AGREEMENT:.0%}")
    prepared.facts["auto"] = {"picked": best["engine"], "rule": rule,
                              "candidates": {r["engine"]: {k: v for k, v in r.items()
                                                           if k not in ("engine", "prepared")} for r in rows}}
    return prepared


def dense_on_engine(baseline: RunConfig, engine: str) -> RunConfig:
    """The dense model on ``engine`` at fp32: the middle term of the engine x reduction split."""
    return dataclasses.replace(baseline, engine=engine, reductions=(), name=None)


def is_default(config: RunConfig) -> bool:
    return config.engine == DEFAULT_ENGINE


__all__ = ["AUTO", "check", "choose_auto", "dense_on_engine", "engine_context", "is_default", "on_engine"]
