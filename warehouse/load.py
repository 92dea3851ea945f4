"""Loading records into core through staged batches: extraction writes Parquet parts, one writer merges them.

Extraction (any number of threads, processes or machines) turns records into Parquet parts in a staging folder;
the single writer merges each part in its own transaction and deletes it only after the commit. A crash between
the two loses nothing: the parts wait for the next merge, and merging a part twice stores nothing twice.
"""

from __future__ import annotations

import collections
import ctypes
import dataclasses
import datetime as dt
import functools
import itertools
import queue
import sys
import threading
from collections.abc import Iterable, Iterator

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ground.records import CHANNEL_EMAIL, QuarantineRecord
from warehouse.db import sql, transaction
from warehouse.email_threads import resolve_email_conversations, resolve_under_current_rule
from warehouse.staging import (
    MESSAGES,
    QUARANTINE,
    SLACK_CHANNELS,
    SLACK_USERS,
    SOURCE_READS,
    SYNC_STATE,
    Part,
    StagingLocation,
    delete_part,
    directory_table,
    part_kind,
    quarantine_table,
    read_part,
    staged_parts,
    sweep_abandoned_temp_files,
)

CONFLICT_REASON = "duplicate_key_conflict"


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
    # One line per input that gave nothing at all (not a Slack export, no mail in it), for the user.
    problems: list[str] = dataclasses.field(default_factory=list)

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
        return {
            **self.counts(),
            "quarantined_by_reason": dict(self.quarantined),
            "notes": self.notes,
            "problems": self.problems,
        }

    def merge(self, other: LoadStats) -> None:
        self.read += other.read
        self.new += other.new
        self.already_stored += other.already_stored
        self.conflicts += other.conflicts
        self.quarantined.update(other.quarantined)
        self.problems += other.problems
        for key, value in other.notes.items():
            self.notes[key] = _add_notes(self.notes.get(key), value)


def _add_notes(a: object, b: object) -> object:
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _add_notes(a.get(k), b.get(k)) if k in a and k in b else a.get(k, b.get(k)) for k in a | b}
    return b if a is None else a


# Consecutive message parts merged in one transaction, up to this many rows or bytes of Arrow data: each
# transaction joins its rows against the whole of core.messages, so fewer, larger ones cost less once the
# table is big; the byte cap keeps a batch of long emails from outgrowing the merge's memory limit.
MERGE_ROWS = 20_000
MERGE_BYTES = 32 << 20
# DuckDB checkpoints whenever the WAL passes 16 MB, i.e. after nearly every batch of emails, and that took two
# thirds of a bulk merge. The writer checkpoints when it closes anyway; a crash replays the WAL.
MERGE_CHECKPOINT_THRESHOLD = "1GB"
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
_MMAP_THRESHOLD_BYTES = 128 << 10  # glibc's default starting value


def _merge_groups(parts: Iterable[Part]) -> Iterator[tuple[str, list[Part], pa.Table]]:
    """(kind, parts, table) in part order; runs of message parts are concatenated up to MERGE_ROWS rows or
    MERGE_BYTES bytes.

    Concatenating keeps the records' order (ordinals are renumbered across the run), so "first copy wins"
    picks the same copy as merging the parts one by one.
    """
    run: list[Part] = []
    tables: list[pa.Table] = []
    rows = size = 0
    for part in parts:
        kind = part_kind(part)
        if run and (kind != MESSAGES or rows >= MERGE_ROWS or size >= MERGE_BYTES):
            yield MESSAGES, run, _concat_batches(tables)
            run, tables, rows, size = [], [], 0, 0
        if kind != MESSAGES:
            yield kind, [part], read_part(part)
            continue
        table = read_part(part)
        run.append(part)
        tables.append(table)
        rows += table.num_rows
        size += table.nbytes
    if run:
        yield MESSAGES, run, _concat_batches(tables)


def _concat_batches(tables: list[pa.Table]) -> pa.Table:
    if len(tables) == 1:
        return tables[0]
    table = pa.concat_tables(tables)
    return table.set_column(
        table.schema.get_field_index("ordinal"), "ordinal", pa.array(range(table.num_rows), pa.int64())
    )


@functools.cache  # process-wide settings: once is enough
def _hand_freed_batches_back() -> None:
    """Make freed Arrow batches go back to the OS at once, which keeps the merge's peak memory near DuckDB's
    limit: Arrow's default allocator keeps them for reuse, so use the system one (malloc). glibc then serves
    blocks over 128 KiB from their own mappings, but raises that threshold each time such a block is freed,
    until batches land in heaps it rarely trims; a fixed threshold stops that (40 MB less at peak while
    ingesting 170k emails, same speed)."""
    pa.set_memory_pool(pa.system_memory_pool())
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None)  # the C library the interpreter runs on
        if hasattr(libc, "mallopt"):  # glibc; musl has its own policy
            libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)


