"""The backend probe: which int8 backend and which 16-bit dtype run fastest on this machine.

A short measurement, made once per machine fingerprint (CPU model and features, core count,
threads, device, torch and backend versions) and shape, and cached as JSON beside the checkpoints:
a two-layer encoder of the measured model's width (hidden, heads, FFN; random weights) on one batch
of the scenario's shape (batch size 1 online, the offline batch size, the workload's median length;
default: MiniLM's width, 32 x 48 tokens), timed as fp32, as int8 by every installed int8 backend and
cast to bf16 and fp16, each candidate timed in interleaved rounds (one call per candidate per round)
and summarised as its median call time. ``quantize``'s ``backend: auto`` and ``dtype: auto16`` choose
from it, and the record says what was measured and why the choice was made.

The margin of a choice is the per-round ratio of the fastest candidate to the runner-up (median, 95%
Student-t interval on the logs). When that interval holds 1 the two are within the probe's noise: the
choice then goes to the candidate earlier in the preference order (``INT8_CANDIDATES``: torch_ao, which
keeps the dense model's engine, first) and says so, so that noise cannot flip the choice between runs.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import functools
import importlib.metadata
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.models.families import FAMILIES

#: Bump when the probe's model, batch or timing changes: old cache entries are then ignored.
PROBE_VERSION = 3
PROBE_SHAPE = {"layers": 2, "hidden": 384, "heads": 12, "ffn": 1536, "batch": 32, "tokens": 48}
ROUNDS = 15
#: A candidate whose first call takes this many times the fp32 call is timed once, not in every round.
SLOW_FACTOR = 20.0

INT8_CANDIDATES = ("torch_ao", "torchao", "onnxruntime")
HALF_CANDIDATES = ("bf16", "fp16")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_fingerprint(threads: int, device: str) -> dict:
    """What decides which backend is fastest: the processor, threads, device and software versions."""
    from joulebench.env_info import cpu_features, cpu_model

    gpu = torch.cuda.get_device_name(0) if device == "cuda" and torch.cuda.is_available() else None
    return {"probe_version": PROBE_VERSION, "cpu": cpu_model(), "cpu_features": list(cpu_features()),
            "cpu_count": os.cpu_count(), "threads": threads, "device": device, "gpu": gpu,
            "torch": torch.__version__, "onnxruntime": _version("onnxruntime"), "torchao": _version("torchao")}


def fingerprint_key(fingerprint: dict) -> str:
    from joulebench.config.schema import stable_hash

    return stable_hash(fingerprint)


def probe_dir() -> Path:
    from joulebench.models.checkpoints import default_cache_dir

    return default_cache_dir() / "backend_probe"


@dataclass
class ProbeResult:
    """Median call time of each candidate (ms), or why it could not run, on one machine fingerprint."""

    fingerprint: dict
    key: str
    measured_utc: str
    median_ms: dict[str, float] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    shape: dict = field(default_factory=lambda: dict(PROBE_SHAPE))
    samples_ms: dict[str, list[float]] = field(default_factory=dict)

    def margin(self, faster: str, other: str) -> tuple[float, float, float] | None:
        """Per-round ratio ``faster`` / ``other`` (median, 95% interval); None without paired rounds."""
        from joulebench.measure.protocol import median_interval

        a, b = self.samples_ms.get(faster, []), self.samples_ms.get(other, [])
        n = min(len(a), len(b))
        if n < 3:
            return None
        return median_interval([x / y for x, y in zip(a[:n], b[:n], strict=True)], log=True)

    def ratio(self, candidate: str) -> float | None:
        """``candidate``'s median time over fp32's; None when it did not run."""
        ms = self.median_ms.get(candidate)
        return None if ms is None else ms / self.median_ms["fp32"]

    def ratios(self, candidates: tuple[str, ...]) -> dict[str, float]:
        """Each candidate's median time over fp32's, for those that ran."""
        found = {name: self.ratio(name) for name in candidates}
        return {name: ratio for name, ratio in found.items() if ratio is not None}

    def summary(self, candidates: tuple[str, ...]) -> str:
        parts = []
        for name in candidates:
            ratio = self.ratio(name)
            parts.append(f"{name} {ratio:.2f}x" if ratio is not None else
                         f"{name} unavailable ({self.unavailable.get(name, 'not measured')})")
        return ", ".join(parts)

    def provenance(self) -> dict:
        """What a record carries about the probe behind a choice."""
        return {"fingerprint_key": self.key, "measured_utc": self.measured_utc, "shape": self.shape,
                "ratio_to_fp32": {k: round(v / self.median_ms["fp32"], 4) for k, v in self.median_ms.items()},
                "rounds": self.calls, "unavailable": self.unavailable}


def probe_shape(batch: int | None = None, tokens: int | None = None, model_config: object | None = None) -> dict:
    """The probe's shape for a scenario: ``batch`` and ``tokens`` of its calls, width from ``model_config``
    (a transformers config; hidden, heads, FFN), the rest from ``PROBE_SHAPE``."""
    shape = dict(PROBE_SHAPE)
    if batch is not None:
        shape["batch"] = int(batch)
    if tokens is not None:
        shape["tokens"] = max(2, int(tokens))
    model_type = getattr(model_config, "model_type", None)
    if isinstance(model_type, str) and model_type in FAMILIES:  # the family knows its config's names
        shape.update(FAMILIES.get(model_type).widths(model_config))
    if shape["hidden"] % shape["heads"]:
        shape["heads"] = PROBE_SHAPE["heads"] if shape["hidden"] % PROBE_SHAPE["heads"] == 0 else 1
    return shape


def _probe_model(shape: dict) -> nn.Module:
    from transformers import BertConfig, BertForSequenceClassification

    s = shape
    config = BertConfig(vocab_size=1024, hidden_size=s["hidden"], num_hidden_layers=s["layers"],
                        num_attention_heads=s["heads"], intermediate_size=s["ffn"],
                        max_position_embeddings=max(128, s["tokens"]))
    config.num_labels = 2
    torch.manual_seed(0)
    return BertForSequenceClassification(config).eval()


def _probe_batch(device: str, shape: dict) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    b, t = shape["batch"], shape["tokens"]
    ids = torch.randint(5, 1000, (b, t), generator=gen)
    mask = torch.ones_like(ids)
    if b > 1:
        for row, n in enumerate(torch.randint(max(1, t // 3), t + 1, (b,), generator=gen).tolist()):
            mask[row, n:] = 0  # ragged lengths, as real batches are padded
    return {k: v.to(device) for k, v in
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}.items()}


def _quantized_copy(base: nn.Module, backend: str) -> nn.Module:
    from joulebench.reductions.int8_backends import quantize_int8

    return quantize_int8(copy.deepcopy(base), backend)[0]


def _builders(base: nn.Module, device: str) -> dict[str, Callable[[], nn.Module] | str]:
    """candidate -> builder of its model, or why it cannot run here."""
    from joulebench.reductions.int8_backends import missing_backend

    out: dict[str, Callable[[], nn.Module] | str] = {"fp32": lambda: base}
    for backend in INT8_CANDIDATES:
        reason = "int8 dynamic quantization runs on CPU only" if device != "cpu" else missing_backend(backend)
        out[backend] = reason or functools.partial(_quantized_copy, base, backend)
    out["bf16"] = lambda: copy.deepcopy(base).to(torch.bfloat16)
    out["fp16"] = lambda: copy.deepcopy(base).to(torch.float16)
    return out


def _call(model: nn.Module, batch: dict[str, torch.Tensor], device: str) -> Callable[[], float]:
    def run() -> float:
        start = time.perf_counter()
        model(**batch)
        if device == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - start) * 1e3
    return run


@torch.inference_mode()
def measure_probe(threads: int, device: str, shape: dict | None = None) -> ProbeResult:
    """Time every candidate now (a few seconds; a slow backend adds its own few calls)."""
    shape = dict(shape or PROBE_SHAPE)
    fingerprint = {**machine_fingerprint(threads, device), "shape": shape}
    result = ProbeResult(fingerprint, fingerprint_key(fingerprint),
                         dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), shape=shape)
    base = _probe_model(shape).to(device)
    batch = _probe_batch(device, shape)
    calls: dict[str, Callable[[], float]] = {}
    samples: dict[str, list[float]] = {}
    for name, build in _builders(base, device).items():
        if isinstance(build, str):
            result.unavailable[name] = build
            continue
        try:
            with contextlib.redirect_stdout(None):
                call = _call(build(), batch, device)
            call()  # warm-up: lazy initialisation, packing, caches
            samples[name] = [call()]
        except Exception as exc:  # a backend that fails here is a finding, not a crash
            result.unavailable[name] = f"failed in the probe: {type(exc).__name__}: {str(exc)[:160]}"
            continue
        calls[name] = call
    if "fp32" not in calls:
        raise UserError("backend probe: the fp32 reference model did not run")
    slow = {n for n, s in samples.items() if s[0] > SLOW_FACTOR * samples["fp32"][0]}
    for _ in range(ROUNDS - 1):
        for name, call in calls.items():
            if name not in slow:
                samples[name].append(call())
    result.median_ms = {n: round(statistics.median(s), 4) for n, s in samples.items()}
    result.calls = {n: len(s) for n, s in samples.items()}
    result.samples_ms = {n: [round(x, 4) for x in s] for n, s in samples.items()}
    return result


def probe_backends(threads: int | None = None, device: str = "cpu", force: bool = False,
                   shape: dict | None = None) -> ProbeResult:
    """The probe for this machine fingerprint and shape: from the cache, else measured now and cached."""
    threads = threads or torch.get_num_threads()
    shape = dict(shape or PROBE_SHAPE)
    fingerprint = {**machine_fingerprint(threads, device), "shape": shape}
    path = probe_dir() / f"{fingerprint_key(fingerprint)}.json"
    if path.exists() and not force:
        try:
            data = json.loads(path.read_text())
            if data.get("fingerprint") == fingerprint:
                return ProbeResult(**data)
        except (OSError, ValueError, TypeError):
            pass  # unreadable or from another version: measure again
    result = measure_probe(threads, device, shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(asdict(result), indent=1))
    os.replace(tmp, path)
    return result


@dataclass(frozen=True)
class Choice:
    """What ``auto`` chose and why."""

    picked: str
    reason: str
    probe: dict

    def details(self) -> dict:
        return {"picked": self.picked, "reason": self.reason, "probe": self.probe}


def choose_int8(eligible: tuple[str, ...], probe: ProbeResult) -> Choice:
    """The fastest int8 backend the probe measured among ``eligible``.

    Raises:
        UserError: none of them ran in the probe.
    """
    measured = probe.ratios(eligible)
    if not measured:
        raise UserError(f"quantize: backend auto: no int8 backend ran on this machine "
                        f"({probe.summary(INT8_CANDIDATES)})")
    fastest = min(measured, key=measured.__getitem__)
    picked, margin_text, margins = _within_noise_rule(fastest, measured, probe)
    skipped = [n for n in INT8_CANDIDATES if n not in eligible]
    reason = (f"auto: fastest int8 backend measured here by the backend probe ({probe.measured_utc}, "
              f"machine {probe.key}, batch {probe.shape.get('batch')} x {probe.shape.get('tokens')} tokens): "
              f"{probe.summary(INT8_CANDIDATES)} of fp32; {margin_text}")
    if skipped:
        reason += f"; not eligible in this chain: {', '.join(skipped)}"
    return Choice(picked, reason, {**probe.provenance(), "margins": margins})


def _within_noise_rule(fastest: str, measured: dict[str, float], probe: ProbeResult) -> tuple[str, str, dict]:
    """Apply the tie rule: candidates whose per-round margin against ``fastest`` holds 1 are tied with it,
    and the tie goes to the earliest in ``INT8_CANDIDATES``. Returns the pick, a sentence, and the margins."""
    margins: dict[str, dict] = {}
    tied = [fastest]
    for other in measured:
        if other == fastest:
            continue
        margin = probe.margin(fastest, other)
        if margin is None:
            continue
        ratio, low, high = margin
        margins[other] = {"ratio": round(ratio, 4), "ci95": [round(low, 4), round(high, 4)]}
        if high >= 1.0:
            tied.append(other)
    if not margins:
        return fastest, "margin not measured (fewer than 3 paired rounds)", margins
    text = "; ".join(f"{fastest}/{o} {m['ratio']:.3f} [{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}]"
                     for o, m in margins.items())
    if len(tied) == 1:
        return fastest, f"margin per round: {text} (outside the probe's noise)", margins
    picked = min(tied, key=INT8_CANDIDATES.index)
    return picked, (f"margin per round: {text}: {', '.join(sorted(tied))} within the probe's noise, so the tie "
                    f"goes to {picked} (preference order {', '.join(INT8_CANDIDATES)}; torch_ao keeps the dense "
                    "model's engine)"), margins


def choose_half(eligible: tuple[str, ...], probe: ProbeResult) -> Choice:
    """The faster 16-bit dtype the probe measured among ``eligible``, only when it beats fp32.

    Raises:
        UserError: none ran, or none was faster than fp32 here.
    """
    measured = probe.ratios(eligible)
    summary = probe.summary(HALF_CANDIDATES)
    if not measured:
        raise UserError(f"quantize: dtype auto16: no 16-bit dtype runs efficiently on this device ({summary})")
    picked = min(measured, key=measured.__getitem__)
    if measured[picked] >= 1.0:
        raise UserError(f"quantize: dtype auto16: no 16-bit dtype was faster than fp32 on this machine ({summary} "
                        "of fp32, measured by the backend probe); use int8")
    return Choice(picked, f"auto16: faster 16-bit dtype measured here by the backend probe ({probe.measured_utc}, "
                          f"machine {probe.key}): {summary} of fp32", probe.provenance())
