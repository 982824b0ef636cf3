"""A deterministic loopback API generated from an Airbyte manifest, for the CDK oracle and the tap alike.

From a manifest (its URLs rewritten to the mock with `rewrite_urls`, then read with resolve.load) and
the connector config, every stream's endpoint answers on 127.0.0.1:

- the request path of the requester (templates rendered with the config; placeholders that need a
  partition or a window are accepted by pattern);
- records placed where the RecordSelector's DpathExtractor `field_path` looks (wildcards included),
  with the fields of the stream's inline schema, its primary key, its cursor field (written in the
  cursor's `cursor_datetime_formats[0]` or `datetime_format`) and the fields its templates read;
- pages served the way the paginator asks: PageIncrement's page parameter (absent on the first request
  unless `inject_on_first_request`), OffsetIncrement's offset, CursorPagination's token put where
  `cursor_value` reads it (`response.a.b`, `headers[...]`, a `Link` header, `last_record`) with
  `stop_condition` made true on the last page; a page-size paginator gets `page_size + 1` records (a
  full page, then a short one) when its page size is at most 50 (10 for a partitioned stream), else 3;
- records filtered by the window's start/end when the request carries them (`start_time_option`,
  `end_time_option`, or request parameters rendered from `stream_interval`);
- children's records derived from the partition in their path or parameters, so that parent and child
  ids are consistent (a child's records differ per parent);
- the OAuth token endpoint and the SessionToken login endpoint answering with fake tokens.

Records depend only on the manifest, the config, the request and the frozen "now" given at
construction, never on the wall clock, the port or the order of requests. Every request is logged
(method, path, query, body) for the golden files.
"""

from __future__ import annotations

import dataclasses
import datetime
import http.server
import itertools
import json
import re
import threading
import time
import typing as t
import zlib
from urllib.parse import parse_qsl, urlencode, urlsplit

import jinja2

from tests.airbyte import interp, resolve, timefmt

# A page-size paginator gets page_size + 1 records (a full page, then a short one) when its page size is at
# most this; a partitioned stream (one request chain per parent record or list value) only up to the second.
MAX_SIZE_FOR_TWO_PAGES = 50
MAX_SIZE_FOR_TWO_PAGES_PER_PARTITION = 10
CURSOR_PAGE_LENGTH = 2
RECORDS_PER_PARTITION = 3
MAX_EXTRA_FIELDS = 5
TOKEN_MARK = "page-token-"
_TOKEN_IN_TEXT = re.compile(re.escape(TOKEN_MARK) + r"(\d+)")
_RESPONSE_PATH = re.compile(
    r"\bresponse((?:\s*\.\s*(?!get\b)[A-Za-z_]\w*|\[\s*['\"][^'\"]+['\"]\s*\]|\.get\(\s*['\"][^'\"]+['\"][^)]*\))+)"
)
_HEADER_NAME = re.compile(r"\bheaders(?:\[\s*['\"]([^'\"]+)['\"]\s*\]|\.get\(\s*['\"]([^'\"]+)['\"]|\.([A-Za-z_][\w-]*))")
_PATH_KEY = re.compile(r"\.get\(\s*['\"]([^'\"]+)['\"]|\.\s*([A-Za-z_]\w*)|\[\s*['\"]([^'\"]+)['\"]\s*\]")
_RECORD_FIELD = re.compile(
    r"\b(?:record|last_record)(?:\[\s*['\"]([^'\"]+)['\"]\s*\]|\.get\(\s*['\"]([^'\"]+)['\"]|\.([A-Za-z_]\w*))"
)
_SLICE_TIME = re.compile(r"\b(?:stream_interval|stream_slice)\s*(?:\.\s*|\[\s*['\"])(start_time|end_time)")
_TEMPLATE_PART = re.compile(r"(\{\{.*?\}\}|\{%.*?%\})", re.DOTALL)
_STOP_CANDIDATES: tuple[t.Any, ...] = (None, False, True, 0, 1, 2, "x", [], [1], {})
UTC = datetime.timezone.utc


# ---------------------------------------------------------------- manifest rewriting


_NOT_REWRITTEN = frozenset({"spec", "schemas", "schema", "metadata", "description", "documentation_url", "title", "examples"})


def rewrite_urls(manifest: dict[str, t.Any], base_url: str) -> dict[str, t.Any]:
    """A copy of the manifest whose absolute URLs point at the mock: `https://api.x.com/v1` becomes
    `{base_url}/api.x.com/v1` (also inside templates); the spec and schemas are left alone."""
    base = base_url.rstrip("/") + "/"
    already = re.compile(r"https?://(?!" + re.escape(base[len("http://") :]) + ")")  # idempotent

    def visit(node: t.Any) -> t.Any:
        if isinstance(node, dict):
            return {k: v if k in _NOT_REWRITTEN else visit(v) for k, v in node.items()}
        if isinstance(node, list):
            return [visit(item) for item in node]
        if isinstance(node, str):
            return already.sub(base, node)
        return node

    rewritten = visit(manifest)
    assert isinstance(rewritten, dict)
    return rewritten


