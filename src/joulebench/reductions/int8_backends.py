"""Int8 dynamic quantization of ``nn.Linear`` layers, one function per backend.

Dynamic quantization stores weights as int8 and quantizes activations on the fly, per call, so
it needs no calibration data. Each backend returns how many Linear layers it converted.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from joulebench.errors import UserError

BACKENDS = ("torch_ao", "torchao", "onnxruntime")

#: What "auto" chooses from: the fastest of these that the backend probe measured on this machine
#: (joulebench.reductions.backend_probe). Which one wins differs between machines: on an AVX2 CPU
#: benchmarks/quant_backends.py measured torch_ao 0.83x fp32, onnxruntime 0.87x, torchao 84x.
AUTO_CANDIDATES = BACKENDS


def missing_backend(name: str) -> str | None:
    """Why backend ``name`` cannot run here, or None when it can."""
    if name == "torch_ao":
        engines = [e for e in torch.backends.quantized.supported_engines if e != "none"]
        return None if engines else "this torch build has no quantized engine"
    if name == "torchao":
        found = importlib.util.find_spec("torchao") is not None
        return None if found else "the torchao package is not installed (pip install torchao)"
    if name == "onnxruntime":
        absent = [p for p in ("onnx", "onnxruntime") if importlib.util.find_spec(p) is None]
        return f"{' and '.join(absent)} not installed (pip install {' '.join(absent)})" if absent else None
    return f"unknown backend {name!r}"


def quantize_torch_ao(model: nn.Module) -> int:
    """``torch.ao.quantization.quantize_dynamic`` on every ``nn.Linear``, in place."""
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    with warnings.catch_warnings():
        # torch 2.10+ marks torch.ao quantization deprecated in favour of torchao, yet on this CPU
        # it is the backend with a fast int8 kernel (fbgemm/x86); the warning is noise per run.
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8, inplace=True)
    return sum(isinstance(m, DynamicLinear) for m in model.modules())


def quantize_torchao(model: nn.Module) -> int:
    """torchao's int8 dynamic-activation, int8-weight config on every ``nn.Linear``, in place."""
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    quantize_(model, Int8DynamicActivationInt8WeightConfig())
    return sum(
        isinstance(m, nn.Linear) and type(m.weight) is not nn.Parameter and type(m.weight) is not torch.Tensor
        for m in model.modules()
    )


class OnnxRuntimeClassifier(nn.Module):
    """A classifier exported to ONNX and run by an onnxruntime session (CPU).

    It has no torch parameters or layers any more: reductions that change layers must come first.
    """

    #: The serialised graph the session runs (for export).
    onnx_bytes: bytes | None = None

    def __init__(self, session: Any, config: Any, graph_param_count: int | None = None) -> None:
        super().__init__()
        self.session = session
        self.config = config
        self.graph_param_count = graph_param_count  # the graph's weights (initializers), int8 ones included
        self._inputs = {i.name for i in session.get_inputs()}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        given = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        feed = {
            name: (value if value is not None else torch.zeros_like(input_ids) if name == "token_type_ids"
                   else torch.ones_like(input_ids)).cpu().numpy()
            for name, value in given.items() if name in self._inputs
        }
        return torch.from_numpy(self.session.run(["logits"], feed)[0])


class _LogitsOnly(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> torch.Tensor:
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return out if isinstance(out, torch.Tensor) else out.logits


def export_onnx(model: nn.Module, path: Path) -> None:
    """Export ``model`` (logits from ids, mask, token types) with dynamic batch and length."""
    # A padded example, so that the traced graph keeps the attention-mask path (an all-ones
    # mask would be optimised away at trace time and padding would then leak into attention).
    ids = torch.tensor([[2, 5, 6, 7, 3], [2, 8, 3, 0, 0]])  # small ids: valid in any vocabulary
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
        torch.onnx.export(
            _LogitsOnly(model).eval(), (ids, mask, torch.zeros_like(ids)), str(path), input_names=names,
            output_names=["logits"], dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names},
            opset_version=17, dynamo=False,
        )


def onnxruntime_model(model: nn.Module, int8: bool) -> tuple[nn.Module, int]:
    """Export ``model`` to ONNX and wrap an onnxruntime CPU session of it: fp32 as exported, or
    with its weight MatMuls int8-quantized by onnxruntime's dynamic quantizer.

    Returns:
        The wrapper and how many MatMuls are int8 (0 for fp32).
    """
    import onnx
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="joulebench-onnx-") as tmp:
        fp32, int8_path = Path(tmp) / "model.onnx", Path(tmp) / "model.int8.onnx"
        export_onnx(model, fp32)
        path = fp32
        if int8:
            with _said_once("pre-processing before quantization"):
                quantize_dynamic(str(fp32), str(int8_path), weight_type=QuantType.QInt8)
            path = int8_path
        graph = onnx.load(str(path)).graph
        count = sum(node.op_type in ("MatMulInteger", "DynamicQuantizeMatMul", "QGemm") for node in graph.node)
        weights = sum(math.prod(t.dims) for t in graph.initializer if len(t.dims) > 0 and math.prod(t.dims) > 1)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # the run's pinned thread count
        # onnxruntime's threads spin-wait after each run by default, stealing the cores from
        # whatever runs next (the paired baseline, the next probe candidate): measured, they
        # made a bf16 call timed right after an onnxruntime call 2.8x slower.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(path.read_bytes(), options, providers=["CPUExecutionProvider"])
        wrapper = OnnxRuntimeClassifier(session, getattr(model, "config", None), weights).eval()
        wrapper.onnx_bytes = path.read_bytes()  # the graph the session runs, for export
    return wrapper, count


_SAID: set[str] = set()


@contextlib.contextmanager
def _said_once(fragment: str):
    """Let a library's root-logger warning containing ``fragment`` through once per process (onnxruntime's
    quantizer advises pre-processing on every call; dynamic quantization of an exported encoder does not
    need it, and a sweep would print it for every configuration)."""

    def once(record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if fragment not in message:
            return True
        if message in _SAID:
            return False
        _SAID.add(message)
        return True

    root = logging.getLogger()
    root.addFilter(once)
    try:
        yield
    finally:
        root.removeFilter(once)


def quantize_onnxruntime(model: nn.Module) -> tuple[nn.Module, int]:
    """Export to ONNX, int8-quantize its weight MatMuls with onnxruntime, wrap the session."""
    return onnxruntime_model(model, int8=True)


def quantize_int8(model: nn.Module, backend: str) -> tuple[nn.Module, int]:
    """Quantize ``model``'s Linear layers with ``backend``.

    Returns:
        The model to run (``model`` changed in place, or an onnxruntime wrapper) and how many
        Linear layers (weight MatMuls for onnxruntime) were converted.

    Raises:
        UserError: the backend is not installed or cannot run this model.
    """
    reason = missing_backend(backend)
    if reason is not None:
        raise UserError(f"quantize: backend {backend!r} cannot run here: {reason}")
    if backend == "torch_ao":
        return model, quantize_torch_ao(model)
    if backend == "torchao":
        return model, quantize_torchao(model)
    return quantize_onnxruntime(model)
