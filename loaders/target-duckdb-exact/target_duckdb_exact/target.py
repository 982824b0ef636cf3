"""A Singer target for DuckDB, built with the Meltano SDK.

Why not PyPI's target-duckdb 0.8.0: it loads through CSV ``COPY`` without
``HEADER false``, so DuckDB's sniffer may take the first row of a batch for a
header and drop it, silently. This loader writes each batch as newline-delimited
JSON and reads it with ``read_json`` and an explicit column list: there is no
header to guess. Streams with key properties are upserted (``INSERT OR REPLACE``
on a primary key), so re-running a full sync leaves no duplicates.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import tempfile
import typing as t

import duckdb
import msgspec
from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.sinks import BatchSink

_ENCODER = msgspec.json.Encoder(decimal_format="number")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def json_columns(types: dict[str, str]) -> str:
    """``read_json``'s ``columns`` argument: a struct literal of name -> DuckDB type."""
    return "{" + ", ".join(f"'{name.replace(chr(39), chr(39) * 2)}': '{kind}'" for name, kind in types.items()) + "}"


def duckdb_type(schema: dict) -> str:
    """The DuckDB column type for one JSON Schema property."""
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    if not types and "anyOf" in schema:
        types = [s.get("type") for s in schema["anyOf"] if isinstance(s.get("type"), str)]
    kinds = [k for k in types if k != "null"]
    if len(kinds) != 1:
        return "JSON" if {"object", "array"} & set(kinds) else "VARCHAR"
    kind = kinds[0]
    if kind == "string":
        return {"date-time": "TIMESTAMPTZ", "date": "DATE"}.get(schema.get("format", ""), "VARCHAR")
    return {"integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN", "object": "JSON", "array": "JSON"}.get(kind, "VARCHAR")


def widened(existing: str, wanted: str) -> str:
    """The column type that holds both what is loaded (``existing``) and what comes (``wanted``)."""
    existing = {"TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ"}.get(existing, existing)
    pair = {existing, wanted}
    if len(pair) == 1:
        return existing
    if pair == {"BIGINT", "DOUBLE"}:
        return "DOUBLE"
    if pair == {"DATE", "TIMESTAMPTZ"}:
        return "TIMESTAMPTZ"
    return "VARCHAR"


