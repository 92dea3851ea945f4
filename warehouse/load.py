"""Loading records into core through staged batches: extraction writes Parquet parts, one writer merges them.

Extraction (any number of threads, processes or machines) turns records into Parquet parts in a staging folder;
the single writer merges each part in its own transaction and deletes it only after the commit. A crash between
the two loses nothing: the parts wait for the next merge, and merging a part twice stores nothing twice.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from commhealth.records import CHANNEL_EMAIL, MessageRecord, QuarantineRecord

SQL_PACKAGE = "warehouse.sql"
CONFLICT_REASON = "duplicate_key_conflict"
# Chains longer than this many hops are cut; real threads are far shorter, and a cycle must not loop forever.
MAX_CHAIN_HOPS = 64
PART_SUFFIX = ".parquet"
MESSAGES, QUARANTINE, SLACK_USERS, SLACK_CHANNELS = "messages", "quarantine", "slack_users", "slack_channels"
SYNC_STATE = "sync_state"

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
        ("side", pa.string()),
        ("vendor_id", pa.string()),
        ("recipient_vendor_ids", pa.list_(pa.string())),
        ("is_automated", pa.bool_()),
        ("automated_reason", pa.string()),
        ("is_internal", pa.bool_()),
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
        ("is_shared", pa.bool_()),
        ("vendor_id", pa.string()),
        ("source", pa.string()),
        ("raw_ref", pa.string()),
    ]
)
SYNC_STATE_SCHEMA = pa.schema(
    [("source", pa.string()), ("partition_key", pa.string()), ("cursor", pa.string())]
)
_DERIVED_FIELDS = {"ordinal", "content_hash", "body_words", "conversation_key"}
_DIRECT_FIELDS = [name for name in _MESSAGE_SCHEMA.names if name not in _DERIVED_FIELDS]


def sql(name: str) -> str:
    """A statement from warehouse/sql/, by file name."""
    return resources.files(SQL_PACKAGE).joinpath(name).read_text(encoding="utf-8")


@dataclasses.dataclass
class LoadStats:
    read: int = 0
    new: int = 0
    already_stored: int = 0
    conflicts: int = 0
    quarantined: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    notes: dict[str, object] = dataclasses.field(
        default_factory=dict
    )  # connector counts, e.g. skipped events

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())

    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "new": self.new,
            "already_stored": self.already_stored,
            "conflicts": self.conflicts,
            "quarantined": self.quarantined_total,
        }

    def as_dict(self) -> dict[str, object]:
        return {**self.counts(), "quarantined_by_reason": dict(self.quarantined), "notes": self.notes}

    def merge(self, other: LoadStats) -> None:
        self.read += other.read
        self.new += other.new
        self.already_stored += other.already_stored
        self.conflicts += other.conflicts
        self.quarantined.update(other.quarantined)
        for key, value in other.notes.items():
            self.notes[key] = _add_notes(self.notes.get(key), value)


def _add_notes(a: object, b: object) -> object:
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _add_notes(a.get(k), b.get(k)) if k in a and k in b else a.get(k, b.get(k)) for k in a | b}
    return b if a is None else a


def _initial_conversation(record: MessageRecord) -> str:
    """Email: the earliest ancestor the headers name; chains through stored messages are followed at merge."""
    if record.conversation_key:
        return record.conversation_key
    if record.channel == CHANNEL_EMAIL:
        if record.references:
            return record.references[0]
        if record.in_reply_to:
            return record.in_reply_to
    return record.message_key


def messages_table(records: list[MessageRecord], *, store_bodies: bool) -> pa.Table:
    """Records as the Arrow table the merge reads; bodies are dropped here when they must not be stored."""
    columns: dict[str, list] = {name: [] for name in _MESSAGE_SCHEMA.names}
    for ordinal, r in enumerate(records):
        columns["ordinal"].append(ordinal)
        columns["content_hash"].append(r.content_hash())
        columns["body_words"].append(None if r.body_text is None else len(r.body_text.split()))
        columns["conversation_key"].append(_initial_conversation(r))
        for name in _DIRECT_FIELDS:
            columns[name].append(getattr(r, name))
    if not store_bodies:
        columns["body_text"] = columns["body_full"] = [None] * len(records)
    return pa.table(columns, schema=_MESSAGE_SCHEMA)


def quarantine_table(records: list[QuarantineRecord]) -> pa.Table:
    return pa.table(
        {
            "source": [q.source for q in records],
            "raw_ref": [q.raw_ref for q in records],
            "reason": [q.reason for q in records],
            "excerpt": [q.excerpt for q in records],
        },
        schema=_QUARANTINE_SCHEMA,
    )


class StagingWriter:
    """The extraction side: buffers records and writes them as Parquet parts; needs no warehouse connection."""

    def __init__(
        self, staging_dir: Path, partition: str, *, store_bodies: bool = True, batch_size: int = 5000
    ) -> None:
        self.staging_dir = Path(staging_dir)
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        # Part names sort in creation order, so the merge keeps "first copy wins" across parts.
        self._prefix = f"{time.time_ns():020d}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', partition)[:60]}"
        self.store_bodies = store_bodies
        self.batch_size = batch_size
        self.parts: list[Path] = []
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

    def close(self) -> list[Path]:
        self.flush()
        return self.parts

    def _write(self, kind: str, table: pa.Table) -> None:
        final = self.staging_dir / f"{self._prefix}-{len(self.parts):06d}.{kind}{PART_SUFFIX}"
        tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, final)  # a part is either whole or absent, never half-written
        self.parts.append(final)


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
        for part in staged_parts(writer.staging_dir):
            if _part_kind(part) == SYNC_STATE:
                for row in pq.read_table(part).to_pylist():
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


def staged_parts(staging_dir: Path) -> list[Path]:
    """Parts waiting to be merged, oldest first (leftovers of an interrupted run included)."""
    if not Path(staging_dir).is_dir():
        return []
    return sorted(
        p for p in Path(staging_dir).iterdir() if p.name.endswith(PART_SUFFIX) and not p.name.startswith(".")
    )


def _part_kind(path: Path) -> str:
    return path.name.removesuffix(PART_SUFFIX).rsplit(".", 1)[-1]


# Consecutive message parts merged in one transaction, up to this many rows: each transaction joins its rows
# against the whole of core.messages, so fewer, larger ones cost less once the table is big.
MERGE_ROWS = 20_000


def _merge_groups(parts: list[Path]) -> Iterator[tuple[str, list[Path], pa.Table]]:
    """(kind, parts, table) in part order; runs of message parts are concatenated up to MERGE_ROWS rows.

    Concatenating keeps the records' order (ordinals are renumbered across the run), so "first copy wins"
    picks the same copy as merging the parts one by one.
    """
    run: list[Path] = []
    tables: list[pa.Table] = []
    rows = 0
    for part in parts:
        kind = _part_kind(part)
        if run and (kind != MESSAGES or rows >= MERGE_ROWS):
            yield MESSAGES, run, _concat_batches(tables)
            run, tables, rows = [], [], 0
        if kind != MESSAGES:
            yield kind, [part], pq.read_table(part)
            continue
        table = pq.read_table(part)
        run.append(part)
        tables.append(table)
        rows += table.num_rows
    if run:
        yield MESSAGES, run, _concat_batches(tables)


def _concat_batches(tables: list[pa.Table]) -> pa.Table:
    if len(tables) == 1:
        return tables[0]
    table = pa.concat_tables(tables)
    return table.set_column(
        table.schema.get_field_index("ordinal"), "ordinal", pa.array(range(table.num_rows), pa.int64())
    )


def merge_staged(con: duckdb.DuckDBPyConnection, staging_dir: Path) -> LoadStats:
    """The writer side: merge every staged part in order, deleting parts once their transaction committed."""
    stats = LoadStats()
    touched_email = False
    for kind, parts, table in _merge_groups(staged_parts(staging_dir)):
        now = dt.datetime.now(dt.UTC)
        con.execute("BEGIN TRANSACTION")
        try:
            if kind == MESSAGES:
                _merge_messages(con, table, now, stats)
                touched_email = touched_email or CHANNEL_EMAIL in set(table.column("channel").to_pylist())
            elif kind == QUARANTINE:
                stats.quarantined.update(table.column("reason").to_pylist())
                _insert_quarantine(con, table, now)
            elif kind in (SLACK_USERS, SLACK_CHANNELS, SYNC_STATE):
                _upsert_directory(con, kind, table, now)
            else:
                raise ValueError(f"unknown staged part kind {kind!r}: {parts[0]}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        for part in parts:
            part.unlink()
    if touched_email:
        resolve_email_conversations(con)
    return stats


def _merge_messages(
    con: duckdb.DuckDBPyConnection, batch: pa.Table, now: dt.datetime, stats: LoadStats
) -> None:
    """First copy of a key wins. The same content again is already stored (its parties refreshed from the
    current config); other content is a conflict, quarantined so that nothing disappears silently."""
    con.register("incoming_batch", batch)
    try:
        con.execute(sql("stage_batch.sql"))
        new, same, conflicts = (int(c or 0) for c in con.execute(sql("classify_batch.sql")).fetchone())
        con.execute(sql("refresh_parties.sql"))
        con.execute(sql("insert_new_messages.sql"), [now])
        conflict_rows = con.execute(sql("conflict_rows.sql")).fetchall()
    finally:
        con.unregister("incoming_batch")
        con.execute("DROP TABLE IF EXISTS staged_batch")
    stats.read += batch.num_rows
    stats.new += new
    stats.already_stored += same
    stats.conflicts += conflicts
    if conflict_rows:
        records = [
            QuarantineRecord(
                source, raw_ref, CONFLICT_REASON, f"message_key {key} already stored with other content"
            )
            for source, raw_ref, key in conflict_rows
        ]
        stats.quarantined[CONFLICT_REASON] += len(records)
        _insert_quarantine(con, quarantine_table(records), now)


def _insert_quarantine(con: duckdb.DuckDBPyConnection, table: pa.Table, now: dt.datetime) -> None:
    con.register("incoming_quarantine", table)
    try:
        con.execute(sql("insert_quarantine.sql"), [now])
    finally:
        con.unregister("incoming_quarantine")


def _upsert_directory(con: duckdb.DuckDBPyConnection, kind: str, table: pa.Table, now: dt.datetime) -> None:
    con.register("incoming_directory", table)
    try:
        con.execute(sql(f"upsert_{kind}.sql"), [now])
    finally:
        con.unregister("incoming_directory")


def resolve_email_conversations(con: duckdb.DuckDBPyConnection) -> int:
    """Point every email at the conversation of its earliest stored ancestor; returns the hops taken."""
    statement = sql("resolve_email_conversations.sql")
    for hop in range(MAX_CHAIN_HOPS):
        changed = con.execute(statement).fetchone()[0]
        if not changed:
            return hop
    return MAX_CHAIN_HOPS


def load_records(
    con: duckdb.DuckDBPyConnection,
    records: Iterable[MessageRecord | QuarantineRecord],
    staging_dir: Path,
    *,
    store_bodies: bool = True,
    batch_size: int = 5000,
) -> LoadStats:
    """Stage then merge in one go, for callers that extract and write in the same process."""
    writer = StagingWriter(staging_dir, "direct", store_bodies=store_bodies, batch_size=batch_size)
    writer.add_all(records)
    writer.close()
    return merge_staged(con, staging_dir)
