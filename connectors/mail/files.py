"""Finding mail files and splitting mbox files as a stream of (offset, message bytes)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from .settings import (
    MAILDIR_MESSAGE_DIRS,
    MAX_LINE_BYTES,
    MAX_MESSAGE_BYTES,
    MBOX_FROM_LINE,
    MBOX_READ_BYTES,
    MBOXRD_ESCAPED,
    SKIP_NAMES,
    SKIP_SUFFIXES,
)

_FROM_LINE = re.compile(MBOX_FROM_LINE)
_ESCAPED = re.compile(MBOXRD_ESCAPED)
_ESCAPED_LINES = re.compile(rb"^>(>*From )", re.MULTILINE)  # MBOXRD_ESCAPED, one ">" taken off each line
# A line end, an empty line (LF or CRLF), then "From ": where split_mbox may start a message.
_EMPTY_THEN_FROM = re.compile(rb"\n\r?\nFrom ")


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


def mbox_ranges(fh: BinaryIO, size: int, target: int) -> Iterator[tuple[int, int]]:
    """[start, end) byte ranges covering an mbox file of `size` bytes, about `target` bytes each, each starting
    where `split_mbox` starts a message: a From_ line right after an empty line. Splitting each range alone gives
    the messages (and offsets, counted from the range's start) that splitting the whole file gives."""
    start = 0
    while start < size:
        end = _separator_after(fh, start + target, size)
        yield start, end
        start = end


def _separator_after(fh: BinaryIO, at: int, size: int) -> int:
    """The offset of the first From_ line after an empty line at or after `at`, or `size`."""
    if at >= size:
        return size
    fh.seek(at)
    buf, base = b"", at
    while True:
        chunk = fh.read(MBOX_READ_BYTES)
        buf += chunk
        for found in _EMPTY_THEN_FROM.finditer(buf):
            line = found.end() - len(b"From ")
            newline = buf.find(b"\n", line, line + MAX_LINE_BYTES)
            if newline < 0 and chunk and len(buf) < line + MAX_LINE_BYTES:
                break  # the line is not all read yet
            end = newline + 1 if newline >= 0 else min(len(buf), line + MAX_LINE_BYTES)
            if _FROM_LINE.match(buf[line:end]):
                return base + line
        if not chunk:
            return size
        keep = max(0, len(buf) - MAX_LINE_BYTES - 8)  # a candidate cut by the read is looked at again
        buf, base = buf[keep:], base + keep


def split_mbox(fh, on_bytes: Callable[[int], None] | None = None) -> Iterator[tuple[int, bytes | None]]:
    """(offset of the From_ line, message bytes without it) for each message of a binary mbox stream.

    Bytes are None when the message is larger than MAX_MESSAGE_BYTES. `fh` must be positioned at the start.

    Lines are the pieces `fh.readline(MAX_LINE_BYTES)` returns. A From_ line separates messages when the line
    before it is blank (any From_ line before the first message; after that it must look like one). The file
    is read in big chunks and searched with bytes.find; only lines starting with "From " are looked at alone.
    """
    # A "\n" before the file makes its first line a candidate like any other, after a blank line.
    buf, base = b"\n", -1  # base: file offset of buf[0]
    reported = 0
    start = -1  # file offset of the current message's From_ line
    body = _Body()
    done = 0  # buf index where the current message's bytes not yet added to `body` begin
    scan = 0  # buf index from where to look for the next "\nFrom "
    eof = False

    def report(upto: int) -> None:
        nonlocal reported
        if on_bytes and upto > reported:
            on_bytes(upto - reported)
        reported = max(reported, upto)

    while True:
        newline = buf.find(b"\nFrom ", scan)
        line = newline + 1
        end = _first_piece_end(buf, line, eof) if newline >= 0 else -1
        if end < 0:  # no candidate, or its first piece is not all read yet
            if eof:
                break
            scan = newline if newline >= 0 else max(scan, len(buf) - len(b"\nFrom"))
            # Keep from the start of the line before `scan`: a candidate's previous line decides.
            keep = buf.rfind(b"\n", 0, scan) + 1
            if start >= 0 and keep > done:
                body.add(buf[done:keep])
                done = keep
            buf, base, scan, done = buf[keep:], base + keep, scan - keep, done - keep
            report(base)
            # At least as much as is kept: a line longer than a chunk costs linear time, not quadratic.
            chunk = fh.read(max(MBOX_READ_BYTES, len(buf)))
            eof = not chunk
            buf += chunk
            continue
        if _is_separator(buf, line, end, first=start < 0):
            if start >= 0:
                body.add(buf[done:line])
                report(base + line)
                yield start, body.result()
            start, body, done = base + line, _Body(), end
        scan = line
    report(base + len(buf))
    if start >= 0:
        body.add(buf[done:])
        yield start, body.result()


def _first_piece_end(buf: bytes, line: int, eof: bool) -> int:
    """End of the first readline piece of the line starting at `line`, or -1 when more bytes are needed."""
    newline = buf.find(b"\n", line, line + MAX_LINE_BYTES)
    if newline >= 0:
        return newline + 1
    if len(buf) >= line + MAX_LINE_BYTES:
        return line + MAX_LINE_BYTES
    return len(buf) if eof else -1


def _is_separator(buf: bytes, line: int, end: int, first: bool) -> bool:
    """Whether the line starting with "From " at `line` (first piece ending at `end`) starts a message."""
    previous = buf.rfind(b"\n", 0, line - 1) + 1
    last_piece = (line - previous - 1) % MAX_LINE_BYTES + 1  # a long line is read in pieces
    if buf[line - last_piece : line] not in (b"\n", b"\r\n"):
        return False
    return first or _FROM_LINE.match(buf[line:end]) is not None


class _Body:
    """The bytes of one message, added a run of whole pieces at a time: mboxrd-unescaped, blank last line dropped."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.too_big = False
        self.blank_tail = 0  # length of the last piece when it is a blank line

    def add(self, data: bytes) -> None:
        if self.too_big or not data:
            return
        if _has_long_line(data):
            pieces = [_unescaped(piece) for piece in _pieces(data)]
            data, last = b"".join(pieces), pieces[-1]
        else:  # every line is one piece: unescape them all at once
            if b"From " in data:
                data = _ESCAPED_LINES.sub(rb"\1", data)
            last = data[data.rfind(b"\n", 0, len(data) - 1) + 1 :]
        self.size += len(data)
        if self.size > MAX_MESSAGE_BYTES:
            self.too_big, self.parts = True, []
            return
        self.parts.append(data)
        self.blank_tail = len(last) if last in (b"\n", b"\r\n") else 0

    def result(self) -> bytes | None:
        if self.too_big:
            return None
        data = b"".join(self.parts)
        # The blank line before the next From_ line separates messages; it is not part of the body.
        return data[: len(data) - self.blank_tail]


def _pieces(data: bytes) -> Iterator[bytes]:
    """`data` cut as readline(MAX_LINE_BYTES) would cut it."""
    start = 0
    while start < len(data):
        newline = data.find(b"\n", start, start + MAX_LINE_BYTES)
        end = newline + 1 if newline >= 0 else min(start + MAX_LINE_BYTES, len(data))
        yield data[start:end]
        start = end


def _has_long_line(data: bytes) -> bool:
    """Whether readline(MAX_LINE_BYTES) would cut some line of `data` in pieces."""
    start = 0
    while len(data) - start > MAX_LINE_BYTES:
        newline = data.rfind(b"\n", start, start + MAX_LINE_BYTES)
        if newline < 0:
            return True
        start = newline + 1
    return False


def _unescaped(piece: bytes) -> bytes:
    return piece[1:] if piece[:1] == b">" and _ESCAPED.match(piece) else piece
