"""What an authorized API request is answered with: the credential check and the JSON page bodies.

:func:`authorized` checks a request's credential the way its API expects it (header, bearer token
or query parameter).  :class:`PageBuilder` reads the paging parameters of each API's style from
the query, builds the page from the :class:`~tap_restgeneric.sandbox.data.DataStore` and caches
the encoded body per request shape until the API's data changes.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable

from . import data as D
from .protocol import decode_cursor, encode_cursor, int_param, json_body, last_param, optional_int_param, parse_timestamp


def authorized(spec: D.ApiSpec, secret: str, query: dict, headers: dict[str, str]) -> bool:
    """Whether the request carries ``secret`` where ``spec`` authenticates (headers: lower-case names)."""
    kind, name = spec.auth
    expected = secret.encode()
    if kind == "header":
        given = headers.get(name.lower())
    elif kind == "bearer":
        scheme, _, token = (headers.get("authorization") or "").partition(" ")
        given = token.strip() if scheme.lower() == "bearer" else None
    else:  # query
        given = last_param(query, name)
    return given is not None and hmac.compare_digest(given.encode(), expected)


class PageBuilder:
    """Encoded page bodies of every API, cached per (api, endpoint, data generation, paging parameters).

    ``lock`` is the server's lock: it guards the cache, and :meth:`invalidate` is called with it
    held.  ``base_url`` gives the server's url (for the incidents ``paging.next`` urls).
    """

    def __init__(self, store: D.DataStore, lock: threading.Lock, base_url: Callable[[], str]) -> None:
        self.store = store
        self._lock = lock
        self._base_url = base_url
        self._cache: dict[tuple, bytes] = {}
        self._generation: dict[str, int] = {api: 0 for api in D.APIS}

    def invalidate(self, api: str) -> None:
        """``api``'s data changed: start a new generation and drop its cached bodies (lock held)."""
        self._generation[api] += 1
        self._cache = {k: v for k, v in self._cache.items() if k[0] != api}

    def page(self, api: str, key: str, query: dict) -> bytes:
        """The body answering ``query`` on endpoint ``key`` of ``api``; BadRequest on bad parameters."""
        spec = D.APIS[api]
        ep = spec.endpoints[key]
        params = self._params(spec, ep, query)
        gen = self._generation[api]
        cache_key = (api, key, gen, params)
        body = self._cache.get(cache_key)
        if body is None:
            body = json_body(self._build(api, key, spec, ep, params))
            with self._lock:
                if len(self._cache) > 20000:
                    self._cache.clear()
                if self._generation[api] == gen:
                    self._cache[cache_key] = body
        return body

    @staticmethod
    def _params(spec: D.ApiSpec, ep: D.Endpoint, query: dict) -> tuple:
        """The paging parameters of ``spec``'s style, validated and capped."""
        style = spec.style
        if style == "page":
            return (int_param(query, "page", 1, 1),)
        if style == "page_per_page":
            per_page = int_param(query, "per_page", D.CERTIFICATIONS_MAX_PER_PAGE, 1)
            return (int_param(query, "page", 1, 1), min(per_page, D.CERTIFICATIONS_MAX_PER_PAGE))
        if style == "offset":
            limit = int_param(query, "limit", D.SOCIAL_MAX_LIMIT, 1)
            return (int_param(query, "offset", 0, 0), min(limit, D.SOCIAL_MAX_LIMIT))
        if style == "cursor":
            token = last_param(query, "cursor")
            return (decode_cursor(token) if token else 0,)
        if style == "bench":
            limit = int_param(query, "limit", 100, 1)
            return (int_param(query, "offset", 0, 0), min(limit, D.BENCH_MAX_LIMIT))
        if ep.transactional:
            page_limit = optional_int_param(query, "limit", 1)
            since_raw = last_param(query, "updated_since")
            return (
                int_param(query, "offset", 0, 0),
                None if page_limit is None else min(page_limit, D.TRANSACTIONAL_MAX_LIMIT),
                parse_timestamp(since_raw) if since_raw else None,
            )
        return ()  # operations master: single page

    def _build(self, api: str, key: str, spec: D.ApiSpec, ep: D.Endpoint, params: tuple) -> dict:
        style = spec.style
        if style == "bench":
            offset, limit = params
            n = self.store.bench_records
            items = [D.bench_record(i) for i in range(offset + 1, min(offset + limit, n) + 1)]
            return {"data": items, "total": n}
        records, updated = self.store.snapshot(api, key)
        if style == "page":
            (page,) = params
            size = D.LEARNING_PAGE_SIZE
            start = (page - 1) * size
            return {"items": records[start : start + size], "meta": {"page": page, "per_page": size}}
        if style == "page_per_page":
            page, per_page = params
            start = (page - 1) * per_page
            return {"data": {ep.data_key: records[start : start + per_page]}, "meta": {"page": page, "per_page": per_page}}
        if style == "offset":
            offset, limit = params
            return {"data": records[offset : offset + limit], "paging": {"offset": offset, "limit": limit}}
        if style == "cursor":
            (offset,) = params
            end = offset + D.INCIDENTS_PAGE_SIZE
            paging: dict = {}
            if end < len(records):
                token = encode_cursor(end)
                if ep.next_form == "url":
                    paging["next"] = f"{self._base_url()}/{api}{ep.path}?cursor={token}"
                elif ep.next_form == "path":
                    paging["next"] = f"/{api}{ep.path}?cursor={token}"
                else:
                    paging["next"] = token
            return {"data": records[offset:end], "paging": paging}
        if ep.transactional:
            offset, limit, since = params
            if since is not None:
                assert updated is not None
                matching = [r for r, t in zip(records, updated) if t > since]
            else:
                matching = records
            end = None if limit is None else offset + limit
            return {"data": matching[offset:end], "total": len(matching)}
        return {"data": records}
