"""The fast mbox splitter and header parser give exactly what the simple ways give."""

from __future__ import annotations

import base64
import io
import quopri
import re
from email import policy
from email.message import Message
from email.parser import BytesParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mail_samples import message

from connectors.mail import files, newtext, parse
from connectors.mail.settings import LIBRARY_MARKERS, NEWTEXT_MARKERS
from ground.records import MessageRecord

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
    received = "Received: from mx.example\n\tby mail.example; Mon, 16 Nov 2026 10:12:07 +0100"
    raw = message(extra=["X-Empty:", "Reply-To: a@b", received], newline=newline)
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


# Multipart fast path: parse._multipart_tree against the stdlib parser (parse.MULTIPART_FAST_PATH off).

_STDLIB = BytesParser(policy=policy.compat32)
HEAD = (
    b"From: Jean <jean@vendor.example>\nTo: bob@company.example\nSubject: Quote\n"
    b"Date: Mon, 16 Nov 2026 10:12:00 +0100\nMessage-ID: <m1@vendor.example>\nMIME-Version: 1.0\n"
)


def multipart(content_type: str, body: bytes, newline: bytes = b"\n") -> bytes:
    raw = HEAD + b"Content-Type: " + content_type.encode() + b"\n\n" + body
    return raw.replace(b"\n", newline)


def fast_tree(raw: bytes) -> Message | None:
    start = parse._body_start(raw)
    items = parse._simple_headers(raw[:start])
    assert items is not None
    return parse._multipart_tree(items, raw[start:])


def shape(part: Message, depth: int = 0) -> list[tuple[int, list[tuple[str, str]], str | None]]:
    """Headers and payloads of the parts extract_body reads, in order; not inside message/* parts."""
    if part.get_content_maintype() == "message":
        return [(depth, list(part.raw_items()), None)]
    payload = part._payload
    if not isinstance(payload, list):
        return [(depth, list(part.raw_items()), payload)]
    out = [(depth, list(part.raw_items()), None)]
    for sub in payload:
        out += shape(sub, depth + 1)
    return out


def check_multipart(raw: bytes, *, fast: bool) -> MessageRecord:
    """The record with the multipart fast path equals the stdlib one, and the path was taken if `fast`."""
    tree = fast_tree(raw)
    assert (tree is not None) == fast
    if tree is not None:
        assert shape(tree) == shape(_STDLIB.parsebytes(raw))
    got = parse.parse_email(raw, "ref")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parse, "MULTIPART_FAST_PATH", False)
        expected = parse.parse_email(raw, "ref")
    assert got == expected
    assert isinstance(got, MessageRecord)
    return got


PLAIN_PART = b'Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: quoted-printable\n\n'
HTML_PART = b"Content-Type: text/html; charset=utf-8\n\n"
ALTERNATIVE = (
    b"--ALT\n" + PLAIN_PART + b"Le devis est valid=C3=A9.=\n Merci.\n\n"
    b"--ALT\n" + HTML_PART + b"<p>Le devis est <b>valid\xc3\xa9</b>.</p>\n"
    b"--ALT--\n"
)
PDF = base64.encodebytes(b"%PDF-1.4 not really" * 20)


def test_a_date_from_received_is_the_same_on_both_paths() -> None:
    head = HEAD.replace(b"2026 10:12:00 +0100", b"0000 10:12:00 +0100")
    head += b"Received: from mx.vendor.example\n\tby mail.company.example; Mon, 16 Nov 2026 10:12:07 +0100\n"
    raw = head + b'Content-Type: multipart/alternative; boundary="ALT"\n\n' + ALTERNATIVE
    record = check_multipart(raw, fast=True)
    assert (
        record.flags == ["date_from_received"] and record.sent_at.minute == 12 and record.sent_at.second == 7
    )


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_multipart_alternative(newline: bytes) -> None:
    record = check_multipart(
        multipart('multipart/alternative; boundary="ALT"', ALTERNATIVE, newline), fast=True
    )
    assert record.body_full == "Le devis est validé. Merci.\n"
    assert record.flags == []


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_multipart_mixed_with_attachment_and_nested_alternative(newline: bytes) -> None:
    body = (
        b"This is a multi-part message in MIME format.\n\n--MIX\n"
        b'Content-Type: multipart/alternative;\n\tboundary="ALT"\n\n' + ALTERNATIVE + b"\n"
        b"--MIX\nContent-Type: application/pdf; name=quote.pdf\nContent-Transfer-Encoding: base64\n"
        b'Content-Disposition: attachment; filename="quote.pdf"\n\n' + PDF + b"--MIX--\nepilogue\n"
    )
    raw = multipart("multipart/mixed; boundary=MIX", body, newline)
    assert check_multipart(raw, fast=True).body_full == "Le devis est validé. Merci.\n"


