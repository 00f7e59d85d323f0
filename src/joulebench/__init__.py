"""joulebench: accuracy per joule for reduced pre-trained encoders."""

import logging as _logging

__version__ = "0.1.0"

# transformers imports torchao whenever it is installed; torchao then warns, on every command, about CUDA-only
# kernels this CPU build cannot load and a missing Triton, and torch about torchao's enum registrations. None of
# it concerns a CPU run; real errors still show.
for _name in ("torchao", "torchao.kernel.intmm", "torch.utils._pytree"):
    _logging.getLogger(_name).setLevel(_logging.ERROR)
