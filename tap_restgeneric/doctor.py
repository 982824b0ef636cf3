"""``tap-restgeneric --config FILE --doctor``: why a config does the wrong thing, one row per stream.

Each stream (the catalog's selected ones, with ``--catalog``) is probed with at most two requests,
each sent once (no retries): its first page and, when the paginator asks for it, the next one; a
child is probed under the first record of its parent's probe. A row says: the HTTP status (and
whether the credentials were accepted), how many records the selector matched, what the paginator
decided after page 1 (the next request, or the stop rule and why), whether the key is unique and
non-null in the sample, whether the incremental cursor is present and comparable, and the fields
of the sample the schema lacks or types differently; each problem with a hint. ``--format json``
prints the same as ``{"streams": [...]}``. Exit 0 only when every stream is ok. Secrets are
redacted as everywhere.

A ``--state`` file (Meltano's ``invoke`` adds one whenever a state file is left in its run folder)
is accepted and ignored: the probes start where a first sync starts (``initial_value``,
``start_date``), so that a stream with nothing new since the last sync still shows a first page to
check, and a stale state file cannot change what the doctor reports.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import typing as t

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_restgeneric.errors import RestGenericError
from tap_restgeneric.output.redact import REDACTOR
from tap_restgeneric.paging.paginators import PaginationLoop, PaginatorRefused
from tap_restgeneric.schema_drift import Contract, reconcile
from tap_restgeneric.source.parent_link import child_context
from tap_restgeneric.streams.incremental import closest_field
from tap_restgeneric.streams.stream import ResourceStream
from tap_restgeneric.tap import TapRestGeneric
from tap_restgeneric.transport.origins import display_url
from tap_restgeneric.values import start_value_problems

if t.TYPE_CHECKING:
    from tap_restgeneric.paging.page import Page

#: Sampled records whose fields are compared with the schema.
SAMPLE = 100
BODY_IS_THE_LIST = "the body itself is the list of records (remove data_selector, or set it to $)"


@dataclasses.dataclass
class Row:
    stream: str
    status: int | None = None
    records: int | None = None
    stop_reason: str | None = None
    next_request: str | None = None
    problems: list[str] = dataclasses.field(default_factory=list)
    sample: list[dict] = dataclasses.field(default_factory=list, repr=False)
    #: Date windows and partitions: what a first sync would request, per partition (none sent).
    windows: list[str] = dataclasses.field(default_factory=list)
    #: Which auth, and its credential's state after the probe (when the token expires, where a refresh token came from).
    auth: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    #: The rate budgets as the probe's responses left them (per origin) and the config's fixed budgets.
    rate_limits: dict[str, t.Any] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, t.Any]:
        return {
            "stream": self.stream,
            "ok": self.ok,
            "status": self.status,
            "records": self.records,
            "stop_reason": self.stop_reason,
            "next_request": self.next_request,
            "problems": self.problems,
            "windows": self.windows,
            "auth": self.auth,
            "rate_limits": self.rate_limits,
        }

    def fact_lines(self) -> list[str]:
        """The auth and the budgets, in words (the text format)."""
        auth = self.auth
        lines = []
        if auth and auth.get("auth") != "none":
            said = [str(auth["auth"])]
            said += [f"token expires {auth['token_expires_at']}"] if auth.get("token_expires_at") else []
            said += [f"refresh token from {auth['refresh_token_from']}"] if auth.get("refresh_token_from") else []
            lines.append("auth: " + ", ".join(said))
        lines += [
            f"rate limit of {origin['origin']}: {origin['header']} remaining {origin['remaining']}"
            + (f", resets {origin['resets_at']}" if origin.get("resets_at") else "")
            for origin in self.rate_limits.get("origins") or []
            if origin.get("header")
        ]
        lines += [
            f"api_budget policy {policy['policy']}: {policy['budget']} for {', '.join(policy['requests'])}: "
            f"{policy['calls_left']} calls left"
            for policy in self.rate_limits.get("api_budget") or []
        ]
        return lines


def lists_in(body: t.Any, prefix: str = "", depth: int = 3) -> list[str]:
    """Where a body holds lists of objects (``results``, ``meta.items``; ``$`` for the body itself):
    the selector's hint."""
    if isinstance(body, list) and not prefix:
        return [BODY_IS_THE_LIST] if body and isinstance(body[0], dict) else []
    if not isinstance(body, dict) or depth == 0:
        return []
    found = []
    for key, value in body.items():
        path = f"{prefix}{key}"
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            found.append(path)
        elif isinstance(value, dict):
            found += lists_in(value, f"{path}.", depth - 1)
    return found


