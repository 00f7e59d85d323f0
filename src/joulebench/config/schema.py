"""Frozen dataclasses describing one run. Validation only; no side effects."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _help(text: str, default: Any = dataclasses.MISSING, **kw: Any) -> Any:
    """A dataclass field carrying help text in its metadata."""
    if isinstance(default, (list, dict)):
        raise TypeError("use default_factory for mutable defaults")
    return field(default=default, metadata={"help": text}, **kw)


@dataclass(frozen=True)
class TrainConfig:
    """How the model is fine-tuned before any inference-time reduction."""

    epochs: float = _help("Passes over the (capped) training set; fractions allowed.", 1.0)
    lr: float = _help("Peak AdamW learning rate of the encoder.", 5e-5)
    head_lr: float | None = _help("Peak learning rate of the task head (new, randomly initialised, so it learns "
                                  "faster than the pre-trained encoder); null = 1e-2 when only the head trains "
                                  "(regime frozen), else 3e-3 (benchmarks/small_budget.py).", None)
    min_steps: int = _help("At least this many optimizer steps in the base fine-tuning: a small training set "
                           "is passed over again (more epochs) until they are done; 0 = epochs alone decide.",
                           100)
    batch_size: int = _help("Training examples per optimizer step.", 32)
    warmup_ratio: float = _help("Fraction of steps with linear learning-rate warm-up.", 0.06)
    weight_decay: float = _help("AdamW weight decay (not applied to biases and LayerNorm).", 0.01)
    seed: int = _help("Seed for data order, subsets and head initialisation.", 0)
    max_train_examples: int | None = _help("Cap on training examples (random subset); null = all.", None)
    top_k_layers: int = _help("For regime top_k: how many top encoder layers are trained.", 2)
    precision: str = _help("fp32, or bf16: forward and backward under bf16 autocast (weights and optimizer stay "
                           "fp32), where the device runs bf16 natively.", "fp32")
    skip: bool = _help("No training at all (write `train: none`): the pre-trained weights and a fresh head are "
                       "measured for cost only (quality null, with the reason), reductions' re-training skipped too.",
                       False)

    def validate(self) -> None:
        """Raise ValueError naming the field when a value is impossible."""
        if self.epochs <= 0:
            raise ValueError(f"train.epochs must be > 0, got {self.epochs}")
        if self.lr <= 0:
            raise ValueError(f"train.lr must be > 0, got {self.lr}")
        if self.head_lr is not None and self.head_lr <= 0:
            raise ValueError(f"train.head_lr must be > 0 or null, got {self.head_lr}")
        if self.min_steps < 0:
            raise ValueError(f"train.min_steps must be >= 0, got {self.min_steps}")
        if self.batch_size < 1:
            raise ValueError(f"train.batch_size must be >= 1, got {self.batch_size}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"train.warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.weight_decay < 0:
            raise ValueError(f"train.weight_decay must be >= 0, got {self.weight_decay}")
        if self.max_train_examples is not None and self.max_train_examples < 1:
            raise ValueError(f"train.max_train_examples must be >= 1 or null, got {self.max_train_examples}")
        if self.top_k_layers < 1:
            raise ValueError(f"train.top_k_layers must be >= 1, got {self.top_k_layers}")
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"train.precision must be fp32 or bf16, got {self.precision!r}")


SCENARIOS = ("offline", "online", "server")

#: Built-in tasks whose kind cuts inputs into windows (``doc_stride`` counts in their identity only). The
#: configuration sits below the tasks and cannot ask their kinds; tests/unit/tasks/test_kinds.py checks that this
#: is exactly the built-in tasks whose kind has ``windows``. A declared task's declaration asks its kind.
SPAN_TASKS = ("squad",)

#: Measure keys that only the server scenario reads.
SERVER_KEYS = ("server_qps", "server_requests", "server_max_batch", "server_max_wait_ms", "latency_bound_ms",
               "server_find_max_rate")

#: What a classification head reads (``joulebench.models.pooling``).
CLASSIFIER_POOLINGS = ("cls", "mean", "auto")

#: Measure keys of earlier versions, with what replaced them (the loader names them in its error).
REMOVED_MEASURE_KEYS = {
    "min_calls": "a window is now whole passes over the same examples: use measure.passes and measure.repeats",
    "min_duration_s": "a window is now whole passes over the same examples: use measure.passes and measure.repeats",
    "max_duration_s": "a window is now whole passes over the same examples: use measure.passes and measure.repeats",
}


@dataclass(frozen=True)
class MeasureConfig:
    """How cost is measured. ``offline`` = batched throughput; ``online`` = batch size 1; ``server`` =
    Poisson arrivals at ``server_qps`` served with dynamic batching (latency includes queueing).

    Every configuration does the same work: a window is ``passes`` whole passes over the same
    examples (offline: the whole evaluation split; online: ``online_examples`` requests drawn
    once with ``sample_seed``), and a measurement is ``repeats`` windows.
    """

    scenario: str = _help("offline (batched), online (batch size 1, per-request latency) or server (Poisson "
                          "arrivals at server_qps, dynamic batching, latency with queueing).", "offline")
    batch_size: int = _help("Examples per call in the offline scenario (online is always 1).", 64)
    warmup_calls: int = _help("Untimed calls before the first window.", 3)
    repeats: int = _help("Timed windows per measurement (paired: ABBA rounds with the baseline); >= 3 for an "
                         "interval worth having.", 4)
    passes: int = _help("Whole passes over the measured examples in each window.", 1)
    online_examples: int = _help("Requests of the online scenario: drawn once from the split with sample_seed, "
                                 "in the drawn order, all of them in every pass.", 200)
    sample_seed: int = _help("Seed of the online and server request samples and of the server's arrival times "
                             "(the same for every configuration).", 0)
    server_qps: float = _help("Server scenario: target arrival rate, queries per second (Poisson process).", 50.0)
    server_requests: int = _help("Server scenario: requests per window (one arrival schedule).", 400)
    server_max_batch: int = _help("Server scenario: most requests served as one batch.", 16)
    server_max_wait_ms: float = _help("Server scenario: longest the oldest queued request waits for a batch to "
                                      "fill before it is served.", 5.0)
    latency_bound_ms: float = _help("Server scenario: the p99 latency bound (queueing included) checked at "
                                    "server_qps and held by the max-rate search.", 50.0)
    server_find_max_rate: bool = _help("Server scenario: also search the highest rate that holds latency_bound_ms "
                                       "(doubling, then bisection; one window per tried rate).", False)
    threads: int | None = _help("torch intra-op threads; null = all usable cores.", None)
    device: str = _help("cpu, cuda, or auto (cuda when available).", "cpu")
    energy_meter: str = _help("auto, nvml, rapl, sampled (power trace, idle and net energy) or estimate.", "auto")
    cpu_watts_per_core: float | None = _help("Estimate meter: full-load watts per busy thread; null = the CPU power "
                                             "model (TDP from codecarbon's CPU table over the package's threads).",
                                             None)
    eval_max_examples: int | None = _help("Cap on evaluation examples for quality (null = whole split).", None)

    def validate(self) -> None:
        """Raise ValueError naming the field when a value is impossible."""
        if self.scenario not in SCENARIOS:
            raise ValueError(f"measure.scenario must be one of {', '.join(SCENARIOS)}, got {self.scenario!r}")
        for name in ("batch_size", "repeats", "passes", "online_examples", "server_requests", "server_max_batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"measure.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("server_qps", "latency_bound_ms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"measure.{name} must be > 0, got {getattr(self, name)}")
        if self.server_max_wait_ms < 0:
            raise ValueError(f"measure.server_max_wait_ms must be >= 0, got {self.server_max_wait_ms}")
        if self.warmup_calls < 0:
            raise ValueError(f"measure.warmup_calls must be >= 0, got {self.warmup_calls}")
        if self.device not in ("cpu", "cuda", "auto"):
            raise ValueError(f"measure.device must be cpu, cuda or auto, got {self.device!r}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"measure.threads must be >= 1 or null, got {self.threads}")
        if self.cpu_watts_per_core is not None and self.cpu_watts_per_core <= 0:
            raise ValueError(f"measure.cpu_watts_per_core must be > 0, got {self.cpu_watts_per_core}")
        if self.eval_max_examples is not None and self.eval_max_examples < 1:
            raise ValueError(f"measure.eval_max_examples must be >= 1 or null, got {self.eval_max_examples}")


@dataclass(frozen=True)
class ReductionSpec:
    """One reduction by registry key, with its parameters (validated by the reduction's config)."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()

    def params_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict."""
        return dict(self.params)


@dataclass(frozen=True)
class RunConfig:
    """One configuration: task, model, training regime, reductions and measurement."""

    task: str = _help("Task key, e.g. sst2, mrpc, qqp.")
    model: str = _help("Model alias (minilm-l6), Hugging Face Hub id, or local path.", "minilm-l6")
    regime: str = _help("Training regime: full, frozen or top_k.", "full")
    classifier_pooling: str = _help(
        "What the classification head reads: cls (BERT's pooler over [CLS]), mean (mean of the real "
        "tokens; BERT-layout models) or auto (the model's own pooling: a sentence-transformers pooling "
        "config when present, else cls).", "auto")
    max_seq_len: int = _help("Tokens kept per example when training and evaluating.", 128)
    doc_stride: int = _help("Question answering: tokens shared by consecutive windows of a long context "
                            "(capped at half of max_seq_len).", 128)
    train: TrainConfig = _help("Fine-tuning settings.", default_factory=TrainConfig)
    measure: MeasureConfig = _help("Measurement settings.", default_factory=MeasureConfig)
    reductions: tuple[ReductionSpec, ...] = _help("Inference-time reductions, applied in order.", ())
    engine: str = _help("What runs the model: torch (eager, the default), torch_compile, onnxruntime, openvino, or "
                        "auto (the fastest of those available, measured on this machine at equal accuracy). "
                        "A quantize/int8 reduction's precision is carried out by this engine.", "torch")
    name: str | None = _help("Optional label for this configuration.", None)
    task_spec: Any = _help("A declared task (``joulebench.tasks.declared.TaskDeclaration``), set when ``task`` "
                           "names a task file or declares one inline; None for a built-in task.", None)
    task_data: str | None = _help("Content digest of the task's data files (or Hub id and revision), bound when "
                                  "the configuration meets its data (``joulebench.tasks.bind_data``): an edited "
                                  "file is a new configuration.", None)

    @property
    def is_span_task(self) -> bool:
        """Whether the task's inputs are cut into windows (extractive QA)."""
        if self.task_spec is not None:
            return bool(self.task_spec.windows)
        return self.task in SPAN_TASKS

    def validate(self) -> None:
        """Raise ValueError naming the field when a value is impossible."""
        if self.max_seq_len < 2:
            raise ValueError(f"max_seq_len must be >= 2, got {self.max_seq_len}")
        if self.doc_stride < 0:
            raise ValueError(f"doc_stride must be >= 0, got {self.doc_stride}")
        stride = min(self.doc_stride, self.max_seq_len // 2)
        if self.is_span_task and self.max_seq_len - stride - 5 < 1:  # up to 4 special tokens, 1 question token
            raise ValueError(f"max_seq_len {self.max_seq_len} with doc_stride {stride} leaves no room for a question "
                             "in a question-answering window; raise max_seq_len or lower doc_stride")
        if self.classifier_pooling not in CLASSIFIER_POOLINGS:
            raise ValueError(f"classifier_pooling must be one of {', '.join(CLASSIFIER_POOLINGS)}, "
                             f"got {self.classifier_pooling!r}")
        self.train.validate()
        self.measure.validate()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (reductions as [{name, params}])."""
        data = dataclasses.asdict(self)
        data["reductions"] = [{"name": r.name, "params": r.params_dict()} for r in self.reductions]
        data["task_spec"] = None if self.task_spec is None else self.task_spec.to_dict()
        return data

    def training_dict(self) -> dict[str, Any]:
        """Only what determines the fine-tuned weights (the checkpoint identity).

        ``classifier_pooling: cls`` is left out, so checkpoints trained before the key existed
        (all cls) keep their identity."""
        data: dict[str, Any] = {
            "task": self.task, "model": self.model, "regime": self.regime,
            "max_seq_len": self.max_seq_len, "train": dataclasses.asdict(self.train),
        }
        if self.train.precision == "fp32":  # checkpoints trained before the key existed were all fp32
            data["train"].pop("precision")
        if not self.train.skip:  # checkpoints made before the key existed were all trained
            data["train"].pop("skip")
        if self.is_span_task:
            data["doc_stride"] = self.doc_stride
        if self.classifier_pooling != "cls":
            data["classifier_pooling"] = self.classifier_pooling
        _task_identity(self, data)
        return data


def bytes_digest(path: str) -> str:
    """sha256 (16 hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


#: reduction name -> {parameter naming a file (a mask): digest of what the file holds}; configurations
#: are identified by that content, not the path. Filled by ``joulebench.reductions.base.register_reduction``
#: (a mask's digest covers its bits, not the provenance written beside them).
FILE_PARAMS: dict[str, dict[str, Callable[[str], str]]] = {}


@functools.lru_cache(maxsize=256)
def _cached_digest(digest: Callable[[str], str], path: str, mtime_ns: int, size: int) -> str:
    return digest(path)


def file_digest(path: str, digest: Callable[[str], str] = bytes_digest) -> str | None:
    """``digest(path)``, cached while the file is unchanged, or None when the file cannot be read."""
    try:
        stat = os.stat(path)
        return _cached_digest(digest, str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)
    except (OSError, ValueError):
        return None


def reductions_identity(specs: tuple[ReductionSpec, ...]) -> list[dict]:
    """Reductions as they count in an identity: names and params, file parameters by content."""
    return _content_identity([{"name": r.name, "params": r.params_dict()} for r in specs])


def _content_identity(reductions: list[dict]) -> list[dict]:
    """Reductions with file parameters replaced by the file's content digest (path kept when unreadable)."""
    out = []
    for r in reductions:
        params = dict(r["params"])
        for key, how in FILE_PARAMS.get(r["name"], {}).items():
            value = params.get(key)
            digest = file_digest(value, how) if isinstance(value, str) and value else None
            if digest is not None:
                params[key] = {"sha256": digest}
        out.append({"name": r["name"], "params": params})
    return out


def stable_hash(data: Any) -> str:
    """16-hex sha256 of canonical JSON."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def config_hash(config: RunConfig) -> str:
    """Identity of a configuration in the store; the label ``name`` does not count, and a file
    parameter (a mask) counts by its content: a changed mask never reuses an old record, and the
    same mask under another path is the same configuration."""
    data = config.to_dict()
    data.pop("name", None)
    if data.get("classifier_pooling") == "cls":  # records made before the key existed were all cls
        data.pop("classifier_pooling")
    data["reductions"] = _content_identity(data["reductions"])
    if data.get("engine") == "torch":  # records made before the key existed all ran on torch
        data.pop("engine")
    data.pop("task_spec", None)
    data.pop("task_data", None)
    _task_identity(config, data)
    if not config.is_span_task:  # only windows of long contexts read it
        data.pop("doc_stride", None)
    if data["train"].get("precision") == "fp32":  # records made before the key existed trained in fp32
        data["train"].pop("precision")
    if data["train"].get("skip") is False:  # records made before the key existed were all trained
        data["train"].pop("skip")
    if data["measure"]["scenario"] != "server":  # they change nothing else; records made before them keep their hash
        for key in SERVER_KEYS:
            data["measure"].pop(key, None)
    return stable_hash(data)


def _task_identity(config: RunConfig, data: dict[str, Any]) -> None:
    """Add what identifies the task beyond its name: a declaration (without its file paths) and the content
    digest of its data, when bound."""
    if config.task_spec is not None:
        data["task_spec"] = config.task_spec.identity()
    if config.task_data is not None:
        data["task_data"] = config.task_data


def field_help(cls: type) -> dict[str, str]:
    """Field name -> help text, for ``validate``/``ls`` output."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}
