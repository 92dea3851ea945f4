"""Loading records into core: batched, deduplicated, merged, one transaction per batch."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from collections.abc import Iterable
from importlib import resources

import duckdb
import pyarrow as pa

from commhealth.records import CHANNEL_EMAIL, MessageRecord, QuarantineRecord

SQL_PACKAGE = "warehouse.sql"
CONFLICT_REASON = "duplicate_key_conflict"
# Chains longer than this many hops are cut; real threads are far shorter, and a cycle must not loop forever.
MAX_CHAIN_HOPS = 64

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
    """Email: the earliest ancestor the headers name; chains through stored messages are followed later."""
    if record.conversation_key:
        return record.conversation_key
    if record.channel == CHANNEL_EMAIL:
        if record.references:
            return record.references[0]
        if record.in_reply_to:
            return record.in_reply_to
    return record.message_key


def _word_count(text: str | None) -> int | None:
    return None if text is None else len(text.split())


class Loader:
    """Buffers records and merges them into core.messages / core.quarantine in bounded batches.

    Within a batch and against what is stored, the first copy of a key wins: the same content again counts as
    already stored (its party fields are refreshed from the current config), other content is a conflict and is
    quarantined with the reason, so nothing disappears silently.
    """

    def __init__(
        self, con: duckdb.DuckDBPyConnection, *, store_bodies: bool = True, batch_size: int = 5000
    ) -> None:
        self.con = con
        self.store_bodies = store_bodies
        self.batch_size = batch_size
        self.stats = LoadStats()
        self._messages: list[MessageRecord] = []
        self._quarantine: list[QuarantineRecord] = []
        self._touched_email = False

    def add(self, record: MessageRecord | QuarantineRecord) -> None:
        if isinstance(record, QuarantineRecord):
            self._quarantine.append(record)
            self.stats.quarantined[record.reason] += 1
        else:
            self.stats.read += 1
            self._messages.append(record)
        if len(self._messages) + len(self._quarantine) >= self.batch_size:
            self.flush()

    def add_all(self, records: Iterable[MessageRecord | QuarantineRecord]) -> None:
        for record in records:
            self.add(record)

    def flush(self) -> None:
        if not self._messages and not self._quarantine:
            return
        now = dt.datetime.now(dt.UTC)
        self.con.execute("BEGIN TRANSACTION")
        try:
            if self._messages:
                self._merge_messages(now)
            if self._quarantine:
                self._insert_quarantine(self._quarantine, now)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self._messages.clear()
        self._quarantine.clear()

    def finish(self) -> LoadStats:
        """Flush what is buffered and re-derive email conversations through newly stored ancestors."""
        self.flush()
        if self._touched_email:
            resolve_email_conversations(self.con)
        return self.stats

    def _message_table(self) -> pa.Table:
        columns: dict[str, list] = {name: [] for name in _MESSAGE_SCHEMA.names}
        for ordinal, r in enumerate(self._messages):
            content_hash = r.content_hash()
            body_words = _word_count(r.body_text)
            columns["ordinal"].append(ordinal)
            columns["content_hash"].append(content_hash)
            columns["body_words"].append(body_words)
            columns["conversation_key"].append(_initial_conversation(r))
            for name in _DIRECT_FIELDS:
                columns[name].append(getattr(r, name))
            if not self.store_bodies:
                columns["body_text"][-1] = None
                columns["body_full"][-1] = None
            if r.channel == CHANNEL_EMAIL:
                self._touched_email = True
        return pa.table(columns, schema=_MESSAGE_SCHEMA)

    def _merge_messages(self, now: dt.datetime) -> None:
        batch = self._message_table()
        con = self.con
        con.register("incoming_batch", batch)
        try:
            con.execute(sql("stage_batch.sql"))
            counts = con.execute(sql("classify_batch.sql")).fetchone()
            new, same, conflicts = (int(c or 0) for c in counts)
            con.execute(sql("refresh_parties.sql"))
            con.execute(sql("insert_new_messages.sql"), [now])
            conflict_rows = con.execute(sql("conflict_rows.sql")).fetchall()
        finally:
            con.unregister("incoming_batch")
            con.execute("DROP TABLE IF EXISTS staged_batch")
        self.stats.new += new
        self.stats.already_stored += same
        self.stats.conflicts += conflicts
        if conflict_rows:
            records = [
                QuarantineRecord(
                    source, raw_ref, CONFLICT_REASON, f"message_key {key} already stored with other content"
                )
                for source, raw_ref, key in conflict_rows
            ]
            self.stats.quarantined[CONFLICT_REASON] += len(records)
            self._insert_quarantine(records, now)

    def _insert_quarantine(self, records: list[QuarantineRecord], now: dt.datetime) -> None:
        self.con.executemany(
            sql("insert_quarantine.sql"), [[q.source, q.raw_ref, q.reason, q.excerpt, now] for q in records]
        )


_DIRECT_FIELDS = [
    name
    for name in _MESSAGE_SCHEMA.names
    if name not in {"ordinal", "content_hash", "body_words", "conversation_key"}
]


def resolve_email_conversations(con: duckdb.DuckDBPyConnection) -> int:
    """Point every email at the conversation of its earliest stored ancestor; returns the hops taken."""
    statement = sql("resolve_email_conversations.sql")
    for hop in range(MAX_CHAIN_HOPS):
        changed = con.execute(statement).fetchone()[0]
        if not changed:
            return hop
    return MAX_CHAIN_HOPS