class DuckDBSink(BatchSink):
    """Loads each batch with one ``read_json`` statement inside one transaction."""

    #: Rows per batch: bounds the loader's memory; each batch is one read_json + one transaction.
    max_size = 20_000

    def __init__(self, target: TargetDuckDBExact, *args: t.Any, **kwargs: t.Any) -> None:
        self.target = target
        super().__init__(target, *args, **kwargs)

    @property
    def table(self) -> str:
        # Fully qualified: a file named like its schema (bench.duckdb, schema bench) is otherwise ambiguous.
        return f"{self.target.qualified_schema}.{quote(self.stream_name)}"

    def setup(self) -> None:
        con = self.target.connection
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {self.target.qualified_schema}")
        self.columns = {name: duckdb_type(prop) for name, prop in self.schema["properties"].items()}
        keys = list(self.key_properties)
        column_sql = ", ".join(f"{quote(name)} {kind}" for name, kind in self.columns.items())
        if keys:
            column_sql += f", PRIMARY KEY ({', '.join(map(quote, keys))})"
        con.execute(f"CREATE TABLE IF NOT EXISTS {self.table} ({column_sql})")
        existing = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
                [self.target.schema_name, self.stream_name],
            ).fetchall()
        )
        # A new SCHEMA (the tap's schema evolved) adds columns and widens types in place; the rows
        # already loaded keep their values (cast to the wider type). A column never narrows.
        for name, kind in self.columns.items():
            if name not in existing:
                con.execute(f"ALTER TABLE {self.table} ADD COLUMN {quote(name)} {kind}")
                continue
            wider = widened(existing[name], kind)
            if wider != existing[name] and name not in keys:
                con.execute(f"ALTER TABLE {self.table} ALTER COLUMN {quote(name)} TYPE {wider}")
            self.columns[name] = wider

    def _validate_and_parse(self, record: dict) -> dict:
        # The records go to DuckDB as JSON text, typed by the column list: parsing
        # timestamps into Python objects here would only be undone again.
        return record

    def process_batch(self, context: dict) -> None:
        records = context["records"]
        if not records:
            return
        keys = list(self.key_properties)
        if keys:
            # One row per key within a batch (the last one wins), as an upsert would leave it.
            latest = {tuple(r.get(k) for k in keys): r for r in records}
            records = list(latest.values())
        columns = list(self.columns)
        fd, path = tempfile.mkstemp(suffix=".jsonl", dir=self.target.spool_dir)
        try:
            with os.fdopen(fd, "wb") as spool:
                for record in records:
                    spool.write(_ENCODER.encode({c: record.get(c) for c in columns}))
                    spool.write(b"\n")
            column_types = json_columns({c: self.columns[c] for c in columns})
            select = ", ".join(map(quote, columns))
            verb = "INSERT OR REPLACE INTO" if keys else "INSERT INTO"
            version = self.target.versions.get(self.stream_name)
            with self.target.connection.cursor() as con:
                con.execute("BEGIN TRANSACTION")
                try:
                    con.execute(
                        f"{verb} {self.table} ({select}) SELECT {select} FROM read_json(?, format = 'newline_delimited', "
                        f"columns = {column_types}, maximum_object_size = 134217728)",
                        [path],
                    )
                except duckdb.Error as exc:
                    con.execute("ROLLBACK")  # nothing of the batch is loaded
                    raise LoadError(self._unstorable(con, path, keys) or f"stream '{self.stream_name}': {exc}") from None
                con.execute("COMMIT")
        finally:
            os.unlink(path)
        if version is not None and keys:  # the keys of this version: the others are stale at its end
            version.seen.update(latest)
        self.logger.info("Loaded %d rows into %s", len(records), self.table)

    def _unstorable(self, con: duckdb.DuckDBPyConnection, path: str, keys: list[str]) -> str | None:
        """The first value of the batch its column cannot hold, named by stream, column and key."""
        as_text = json_columns(dict.fromkeys(self.columns, "VARCHAR"))
        for column, kind in self.columns.items():
            if kind in ("VARCHAR", "JSON"):
                continue
            picked = ", ".join(map(quote, [*keys, column]))
            row = con.execute(
                f"SELECT {picked} FROM read_json(?, format = 'newline_delimited', columns = {as_text}) "
                f"WHERE {quote(column)} IS NOT NULL AND TRY_CAST({quote(column)} AS {kind}) IS NULL LIMIT 1",
                [path],
            ).fetchall()
            if row:
                key = dict(zip(keys, row[0][:-1], strict=True)) or "(no key properties)"
                return (
                    f"stream '{self.stream_name}': column '{column}' ({kind}) cannot hold {row[0][-1]!r} "
                    f"(record with key {key}); nothing of this batch was loaded"
                )
        return None

    def begin_version(self, version: int) -> VersionLoad:
        """ACTIVATE_VERSION, first of its version: remember where the table's rows end."""
        (floor,) = self.target.connection.execute(f"SELECT coalesce(max(rowid), -1) FROM {self.table}").fetchall()[0]
        return VersionLoad(version, set(), int(floor))

    def finish_version(self, load: VersionLoad) -> None:
        """ACTIVATE_VERSION again, after every record of the version: the rows it did not send go
        (with key properties: the keys it did not send; without: the rows from before it)."""
        keys = list(self.key_properties)
        fd, path = tempfile.mkstemp(suffix=".jsonl", dir=self.target.spool_dir)
        try:
            with os.fdopen(fd, "wb") as spool:
                for key in load.seen:
                    spool.write(_ENCODER.encode(dict(zip(keys, key, strict=True))))
                    spool.write(b"\n")
            with self.target.connection.cursor() as con:
                con.execute("BEGIN TRANSACTION")
                if keys:
                    same = " AND ".join(f"s.{quote(k)} IS NOT DISTINCT FROM {self.table}.{quote(k)}" for k in keys)
                    key_types = json_columns({k: self.columns[k] for k in keys})
                    sent = f"read_json(?, format = 'newline_delimited', columns = {key_types})"
                    con.execute(f"DELETE FROM {self.table} WHERE NOT EXISTS (SELECT 1 FROM {sent} s WHERE {same})", [path])
                else:
                    con.execute(f"DELETE FROM {self.table} WHERE rowid <= ?", [load.floor])
                con.execute("COMMIT")
        finally:
            os.unlink(path)
        self.logger.info("Activated version %s of %s: the rows it did not send are deleted", load.version, self.table)


