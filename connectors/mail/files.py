"""Finding mail files and splitting mbox files as a stream of (offset, message bytes)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .settings import (
    MAILDIR_MESSAGE_DIRS,
    MAX_LINE_BYTES,
    MAX_MESSAGE_BYTES,
    MBOX_FROM_LINE,
    MBOXRD_ESCAPED,
    PROGRESS_EVERY_BYTES,
    SKIP_NAMES,
    SKIP_SUFFIXES,
)

_FROM_LINE = re.compile(MBOX_FROM_LINE)
_ESCAPED = re.compile(MBOXRD_ESCAPED)


def _is_maildir(path: str) -> bool:
    return all(os.path.isdir(os.path.join(path, sub)) for sub in ("cur", "new"))


def _skipped(name: str) -> bool:
    return name.startswith(".") or name in SKIP_NAMES or os.path.splitext(name)[1].lower() in SKIP_SUFFIXES


def _sorted_entries(path: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:
        return []


def _walk_dir(path: str) -> Iterator[str]:
    entries = _sorted_entries(path)
    if _is_maildir(path):
        for sub in MAILDIR_MESSAGE_DIRS:
            for entry in _sorted_entries(os.path.join(path, sub)):
                if entry.is_file(follow_symlinks=False) and not entry.name.startswith("."):
                    yield entry.path
        # Maildir++ sub-folders are hidden directories (".Sent"); tmp holds half-delivered mail.
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and entry.name not in ("cur", "new", "tmp"):
                yield from _walk_dir(entry.path)
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if not entry.name.startswith("."):
                yield from _walk_dir(entry.path)
        elif entry.is_file() and not _skipped(entry.name):
            yield entry.path


def expand_paths(paths: Iterable[str | Path]) -> Iterator[str]:
    """Every file to read, in order: files as given, folders (and maildirs) walked recursively, sorted."""
    for path in paths:
        text = os.fspath(path)
        if os.path.isdir(text):
            yield from _walk_dir(text)
        else:
            yield text


def file_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def split_mbox(fh, on_bytes: Callable[[int], None] | None = None) -> Iterator[tuple[int, bytes | None]]:
    """(offset of the From_ line, message bytes without it) for each message of a binary mbox stream.

    Bytes are None when the message is larger than MAX_MESSAGE_BYTES. `fh` must be positioned at the start.
    """
    readline = fh.readline
    offset = 0
    start = -1
    parts: list[bytes] = []
    size = 0
    too_big = False
    prev_blank = True
    pending = 0
    while True:
        line = readline(MAX_LINE_BYTES)
        if not line:
            break
        n = len(line)
        if line.startswith(b"From ") and prev_blank and (start < 0 or _FROM_LINE.match(line)):
            if start >= 0:
                if on_bytes and pending:
                    on_bytes(pending)
                    pending = 0
                yield start, None if too_big else _join(parts)
            start, parts, size, too_big = offset, [], 0, False
        elif start >= 0:
            if line[:1] == b">" and _ESCAPED.match(line):
                line = line[1:]
            size += len(line)
            if size > MAX_MESSAGE_BYTES:
                too_big, parts = True, []
            elif not too_big:
                parts.append(line)
        prev_blank = line == b"\n" or line == b"\r\n"
        offset += n
        pending += n
        if on_bytes and pending >= PROGRESS_EVERY_BYTES:
            on_bytes(pending)
            pending = 0
    if on_bytes and pending:
        on_bytes(pending)
    if start >= 0:
        yield start, None if too_big else _join(parts)


def _join(parts: list[bytes]) -> bytes:
    # The blank line before the next From_ line separates messages; it is not part of the body.
    if parts and parts[-1] in (b"\n", b"\r\n"):
        parts.pop()
    return b"".join(parts)
