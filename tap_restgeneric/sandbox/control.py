"""The sandbox's control endpoints under ``/_sandbox``: health, counts, the request log, faults, advance.

``GET /_sandbox/health|counts|requests|records|faults`` read the sandbox's state and
``POST /_sandbox/fault|faults/clear|advance|requests/clear`` change it, each a thin JSON
wrapper of the :class:`~tap_restgeneric.sandbox.server.SandboxServer` method of that name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .protocol import CONTROL_PREFIX, BadRequest, Response, error_response, int_param, json_body, last_param

if TYPE_CHECKING:
    from .server import SandboxServer


def handle_control(sandbox: SandboxServer, method: str, path: str, query: dict) -> Response:
    """Answer one control request (``path`` starts with ``/_sandbox``); nothing here is logged."""
    route = path[len(CONTROL_PREFIX) :].rstrip("/") or "/"
    gets = {"/health", "/counts", "/requests", "/records", "/faults"}
    posts = {"/fault", "/faults/clear", "/advance", "/requests/clear"}
    if route not in gets | posts:
        return error_response(404, "not found")
    wanted = "GET" if route in gets else "POST"
    if method != wanted:
        return error_response(405, "method not allowed", (("Allow", wanted),))
    try:
        if route == "/health":
            return Response(200, json_body({"ok": True}))
        if route == "/counts":
            return Response(200, json_body(sandbox.counts()))
        if route == "/requests":
            return Response(200, json_body([r.to_json() for r in sandbox.requests]))
        if route == "/faults":
            return Response(200, json_body(sandbox.pending_faults()))
        if route == "/records":
            api, resource = last_param(query, "api"), last_param(query, "resource")
            if not api or not resource:
                raise BadRequest("api and resource are required")
            return Response(200, json_body(sandbox.records(api, resource)))
        if route == "/requests/clear":
            sandbox.clear_requests()
            return Response(200, json_body({"ok": True}))
        if route == "/faults/clear":
            sandbox.clear_faults()
            return Response(200, json_body({"ok": True}))
        if route == "/advance":
            api = last_param(query, "api")
            if not api:
                raise BadRequest("api is required")
            return Response(200, json_body(sandbox.advance(api)))
        # /fault
        prefix, kind = last_param(query, "path"), last_param(query, "kind")
        if not prefix or not kind:
            raise BadRequest("path and kind are required")
        retry_raw = last_param(query, "retry_after")
        retry_after: int | str | None = retry_raw or None
        if retry_raw and retry_raw.isdigit():
            retry_after = int(retry_raw)
        delay_raw = last_param(query, "delay")
        try:
            delay = float(delay_raw) if delay_raw else None
        except ValueError:
            raise BadRequest(f"invalid delay {delay_raw!r}") from None
        count = int_param(query, "count", 1, 1)
        sandbox.inject_fault(prefix, kind, count=count, retry_after=retry_after, delay=delay)
        return Response(200, json_body({"ok": True, "path": prefix, "kind": kind, "count": count}))
    except BadRequest as exc:
        return error_response(400, str(exc))
    except (KeyError, ValueError) as exc:
        return error_response(400, str(exc.args[0]) if exc.args else str(exc))