def test_multipart_html_only_alternative() -> None:
    body = b"--ALT\n" + HTML_PART + b"<div>Bonjour <i>Bob</i></div>\n--ALT--\n"
    record = check_multipart(multipart('multipart/alternative; boundary="ALT"', body), fast=True)
    assert record.body_full == "Bonjour Bob"
    assert record.flags == ["html_only_body"]


@pytest.mark.parametrize(
    ("charset", "data", "text", "flags"),
    [
        ("iso-8859-1", "Déjà validé".encode("latin-1"), "Déjà validé", []),
        ("utf-8", "Déjà validé".encode(), "Déjà validé", []),
        ("utf-8", "Déjà validé".encode("cp1252"), "Déjà validé", ["charset_repaired"]),
        ("x-unknown", "Déjà validé".encode(), "Déjà validé", ["charset_repaired"]),
    ],
)
def test_multipart_8bit_charsets(charset: str, data: bytes, text: str, flags: list[str]) -> None:
    """The stdlib path decodes the part's original bytes too, as a single-part body is decoded."""
    part = f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit\n\n".encode()
    raw = multipart("multipart/mixed; boundary=B", b"--B\n" + part + data + b"\n--B--\n")
    record = check_multipart(raw, fast=True)
    assert (record.body_full, record.flags) == (text, flags)
    single = message(data, content_type=f"text/plain; charset={charset}")
    assert parse.parse_email(single, "ref").body_full == text  # type: ignore[union-attr]


def test_multipart_boundary_lines_with_whitespace_and_look_alikes() -> None:
    body = (
        b"preamble --B\n--B \t\n" + PLAIN_PART + b"one\nx--B not a boundary\n--Bx\n --B\n-- B\n--B\x0c\n"
        b"--B\t\n" + HTML_PART + b"<p>two</p>\n--B--  \nafter\n--B\nignored\n"
    )
    record = check_multipart(multipart("multipart/related; boundary=B", body), fast=True)
    assert record.body_full == "one\nx--B not a boundary\n--Bx\n --B\n-- B\n--B\x0c"


def test_multipart_attachments_and_attached_message_skipped() -> None:
    body = (
        b"--B\nContent-Type: text/plain; name=notes.txt\n\nnamed\n"
        b"--B\nContent-Type: text/plain\nContent-Disposition: attachment\n\nattached\n"
        b"--B\nContent-Type: message/rfc822\n\nFrom: x@y.example\nContent-Type: text/plain\n\nforwarded\n"
        b"--B\nContent-Type: text/plain\nContent-Disposition: inline; filename=body.txt\n\nthe body\n--B--\n"
    )
    assert check_multipart(multipart("multipart/mixed; boundary=B", body), fast=True).body_full == "the body"


@pytest.mark.parametrize(
    "body",
    [
        b"--B\n\n--B\nContent-Type: text/html\n\n--B\n\nno headers\n--B--\n",  # empty parts
        b"--B\r\n\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n--B--",  # CRLF, no line end at the end
    ],
)
def test_multipart_empty_parts(body: bytes) -> None:
    check_multipart(multipart("multipart/alternative; boundary=B", body), fast=True)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/mixed; boundary=B", b"--B\n" + PLAIN_PART + b"no close boundary\n"),
        ("multipart/mixed; boundary=B", b"--B\n" + PLAIN_PART + b"one\n--B\n\nno close boundary\n"),
        ("multipart/mixed; boundary=B", b"--B--\n"),  # no start boundary
        (
            "multipart/mixed; boundary=B",
            b"--B\n--B\n" + PLAIN_PART + b"text\n--B--\n",
        ),  # boundary lines in a row
        ("multipart/mixed; boundary*=''B", b"--B\n" + PLAIN_PART + b"rfc 2231\n--B--\n"),
        ("multipart/mixed; boundary=B; boundary=C", b"--B\n" + PLAIN_PART + b"two params\n--B--\n"),
        ('multipart/mixed; boundary="B\\C"', b"--BC\n" + PLAIN_PART + b"escape\n--BC--\n"),
        ('multipart/mixed; boundary="<B>"', b"--<B>\n" + PLAIN_PART + b"unquoted twice\n--<B>--\n"),
        ("multipart/mixed", b"--B\n" + PLAIN_PART + b"no boundary\n--B--\n"),
        ("multipart/digest; boundary=B", b"--B\n\nFrom: a@b\n\ndigest\n--B--\n"),
        ("multipart/mixed; boundary=B", b"--B\nX-Note: caf\xe9\n\n8-bit part header\n--B--\n"),
        ("multipart/mixed; boundary=B", b"--B\nno header line\n--B--\n"),
        ("multipart/mixed; boundary=B", b"--B\n" + PLAIN_PART + b"lone\rCR\n--B--\n"),
        ("multipart/mixed; boundary=B", b"--B\n\nx\r--B\n\nthe CR ends a line\n--B--\n"),
        (
            "multipart/mixed; boundary=B",
            b"--B\nContent-Type: multipart/signed; boundary=C\n\n--C\n\nx\n--C--\n--B--\n",
        ),
    ],
)
def test_multipart_unusual_shapes_go_to_the_stdlib(content_type: str, body: bytes) -> None:
    check_multipart(multipart(content_type, body), fast=False)


