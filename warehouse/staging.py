"""The staging area: extraction writes records as Parquet parts; the single writer (warehouse.load) merges them.

The staging location is a local folder or any fsspec URL (s3://bucket/prefix, gcs://…, memory://…), so extraction
can run in any thread, process or machine: nothing here needs a warehouse connection. Parts are written whole or
not at all and named so that they sort in creation order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs

from ground.records import FLAG_TEXT_REPAIRED, MessageRecord, QuarantineRecord
from warehouse.db import sql

PART_SUFFIX = ".parquet"
MESSAGES, QUARANTINE, SLACK_USERS, SLACK_CHANNELS = "messages", "quarantine", "slack_users", "slack_channels"
RETIRED_MESSAGE_COLUMNS = ("side", "vendor_id", "recipient_vendor_ids", "is_internal")
SYNC_STATE = "sync_state"
SOURCE_READS = "source_reads"

_MESSAGE_SCHEMA = pa.schema(
    [
        ("ordinal", pa.int64()),
        ("message_key", pa.string()),
        ("channel", pa.string()),
        ("source", pa.string()),
        ("conversation_key", pa.string()),
        ("sent_at", pa.timestamp("us", tz="UTC")),
        ("sender", pa.string()),
        ("sender_name", pa.string()),
        ("sender_email", pa.string()),
        ("sender_team_id", pa.string()),
        ("recipients", pa.list_(pa.string())),
        ("is_automated", pa.bool_()),
        ("automated_reason", pa.string()),
        ("subject", pa.string()),
        ("body_text", pa.string()),
        ("body_full", pa.string()),
        ("body_words", pa.int32()),
        ("in_reply_to", pa.string()),
        ("references", pa.list_(pa.string())),
        ("slack_channel_id", pa.string()),
        ("slack_channel_name", pa.string()),
        ("slack_thread_ts", pa.string()),
        ("flags", pa.list_(pa.string())),
        ("content_hash", pa.string()),
        ("raw_ref", pa.string()),
    ]
)


_QUARANTINE_SCHEMA = pa.schema(
    [("source", pa.string()), ("raw_ref", pa.string()), ("reason", pa.string()), ("excerpt", pa.string())]
)
SLACK_USER_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("team_id", pa.string()),
        ("name", pa.string()),
        ("real_name", pa.string()),
        ("email", pa.string()),
        ("is_bot", pa.bool_()),
        ("source", pa.string()),
        ("raw_ref", pa.string()),
    ]
)
SLACK_CHANNEL_SCHEMA = pa.schema(
    [
        ("channel_id", pa.string()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("is_shared", pa.bool_()),
        ("team_ids", pa.list_(pa.string())),
        ("member_ids", pa.list_(pa.string())),
        ("source", pa.string()),
        ("raw_ref", pa.string()),
    ]
)
SYNC_STATE_SCHEMA = pa.schema(
    [("source", pa.string()), ("partition_key", pa.string()), ("cursor", pa.string())]
)
# One row per partition an extraction read (to the end: no error) or failed to read (error: one line); the
# writer keeps the latest of each in meta.source_reads. Staged like the data, so a read on another machine is
# recorded when its parts are merged.
SOURCE_READ_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("partition_key", pa.string()),
        ("partition_name", pa.string()),
        ("read_at", pa.timestamp("us", tz="UTC")),
        ("error", pa.string()),
        ("newest_sent_at", pa.timestamp("us", tz="UTC")),
    ]
)
DIRECTORY_SCHEMAS = {
    SLACK_USERS: SLACK_USER_SCHEMA,
    SLACK_CHANNELS: SLACK_CHANNEL_SCHEMA,
    SYNC_STATE: SYNC_STATE_SCHEMA,
    SOURCE_READS: SOURCE_READ_SCHEMA,
}
# Object stores make an upload visible whole or not at all, and renaming there means copying: parts go there in
# one PUT (so does fsspec's in-memory filesystem). Elsewhere (a local disk, SFTP…) a part is written under a
# hidden temp name, then renamed.
_ATOMIC_PUT_PROTOCOLS = frozenset({"memory", "s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})

# A part's temp file older than this was left by an extraction that died mid-write; a younger one may still be
# being written by a worker elsewhere, so it is left alone.
ABANDONED_TEMP_AGE = dt.timedelta(hours=24)


def _temp_name(name: str) -> str:
    """Where a part is written before its rename: hidden, so listings of parts skip it."""
    return f".{name}.tmp"


def _is_temp_name(name: str) -> bool:
    return name.startswith(".") and name.endswith(PART_SUFFIX + ".tmp")


_DERIVED_FIELDS = {"ordinal", "content_hash", "body_words", "conversation_key"}
_DIRECT_FIELDS = [name for name in _MESSAGE_SCHEMA.names if name not in _DERIVED_FIELDS]


def messages_table(records: list[MessageRecord], *, store_bodies: bool) -> pa.Table:
    """Records as the Arrow table the merge reads; bodies are dropped here when they must not be stored."""
    columns: dict[str, list] = {name: [] for name in _MESSAGE_SCHEMA.names}
    for ordinal, r in enumerate(records):
        columns["ordinal"].append(ordinal)
        columns["content_hash"].append(r.content_hash())
        columns["body_words"].append(None if r.body_text is None else len(r.body_text.split()))
        # Slack's comes from the connector. An email starts as a conversation of its own: the merge joins it
        # to the conversations of the ids it carries and names (warehouse/email_threads.py).
        columns["conversation_key"].append(r.conversation_key or r.message_key)
        for name in _DIRECT_FIELDS:
            columns[name].append(getattr(r, name))
    if not store_bodies:
        columns["body_text"] = columns["body_full"] = [None] * len(records)
    return arrow_table(columns, _MESSAGE_SCHEMA, flags_column="flags")


def quarantine_table(records: list[QuarantineRecord]) -> pa.Table:
    columns = {name: [getattr(q, name) for q in records] for name in _QUARANTINE_SCHEMA.names}
    return arrow_table(columns, _QUARANTINE_SCHEMA)


def rows_table(rows: list[dict[str, object]], schema: pa.Schema) -> pa.Table:
    """Rows (dicts; missing keys are null) as a table of `schema`, text repaired like records' (Slack users and
    channels)."""
    return arrow_table({name: [row.get(name) for row in rows] for name in schema.names}, schema)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def arrow_table(columns: dict[str, list], schema: pa.Schema, *, flags_column: str | None = None) -> pa.Table:
    """The columns as a table of `schema`, with lone surrogates replaced by U+FFFD.

    UTF-8 cannot hold a lone surrogate, yet Python strings can: JSON allows "\ud800", and undecodable bytes of
    file names arrive surrogate-escaped. Arrow refuses them, so one such string would stop the whole run.
    They are rare, so only a batch that has one pays for the repair. With `flags_column`, each repaired row
    gets FLAG_TEXT_REPAIRED there.
    """
    try:
        return pa.table(columns, schema=schema)
    except UnicodeEncodeError:
        pass
    for values in columns.values():
        for row, value in enumerate(values):
            repaired = _without_surrogates(value)
            if repaired != value:
                values[row] = repaired
                if flags_column is not None:
                    flags = columns[flags_column]
                    if FLAG_TEXT_REPAIRED not in flags[row]:
                        flags[row] = [*flags[row], FLAG_TEXT_REPAIRED]
    return pa.table(columns, schema=schema)


def _without_surrogates(value: object) -> object:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    return value


@dataclasses.dataclass(frozen=True)
class Part:
    """One staged Parquet file: its path on the filesystem that holds it; str() is its URL."""

    path: str
    fs: AbstractFileSystem = dataclasses.field(repr=False)

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]

    def __str__(self) -> str:
        return self.fs.unstrip_protocol(self.path)


@dataclasses.dataclass(frozen=True)
class StagingArea:
    """A staging location resolved once: the fsspec filesystem and the folder (or key prefix) on it."""

    fs: AbstractFileSystem
    root: str

    @classmethod
    def at(cls, location: StagingLocation) -> StagingArea:
        if isinstance(location, StagingArea):
            return location
        fs, root = url_to_fs(os.fspath(location))
        return cls(fs, root.rstrip("/"))

    @property
    def atomic_put(self) -> bool:
        protocols = {self.fs.protocol} if isinstance(self.fs.protocol, str) else set(self.fs.protocol)
        return not protocols.isdisjoint(_ATOMIC_PUT_PROTOCOLS)

    def part(self, name: str) -> Part:
        return Part(f"{self.root}/{name}", self.fs)


StagingLocation = str | os.PathLike[str] | StagingArea


class StagingWriter:
    """The extraction side: buffers records and writes them as Parquet parts; needs no warehouse connection."""

    def __init__(
        self,
        staging_dir: StagingLocation,
        partition: str,
        *,
        store_bodies: bool = True,
        batch_size: int = 5000,
        on_part: Callable[[Part], None] | None = None,
    ) -> None:
        """`on_part` is called with each part once it is written whole (a merge that follows extraction)."""
        self.area = StagingArea.at(staging_dir)
        self.area.fs.makedirs(self.area.root, exist_ok=True)
        # Part names sort in creation order (the time prefix), so the merge keeps "first copy wins" across
        # parts; the random token keeps two writers on different machines apart even within one nanosecond.
        partition = re.sub(r"[^A-Za-z0-9_.-]+", "_", partition)[:60]
        self._prefix = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}-{partition}"
        self.store_bodies = store_bodies
        self.batch_size = batch_size
        self.on_part = on_part
        self.parts: list[Part] = []
        self._messages: list[MessageRecord] = []
        self._quarantine: list[QuarantineRecord] = []

    def add(self, record: MessageRecord | QuarantineRecord) -> None:
        if isinstance(record, QuarantineRecord):
            self._quarantine.append(record)
        else:
            self._messages.append(record)
        if len(self._messages) + len(self._quarantine) >= self.batch_size:
            self.flush()

    def add_all(self, records: Iterable[MessageRecord | QuarantineRecord]) -> None:
        for record in records:
            self.add(record)

    def add_table(self, kind: str, table: pa.Table) -> None:
        """A ready table of another kind (Slack users or channels)."""
        self._write(kind, table)

    def flush(self) -> None:
        if self._messages:
            self._write(MESSAGES, messages_table(self._messages, store_bodies=self.store_bodies))
        if self._quarantine:
            self._write(QUARANTINE, quarantine_table(self._quarantine))
        self._messages.clear()
        self._quarantine.clear()

    def close(self) -> list[Part]:
        self.flush()
        return self.parts

    def _write(self, kind: str, table: pa.Table) -> None:
        # A part is either whole or absent, never half-written.
        name = f"{self._prefix}-{len(self.parts):06d}.{kind}{PART_SUFFIX}"
        part, fs = self.area.part(name), self.area.fs
        if self.area.atomic_put:
            buffer = pa.BufferOutputStream()
            pq.write_table(table, buffer, compression="zstd")
            fs.pipe_file(part.path, buffer.getvalue().to_pybytes())
        else:
            tmp = self.area.part(_temp_name(name))  # the name is unique, so is its temp name
            pq.write_table(table, tmp.path, filesystem=fs, compression="zstd")
            fs.mv(tmp.path, part.path)
        self.parts.append(part)
        if self.on_part is not None:
            self.on_part(part)


class CursorStore:
    """Incremental cursors of live connectors, staged with the data they follow.

    A cursor is written as its own part right after the records it covers, so the writer stores it only once
    those records are merged (parts merge in order). Reading prefers the newest staged cursor, so a run killed
    after some pages resumes where it stopped, then the warehouse's meta.sync_state.
    """

    def __init__(self, writer: StagingWriter, published: Path | None = None) -> None:
        self.writer = writer
        self.published = published
        self._staged: dict[tuple[str, str], str | None] = {}
        for part in staged_parts(writer.area):
            if part_kind(part) == SYNC_STATE:
                for row in read_part(part).to_pylist():
                    self._staged[(row["source"], row["partition_key"])] = row["cursor"]

    def get(self, source: str, partition: str) -> str | None:
        if (source, partition) in self._staged:
            return self._staged[(source, partition)]
        if self.published is None or not Path(self.published).is_file():
            return None
        con = duckdb.connect(str(self.published), read_only=True)
        try:
            row = con.execute(sql("read_cursor.sql"), [source, partition]).fetchone()
        finally:
            con.close()
        return row[0] if row else None

    def set(self, source: str, partition: str, cursor: str | None) -> None:
        """Stage the records buffered so far, then the cursor that follows them."""
        self.writer.flush()
        table = pa.table(
            {"source": [source], "partition_key": [partition], "cursor": [cursor]}, schema=SYNC_STATE_SCHEMA
        )
        self.writer.add_table(SYNC_STATE, table)
        self._staged[(source, partition)] = cursor


def staged_parts(staging_dir: StagingLocation) -> list[Part]:
    """Parts waiting to be merged, oldest first (leftovers of an interrupted run included).

    Hidden names (temp files of parts still being written) are not parts.
    """
    area = StagingArea.at(staging_dir)
    area.fs.invalidate_cache(area.root)  # object stores cache listings; other machines add parts meanwhile
    try:
        listed = area.fs.ls(area.root, detail=False)
    except FileNotFoundError:
        return []
    names = (path.rstrip("/").rpartition("/")[2] for path in listed)
    return [area.part(n) for n in sorted(names) if n.endswith(PART_SUFFIX) and not n.startswith(".")]


def sweep_abandoned_temp_files(
    staging_dir: StagingLocation, older_than: dt.timedelta = ABANDONED_TEMP_AGE
) -> int:
    """Delete the temp files of parts whose writer died mid-write, once they are older than `older_than`;
    returns how many. They hold nothing that was staged: a part counts only once renamed to its real name."""
    area = StagingArea.at(staging_dir)
    try:
        listed = area.fs.ls(area.root, detail=True)
    except FileNotFoundError:
        return 0
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for entry in listed:
        name = entry["name"].rstrip("/").rpartition("/")[2]
        modified = entry.get("mtime")
        if isinstance(modified, dt.datetime):
            modified = modified.timestamp()
        if _is_temp_name(name) and modified is not None and modified < cutoff:
            area.fs.rm_file(entry["name"])
            removed += 1
    return removed


def part_kind(part: Part) -> str:
    return part.name.removesuffix(PART_SUFFIX).rsplit(".", 1)[-1]


def read_part(part: Part) -> pa.Table:
    """The records of one staged part. A message part staged before who-is-who moved to build time (migration
    011) loses the columns core.messages no longer has."""
    table = pq.read_table(part.path, filesystem=part.fs)
    if part_kind(part) != MESSAGES:
        return table
    return table.drop_columns([c for c in RETIRED_MESSAGE_COLUMNS if c in table.column_names])


def directory_table(kind: str, table: pa.Table) -> pa.Table:
    """A staged directory table (Slack users or channels, cursors, reads) in the current schema: a part staged by
    an earlier version lacks the columns added since (they come as nulls) and may carry dropped ones (left out)."""
    schema = DIRECTORY_SCHEMAS[kind]
    columns = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def delete_part(part: Part) -> None:
    """Remove a part once the transaction that merged it has committed."""
    part.fs.rm_file(part.path)
