"""Execution engines: what runs a configuration's model (``engine:`` in a configuration). One module per engine
behind :class:`~joulebench.engines.base.Engine`, registered in :data:`ENGINES`; reductions never import them."""

from joulebench.engines import onnxruntime_engine, openvino_engine, torch_compile, torch_eager  # noqa: F401
from joulebench.engines.base import (
    DEFAULT_ENGINE,
    ENGINES,
    PRECISIONS,
    Engine,
    EngineContext,
    Prepared,
    refusal,
    register_engine,
)

__all__ = ["DEFAULT_ENGINE", "ENGINES", "PRECISIONS", "Engine", "EngineContext", "Prepared", "refusal",
           "register_engine"]
