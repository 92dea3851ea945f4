"""Email file connector: mbox files, maildir folders and .eml files to MessageRecords.

Public API: `read_mail` (stream records from files and folders), `total_bytes` (progress bar total),
`parse_email` (one message), plus `extract_new_text` and `automated_reason`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ground.records import MessageRecord, QuarantineRecord

from .automated import automated_reason
from .files import expand_paths, file_size, mbox_ranges
from .newtext import extract_new_text
from .parse import parse_email
from .processes import MboxRange, Raw, mbox_items, parse_in_processes
from .settings import (
    HEADER_LINE,
    MAX_MESSAGE_BYTES,
    PARSE_BATCH_BYTES,
    REASON_BINARY_FILE,
    REASON_EMPTY_FILE,
    REASON_NOT_EMAIL,
    REASON_TOO_LARGE,
    REASON_UNREADABLE_FILE,
    SNIFF_BYTES,
)

__all__ = ["automated_reason", "extract_new_text", "parse_email", "read_mail", "total_bytes"]

_HEADER_LINE = re.compile(HEADER_LINE)
Record = MessageRecord | QuarantineRecord


def total_bytes(paths: Iterable[str | Path]) -> int:
    """Sum of the sizes of the files `read_mail` will read for these paths."""
    return sum(file_size(path) for path in expand_paths(paths))


def read_mail(
    paths: Iterable[str | Path],
    source: str = "mbox",
    on_bytes: Callable[[int], None] | None = None,
    processes: int = 1,
) -> Iterator[Record]:
    """Stream records from mbox files, maildir folders, .eml files and folders of them, in file order.

    `on_bytes(n)` is called as bytes are consumed; the calls add up to `total_bytes(paths)`.
    Bad input becomes QuarantineRecords; nothing is raised for it. With `processes` > 1, messages are parsed in
    that many worker processes (worth it from PARSE_PROCESSES_MIN_BYTES of input on): same records, same order.
    """
    if processes > 1:
        items = (item for path in expand_paths(paths) for item in _read_file(path, source, on_bytes, True))
        yield from parse_in_processes(items, source, processes, on_bytes)
        return
    for path in expand_paths(paths):
        for item in _read_file(path, source, on_bytes):
            assert not isinstance(item, MboxRange)  # only asked for with ranges=True
            yield item if isinstance(item, QuarantineRecord) else parse_email(item[0], item[1], source)


def _read_file(
    path: str, source: str, on_bytes: Callable[[int], None] | None, ranges: bool = False
) -> Iterator[MboxRange | Raw | QuarantineRecord]:
    """The raw messages of one file, each with its raw_ref, or the quarantine row saying why there are none.
    With `ranges`, an mbox file comes as byte ranges to split elsewhere (their bytes are reported there)."""
    size = file_size(path)

    def quarantine(reason: str, excerpt: str | bytes = "", ref: str = path) -> QuarantineRecord:
        return QuarantineRecord(source=source, raw_ref=ref, reason=reason, excerpt=excerpt)

    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed in the finally below, across yields
    except OSError as exc:
        if on_bytes and size:
            on_bytes(size)
        yield quarantine(REASON_UNREADABLE_FILE, f"{type(exc).__name__}: {exc.strerror or exc}")
        return
    reported = 0
    try:
        head = fh.read(SNIFF_BYTES)
        first = head.lstrip()
        if first.startswith(b"From "):
            fh.seek(0)
            if ranges:
                for start, end in mbox_ranges(fh, size, PARSE_BATCH_BYTES):
                    yield MboxRange(path, start, end)
                    reported = end  # by whoever parses the range
            else:
                yield from mbox_items(fh, path, source, on_bytes)
            reported = size
            return
        reported = size
        if on_bytes and size:
            on_bytes(size)
        if not first:
            yield quarantine(REASON_EMPTY_FILE if len(head) == size else REASON_NOT_EMAIL, head)
        elif b"\x00" in head:
            yield quarantine(REASON_BINARY_FILE, head)
        elif not _HEADER_LINE.match(first):
            yield quarantine(REASON_NOT_EMAIL, head)
        elif size > MAX_MESSAGE_BYTES:
            yield quarantine(REASON_TOO_LARGE, head)
        else:
            yield (head + fh.read()).lstrip(), path
    except OSError as exc:
        if on_bytes and size > reported:
            on_bytes(size - reported)
        yield quarantine(REASON_UNREADABLE_FILE, f"{type(exc).__name__}: {exc.strerror or exc}")
    finally:
        fh.close()