def config_url_keys(loaded: dict[str, t.Any]) -> set[str]:
    """Config keys a url_base (or token/login endpoint) starts with: their values must be mock URLs."""
    keys: set[str] = set()
    for _path, component in resolve.walk(loaded):
        for field in ("url_base", "token_refresh_endpoint", "url"):
            value = component.get(field)
            if isinstance(value, str):
                match = re.match(
                    r"\s*\{\{\s*config(?:\[\s*['\"]([^'\"]+)['\"]\s*\]|\.get\(\s*['\"]([^'\"]+)['\"]|\.([A-Za-z_]\w*))", value
                )
                if match:
                    keys.add(next(g for g in match.groups() if g))
    return keys


# ---------------------------------------------------------------- endpoint model


@dataclasses.dataclass(frozen=True)
class Option:
    """Where a value goes in a request (a RequestOption): request_parameter, header, body_json, body_data."""

    inject_into: str
    field_name: str


@dataclasses.dataclass(frozen=True)
class Paging:
    kind: str  # none | page | offset | cursor
    page_size: int | None = None
    start_from_page: int = 0
    inject_on_first_request: bool = False
    token_option: Option | None = None
    request_path: bool = False
    size_option: Option | None = None
    cursor_value: str | None = None
    stop_condition: str | None = None


@dataclasses.dataclass(frozen=True)
class Window:
    cursor_field: str
    record_format: str
    parse_formats: tuple[str, ...]
    start_options: tuple[Option, ...]
    end_options: tuple[Option, ...]
    descending: bool


@dataclasses.dataclass
class Endpoint:
    method: str
    template: str
    pattern: re.Pattern[str]
    wildcards: int
    streams: list[str]
    field_paths: list[list[str]]
    paging: Paging
    window: Window | None
    fields: dict[str, dict[str, t.Any]]
    id_fields: set[str]
    parameters: dict[str, t.Any]
    partitioned: bool = False
    tokens: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def specificity(self) -> tuple[int, int]:
        return (self.wildcards, -len(self.template))


@dataclasses.dataclass(frozen=True)
class AuthEndpoint:
    method: str
    path: str
    body: dict[str, t.Any]


# Headers every HTTP client sends its own way: not logged.
_GENERIC_HEADERS = frozenset({"host", "user-agent", "accept", "accept-encoding", "connection", "content-length"})


@dataclasses.dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: list[list[str]]
    body: t.Any
    headers: dict[str, str]

    def as_dict(self) -> dict[str, t.Any]:
        return {"method": self.method, "path": self.path, "query": self.query, "body": self.body, "headers": self.headers}


@dataclasses.dataclass
class Reply:
    status: int
    body: t.Any
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    raw: bytes | None = None  # a body sent as is (not JSON)


@dataclasses.dataclass
class Fault:
    """A scripted answer for the requests whose path matches: the first `times` of them (all when None)."""

    path: str
    status: int = 500
    body: t.Any = None
    raw: str | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    times: int | None = None
    method: str | None = None
    seen: int = 0

    @classmethod
    def from_dict(cls, spec: dict[str, t.Any]) -> Fault:
        return cls(**{k: v for k, v in spec.items() if k in {"path", "status", "body", "raw", "headers", "times", "method"}})


