"""Parsing raw messages in worker processes, records handed back in input order.

Parsing is most of what reading mail costs and it holds the GIL, so a second core only helps in another process.
The caller keeps splitting files (cheap) and staging records; workers parse batches of raw messages. Batches come
back in the order they were sent, so a run with workers gives the same records in the same order as one without.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ground.records import MessageRecord, QuarantineRecord

from .parse import parse_email
from .settings import PARSE_BATCH_BYTES, PARSE_BATCH_MESSAGES, PARSE_BATCHES_IN_FLIGHT

Record = MessageRecord | QuarantineRecord
Raw = tuple[bytes, str]  # a message's bytes and where it was read (raw_ref)
log = logging.getLogger(__name__)


def parse_items(items: Iterable[Raw | QuarantineRecord], source: str) -> list[Record]:
    """Raw messages parsed, records found before parsing (a file that is no mail) passed on as they are."""
    return [
        item if isinstance(item, QuarantineRecord) else parse_email(item[0], item[1], source)
        for item in items
    ]


def parse_in_processes(
    items: Iterable[Raw | QuarantineRecord], source: str, processes: int
) -> Iterator[Record]:
    """`parse_items` over `items` in `processes` worker processes, in input order, a bounded number of batches
    in flight (memory stays flat whatever the input's size). Workers that cannot start or die (killed, out of
    memory) cost time, not records: what they held and what follows is parsed here."""
    # forkserver, not fork: the caller may run threads (the background merge) whose locks a fork would copy.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])  # each worker starts from a server that imported the parser
    sent: deque[list[Raw | QuarantineRecord]] = deque()  # batches not yet handed back, oldest first
    futures: deque[Future[list[Record]]] = deque()

    def oldest() -> list[Record]:
        records = futures[0].result()
        futures.popleft()
        sent.popleft()
        return records

    batches = _batches(items)
    pool = ProcessPoolExecutor(processes, mp_context=context)
    try:
        for batch in batches:
            sent.append(batch)
            futures.append(pool.submit(parse_items, batch, source))
            if len(futures) >= PARSE_BATCHES_IN_FLIGHT * processes:
                yield from oldest()
        while futures:
            yield from oldest()
    except BrokenProcessPool as exc:
        log.warning("mail parsing processes stopped (%s); parsing the rest in this process", exc)
        for batch in [*sent, *batches]:
            yield from parse_items(batch, source)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _batches(items: Iterable[Raw | QuarantineRecord]) -> Iterator[list[Raw | QuarantineRecord]]:
    batch: list[Raw | QuarantineRecord] = []
    size = 0
    for item in items:
        batch.append(item)
        size += 0 if isinstance(item, QuarantineRecord) else len(item[0])
        if len(batch) >= PARSE_BATCH_MESSAGES or size >= PARSE_BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