@pytest.mark.parametrize(("levels", "fast"), [(8, True), (9, False)])
def test_deep_nesting_goes_to_the_stdlib(levels: int, fast: bool) -> None:
    part = PLAIN_PART + b"deep\n"
    for level in range(levels):
        head = f"Content-Type: multipart/mixed; boundary=B{level}\n\n--B{level}\n".encode()
        part = head + part + f"--B{level}--\n".encode()
    assert check_multipart(HEAD + part, fast=fast).body_full == "deep"


CTYPE_PIECES = [
    "multipart/mixed",
    ";",
    " ",
    "\n\t",
    "boundary",
    "BOUNDARY",
    "=",
    '"',
    "B",
    "=_a.b",
    "<x>",
    "\\",
    "*",
]
CTYPE_PIECES += ["charset", "utf-8", "type", "text/html", "a;b", "'", "(c)", "0"]
PARAM_NAMES = ["boundary", "Boundary", "boundary*", "boundary*0", "charset", "type", "x"]
PARAM_VALUES = ["B", "=_a.b", "a'b(c)+_,./:=?", "<B>", "B ", " B", "a;b", "a\\b", "", "a b", "B\n\tC", "é"]


@st.composite
def content_types(draw: st.DrawFn) -> str:
    """Content-Type values: mostly type and params with odd names, values, quoting and spacing; some noise."""
    if draw(st.integers(0, 3)) == 0:
        return "".join(draw(st.lists(st.sampled_from(CTYPE_PIECES), max_size=14)))
    value = draw(st.sampled_from(["multipart/mixed", " Multipart/Related ", "multipart"]))
    for _ in range(draw(st.integers(0, 3))):
        name, text = draw(st.sampled_from(PARAM_NAMES)), draw(st.sampled_from(PARAM_VALUES))
        space = st.sampled_from(["", " ", "\n\t"])
        quoted = f'"{text}"' if draw(st.booleans()) else text
        value += f"{draw(space)};{draw(space)}{name}{draw(space)}={draw(space)}{quoted}{draw(space)}"
    return value + draw(st.sampled_from(["", ";", " ;", " (c)"]))


@settings(max_examples=800, deadline=None)
@given(content_types())
def test_boundary_matches_get_boundary(value: str) -> None:
    found = parse._boundary(value)
    if found is None:
        return
    msg = Message()
    msg["Content-Type"] = value
    assert msg.get_boundary() == found.decode()


@pytest.mark.parametrize(
    "value", ['multipart/mixed; boundary="=_a.b"', "Multipart/Mixed;\r\n BOUNDARY = x ; charset=utf-8;"]
)
def test_boundary_is_read_from_common_shapes(value: str) -> None:
    assert parse._boundary(value) is not None


