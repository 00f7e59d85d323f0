"""ONNX Runtime (CPU execution provider): the model exported to ONNX, every graph optimization on.

int8 is ONNX Runtime's dynamic quantization of the weight MatMuls (no calibration data needed). The precision
the record states is read off the optimised graph the session runs (its operator types)."""

from __future__ import annotations

import collections
import importlib.util
import logging
import tempfile
from pathlib import Path
from typing import ClassVar

from torch import nn

from joulebench.engines.base import EngineContext, Prepared, register_engine
from joulebench.engines.graph import GraphClassifier, export_onnx, onnx_weight_count

#: operator types that compute in int8 in ONNX Runtime's CPU graphs
INT8_OPS = ("MatMulInteger", "DynamicQuantizeMatMul", "QLinearMatMul", "QGemm", "MatMulIntegerToFloat")
FLOAT_MATMUL_OPS = ("MatMul", "Gemm", "FusedMatMul", "FusedGemm")


def session_options(threads: int, optimized_path: Path | None = None):
    """A CPU session with every graph optimization, ``threads`` intra-op threads and no spin-waiting (ONNX
    Runtime's idle threads spin by default, stealing the cores from whatever is timed next: measured, they made
    a bf16 call timed right after an onnxruntime call 2.8x slower)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if optimized_path is not None:  # kept to read its operators; the warning that it is machine-specific is moot
        options.optimized_model_filepath = str(optimized_path)
        options.log_severity_level = 3
    return options


def graph_precision(path: Path) -> tuple[str, dict[str, int]]:
    """The precision of an optimised graph's matrix products, and its count of operator types."""
    import onnx

    ops = collections.Counter(node.op_type for node in onnx.load(str(path)).graph.node)
    int8 = sum(ops[o] for o in INT8_OPS)
    floating = sum(ops[o] for o in FLOAT_MATMUL_OPS)
    return ("int8" if int8 and int8 >= floating // 4 else "fp32"), dict(ops)


@register_engine("onnxruntime", help="ONNX Runtime, CPU execution provider, all graph optimizations; int8 dynamic")
class OnnxRuntime:
    """ONNX Runtime."""

    name: ClassVar[str]
    precisions: ClassVar[tuple[str, ...]] = ("fp32", "int8")
    dynamic: ClassVar[bool] = False
    span: ClassVar[bool] = False
    devices: ClassVar[tuple[str, ...]] = ("cpu",)

    def missing(self) -> str | None:
        absent = [p for p in ("onnx", "onnxruntime") if importlib.util.find_spec(p) is None]
        return f"{' and '.join(absent)} not installed (pip install {' '.join(absent)})" if absent else None

    def precision_problem(self, precision: str, device: str) -> str | None:
        return None

    def version(self) -> str:
        import onnxruntime

        return onnxruntime.__version__

    def prepare(self, model: nn.Module, precision: str, ctx: EngineContext) -> Prepared:
        import onnxruntime
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with tempfile.TemporaryDirectory(prefix="joulebench-onnx-") as tmp:
            path = Path(tmp) / "model.onnx"
            export_onnx(model.cpu(), path)
            if precision == "int8":
                quantized = Path(tmp) / "model.int8.onnx"
                logging.getLogger().disabled = True  # the quantizer's advice to pre-process, on every call
                try:
                    quantize_dynamic(str(path), str(quantized), weight_type=QuantType.QInt8)
                finally:
                    logging.getLogger().disabled = False
                path = quantized
            optimized = Path(tmp) / "optimized.onnx"
            options = session_options(ctx.threads, optimized)
            session = onnxruntime.InferenceSession(path.read_bytes(), options, providers=["CPUExecutionProvider"])
            ran, ops = graph_precision(optimized)
            inputs = {i.name for i in session.get_inputs()}
            wrapper = GraphClassifier(lambda feed: session.run(["logits"], feed)[0], inputs,
                                      getattr(model, "config", None), onnx_weight_count(path),
                                      {"model.onnx": path.read_bytes()})
        facts = {"name": self.name, "version": onnxruntime.__version__, "device": "cpu", "threads": ctx.threads,
                 "precision_asked": precision, "precision_ran": ran,
                 "precision_source": "operator types of the optimised graph the session runs",
                 "graph_ops": {k: v for k, v in sorted(ops.items()) if k in INT8_OPS + FLOAT_MATMUL_OPS},
                 "warning": None if ran == precision else f"asked {precision}, the optimised graph computes in {ran}",
                 "one_off": "export to ONNX" + (", dynamic int8 quantization" if precision == "int8" else "")
                 + ", session creation (graph optimization)"}
        return Prepared(wrapper.eval(), facts)
