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
from joulebench.engines.choice import AUTO, engine_problem, precision_of
from joulebench.errors import UserError
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
                         span=kind_of(task).name == "qa")


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


def choose_auto(config: RunConfig, model: nn.Module, ctx: EngineContext,
                meter: Callable[[], Any]) -> Prepared:
    """``engine: auto``: every installed engine that can run this configuration is prepared and timed on the
    example batch (``AUTO_CALLS`` calls after one warm-up, median); the fastest whose predictions on training
    inputs agree with torch's on >= ``AUTO_AGREEMENT`` of them runs; its facts carry ``auto`` (each candidate's
    median seconds and agreement, or why it could not run)."""
    calibration = ctx.calibration() if ctx.calibration is not None else [ctx.example]
    with torch.inference_mode():
        reference = torch.cat([_logits(model(**b)).argmax(-1) for b in calibration])
    candidates: dict[str, dict] = {}
    best: tuple[float, Prepared] | None = None
    for name in ENGINES.names():
        problem = engine_problem(name, config.reductions, config.measure.device, ctx.span)
        if problem is not None:
            candidates[name] = {"skipped": problem}
            continue
        prepared = on_engine(config, model, ctx, meter, name)  # engines convert or wrap; none changes the model
        with torch.inference_mode():
            agree = float((torch.cat([_logits(prepared.model(**b)).argmax(-1) for b in calibration])
                           == reference).float().mean())
            prepared.model(**ctx.example)
            times = []
            for _ in range(AUTO_CALLS):
                started = time.perf_counter()
                prepared.model(**ctx.example)
                times.append(time.perf_counter() - started)
        median = statistics.median(times)
        candidates[name] = {"median_s": round(median, 5), "agreement": round(agree, 4),
                            "precision_ran": prepared.facts.get("precision_ran")}
        if agree >= AUTO_AGREEMENT and (best is None or median < best[0]):
            best = (median, prepared)
    if best is None:
        raise UserError("engine: auto: no engine ran this configuration with torch's predictions")
    rule = (f"the fastest median of {AUTO_CALLS} calls on the example batch among engines whose predictions on "
            f"{ctx.calibration_note} agree with torch's on >= {AUTO_AGREEMENT:.0%}")
    best[1].facts["auto"] = {"picked": best[1].facts["name"], "rule": rule, "candidates": candidates}
    return best[1]


def _logits(output: Any) -> torch.Tensor:
    return output if isinstance(output, torch.Tensor) else output.logits


def dense_on_engine(baseline: RunConfig, engine: str) -> RunConfig:
    """The dense model on ``engine`` at fp32: the middle term of the engine x reduction split."""
    return dataclasses.replace(baseline, engine=engine, reductions=(), name=None)


def is_default(config: RunConfig) -> bool:
    return config.engine == DEFAULT_ENGINE


__all__ = ["AUTO", "check", "choose_auto", "dense_on_engine", "engine_context", "is_default", "on_engine"]
