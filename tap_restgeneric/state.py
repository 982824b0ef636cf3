"""The ``--state`` a sync starts from, checked before any request.

Singer state is ``{"bookmarks": {<stream>: <entry>}}``; an entry holds ``replication_key`` and
``replication_key_value`` (the bookmark), ``progress_markers`` (a sync under way), and, for a stream
with one bookmark per parent, ``partitions``: a list of entries, each with its ``context``; a stream with date
windows or list partitions, ``partition_bookmarks``: an object of ``{"cursor": <bookmark>}`` by partition. A state of
another shape (``bookmarks`` a string, an entry a list, ``partitions`` a string) is refused in one
line naming the stream and what was expected: the SDK would fail on it with an AttributeError, and
ignoring an entry would read its stream again from the start. Keys the tap does not read are kept
as they are.

A bookmark must also be a value of its stream's cursor (``values.CursorType``): ``"zzzz"`` for a
date-time cursor would otherwise compare with every record as text and drop them all.
"""

from __future__ import annotations

import json
import typing as t

from tap_restgeneric.errors import StateError, config_path

if t.TYPE_CHECKING:
    from tap_restgeneric.values import CursorType

#: The keys of a stream's (or a partition's) entry that the SDK reads, and the JSON types they take.
_ENTRY_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "replication_key": ((str,), "a string (the cursor field)"),
    "replication_key_value": ((str, int, float, type(None)), "a string, a number or null"),
    "progress_markers": ((dict,), "an object"),
    "replication_key_signpost": ((str, int, float, type(None)), "a string, a number or null"),
    "starting_replication_value": ((str, int, float, type(None)), "a string, a number or null"),
    # date windows and list partitions (streams.slices): {<partition as JSON>: {"cursor": <bookmark>}}
    "partition_bookmarks": ((dict,), 'an object of partitions, each {"cursor": <bookmark>}'),
}
_PARTITIONS = 'a list of objects, each with a "context" object'


def check_shape(state: t.Mapping[str, t.Any]) -> None:
    """Raises a StateError (a line per problem) if ``state`` is not of the shape the tap reads."""
    problems = shape_problems(state)
    if problems:
        raise StateError(problems)


def check_bookmarks(state: t.Mapping[str, t.Any], cursors: t.Mapping[str, CursorType | None]) -> None:
    """Raises a StateError if a bookmark is not a value of its stream's cursor (``cursors``: the streams'
    by name; None: a stream that reads no bookmark). A killed run's signpost is dropped: the SDK's
    signpost is the start of the run that writes it, and this tap applies it as values come."""
    problems = []
    for name, entry in (state.get("bookmarks") or {}).items():
        for held in (entry, *entry.get("partitions", ())):
            held.pop("replication_key_signpost", None)
        cursor_type = cursors.get(name)
        if cursor_type is not None:
            problems += bookmark_problems(name, entry, cursor_type)
    if problems:
        raise StateError(problems)


def shape_problems(state: t.Mapping[str, t.Any]) -> list[str]:
    """What in ``state`` is not of the shape the tap reads: one line each, naming the stream."""
    if "bookmarks" not in state:
        return []
    bookmarks = state["bookmarks"]
    if not isinstance(bookmarks, dict):
        return [f"bookmarks: expected an object of stream states, got {_kind(bookmarks)}"]
    problems: list[str] = []
    for stream, entry in bookmarks.items():
        where = config_path("bookmarks", stream)
        problems += _entry_problems(str(stream), where, entry, partitioned=True)
    return problems


def _entry_problems(stream: str, where: str, entry: t.Any, *, partitioned: bool) -> list[str]:
    if not isinstance(entry, dict):
        what = "a stream state" if partitioned else "a partition"
        return [f"stream {stream!r}: {where}: expected an object ({what}), got {_kind(entry)}"]
    problems = [
        f"stream {stream!r}: {config_path(where, key)}: expected {expected}, got {_kind(entry[key])}"
        for key, (types, expected) in _ENTRY_KEYS.items()
        if key in entry and (isinstance(entry[key], bool) or not isinstance(entry[key], types))
    ]
    problems += _partition_bookmark_problems(stream, where, entry.get("partition_bookmarks"))
    if not partitioned:
        if not isinstance(entry.get("context"), dict):
            problems.append(
                f"stream {stream!r}: {config_path(where, 'context')}: expected an object, got {_kind(entry.get('context'))}"
            )
        return problems
    if "partitions" in entry:
        partitions = entry["partitions"]
        if not isinstance(partitions, list):
            return [
                *problems,
                f"stream {stream!r}: {config_path(where, 'partitions')}: expected {_PARTITIONS}, got {_kind(partitions)}",
            ]
        for index, partition in enumerate(partitions):
            problems += _entry_problems(
                stream, config_path(config_path(where, "partitions"), index), partition, partitioned=False
            )
    return problems


def _partition_bookmark_problems(stream: str, where: str, table: t.Any) -> list[str]:
    """A windowed stream's ``partition_bookmarks``: each partition's entry an object whose ``cursor`` is a string."""
    if not isinstance(table, dict):
        return []
    at = config_path(where, "partition_bookmarks")
    return [
        f'stream {stream!r}: {config_path(at, key)}: expected {{"cursor": <a string>}}, got {_kind(held)}'
        for key, held in table.items()
        if not isinstance(held, dict) or not isinstance(held.get("cursor"), (str, type(None)))
    ]


def bookmark_problems(stream: str, entry: t.Mapping[str, t.Any], cursor_type: CursorType) -> list[str]:
    """The bookmarks of one stream's entry (and its partitions') that are not values of its cursor
    (a bookmark kept under another replication_key is not read, and not checked)."""
    where = config_path("bookmarks", stream)
    places = [(where, entry)] + [
        (config_path(config_path(where, "partitions"), index), partition)
        for index, partition in enumerate(entry.get("partitions") or [])
    ]
    problems = []
    for place, held in places:
        value = held.get("replication_key_value")
        if value is None or held.get("replication_key") != cursor_type.field or cursor_type.parse(value) is not None:
            continue
        problems.append(
            f"stream {stream!r}: {place}.replication_key_value: {value!r} is not {cursor_type.expected()} like cursor "
            f"{cursor_type.field!r}; correct or remove the bookmark (meltano state set / clear), or the stream "
            "would compare every record with it"
        )
    return problems


def _kind(value: t.Any) -> str:
    if value is None:
        return "null"
    names = {bool: "a boolean", str: "a string", int: "a number", float: "a number", list: "a list", dict: "an object"}
    return f"{names.get(type(value), type(value).__name__)} ({_short(value)})"


def _short(value: t.Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def partition_key(context: t.Mapping[str, t.Any]) -> str:
    """The key of a state partition's context (and of a job fetched ahead for it): its JSON text."""
    return json.dumps(context, sort_keys=True, default=str)


def without_progress_markers(state: t.Any) -> t.Any:
    """``state`` without the SDK's progress markers (the STATE an interrupted sync writes)."""
    if isinstance(state, dict):
        return {key: without_progress_markers(value) for key, value in state.items() if key != "progress_markers"}
    if isinstance(state, list):
        return [without_progress_markers(value) for value in state]
    return state
