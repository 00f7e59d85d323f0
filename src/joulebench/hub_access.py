"""Whether the Hugging Face Hub can be reached, asked once in a few seconds instead of after the Hub
client's retries (about 25 s of back-off before the same error)."""

from __future__ import annotations

import functools
import os
import socket
import threading
from urllib.parse import urlparse

#: how long the reachability check may take, DNS included.
PROBE_TIMEOUT_S = 3.0


def hub_host() -> tuple[str, int]:
    """The host and port of the Hub endpoint (``HF_ENDPOINT`` where set)."""
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    return url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)


@functools.cache
def hub_unreachable_reason(timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """None where a TCP connection to the Hub opens within ``timeout_s``, else why not (checked once per
    process; DNS runs in a thread because ``getaddrinfo`` has no timeout of its own)."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    host, port = hub_host()
    outcome: list[str | None] = []

    def attempt() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout_s).close()
            outcome.append(None)
        except OSError as exc:
            outcome.append(f"{host}:{port} unreachable ({type(exc).__name__}: {exc})")

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout_s + 0.5)
    return outcome[0] if outcome else f"{host}:{port} did not answer within {timeout_s:.0f} s"


def offline_unless_reachable() -> str | None:
    """Put the Hub clients of this process in offline mode where the Hub cannot be reached, so that a
    cached copy still loads and a missing one fails at once; returns the reason, or None when online."""
    reason = hub_unreachable_reason()
    if reason is None:
        return None
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = True  # read at call time by huggingface_hub and transformers
    try:
        import datasets
    except ImportError:
        return reason
    config = getattr(datasets, "config", None)
    if config is not None:
        config.HF_HUB_OFFLINE = True
    return reason