@dataclasses.dataclass
class VersionLoad:
    """A full-table version being loaded: the keys it sent so far, and the table's last row before it."""

    version: int
    seen: set[tuple]
    floor: int


class LoadError(Exception):
    """A batch could not be loaded: one line naming the stream, the column and the record's key."""


class TargetDuckDBExact(Target):
    """Singer target for DuckDB that loads every record it reads."""

    name = "target-duckdb-exact"
    default_sink_class = DuckDBSink
    #: Lines decoded by msgspec (the SDK's own msgspec reader): the target's cost per record is mostly decoding.
    message_reader_class = MsgSpecReader
    #: The SDK drains sinks in worker processes when this is above 1; one DuckDB
    #: file has one writer, so batches are loaded one after the other.
    max_parallelism = 1

    config_jsonschema = th.PropertiesList(
        th.Property(
            "filepath", th.StringType, required=True, description="Path of the DuckDB database file (created if missing)."
        ),
        th.Property(
            "default_target_schema", th.StringType, default="main", description="DuckDB schema the tables are created in."
        ),
    ).to_dict()

    _connection: duckdb.DuckDBPyConnection | None = None
    _spool: tempfile.TemporaryDirectory | None = None

    @functools.cached_property
    def versions(self) -> dict[str, VersionLoad]:
        """Streams loading a full-table version (ACTIVATE_VERSION seen once so far)."""
        return {}

    def _process_activate_version_message(self, message_dict: dict) -> None:
        # The SDK's hook hands the message to the sink without loading the records before it.
        # A tap sends ACTIVATE_VERSION when a full-table sync starts and again when it has sent
        # every record (tap-restgeneric does for dlt's `replace`): the first time, the loader notes
        # what the table holds; the second, it deletes the rows the version did not send. A sync
        # that stops half way never sends the second: the old rows stay, nothing is lost.
        stream, version = message_dict["stream"], int(message_dict["version"])
        sink = self.get_sink(stream)
        if not isinstance(sink, DuckDBSink):
            return
        self.drain_one(sink)
        load = self.versions.get(stream)
        if load is None or load.version != version:
            self.versions[stream] = sink.begin_version(version)
        else:
            sink.finish_version(self.versions.pop(stream))

    @property
    def schema_name(self) -> str:
        return self.config.get("default_target_schema") or "main"

    @property
    def qualified_schema(self) -> str:
        (catalog,) = self.connection.execute("SELECT current_database()").fetchall()[0]
        return f"{quote(catalog)}.{quote(self.schema_name)}"

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            path = os.path.expanduser(self.config["filepath"])
            if os.path.dirname(path):
                os.makedirs(os.path.dirname(path), exist_ok=True)
            self._connection = duckdb.connect(path)
        return self._connection

    @property
    def spool_dir(self) -> str:
        if self._spool is None:
            self._spool = tempfile.TemporaryDirectory(prefix="target-duckdb-exact-")
        return self._spool.name

    def process_endofpipe(self) -> None:
        super().process_endofpipe()
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._spool is not None:
            self._spool.cleanup()


def main() -> None:
    """``target-duckdb-exact``: a batch that cannot be loaded ends in one line and exit 1."""
    try:
        TargetDuckDBExact.cli()
    except LoadError as exc:
        sys.stderr.write(f"target-duckdb-exact: error: {exc}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
