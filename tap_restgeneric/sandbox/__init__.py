"""A deterministic local HTTP sandbox serving the five seed APIs (and a bench API).

    from tap_restgeneric.sandbox import SandboxServer
    with SandboxServer(port=0) as sb:
        sb.base_url("learning")  # http://127.0.0.1:PORT/learning

Run standalone with ``python -m tap_restgeneric.sandbox``.
"""

from __future__ import annotations

from .server import FAULT_KINDS, RequestLog, SandboxServer

__all__ = ["FAULT_KINDS", "RequestLog", "SandboxServer"]
