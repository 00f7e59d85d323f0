"""Int8 dynamic quantization of ``nn.Linear`` layers, one function per backend.

Dynamic quantization stores weights as int8 and quantizes activations on the fly, per call, so
it needs no calibration data. Each backend returns how many Linear layers it converted.
"""

from __future__ import annotations

import importlib.util
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from joulebench.errors import UserError

#: Backends in the order "auto" prefers them on CPU. benchmarks/quant_backends.py on this
#: project's AVX2 CPU (minilm-l6, batch 64 SST-2 dev sentences, 2 threads, heavily shared
#: machine) measured, relative to fp32: torch_ao 0.83x, onnxruntime 0.87x (plus an export step
#: and a fixed graph), torchao 0.18 int8 dynamic 84x (no fused int8 CPU kernel; the lead measured
#: ~18x on a quieter machine). So "auto" means torch_ao on CPU.
AUTO_ORDER = ("torch_ao",)

BACKENDS = ("torch_ao", "torchao", "onnxruntime")


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

    def __init__(self, session: object, config: object) -> None:
        super().__init__()
        self.session = session
        self.config = config
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


def quantize_onnxruntime(model: nn.Module) -> tuple[nn.Module, int]:
    """Export to ONNX, int8-quantize its weight MatMuls with onnxruntime, wrap the session."""
    import onnx
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="joulebench-onnx-") as tmp:
        fp32, int8 = Path(tmp) / "model.onnx", Path(tmp) / "model.int8.onnx"
        export_onnx(model, fp32)
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
        graph = onnx.load(str(int8)).graph
        count = sum(node.op_type in ("MatMulInteger", "DynamicQuantizeMatMul", "QGemm") for node in graph.node)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # the run's pinned thread count
        session = onnxruntime.InferenceSession(int8.read_bytes(), options, providers=["CPUExecutionProvider"])
    return OnnxRuntimeClassifier(session, getattr(model, "config", None)).eval(), count


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
