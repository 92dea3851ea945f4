"""Parsing mail in worker processes, records handed back in input order.

Parsing is most of what reading mail costs and it holds the GIL, so a second core only helps in another process.
Workers split byte ranges of mbox files themselves (the calling process only finds where ranges may start) and
parse batches of other files' messages; the caller stages what comes back. Jobs come back in the order they were
sent, so a run with workers gives the same records in the same order as one without.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import BinaryIO

from ground.records import MessageRecord, QuarantineRecord

from .files import split_mbox
from .parse import parse_email
from .settings import (
    PARSE_BATCH_BYTES,
    PARSE_BATCH_MESSAGES,
    PARSE_BATCHES_IN_FLIGHT,
    REASON_TOO_LARGE,
    REASON_UNREADABLE_FILE,
)

Record = MessageRecord | QuarantineRecord
Raw = tuple[bytes, str]  # a message's bytes and where it was read (raw_ref)
log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class MboxRange:
    """Bytes [start, end) of an mbox file, starting where a message starts (files.mbox_ranges)."""

    path: str
    start: int
    end: int


Job = MboxRange | list[Raw | QuarantineRecord]


def mbox_items(
    fh: BinaryIO,
    path: str,
    source: str,
    on_bytes: Callable[[int], None] | None = None,
    base: int = 0,
) -> Iterator[Raw | QuarantineRecord]:
    """The raw messages of an mbox stream (`base`: the stream's offset in the file), too large ones quarantined."""
    for offset, data in split_mbox(fh, on_bytes):
        ref = f"{path}#{base + offset}"
        if data is None:
            yield QuarantineRecord(source=source, raw_ref=ref, reason=REASON_TOO_LARGE)
        else:
            yield data, ref


def parse_items(items: Iterable[Raw | QuarantineRecord], source: str) -> list[Record]:
    """Raw messages parsed, records found before parsing (a file that is no mail) passed on as they are."""
    return [
        item if isinstance(item, QuarantineRecord) else parse_email(item[0], item[1], source)
        for item in items
    ]


def run_job(job: Job, source: str) -> list[Record]:
    """One job's records: a batch parsed, or an mbox range read, split and parsed."""
    if not isinstance(job, MboxRange):
        return parse_items(job, source)
    try:
        with open(job.path, "rb") as fh:
            fh.seek(job.start)
            data = fh.read(job.end - job.start)
    except OSError as exc:
        return [
            QuarantineRecord(
                source=source,
                raw_ref=job.path,
                reason=REASON_UNREADABLE_FILE,
                excerpt=f"{type(exc).__name__}: {exc.strerror or exc}",
            )
        ]
    return parse_items(mbox_items(io.BytesIO(data), job.path, source, base=job.start), source)


def parse_in_processes(
    items: Iterable[MboxRange | Raw | QuarantineRecord],
    source: str,
    processes: int,
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[Record]:
    """The records of `items` (mbox ranges, raw messages, records) parsed in `processes` worker processes, in
    input order, a bounded number of jobs in flight (memory stays flat whatever the input's size); `on_bytes` is
    told of each range's bytes as its records come back. Workers that cannot start or die (killed, out of memory)
    cost time, not records: what they held and what follows is parsed here."""
    # forkserver, not fork: the caller may run threads (the background merge) whose locks a fork would copy.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])  # each worker starts from a server that imported the parser
    sent: deque[Job] = deque()  # jobs not yet handed back, oldest first
    futures: deque[Future[list[Record]]] = deque()

    def done(job: Job, records: list[Record]) -> list[Record]:
        if on_bytes and isinstance(job, MboxRange):
            on_bytes(job.end - job.start)
        return records

    def oldest() -> list[Record]:
        records = futures[0].result()
        futures.popleft()
        return done(sent.popleft(), records)

    jobs = _jobs(items)
    pool = ProcessPoolExecutor(processes, mp_context=context)
    try:
        for job in jobs:
            sent.append(job)
            futures.append(pool.submit(run_job, job, source))
            if len(futures) >= PARSE_BATCHES_IN_FLIGHT * processes:
                yield from oldest()
        while futures:
            yield from oldest()
    except BrokenProcessPool as exc:
        log.warning("mail parsing processes stopped (%s); parsing the rest in this process", exc)
        for job in [*sent, *jobs]:
            yield from done(job, run_job(job, source))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _jobs(items: Iterable[MboxRange | Raw | QuarantineRecord]) -> Iterator[Job]:
    """Ranges as they come; raw messages and records in batches of a few MB."""
    batch: list[Raw | QuarantineRecord] = []
    size = 0
    for item in items:
        if isinstance(item, MboxRange):
            if batch:
                yield batch
                batch, size = [], 0
            yield item
            continue
        batch.append(item)
        size += 0 if isinstance(item, QuarantineRecord) else len(item[0])
        if len(batch) >= PARSE_BATCH_MESSAGES or size >= PARSE_BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