LEAF_TYPES = [
    "text/plain",
    "text/html",
    "TEXT/Plain",
    "application/pdf",
    "message/rfc822",
    "text/plain; name=a.txt",
]
CHARSETS = ["", "; charset=utf-8", '; charset="iso-8859-1"', "; charset=x-unknown"]
ENCODINGS = ["", "7bit", "8bit", "quoted-printable", "base64"]
DISPOSITIONS = ["", "inline", "attachment", 'attachment; filename="a.txt"', "inline; filename=a.txt"]
TEXT_LINES = [
    b"Hello.",
    "café".encode(),
    "café".encode("latin-1"),
    b"",
    b"  tail  ",
    b"<p>Hi <b>there</b></p>",
]
TEXT_LINES += [b"=C3=A9t=C3=A9=", b"aGVsbG8=", b"-- ", b"From me", b"Subject: not a header"]
LOOK_ALIKES = [
    b"x--{b}",
    b" --{b}",
    b"--{b} x",
    b"--{b}\x0c",
    b"--{b}--x",
    b"--{b}---",
    b"-{b}",
]  # not boundaries
PARAMS = ['boundary="{b}"', "boundary={b}", ' Boundary = "{b}"', '\n\tboundary="{b}"; charset=utf-8']
ODD_PARAMS = ["boundary*={b}", 'boundary="{b}"; boundary="{b}x"', "", 'boundary="{b} "', "boundary={b} (c)"]
ODD_LINES = [b"--{b}", b"--{b}--", b"a\rb", b"x\r--{b}", b"X-8bit: caf\xe9", b"no header", b"From x"]


@st.composite
def mime_part(draw: st.DrawFn, plain: bool, outer: tuple[bytes, ...] = ()) -> list[bytes]:
    """Lines (LF ends to come) of one MIME part, headers first; a multipart at the top, maybe below.

    `plain` parts are all the fast path takes; otherwise, now and then, something it leaves to the stdlib.
    """

    def odd() -> bool:
        return not plain and draw(st.integers(0, 7)) == 0

    if not outer or (len(outer) < 3 and draw(st.booleans())):
        subtypes = ["digest", "signed"] if odd() else ["alternative", "mixed", "related"]
        boundary = draw(st.sampled_from([b"B", b"alt", b"=_Part_0.1", b"a'b(c)+_,./:=?"])) + b"%d" % len(
            outer
        )
        param = draw(st.sampled_from(ODD_PARAMS if odd() else PARAMS)).format(b=boundary.decode())
        header = f"Content-Type: multipart/{draw(st.sampled_from(subtypes))};{param}"
        lines = [*header.encode().split(b"\n"), b""]
        if draw(st.booleans()):
            lines += [b"This is a multi-part message in MIME format.", b""]
        if odd():
            lines.append(b"--" + boundary + b"--")  # closing before the start
        suffixes = st.sampled_from([b"", b" ", b"\t "])
        for _ in range(draw(st.integers(1, 3))):
            lines.append(b"--" + boundary + draw(suffixes))
            if odd():
                lines.append(b"--" + boundary)  # boundary lines in a row
            lines += draw(mime_part(plain, (*outer, boundary)))
        if not odd():
            lines.append(b"--" + boundary + b"--" + draw(suffixes))
        if draw(st.booleans()):
            lines += [b"", b"epilogue --" + boundary]
        return lines
    headers = []
    ctype = draw(st.sampled_from(["", *LEAF_TYPES]))
    if ctype:
        headers.append(f"Content-Type: {ctype}{draw(st.sampled_from(CHARSETS))}".encode())
    cte = draw(st.sampled_from(ENCODINGS))
    if cte:
        headers.append(f"Content-Transfer-Encoding: {cte}".encode())
    disposition = draw(st.sampled_from(DISPOSITIONS))
    if disposition:
        headers.append(f"Content-Disposition: {disposition}".encode())
    if draw(st.booleans()):
        headers += [b"X-Folded: a", b"\tb"]
    look_alikes = [line.replace(b"{b}", b) for line in LOOK_ALIKES for b in outer]
    text = b"\n".join(draw(st.lists(st.sampled_from(TEXT_LINES + look_alikes), max_size=4)))
    if cte == "base64" and draw(st.booleans()):
        text = base64.encodebytes(text).rstrip(b"\n")
    elif cte == "quoted-printable" and draw(st.booleans()):
        text = quopri.encodestring(text)
    lines = [*headers, b"", *text.split(b"\n")] if text else [*headers, b""]
    if odd():
        line = draw(st.sampled_from(ODD_LINES)).replace(b"{b}", draw(st.sampled_from(outer)))
        lines.insert(draw(st.integers(0, len(lines))), line)
    return lines


@settings(max_examples=600, deadline=None)
@given(data=st.data(), plain=st.booleans(), newline=st.sampled_from([b"\n", b"\r\n"]))
def test_multipart_fast_path_matches_stdlib(data: st.DataObject, plain: bool, newline: bytes) -> None:
    lines = data.draw(mime_part(plain))
    raw = (HEAD + b"\n".join(lines) + b"\n").replace(b"\n", newline)
    tree = fast_tree(raw)
    if plain:
        assert tree is not None
    check_multipart(raw, fast=tree is not None)