def merge_staged(con: duckdb.DuckDBPyConnection, staging_dir: StagingLocation) -> LoadStats:
    """The writer side: merge every staged part in order, deleting parts once their transaction committed;
    temp files that extractions killed mid-write left behind long ago are swept (and counted in the notes)."""
    stats = merge_parts(con, staged_parts(staging_dir))
    if swept := sweep_abandoned_temp_files(staging_dir):
        stats.notes["abandoned_temp_files_removed"] = swept
    return stats


def merge_parts(
    con: duckdb.DuckDBPyConnection,
    parts: Iterable[Part],
    stats: LoadStats | None = None,
    stop: threading.Event | None = None,
) -> LoadStats:
    """Merge the given parts in order, one transaction per group; `stop` ends it between two transactions."""
    stats = LoadStats() if stats is None else stats
    _hand_freed_batches_back()
    con.execute("SET checkpoint_threshold = ?", [MERGE_CHECKPOINT_THRESHOLD])
    try:
        with transaction(con):  # a no-op once done; before any part, so they merge under the current rule
            resolve_under_current_rule(con)
        for kind, group, table in _merge_groups(parts):
            if stop is not None and stop.is_set():
                break
            _merge_group(con, kind, group, table, stats)
    finally:
        con.execute("RESET checkpoint_threshold")
    return stats


class BackgroundMerge:
    """The single writer merging parts on its own thread while extraction, on the calling thread, stages more.

    DuckDB releases the GIL while it works, so parsing and merging share the cores and an ingest runs at about
    the parser's speed instead of parse time plus merge time. Parts are merged in the order they are submitted,
    after the `leftovers` of earlier runs; a part is deleted only once its transaction committed, as ever.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, leftovers: Iterable[Part] = ()) -> None:
        self.stats = LoadStats()
        self._parts: queue.SimpleQueue[Part | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        incoming = iter(self._parts.get, None)
        # A daemon, so a caller that dies without finish() cannot hang the interpreter's exit; a merge cut there
        # is a crash like any other (its transaction rolls back, its parts stay staged).
        self._thread = threading.Thread(
            target=self._run,
            args=(con, itertools.chain(leftovers, incoming)),
            name="commhealth-merge",
            daemon=True,
        )
        self._thread.start()

    def _run(self, con: duckdb.DuckDBPyConnection, parts: Iterator[Part]) -> None:
        try:
            merge_parts(con, parts, self.stats, self._stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the extracting thread, which raises it
            self._error = exc

    def submit(self, part: Part) -> None:
        """Queue a staged part; raises the merge's error if the merge failed, so extraction stops early."""
        if self._error is not None:
            raise self._error
        self._parts.put(part)

    def finish(self, *, drain: bool = True) -> LoadStats:
        """Wait for the merge of every submitted part (or, with drain=False, only the transaction under way:
        the rest stay staged for the next merge); raises the merge's error."""
        if not drain:
            self._stop.set()
        self._parts.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.stats


def _merge_group(
    con: duckdb.DuckDBPyConnection, kind: str, parts: list[Part], table: pa.Table, stats: LoadStats
) -> None:
    """One transaction; its parts are deleted once it committed."""
    now = dt.datetime.now(dt.UTC)
    with transaction(con):
        if kind == MESSAGES:
            _merge_messages(con, table, now, stats)
            if pc.any(pc.equal(table.column("channel"), CHANNEL_EMAIL)).as_py():
                # In the batch's transaction, so a crash cannot leave stored emails out of their conversation.
                resolve_email_conversations(con, since=now)
        elif kind == QUARANTINE:
            stats.quarantined.update(table.column("reason").to_pylist())
            _insert_quarantine(con, table, now)
        elif kind in (SLACK_USERS, SLACK_CHANNELS, SYNC_STATE, SOURCE_READS):
            _upsert_directory(con, kind, table, now)
        else:
            raise ValueError(f"unknown staged part kind {kind!r}: {parts[0]}")
    for part in parts:
        delete_part(part)


def _merge_messages(
    con: duckdb.DuckDBPyConnection, batch: pa.Table, now: dt.datetime, stats: LoadStats
) -> None:
    """First copy of a key wins. The same content again is already stored; other content is a conflict,
    quarantined so that nothing disappears silently."""
    # On an error the caller's ROLLBACK discards staged_batch, and the next batch's register replaces this one;
    # cleaning up here would fail in the aborted transaction and hide the error.
    con.register("incoming_batch", batch)
    con.execute(sql("stage_batch.sql"))
    new, same, conflicts = (int(c or 0) for c in con.execute(sql("classify_batch.sql")).fetchone())
    con.execute(sql("insert_new_messages.sql"), [now])
    conflict_rows = con.execute(sql("conflict_rows.sql")).fetchall()
    con.unregister("incoming_batch")
    con.execute("DROP TABLE staged_batch")
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
    con.register("incoming_directory", directory_table(kind, table))
    try:
        con.execute(sql(f"upsert_{kind}.sql"), [now])
    finally:
        con.unregister("incoming_directory")