class MockApi:
    """The endpoints of one manifest, and the request handling; served by MockServer."""

    def __init__(
        self,
        loaded: dict[str, t.Any],
        config: dict[str, t.Any],
        *,
        base_url: str,
        now: datetime.datetime,
        start: datetime.datetime,
        max_requests: int = 5000,
        faults: list[Fault] | None = None,
        single_object_streams: t.Iterable[str] = (),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.config = config
        self.now = now
        self.start = start
        self.max_requests = max_requests
        self.faults = list(faults or [])
        self.single_object_streams = set(single_object_streams)
        self._env = interp.environment(now)
        self._strict_env = interp.environment(now, strict=True)
        self._lock = threading.Lock()
        self.requests: list[LoggedRequest] = []
        self.unmatched: list[str] = []
        parent_keys = _parent_keys(loaded)
        self.endpoints: list[Endpoint] = []
        self.auth: list[AuthEndpoint] = []
        seen: dict[tuple[str, str], Endpoint] = {}
        for _path, component in resolve.walk(loaded):
            if component["type"] == "DeclarativeStream":
                endpoint = self._endpoint(component, parent_keys)
                if endpoint is None:
                    continue
                same = seen.get((endpoint.method, endpoint.template))
                if same is None:
                    seen[(endpoint.method, endpoint.template)] = endpoint
                    self.endpoints.append(endpoint)
                else:
                    for name in endpoint.streams:
                        if name not in same.streams:
                            same.streams.append(name)
                    for field_path in endpoint.field_paths:
                        if field_path not in same.field_paths:
                            same.field_paths.append(field_path)
                    for key, prop in endpoint.fields.items():
                        same.fields.setdefault(key, prop)
            elif component["type"] in {"OAuthAuthenticator", "SessionTokenAuthenticator"}:
                auth = self._auth_endpoint(component)
                if auth is not None:
                    self.auth.append(auth)
        self.endpoints.sort(key=lambda e: e.specificity)

    # ------------------------------------------------------------ building

    def _static_context(self, component: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"config": self.config, "parameters": component.get(resolve.PARAMETERS_KEY, {})}

    def _render_static(self, template: t.Any, component: dict[str, t.Any]) -> t.Any:
        """A value that depends on the config and parameters only, or None when it needs more."""
        if not isinstance(template, str):
            return template
        try:
            return interp.evaluate(self._strict_env, template, self._static_context(component))
        except (jinja2.TemplateError, TypeError, ValueError, KeyError, AttributeError, IndexError):
            return None

    def _option(self, spec: t.Any, component: dict[str, t.Any]) -> Option | None:
        if not isinstance(spec, dict) or spec.get("type") == "RequestPath":
            return None
        name = spec.get("field_name")
        if name is None and isinstance(spec.get("field_path"), list):
            name = "/".join(str(p) for p in spec["field_path"])
        rendered = self._render_static(name, component)
        if rendered is None:
            return None
        return Option(str(spec.get("inject_into", "request_parameter")), str(rendered))

    def _path_pattern(self, url_template: str, component: dict[str, t.Any]) -> tuple[str, re.Pattern[str], int] | None:
        """The path part of the request URL as a regex: config placeholders rendered, others wildcards."""
        parts = _TEMPLATE_PART.split(url_template)
        if any(p.startswith("{%") for p in parts):
            whole = self._render_static(url_template, component)
            if whole is None:
                return None
            parts = [str(whole)]
        regex, text, wildcards = "", "", 0
        for part in parts:
            if not part.startswith("{{"):
                regex += re.escape(part)
                text += part
                continue
            try:
                value = interp.render(self._strict_env, part, self._static_context(component))
            except (jinja2.TemplateError, TypeError, ValueError, KeyError, AttributeError, IndexError):
                window = _SLICE_TIME.search(part)
                name = f"__{window.group(1)}" if window else f"w{wildcards}"
                regex += f"(?P<{name}>[^/]+?)" if name not in regex else "[^/]+?"
                text += "{*}"
                wildcards += 1
                continue
            regex += re.escape(value)
            text += value
        if not text.startswith(self.base_url):
            return None
        path_text = text[len(self.base_url) :].split("?", 1)[0]
        path_regex = regex[len(re.escape(self.base_url)) :] if regex.startswith(re.escape(self.base_url)) else None
        if path_regex is None:
            return None
        path_regex = path_regex.split(re.escape("?"), 1)[0].split("\\?", 1)[0]
        return path_text.rstrip("/"), re.compile(path_regex.rstrip("/") + "/?"), wildcards

    def _endpoint(self, stream: dict[str, t.Any], parent_keys: dict[str, set[str]]) -> Endpoint | None:
        retriever = stream.get("retriever") or {}
        if retriever.get("type") != "SimpleRetriever":
            return None
        requester = retriever.get("requester") or {}
        url_base = self._render_static(requester.get("url_base", ""), requester)
        path = requester.get("path") or ""
        if url_base is None:
            return None
        url_base = str(url_base)
        full = (
            path if str(path).startswith(("http://", "https://")) or (str(path).startswith("{{") and "url" in str(path)) else None
        )
        template = str(path) if full else f"{url_base.rstrip('/')}/{str(path).lstrip('/')}" if path else url_base
        built = self._path_pattern(template, requester)
        if built is None:
            return None
        path_text, pattern, wildcards = built
        selector = retriever.get("record_selector") or {}
        extractor = selector.get("extractor") or {}
        field_paths = []
        if extractor.get("type") == "DpathExtractor":
            raw_path = extractor.get("field_path") or []
            rendered = [self._render_static(p, extractor) for p in raw_path]
            field_paths.append([str(p) if p is not None else "*" for p in rendered])
        name = str(stream.get("name") or (stream.get(resolve.PARAMETERS_KEY) or {}).get("name") or "")
        window = self._window(stream)
        fields, id_fields = self._fields(stream, window, parent_keys.get(name, set()))
        return Endpoint(
            method=str(requester.get("http_method", "GET")).upper(),
            template=path_text,
            pattern=pattern,
            wildcards=wildcards,
            streams=[name],
            field_paths=field_paths or [[]],
            paging=self._paging(retriever),
            window=window,
            fields=fields,
            id_fields=id_fields,
            parameters=stream.get(resolve.PARAMETERS_KEY, {}),
            partitioned=bool(retriever.get("partition_router")),
        )

    def _paging(self, retriever: dict[str, t.Any]) -> Paging:
        paginator = retriever.get("paginator") or {}
        if paginator.get("type") != "DefaultPaginator":
            return Paging("none")
        strategy = paginator.get("pagination_strategy") or {}
        kind = {"PageIncrement": "page", "OffsetIncrement": "offset", "CursorPagination": "cursor"}.get(strategy.get("type", ""))
        if kind is None:
            return Paging("none")
        size = self._render_static(strategy.get("page_size"), strategy)
        token_spec = paginator.get("page_token_option")
        start_page = self._render_static(strategy.get("start_from_page", 0), strategy)
        return Paging(
            kind=kind,
            page_size=int(size) if isinstance(size, (int, float, str)) and str(size).strip().isdigit() else None,
            start_from_page=int(start_page) if isinstance(start_page, int) else 0,
            inject_on_first_request=bool(strategy.get("inject_on_first_request", False)),
            token_option=self._option(token_spec, paginator),
            request_path=isinstance(token_spec, dict) and token_spec.get("type") == "RequestPath",
            size_option=self._option(paginator.get("page_size_option"), paginator),
            cursor_value=strategy.get("cursor_value") if kind == "cursor" else None,
            stop_condition=strategy.get("stop_condition") if kind == "cursor" else None,
        )

    def _window(self, stream: dict[str, t.Any]) -> Window | None:
        cursor = stream.get("incremental_sync") or {}
        if cursor.get("type") != "DatetimeBasedCursor":
            return None
        field = self._render_static(cursor.get("cursor_field"), cursor)
        if not field:
            return None
        datetime_format = str(self._render_static(cursor.get("datetime_format"), cursor) or "%Y-%m-%dT%H:%M:%S.%f%z")
        record_formats = [str(f) for f in cursor.get("cursor_datetime_formats") or []]
        starts = [o for o in [self._option(cursor.get("start_time_option"), cursor)] if o]
        ends = [o for o in [self._option(cursor.get("end_time_option"), cursor)] if o]
        requester = (stream.get("retriever") or {}).get("requester") or {}
        for where, key in (
            ("request_parameter", "request_parameters"),
            ("body_json", "request_body_json"),
            ("header", "request_headers"),
        ):
            values = requester.get(key)
            if not isinstance(values, dict):
                continue
            for name, value in values.items():
                match = _SLICE_TIME.search(str(value))
                if match:
                    (starts if match.group(1) == "start_time" else ends).append(Option(where, str(name)))
        return Window(
            cursor_field=str(field),
            record_format=record_formats[0] if record_formats else datetime_format,
            parse_formats=(datetime_format, *record_formats),
            start_options=tuple(starts),
            end_options=tuple(ends),
            descending=str(cursor.get("is_data_feed", False)).lower() == "true",
        )

    def _fields(
        self, stream: dict[str, t.Any], window: Window | None, parent_keys: set[str]
    ) -> tuple[dict[str, dict[str, t.Any]], set[str]]:
        schema = (
            ((stream.get("schema_loader") or {}).get("schema") or {}) if isinstance(stream.get("schema_loader"), dict) else {}
        )
        properties = schema.get("properties") if isinstance(schema, dict) else None
        properties = properties if isinstance(properties, dict) else {}
        key = stream.get("primary_key") or []
        key_fields = {key} if isinstance(key, str) else {k if isinstance(k, str) else k[0] for k in key if k}
        referenced = {next(g for g in m if g) for m in _RECORD_FIELD.findall(json.dumps(stream.get("retriever", {})))}
        referenced |= {next(g for g in m if g) for m in _RECORD_FIELD.findall(json.dumps(stream.get("transformations", [])))}
        wanted = list(dict.fromkeys([*sorted(key_fields), *sorted(parent_keys), *sorted(referenced)]))
        if window:
            wanted.append(window.cursor_field)
        extra = [k for k in properties if k not in wanted][:MAX_EXTRA_FIELDS]
        fields = {k: (properties.get(k) if isinstance(properties.get(k), dict) else {}) for k in [*wanted, *extra]}
        if not fields:
            fields = {"id": {"type": "integer"}}
            key_fields = {"id"}
        return fields, key_fields | parent_keys | ({"id"} if "id" in fields else set())

    def _auth_endpoint(self, component: dict[str, t.Any]) -> AuthEndpoint | None:
        if component["type"] == "OAuthAuthenticator":
            url = self._render_static(component.get("token_refresh_endpoint"), component)
            body = {
                str(component.get("access_token_name") or "access_token"): "mock-access-token",
                str(component.get("expires_in_name") or "expires_in"): 3600,
                "token_type": "Bearer",
            }
            updater = component.get("refresh_token_updater")
            if isinstance(updater, dict):
                name = updater.get("refresh_token_name") or component.get("refresh_token_name") or "refresh_token"
                body[str(name)] = "mock-rotated-refresh-token"
            method = "POST"
        else:
            login = component.get("login_requester") or {}
            base = self._render_static(login.get("url_base", ""), login) or ""
            path = self._render_static(login.get("path", ""), login) or ""
            url = f"{str(base).rstrip('/')}/{str(path).lstrip('/')}" if path else base
            body = {}
            target: dict[str, t.Any] = body
            token_path = [str(p) for p in component.get("session_token_path") or ["token"]]
            for part in token_path[:-1]:
                target = target.setdefault(part, {})
            target[token_path[-1]] = "mock-session-token"
            method = str(login.get("http_method", "POST")).upper()
        if not isinstance(url, str) or not url.startswith(self.base_url):
            return None
        return AuthEndpoint(method, url[len(self.base_url) :].split("?", 1)[0].rstrip("/"), body)

    # ------------------------------------------------------------ serving

    def reset(self) -> None:
        """Forget the requests seen and rearm the faults (before a second run)."""
        with self._lock:
            self.requests.clear()
            self.unmatched.clear()
            for fault in self.faults:
                fault.seen = 0

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Reply:
        split = urlsplit(raw_path)
        query = parse_qsl(split.query, keep_blank_values=True)
        parsed_body = _parse_body(body, headers.get("content-type", ""))
        logged_headers = {k: v for k, v in sorted(headers.items()) if k not in _GENERIC_HEADERS}
        with self._lock:
            self.requests.append(LoggedRequest(method, split.path, [[k, v] for k, v in query], parsed_body, logged_headers))
            if len(self.requests) > self.max_requests:
                return Reply(400, {"error": f"mock API: more than {self.max_requests} requests"})
            for fault in self.faults:
                armed = fault.times is None or fault.seen < fault.times
                if armed and re.fullmatch(fault.path, split.path) and fault.method in {None, method}:
                    fault.seen += 1
                    raw = fault.raw.encode() if fault.raw is not None else None
                    return Reply(fault.status, fault.body, dict(fault.headers), raw)
        path = split.path.rstrip("/")
        for auth in self.auth:
            if auth.path == path and auth.method == method:
                return Reply(200, auth.body)
        for endpoint in self.endpoints:
            if endpoint.method != method:
                continue
            match = endpoint.pattern.fullmatch(split.path)
            if match:
                with self._lock:
                    return self._page(endpoint, match, query, parsed_body, headers)
        with self._lock:
            self.unmatched.append(f"{method} {split.path}")
        return Reply(404, {"error": f"mock API: no endpoint for {method} {split.path}"})

    def _values(self, option: Option, query: list[tuple[str, str]], body: t.Any, headers: dict[str, str]) -> list[t.Any]:
        if option.inject_into == "request_parameter":
            return [v for k, v in query if k == option.field_name]
        if option.inject_into == "header":
            return [v for k, v in headers.items() if k.lower() == option.field_name.lower()]
        if isinstance(body, dict):
            target: t.Any = body
            for part in option.field_name.split("/"):
                target = target.get(part) if isinstance(target, dict) else None
            return [] if target is None else [target]
        return []

    def _page(
        self, endpoint: Endpoint, match: re.Match[str], query: list[tuple[str, str]], body: t.Any, headers: dict[str, str]
    ) -> Reply:
        paging = endpoint.paging
        consumed: set[str] = set()
        for option in (paging.token_option, paging.size_option):
            if option:
                consumed.add(option.field_name)
        window_start = window_end = None
        if endpoint.window:
            for options, is_start in ((endpoint.window.start_options, True), (endpoint.window.end_options, False)):
                for option in options:
                    consumed.add(option.field_name)
                    for value in self._values(option, query, body, headers):
                        parsed = timefmt.parse_datetime(value, endpoint.window.parse_formats)
                        if parsed is not None:
                            window_start, window_end = (parsed, window_end) if is_start else (window_start, parsed)
            captured = match.groupdict()
            for key, is_start in (("__start_time", True), ("__end_time", False)):
                if captured.get(key):
                    parsed = timefmt.parse_datetime(captured[key], endpoint.window.parse_formats)
                    if parsed is not None:
                        window_start, window_end = (parsed, window_end) if is_start else (window_start, parsed)
        token_index = self._token_index(endpoint, match.string, query, body, headers)
        seed_parts = [match.string if token_index is None else _TOKEN_IN_TEXT.sub("", match.string)]
        seed_parts += [f"{k}={v}" for k, v in query if k not in consumed and TOKEN_MARK not in v and v not in endpoint.tokens]
        if isinstance(body, dict):
            seed_parts += [f"{k}={json.dumps(v, sort_keys=True)}" for k, v in sorted(body.items()) if k not in consumed]
        seed = zlib.crc32("&".join(seed_parts).encode())

        size = paging.page_size
        if paging.size_option:
            sent = self._values(paging.size_option, query, body, headers)
            if sent and str(sent[0]).isdigit():
                size = int(sent[0])
        records = self._records(endpoint, seed, size)
        if endpoint.window and (window_start or window_end):
            records = [r for r in records if _in_window(r, endpoint.window, window_start, window_end)]

        if paging.kind in {"page", "offset"}:
            sent_values = self._values(paging.token_option, query, body, headers) if paging.token_option else []
            sent_number = int(sent_values[0]) if sent_values and str(sent_values[0]).lstrip("-").isdigit() else None
            if paging.kind == "page":
                number = paging.start_from_page if sent_number is None else sent_number
                first = (number - paging.start_from_page) * (size or len(records) or 1)
            else:
                first = sent_number or 0
            page = records[first : first + size] if size else records[first:] if first == 0 else []
            return Reply(200, self._body(endpoint, page))
        if paging.kind == "cursor":
            index = token_index or 0
            page = records[index * CURSOR_PAGE_LENGTH : (index + 1) * CURSOR_PAGE_LENGTH]
            last = (index + 1) * CURSOR_PAGE_LENGTH >= len(records)
            return self._cursor_reply(endpoint, page, index, last, match.string, query)
        return Reply(200, self._body(endpoint, records))

    def _token_index(
        self, endpoint: Endpoint, path: str, query: list[tuple[str, str]], body: t.Any, headers: dict[str, str]
    ) -> int | None:
        texts = [path, *(v for _k, v in query), *_leaves(body)]
        if endpoint.paging.token_option and endpoint.paging.token_option.inject_into == "header":
            texts += self._values(endpoint.paging.token_option, query, body, headers)
        for text in texts:
            found = _TOKEN_IN_TEXT.search(str(text))
            if found:
                return int(found.group(1))
        for text in texts:
            if str(text) in endpoint.tokens:
                return endpoint.tokens[str(text)]
        return None

    def _records(self, endpoint: Endpoint, seed: int, size: int | None) -> list[dict[str, t.Any]]:
        paging = endpoint.paging
        largest = MAX_SIZE_FOR_TWO_PAGES_PER_PARTITION if endpoint.partitioned else MAX_SIZE_FOR_TWO_PAGES
        if paging.kind in {"page", "offset"} and size and size <= largest:
            count = size + 1
        elif paging.kind == "cursor":
            count = 2 * CURSOR_PAGE_LENGTH + 1
        else:
            count = RECORDS_PER_PARTITION
        base = (1000 + seed % 9000) * 100
        span = (self.now - self.start).total_seconds()
        records = []
        for index in range(count):
            record: dict[str, t.Any] = {}
            number = base + index + 1
            for name, prop in endpoint.fields.items():
                if endpoint.window and name == endpoint.window.cursor_field:
                    instant = self.start + datetime.timedelta(seconds=int(span * (index + 1) / (count + 1)))
                    record[name] = timefmt.format_value(instant, endpoint.window.record_format)
                else:
                    record[name] = _value(name, prop, number, index, name in endpoint.id_fields)
            records.append(record)
        if endpoint.window and endpoint.window.descending:
            records.reverse()
        return records

    def _body(self, endpoint: Endpoint, page: list[dict[str, t.Any]]) -> t.Any:
        body: t.Any = None
        single = bool(self.single_object_streams & set(endpoint.streams))
        for field_path in endpoint.field_paths:
            # An API answering one object (an account, a company) where the extractor path ends.
            placed = _place_one(page[0] if page else {}, field_path) if single else _place(page, field_path)
            body = placed if body is None else _merge(body, placed)
        return body

    def _cursor_reply(
        self, endpoint: Endpoint, page: list[dict[str, t.Any]], index: int, last: bool, path: str, query: list[tuple[str, str]]
    ) -> Reply:
        paging = endpoint.paging
        body = self._body(endpoint, page)
        headers: dict[str, str] = {}
        template = paging.cursor_value or ""
        token = f"{TOKEN_MARK}{index + 1}"
        name = paging.token_option.field_name if paging.token_option else "page_token"
        kept = [(k, v) for k, v in query if TOKEN_MARK not in v and k != name]
        next_url = f"{self.base_url}{_TOKEN_IN_TEXT.sub('', path)}?{urlencode([*kept, (name, token)])}"
        record_paths = [p for p in endpoint.field_paths if p]
        cursor_field = endpoint.window.cursor_field if endpoint.window else None
        for keys in _response_paths(template, root="last_record") if page else []:
            if keys[0] not in endpoint.id_fields and keys[0] != cursor_field:
                # A next link carried by the last record (`last_record['next']`): set there, empty at the end.
                _set_path(page[-1], keys, None if last else (next_url if paging.request_path else token))
        if isinstance(body, dict):
            # The objects a template walks through exist on every page (`response.paging.next` must be
            # undefined on the last page, not an error on `paging`).
            for keys in [*_response_paths(template), *_response_paths(paging.stop_condition or "")]:
                if len(keys) > 1 and not any(_overlaps(keys, p) for p in record_paths):
                    _ensure_parents(body, keys)
        if not last:
            for keys in _response_paths(template):
                if isinstance(body, dict) and not any(_overlaps(keys, p) for p in record_paths):
                    use_url = paging.request_path or any(w in keys[-1].lower() for w in ("url", "link", "href", "uri"))
                    _set_path(body, keys, next_url if use_url else token)
            for header in _header_names(template):
                if header.lower() == "link":
                    headers["Link"] = f'<{next_url}>; rel="next"'
                else:
                    headers[header] = next_url if paging.request_path else token
        context = self._response_context(endpoint, body, headers, page)
        try:
            rendered = interp.evaluate(self._env, template, context)
        except (jinja2.TemplateError, TypeError, ValueError, KeyError, AttributeError, IndexError):
            rendered = None
        if not last and rendered not in (None, "", [], {}) and TOKEN_MARK not in str(rendered):
            endpoint.tokens[str(rendered)] = index + 1
        if paging.stop_condition and isinstance(body, dict):
            self._settle_stop(endpoint, body, headers, page, want_stop=last)
        return Reply(200, body, headers)

    def _response_context(
        self, endpoint: Endpoint, body: t.Any, headers: dict[str, str], page: list[dict[str, t.Any]]
    ) -> dict[str, t.Any]:
        header_view: dict[str, t.Any] = {**headers, **{k.lower(): v for k, v in headers.items()}}
        link = headers.get("Link")
        header_view["link"] = {"next": {"url": link[1 : link.index(">")], "rel": "next"}} if link else {}
        return {
            "response": body,
            "headers": header_view,
            "last_record": page[-1] if page else None,
            "last_page_size": len(page),
            "config": self.config,
            "parameters": endpoint.parameters,
        }

    def _settle_stop(
        self,
        endpoint: Endpoint,
        body: dict[str, t.Any],
        headers: dict[str, str],
        page: list[dict[str, t.Any]],
        *,
        want_stop: bool,
    ) -> None:
        """Give the stop condition's free response fields values that make it true on the last page only."""
        condition = endpoint.paging.stop_condition
        context = self._response_context(endpoint, body, headers, page)
        if interp.truthy(self._env, condition, context) == want_stop:
            return
        cursor_paths = _response_paths(endpoint.paging.cursor_value or "")
        record_paths = [p for p in endpoint.field_paths if p]
        free = [
            keys
            for keys in _response_paths(condition or "")
            if keys not in cursor_paths and not any(_overlaps(keys, p) for p in record_paths)
        ][:3]
        for values in itertools.product(_STOP_CANDIDATES, repeat=len(free)):
            trial = json.loads(json.dumps(body))
            for keys, value in zip(free, values, strict=True):
                _set_path(trial, keys, value)
            if interp.truthy(self._env, condition, self._response_context(endpoint, trial, headers, page)) == want_stop:
                body.clear()
                body.update(trial)
                return


# ---------------------------------------------------------------- helpers


def _parent_keys(loaded: dict[str, t.Any]) -> dict[str, set[str]]:
    """Stream name -> the record keys its children read as partition values (parent_key)."""
    keys: dict[str, set[str]] = {}
    for _path, component in resolve.walk(loaded):
        if component["type"] == "ParentStreamConfig":
            parent = component.get("stream") or {}
            name = str(parent.get("name") or (parent.get(resolve.PARAMETERS_KEY) or {}).get("name") or "")
            key = component.get("parent_key")
            if isinstance(key, str) and "{{" not in key:
                keys.setdefault(name, set()).add(key.split("/")[0].split(".")[0])
    return keys


def _value(name: str, prop: dict[str, t.Any], number: int, index: int, is_id: bool) -> t.Any:
    kind = prop.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if is_id:
        return number if kind in {"integer", "number"} else str(number)
    if prop.get("enum"):
        return prop["enum"][index % len(prop["enum"])]
    if kind == "integer":
        return index + 1
    if kind == "number":
        return (index + 1) * 1.5
    if kind == "boolean":
        return index % 2 == 0
    if kind == "object":
        nested = prop.get("properties") if isinstance(prop.get("properties"), dict) else {}
        return {k: _value(k, p, number, index, False) for k, p in list(nested.items())[:3] if isinstance(p, dict)}
    if kind == "array":
        return []
    if prop.get("format") == "date-time":
        return f"2026-01-0{index % 9 + 1}T00:00:00Z"
    if prop.get("format") == "date":
        return f"2026-01-0{index % 9 + 1}"
    return f"{name}-{number}"


def _in_window(record: dict[str, t.Any], window: Window, start: datetime.datetime | None, end: datetime.datetime | None) -> bool:
    instant = timefmt.parse_datetime(record.get(window.cursor_field, ""), (window.record_format,))
    if instant is None:
        return True
    return (start is None or instant >= start) and (end is None or instant <= end)


def _place(records: list[dict[str, t.Any]], path: list[str]) -> t.Any:
    if not path:
        return list(records)
    head, rest = path[0], path[1:]
    if head == "*":
        return list(records) if not rest else [_place_one(r, rest) for r in records]
    return {head: _place(records, rest)}


def _place_one(record: dict[str, t.Any], path: list[str]) -> t.Any:
    if not path:
        return record
    head, rest = path[0], path[1:]
    if head == "*":
        return [_place_one(record, rest)]
    return {head: _place_one(record, rest)}


def _merge(left: t.Any, right: t.Any) -> t.Any:
    if isinstance(left, dict) and isinstance(right, dict):
        merged = dict(left)
        for key, value in right.items():
            merged[key] = _merge(merged[key], value) if key in merged else value
        return merged
    return left


def _overlaps(keys: list[str], record_path: list[str]) -> bool:
    shortest = min(len(keys), len(record_path))
    return keys[:shortest] == record_path[:shortest]


def _response_paths(template: str, root: str = "response") -> list[list[str]]:
    """The key chains a template reads under `root` (`response.a.b`, `response['a'].get('b')`)."""
    paths = []
    pattern = _RESPONSE_PATH if root == "response" else re.compile(_RESPONSE_PATH.pattern.replace(r"\bresponse", rf"\b{root}", 1))
    for match in pattern.finditer(template):
        keys = [next(g for g in part if g) for part in _PATH_KEY.findall(match.group(1))]
        keys = [k for k in keys if k not in {"get", "keys", "values", "items"}]
        if keys and keys not in paths:
            paths.append(keys)
    return paths


def _header_names(template: str) -> list[str]:
    names = []
    for match in _HEADER_NAME.finditer(template):
        name = next(g for g in match.groups() if g)
        if name not in names and name != "get":
            names.append(name)
    return names


def _set_path(body: dict[str, t.Any], keys: list[str], value: t.Any) -> None:
    target = body
    for key in keys[:-1]:
        nested = target.get(key)
        if not isinstance(nested, dict):
            nested = {}
            target[key] = nested
        target = nested
    target[keys[-1]] = value


def _ensure_parents(body: dict[str, t.Any], keys: list[str]) -> None:
    target = body
    for key in keys[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]


def _leaves(node: t.Any) -> list[str]:
    if isinstance(node, dict):
        return [leaf for value in node.values() for leaf in _leaves(value)]
    if isinstance(node, list):
        return [leaf for value in node for leaf in _leaves(value)]
    return [] if node is None else [str(node)]


def _parse_body(body: bytes, content_type: str) -> t.Any:
    if not body:
        return None
    text = body.decode("utf-8", "replace")
    if "json" in content_type or text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text)
        except ValueError:
            return text
    if "x-www-form-urlencoded" in content_type:
        return [[k, v] for k, v in parse_qsl(text, keep_blank_values=True)]  # pairs: a key may repeat
    return text


# ---------------------------------------------------------------- server


class MockServer:
    """A threaded HTTP server on 127.0.0.1 serving one MockApi at a time (set `api` before requests)."""

    def __init__(self, port: int = 0, latency: float = 0.0) -> None:
        """``latency``: seconds each answer waits before it goes out (benchmarks/airbyte.py --latency-ms: a
        real API's round trip; the tests use none)."""
        self.api: MockApi | None = None
        self.latency = latency
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The headers and the body go out in two writes: with Nagle's algorithm the body waits for the
            # client's delayed ACK of the headers (40 ms on Linux), a stall per response that is neither the
            # tap's nor the CDK's (and swamped both sides' timings in benchmarks/airbyte.py).
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                api = server.api
                reply = api.handle(self.command, self.path, headers, body) if api else Reply(503, {"error": "no API loaded"})
                if server.latency:
                    time.sleep(server.latency)
                payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "text/plain" if reply.raw is not None else "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

            def log_message(self, *_args: t.Any) -> None:
                return  # quiet: the requests are logged by MockApi

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        # A short poll: stop() waits for the serving loop to notice (0.5 s by default, per server).
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> MockServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