def probe(stream: ResourceStream, context: t.Any) -> Row:
    row = Row(stream.name)
    try:
        _probe(stream, context, row)
    finally:
        sender = stream.parts.sender
        facts = getattr(sender.transport.authenticate, "facts", None)
        row.auth = facts() if callable(facts) else {}
        row.rate_limits = sender.gate.facts() if sender.gate is not None else {}
    return row


def _probe(stream: ResourceStream, context: t.Any, row: Row) -> None:
    slices = stream.parts.slices  # windows and partitions: listed, and the first slice probed
    row.windows = slices.describe({}) if slices is not None else []
    piece = slices.first() if slices is not None else None
    paginator, prepare = stream.parts.pages.requests_for(context, stream.starting_value(context), piece)
    page = _page(stream, row, prepare(paginator.current_value))
    if page is None:
        return
    row.records = len(page.records)
    row.sample = stream.parts.records.as_written(page.records, context)
    try:
        paginator.update(page)
    except (PaginationLoop, PaginatorRefused) as exc:
        row.problems.append(f"paginator: {exc}")
        return
    if paginator.finished:
        row.stop_reason = paginator.stop_reason
        if row.stop_reason == "empty page" and not page.records:
            row.problems.append("the first page has no records (an empty source, or filters/params that match nothing)")
    else:
        prepared = prepare(paginator.current_value)
        row.next_request = f"{prepared.method} {prepared.url}"  # with its paging parameters (secrets are redacted)
        second = _page(stream, row, prepared)
        if second is not None and second.records and second.records == page.records:
            row.problems.append(
                f"page 2 has the same records as page 1: the API ignores paginator {paginator.type_name!r}'s "
                "parameter (check page_param / offset_param / cursor_param)"
            )
    _check_sample(stream, row)


def _page(stream: ResourceStream, row: Row, prepared: t.Any) -> Page | None:
    sender = stream.parts.sender
    try:
        response = sender.send_once(prepared)
    except Exception as exc:  # noqa: BLE001 - any failure to connect is the row's problem
        row.problems.append(f"request to {display_url(prepared.url or '')} failed: {type(exc).__name__}: {exc}")
        return None
    row.status = row.status or response.status_code
    try:
        return sender.read_once(response, stream.parts.pages.reader.checked)
    except (FatalAPIError, RetriableAPIError, RestGenericError) as exc:
        problem = str(exc)
        if response.status_code in (401, 403):
            problem += "; hint: the credentials were refused (secrets, client.auth)"
        elif "matched nothing" in problem or "not data" in problem:
            try:
                found = lists_in(stream.parts.pages.reader.parse(response))
            except Exception:  # noqa: BLE001 - the hint is best effort
                found = []
            if found == [BODY_IS_THE_LIST]:
                problem += f"; hint: {BODY_IS_THE_LIST}"
            elif found:
                problem += f"; hint: the body's lists of records are at {', '.join(found)} (set data_selector)"
        row.problems.append(problem)
        return None


