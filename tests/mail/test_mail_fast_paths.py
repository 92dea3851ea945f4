"""The fast mbox splitter and header parser give exactly what the simple ways give."""

from __future__ import annotations

import io
import re
from email import policy
from email.parser import BytesParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mail_samples import message

from connectors.mail import files, newtext, parse
from connectors.mail.settings import LIBRARY_MARKERS, NEWTEXT_MARKERS

_FROM_LINE = re.compile(rb"^From \S*\s.*\d{1,2}:\d{2}")
_ESCAPED = re.compile(rb"^>+From ")


def reference_split(data: bytes, max_line: int, max_message: int) -> list[tuple[int, bytes | None]]:
    """The splitter as first written: one readline(max_line) piece at a time."""
    fh = io.BytesIO(data)
    out: list[tuple[int, bytes | None]] = []
    offset, start, parts, size, too_big, prev_blank = 0, -1, [], 0, False, True

    def join() -> bytes | None:
        if too_big:
            return None
        if parts and parts[-1] in (b"\n", b"\r\n"):
            parts.pop()
        return b"".join(parts)

    while line := fh.readline(max_line):
        n = len(line)
        if line.startswith(b"From ") and prev_blank and (start < 0 or _FROM_LINE.match(line)):
            if start >= 0:
                out.append((start, join()))
            start, parts, size, too_big = offset, [], 0, False
        elif start >= 0:
            if _ESCAPED.match(line):
                line = line[1:]
            size += len(line)
            if size > max_message:
                too_big, parts = True, []
            elif not too_big:
                parts.append(line)
        prev_blank = line in (b"\n", b"\r\n")
        offset += n
    if start >= 0:
        out.append((start, join()))
    return out


MBOX_PIECES = [
    b"From a@b Mon Nov 16 10:12:00 2026\n",
    b"From a@b Mon Nov 16 10:12:00 2026\r\n",
    b"From a@b Mon Nov 16 10:12:00 2026 and then a long tail\n",
    b"From \n",
    b"From x\n",
    b"From ",
    b"\n",
    b"\r\n",
    b"\r",
    b">From x\n",
    b">>From y\n",
    b">From",
    b"Subject: x\n",
    b"text\n",
    b"0123456789abcdef",  # no line end: lines longer than max_line
    b"01234567\n",
    b"0123456\r\n",
    b" ",
    b">",
]


@settings(max_examples=400, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(MBOX_PIECES), max_size=30),
    max_line=st.sampled_from([8, 9, 10, 17, 1 << 20]),
    read_bytes=st.sampled_from([1, 3, 7, 64, 1 << 20]),
    max_message=st.sampled_from([12, 40, 1 << 30]),
)
def test_split_mbox_matches_line_by_line_splitter(
    pieces: list[bytes], max_line: int, read_bytes: int, max_message: int
) -> None:
    data = b"".join(pieces)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(files, "MAX_LINE_BYTES", max_line)
        patch.setattr(files, "MBOX_READ_BYTES", read_bytes)
        patch.setattr(files, "MAX_MESSAGE_BYTES", max_message)
        seen: list[int] = []
        got = list(files.split_mbox(io.BytesIO(data), seen.append))
    assert got == reference_split(data, max_line, max_message)
    assert sum(seen) == len(data)
    assert all(n > 0 for n in seen)


HEADER_LINES = [
    b"Subject: hi",
    b"X-A:b",
    b"A:",
    b"A:  ",
    b"Content-Type: multipart/mixed; boundary=B",
    b"content-type:  text/html",
    b" folded",
    b"\tfolded\t",
    b"  ",
    b"From x@y Mon Nov 16 10:12:00 2026",
    b"From: a <a@b>",
    b":no name",
    b"no colon",
    b"Name :x",
    b"X-8bit: caf\xc3\xa9",
    b"X-Odd: a\x00b\x7f",
    b"",
]


@settings(max_examples=400, deadline=None)
@given(
    lines=st.lists(
        st.tuples(st.sampled_from(HEADER_LINES), st.sampled_from([b"\n", b"\r\n", b"\r"])), max_size=8
    )
)
def test_simple_headers_match_compat32(lines: list[tuple[bytes, bytes]]) -> None:
    raw = b"".join(line + end for line, end in lines) + b"\n\nbody\n"
    found = re.compile(rb"\r?\n\r?\n").search(raw)
    assert found is not None
    block = raw[: found.end()]
    items = parse._simple_headers(block)
    if items is None:
        return
    msg = BytesParser(policy=policy.compat32).parsebytes(block, headersonly=True)
    assert msg.defects == []
    assert msg.get_payload() == ""
    assert items == list(msg.raw_items())


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_simple_headers_take_plain_messages(newline: bytes) -> None:
    raw = message(extra=["X-Empty:", "Reply-To: a@b"], newline=newline)
    block = raw[: raw.index(newline * 2) + 2 * len(newline)]
    expected = list(BytesParser(policy=policy.compat32).parsebytes(block).raw_items())
    assert parse._simple_headers(block) == expected


def test_folded_text_matches_like_ignorecase() -> None:
    """newtext searches its lower-case "anywhere" markers in _folded(text) instead of with IGNORECASE."""
    everything = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    folded = [newtext._folded(ch) for ch in everything]
    assert all(len(f) == 1 for f in folded)
    for pattern in (NEWTEXT_MARKERS, LIBRARY_MARKERS):
        assert pattern == pattern.lower()
        for letter in set(pattern) - set("\\[]()|?*"):  # regex syntax aside
            like_ignorecase = set(re.findall(re.escape(letter), everything, re.IGNORECASE))
            like_folded = {ch for ch, f in zip(everything, folded, strict=True) if f == letter}
            assert like_ignorecase == like_folded, letter


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"\n", b"\r", b"\r\n", b"a", b":"]), max_size=12).map(b"".join))
def test_body_start_is_where_the_blank_line_regex_ends(raw: bytes) -> None:
    found = re.search(rb"\r?\n\r?\n", raw)
    assert parse._body_start(raw) == (found.end() if found else -1)
