"""A loopback OAuth2 token endpoint that rotates refresh tokens and revokes the old one, as strict providers do."""

from __future__ import annotations

import json
import threading
from urllib.parse import parse_qs

from werkzeug import Request, Response


class RotatingTokenEndpoint:
    """Each refresh with a live refresh token answers a new access token and a new refresh token, and
    revokes the one used; a revoked or unknown one gets 400 ``invalid_grant``. ``rotate=False``: the
    refresh token stays valid. ``requests`` holds every form (or query) the endpoint received."""

    def __init__(
        self,
        first_refresh_token: str = "rt-0",  # noqa: S107 - a test token
        *,
        rotate: bool = True,
        expires_in: object = 3600,
        extra: dict | None = None,
    ):
        self.live = {first_refresh_token}
        self.rotate = rotate
        self.expires_in = expires_in
        self.extra = extra or {}
        self.issued = 0
        self.requests: list[dict] = []
        self.authorization: list[str | None] = []
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self.lock:
            form = {
                k: v if len(v) > 1 else v[0]
                for k, v in parse_qs(request.get_data(as_text=True) or request.query_string.decode()).items()
            }
            self.requests.append(form)
            self.authorization.append(request.headers.get("Authorization"))
            if form.get("grant_type") == "refresh_token":
                used = form.get("refresh_token")
                if used not in self.live:
                    return Response(
                        json.dumps({"error": "invalid_grant", "error_description": "token revoked"}),
                        400,
                        content_type="application/json",
                    )
                if self.rotate:
                    self.live.discard(used)
            self.issued += 1
            body = {"access_token": f"at-{self.issued}", "token_type": "Bearer", **self.extra}
            if self.expires_in is not None:
                body["expires_in"] = self.expires_in
            if form.get("grant_type") == "refresh_token" and self.rotate:
                body["refresh_token"] = f"rt-{self.issued}"
                self.live.add(body["refresh_token"])
            return Response(json.dumps(body), 200, content_type="application/json")