def _check_sample(stream: ResourceStream, row: Row) -> None:
    sample = row.sample[:SAMPLE]
    keys = list(stream.primary_keys or ())
    if keys and sample:
        values = [tuple(record.get(k) for k in keys) for record in sample]
        if any(None in value for value in values):
            row.problems.append(f"primary key {', '.join(keys)} is missing or null in the sample")
        elif len(set(values)) < len(values):
            row.problems.append(f"primary key {', '.join(keys)} is not unique in the sample (add a field to it)")
    incremental = stream.incremental
    if incremental and sample:
        cursor = incremental["cursor_path"]
        missing = sum(1 for record in sample if record.get(cursor) is None)
        if missing:
            problem = f"incremental cursor {cursor!r} is missing in {missing} of {len(sample)} records"
            if not any(cursor in record for record in sample):  # in none of them: most likely misspelt
                problem += f" ({closest_field(cursor, sample)})"
            row.problems.append(problem)
        if not stream.parts.schema.unknown:
            start_date = stream.parts.settings.start_date
            row.problems.extend(start_value_problems(stream.name, incremental, stream.schema, start_date))
    if stream.parts.schema.unknown:  # no schema declared: nothing to compare the sample with
        return
    changes: list[str] = []
    for record in sample:
        outcome = reconcile(stream.schema, record, Contract(), stream.name, None)
        changes += [change for change in outcome.changes if change not in changes]
    if changes:
        row.problems.append("the sample leaves the schema: " + "; ".join(changes[:5]))


class DoctorTap(TapRestGeneric):
    """The tap, with streams that do not sample the API for a schema: the probes are the only requests."""

    samples_schemas = False


def doctor(tap: TapRestGeneric) -> list[Row]:
    """One row per selected stream, parents first; an unselected ancestor is probed (not shown)
    for the record its descendants are probed under."""
    rows: dict[str, Row] = {}
    streams = {name: s for name, s in tap.streams.items() if isinstance(s, ResourceStream)}

    def row_for(stream: ResourceStream) -> Row:
        if stream.name not in rows:
            parent = streams[stream.link.parent] if stream.link is not None else None
            rows[stream.name] = _safe_probe(stream, parent, row_for)
        return rows[stream.name]

    ordered = _parents_first(streams)
    for stream in ordered:
        if stream.selected:
            row_for(stream)
    return [rows[s.name] for s in ordered if s.selected and s.name in rows]


def _safe_probe(stream: ResourceStream, parent: ResourceStream | None, row_for: t.Callable[[ResourceStream], Row]) -> Row:
    """``probe`` under the first record of the parent's probe; anything that goes wrong is the row's problem."""
    try:
        context = None
        if stream.link is not None and parent is not None:
            parent_row = row_for(parent)
            if not parent_row.sample:
                return Row(stream.name, problems=[f"no record of '{parent.name}' to probe it under"])
            record = parent_row.sample[0]
            context = child_context(record, [(stream.name, stream.link)], parent.parts.key.describe)
        return probe(stream, context)
    except Exception as exc:  # noqa: BLE001 - a row per stream, whatever fails
        text = str(exc) if isinstance(exc, RestGenericError) else f"{type(exc).__name__}: {exc}"
        return Row(stream.name, problems=[" ".join(text.split())])


def _parents_first(streams: dict[str, ResourceStream]) -> list[ResourceStream]:
    ordered: list[ResourceStream] = []

    def add(stream: ResourceStream) -> None:
        if stream in ordered:
            return
        if stream.link is not None:
            add(streams[stream.link.parent])
        ordered.append(stream)

    for stream in streams.values():
        add(stream)
    return ordered


def render(rows: list[Row], fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"streams": [row.as_json() for row in rows]}, indent=2)
    lines = []
    for row in rows:
        paging = f"next: {row.next_request}" if row.next_request else f"stopped: {row.stop_reason or '-'}"
        status = "ok" if row.ok else "PROBLEM"
        records = "-" if row.records is None else str(row.records)
        lines.append(f"{row.stream:24} {status:8} HTTP {row.status or '-'}  records {records:>5}  {paging}")
        lines.extend(f"    {line}" for line in row.windows)
        lines.extend(f"    - {problem}" for problem in row.problems)
        lines.extend(f"    {fact}" for fact in row.fact_lines())
    return "\n".join(lines)


def main(*, config: dict, parse_env: bool, catalog: dict | None, output_format: str) -> int:
    """Probe, print the rows (``output_format`` text or json), and return the exit code."""
    tap = DoctorTap(config=config, catalog=catalog, parse_env_config=parse_env)
    rows = doctor(tap)
    sys.stdout.write(REDACTOR(render(rows, output_format)) + "\n")
    return 0 if rows and all(row.ok for row in rows) else 1
